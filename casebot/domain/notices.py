"""What the outbox asks right before each send: does this message still apply, and to whom, and now?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Deliver:
    """Send it now, with this payload (possibly narrowed since it was queued)."""

    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Drop:
    """It no longer applies (the item came, the recipient left the case): it dies unsent."""

    reason: str


@dataclass(frozen=True, slots=True)
class Postpone:
    """Not now (the recipient's quiet hours): try again at ``until``, spending no attempt."""

    until: datetime


SendDecision = Deliver | Drop | Postpone


# Who each kind of outbox message is for. A row whose recipient no longer stands in that
# relation to the case when it is sent (left, removed, handed over) dies unsent.
FAMILY_KINDS = frozenset(
    {"ask_home_doctor", "state_changed", "question_for_family", "reminder_missing", "reminder_question", "check_in",
     "hospital_answered", "case_file", "opinion_unconfirmed",
     "more_records_needed", "hospital_declined", "digest_family"}
)  # fmt: skip
STAFF_KINDS = frozenset(
    {"home_doctor_set", "arrival_route_chosen", "state_changed_staff", "member_joined", "file_arrived", "family_answered", "family_question",
     "chase_hospital", "review_overdue", "stale", "escalation_missing", "escalation_question",
     "check_in_help", "recipient_blocked", "cases_handed_over", "opinion_confirmed",
     "opinion_unconfirmed_staff", "file_undelivered", "digest_staff"}
)  # fmt: skip
# The weekly digests: about no one case (their rows carry none), bulk, and always held for quiet hours.
DIGEST_KINDS = frozenset({"digest_family", "digest_staff"})
# Not held for quiet hours: a coordinator's direct answer to what a family asked.
_UNHELD_KINDS = frozenset({"hospital_answered"})


def is_for_family(kind: str) -> bool:
    """Whether a kind of message goes to family members (else to coordinators)."""
    return kind in FAMILY_KINDS


def is_held_for_quiet_hours(kind: str) -> bool:
    """Whether a message of this kind waits for the end of the recipient's quiet hours."""
    return kind in DIGEST_KINDS or kind not in _UNHELD_KINDS
