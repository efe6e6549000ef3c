"""Questions in both directions, and the standard questions every case puts to the hospital."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Direction(StrEnum):
    """Who must answer: the family (asked by the hospital) or the hospital (asked for the family)."""

    TO_FAMILY = "to_family"
    TO_HOSPITAL = "to_hospital"


class Topic(StrEnum):
    """The standard questions to the hospital, from the service's guidance to families."""

    DEPARTMENT_AND_REVIEWER = "department_and_reviewer"
    PRE_TRAVEL_REVIEW = "pre_travel_review"
    TRANSLATION = "translation"
    REPEAT_TESTS = "repeat_tests"
    REVIEW_DURATION = "review_duration"
    CANDIDACY_BEFORE_DEPOSIT = "candidacy_before_deposit"
    COMPLICATIONS_AND_FOLLOW_UP = "complications_and_follow_up"
    TRANSLATED_SUMMARY = "translated_summary"
    FOLLOW_UP_QUESTIONS = "follow_up_questions"
    CARE_ELSEWHERE = "care_elsewhere"


@dataclass(frozen=True, slots=True)
class StandardQuestion:
    """A question every new case asks the hospital; its answer can clear a red flag."""

    topic: Topic
    text: str


STANDARD_HOSPITAL_QUESTIONS: tuple[StandardQuestion, ...] = (
    StandardQuestion(
        Topic.DEPARTMENT_AND_REVIEWER, "Which exact department and named oncologist will review the case?"
    ),
    StandardQuestion(Topic.PRE_TRAVEL_REVIEW, "Can the team review the records before travel?"),
    StandardQuestion(Topic.TRANSLATION, "Are translations required, and if so, which documents matter most?"),
    StandardQuestion(
        Topic.REPEAT_TESTS,
        "Can outside pathology and imaging be reviewed directly, or will they be repeated on arrival?",
    ),
    StandardQuestion(Topic.REVIEW_DURATION, "How long does review usually take once the file is complete?"),
    StandardQuestion(
        Topic.CANDIDACY_BEFORE_DEPOSIT,
        "Will the hospital say if the patient is not a candidate before a deposit or trip is booked?",
    ),
    StandardQuestion(
        Topic.COMPLICATIONS_AND_FOLLOW_UP, "How are complications and home-country follow-up handled?"
    ),
    StandardQuestion(Topic.TRANSLATED_SUMMARY, "Will the patient receive a translated written summary?"),
    StandardQuestion(Topic.FOLLOW_UP_QUESTIONS, "How are follow-up questions handled after the opinion?"),
    StandardQuestion(
        Topic.CARE_ELSEWHERE, "What is the plan if the recommendation is to continue care elsewhere?"
    ),
)
