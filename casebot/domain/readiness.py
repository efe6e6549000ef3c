"""Red flags from the service's guidance, the coordinator's ok/concern verdicts, and the checks that
guard sending a case and recording an opinion before the records are complete."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from casebot.domain.questions import Topic
from casebot.domain.states import CaseState, Transition
from casebot.errors import ItemRef, OverrideRequired, ReasonRequired


class Verdict(StrEnum):
    """A coordinator's reading of the hospital's answer to a standard question."""

    OK = "ok"
    CONCERN = "concern"


class RedFlag(StrEnum):
    """What the seeds say must be clear before a case is sent (their descriptions live in templates)."""

    NO_HOSPITAL_OR_DEPARTMENT = "no_hospital_or_department"
    NO_NAMED_REVIEWER = "no_named_reviewer"
    PRE_TRAVEL_REVIEW_UNCONFIRMED = "pre_travel_review_unconfirmed"
    PATHOLOGY_IMAGING_ACCESS_UNKNOWN = "pathology_imaging_access_unknown"
    TRANSLATION_NEEDS_UNKNOWN = "translation_needs_unknown"
    NO_WRITTEN_TRANSLATED_SUMMARY = "no_written_translated_summary"
    COMPLICATION_SUPPORT_UNKNOWN = "complication_support_unknown"
    NO_PLAN_IF_CARE_CONTINUES_ELSEWHERE = "no_plan_if_care_continues_elsewhere"
    ELIGIBILITY_UNCLEAR = "eligibility_unclear"


# A flag clears only when the hospital's answer to the standard question behind it is judged ok.
FLAG_BY_TOPIC: Mapping[Topic, RedFlag] = {
    Topic.DEPARTMENT_AND_REVIEWER: RedFlag.NO_NAMED_REVIEWER,
    Topic.PRE_TRAVEL_REVIEW: RedFlag.PRE_TRAVEL_REVIEW_UNCONFIRMED,
    Topic.REPEAT_TESTS: RedFlag.PATHOLOGY_IMAGING_ACCESS_UNKNOWN,
    Topic.TRANSLATION: RedFlag.TRANSLATION_NEEDS_UNKNOWN,
    Topic.TRANSLATED_SUMMARY: RedFlag.NO_WRITTEN_TRANSLATED_SUMMARY,
    Topic.COMPLICATIONS_AND_FOLLOW_UP: RedFlag.COMPLICATION_SUPPORT_UNKNOWN,
    Topic.CARE_ELSEWHERE: RedFlag.NO_PLAN_IF_CARE_CONTINUES_ELSEWHERE,
    Topic.CANDIDACY_BEFORE_DEPOSIT: RedFlag.ELIGIBILITY_UNCLEAR,
}

# Words that stand for "nobody named yet": a reviewer called "TBD" is no named reviewer.
_PLACEHOLDERS = frozenset(
    {"tbd", "tba", "tbc", "todo", "unknown", "none", "n a", "na", "pending", "later", "someone",
     "待定", "未知", "未定", "无", "неизвестно", "нет", "позже", "уточняется"}
)  # fmt: skip
# A promise of guaranteed eligibility or results is a concern, never a green light (the seeds).
_GUARANTEE = re.compile(r"guarant|100\s*%|гарант|保证|确保|包治", re.IGNORECASE)


def is_placeholder_name(name: str | None) -> bool:
    """Whether a reviewer's name names nobody: blank, a placeholder word, or no letters at all."""
    if not name:
        return True
    folded = re.sub(r"[^\w]+", " ", unicodedata.normalize("NFKC", name).casefold()).strip()
    return not any(ch.isalpha() for ch in folded) or folded in _PLACEHOLDERS


def judge_answer(text: str, verdict: Verdict) -> Verdict:
    """The verdict kept for an answer: ok becomes a concern when the answer promises a guarantee."""
    if verdict == Verdict.OK and _GUARANTEE.search(text):
        return Verdict.CONCERN
    return verdict


@dataclass(frozen=True, slots=True)
class HospitalFacts:
    """What is known about where a case goes, for the red-flag rules.

    ``verdicts``: the coordinator's verdict on the hospital's answer per standard topic
    (a topic absent, or answered without a verdict, counts as not yet ok).
    """

    hospital: str | None
    department: str | None
    reviewer: str | None
    verdicts: Mapping[Topic, Verdict] = field(default_factory=dict)


def red_flags(facts: HospitalFacts) -> tuple[RedFlag, ...]:
    """The red flags still open, in a stable order."""
    flags: list[RedFlag] = []
    if not facts.hospital or not facts.department:
        flags.append(RedFlag.NO_HOSPITAL_OR_DEPARTMENT)
    for topic, flag in FLAG_BY_TOPIC.items():
        reviewer_missing = flag == RedFlag.NO_NAMED_REVIEWER and is_placeholder_name(facts.reviewer)
        if reviewer_missing or facts.verdicts.get(topic) != Verdict.OK:
            flags.append(flag)
    return tuple(flags)


def concerns(facts: HospitalFacts) -> tuple[RedFlag, ...]:
    """The open flags whose answer the coordinator recorded as a concern (shown on the card)."""
    return tuple(
        flag for topic, flag in FLAG_BY_TOPIC.items() if facts.verdicts.get(topic) == Verdict.CONCERN
    )


def check_move(
    transition: Transition,
    *,
    open_flags: Collection[RedFlag],
    missing_items: Collection[ItemRef],
    reason: str | None,
) -> bool:
    """Check a move may happen; return True when it goes through as an override of open flags or gaps.

    Sending with red flags open or records missing needs a reason, which is kept; so does
    recording an opinion while records are missing (an opinion before the records were
    reviewed is itself a red flag). Moves marked ``needs_reason`` (going back,
    withdrawing) need one too.
    """
    has_reason = bool(reason and reason.strip())
    gaps: tuple[tuple[str, ...], tuple[ItemRef, ...]] | None = None
    if transition.target == CaseState.SENT and (open_flags or missing_items):
        gaps = (tuple(flag.value for flag in open_flags), tuple(missing_items))
    elif transition.target == CaseState.OPINION_RECEIVED and missing_items:
        gaps = ((), tuple(missing_items))
    if gaps is not None:
        if not has_reason:
            raise OverrideRequired(transition.target.value, *gaps)
        return True
    if transition.needs_reason and not has_reason:
        raise ReasonRequired(transition.source.value, transition.target.value)
    return False
