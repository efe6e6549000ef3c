"""Red flags and the readiness check that guards sending a case to the hospital."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from casebot.domain.questions import Topic
from casebot.domain.states import CaseState, Transition
from casebot.errors import OverrideRequired, ReasonRequired


class RedFlag(StrEnum):
    """What the service's guidance says must be clear before a case is sent."""

    NO_HOSPITAL_OR_DEPARTMENT = "no_hospital_or_department"
    NO_NAMED_REVIEWER = "no_named_reviewer"
    PRE_TRAVEL_REVIEW_UNCONFIRMED = "pre_travel_review_unconfirmed"
    TRANSLATION_NEEDS_UNKNOWN = "translation_needs_unknown"
    PATHOLOGY_HANDLING_UNKNOWN = "pathology_handling_unknown"

    @property
    def description(self) -> str:
        """A plain sentence for coordinators (translated texts live in the templates)."""
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    RedFlag.NO_HOSPITAL_OR_DEPARTMENT: "no hospital or department chosen",
    RedFlag.NO_NAMED_REVIEWER: "no named oncology reviewer",
    RedFlag.PRE_TRAVEL_REVIEW_UNCONFIRMED: "no answer on whether records are reviewed before travel",
    RedFlag.TRANSLATION_NEEDS_UNKNOWN: "no answer on which documents need translation",
    RedFlag.PATHOLOGY_HANDLING_UNKNOWN: "no answer on how pathology is handled",
}

# A red flag clears once the hospital has answered the standard question behind it.
_FLAG_BY_TOPIC = {
    Topic.PRE_TRAVEL_REVIEW: RedFlag.PRE_TRAVEL_REVIEW_UNCONFIRMED,
    Topic.TRANSLATION: RedFlag.TRANSLATION_NEEDS_UNKNOWN,
    Topic.REPEAT_TESTS: RedFlag.PATHOLOGY_HANDLING_UNKNOWN,
}


@dataclass(frozen=True, slots=True)
class HospitalFacts:
    """What is known about where a case goes, for the red-flag rules."""

    hospital: str | None
    department: str | None
    reviewer: str | None
    answered_topics: frozenset[Topic]


def red_flags(facts: HospitalFacts) -> tuple[RedFlag, ...]:
    """The red flags still open, in a stable order."""
    flags: list[RedFlag] = []
    if not facts.hospital or not facts.department:
        flags.append(RedFlag.NO_HOSPITAL_OR_DEPARTMENT)
    if not facts.reviewer:
        flags.append(RedFlag.NO_NAMED_REVIEWER)
    flags.extend(flag for topic, flag in _FLAG_BY_TOPIC.items() if topic not in facts.answered_topics)
    return tuple(flags)


def check_move(
    transition: Transition,
    *,
    open_flags: Collection[RedFlag],
    missing_items: Collection[str],
    reason: str | None,
) -> bool:
    """Check a move may happen; return True when it goes through as an override of open flags or gaps.

    Sending with red flags open or records missing needs a reason, which is kept.
    Moves marked ``needs_reason`` (going back, withdrawing) need one too.
    """
    has_reason = bool(reason and reason.strip())
    if transition.target == CaseState.SENT and (open_flags or missing_items):
        if not has_reason:
            raise OverrideRequired(tuple(flag.description for flag in open_flags), tuple(missing_items))
        return True
    if transition.needs_reason and not has_reason:
        raise ReasonRequired(
            f"Moving a case from {transition.source} to {transition.target} needs a reason; please add one."
        )
    return False
