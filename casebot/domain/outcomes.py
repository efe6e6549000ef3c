"""The hospital's answer to a sent packet, and the review's own clock: pure rules, no I/O.

An outcome is recorded on the case's current hospital route. Which outcomes fit depends on the
state of the case and on what the route already holds; the expected end of the review is counted
in the hospital's business days from the start of review, paused while a question to the family
is open.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime
from enum import StrEnum

from casebot.domain.calendar import BusinessCalendar
from casebot.domain.states import CaseState
from casebot.errors import CasebotError

# A turnaround stated in business days is kept when it is 1 to 90 of them.
MAX_TURNAROUND = 90


class Outcome(StrEnum):
    """What the hospital answered about the packet it was sent."""

    ACCEPTED = "accepted"
    NEEDS_MORE = "needs_more"
    DECLINED = "declined"
    REROUTED = "rerouted"


# The states in which the hospital holds the packet: only then can it answer.
_WITH_HOSPITAL = (CaseState.SENT, CaseState.UNDER_REVIEW)
_NEEDS_REASON = frozenset({Outcome.NEEDS_MORE, Outcome.DECLINED})

_WORDS = {
    Outcome.ACCEPTED: "accepted",
    Outcome.NEEDS_MORE: "needs_more",
    Outcome.DECLINED: "declined",
    Outcome.REROUTED: "reroute",
}


class OutcomeNotFitting(CasebotError):
    """An outcome the case cannot take in its state; the message names those it can."""

    template = "outcome_not_fitting"

    def __init__(
        self, reference: str, outcome: Outcome, state: CaseState, fitting: tuple[Outcome, ...]
    ) -> None:
        fits = ", ".join(_WORDS[o] for o in fitting) if fitting else "none"
        why = (
            "the hospital has not been sent the records yet"
            if state == CaseState.RECORDS_GATHERING
            else f"the case is {state.value.replace('_', ' ')}"
        )
        super().__init__(
            f"{reference} cannot take the outcome {_WORDS[outcome]}: {why}. Outcomes that fit now: {fits}."
        )
        self.reference = reference
        self.outcome = outcome.value
        self.state = state.value
        self.fitting = tuple(o.value for o in fitting)


class OutcomeReasonRequired(CasebotError):
    """needs_more and declined keep the hospital's reason."""

    template = "outcome_reason_required"

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(f"The outcome {_WORDS[outcome]} needs the hospital's reason; please add it.")
        self.outcome = outcome.value


def parse_outcome(word: str) -> Outcome | None:
    """An outcome a coordinator typed (reroute and rerouted both name re-routing)."""
    cleaned = word.strip().lower().replace("-", "_")
    if cleaned in ("reroute", "rerouted", "re_route"):
        return Outcome.REROUTED
    if cleaned in ("needs_more", "needsmore", "more"):
        return Outcome.NEEDS_MORE
    if cleaned in ("declined", "decline", "not_a_candidate"):
        return Outcome.DECLINED
    if cleaned in ("accepted", "accept"):
        return Outcome.ACCEPTED
    return None


def needs_reason(outcome: Outcome) -> bool:
    """Whether the outcome is kept only with the hospital's reason."""
    return outcome in _NEEDS_REASON


def fitting_outcomes(state: CaseState, current: Outcome | None, *, routed: bool) -> tuple[Outcome, ...]:
    """The outcomes a case in ``state`` can take, its current route holding ``current``.

    The hospital answers a packet it holds (sent, under review). A case back in gathering after
    an answer (more records asked, or declined) can still be sent to another hospital. A case
    with no hospital yet, or past the review, takes none.
    """
    if not routed:
        return ()
    if state in _WITH_HOSPITAL:
        return (Outcome.ACCEPTED, Outcome.NEEDS_MORE, Outcome.DECLINED, Outcome.REROUTED)
    if state == CaseState.RECORDS_GATHERING and current is not None:
        return (Outcome.REROUTED,)
    return ()


def is_repeat(outcome: Outcome, state: CaseState, current: Outcome | None) -> bool:
    """Whether this outcome is already the current route's (a doubled press, or typed twice)."""
    if outcome == Outcome.REROUTED or outcome != current:
        return False
    if outcome == Outcome.NEEDS_MORE:
        return state == CaseState.RECORDS_GATHERING
    return state in _WITH_HOSPITAL


def check_outcome(
    reference: str, outcome: Outcome, state: CaseState, current: Outcome | None, *, routed: bool
) -> None:
    """Raise OutcomeNotFitting unless the outcome fits."""
    fitting = fitting_outcomes(state, current, routed=routed)
    if outcome not in fitting:
        raise OutcomeNotFitting(reference, outcome, state, fitting)


def target_state(outcome: Outcome, state: CaseState) -> CaseState | None:
    """The state the outcome moves the case to, or None when it stays."""
    if outcome == Outcome.ACCEPTED and state == CaseState.SENT:
        return CaseState.UNDER_REVIEW
    if outcome == Outcome.NEEDS_MORE and state in _WITH_HOSPITAL:
        return CaseState.RECORDS_GATHERING
    return None


# --- the turnaround the hospital states -------------------------------------------------------

_NUMBER = r"(\d{1,3})(?:\s*(?:-|–|—|~|to|до|到|至)\s*(\d{1,3}))?"
_UNIT = (
    r"(bd|b\.d\.|business\s+days?|working\s+days?|work\s+days?|days?|"
    r"рабочих\s+дн\w*|рабочий\s+день|рабочих|дн\w*|день|"
    r"个?工作日|天|weeks?|недел\w*|周|个?星期)"
)
_TURNAROUND = re.compile(_NUMBER + r"\s*" + _UNIT, re.IGNORECASE)
_TURNAROUND_PART = re.compile(r"^\s*(\d{1,3})\s*(bd|business\s+days?|working\s+days?)\s*$", re.IGNORECASE)
_WEEK = re.compile(r"^(weeks?|недел\w*|周|个?星期)$", re.IGNORECASE)


def parse_turnaround(text: str) -> int | None:
    """The business days a hospital's answer states ("7 business days", "5-7 days": the upper
    bound, "7 рабочих дней", "7个工作日", "2 weeks": 10), or None when it states none."""
    match = _TURNAROUND.search(text or "")
    if match is None:
        return None
    low, high, unit = match.groups()
    days = int(high or low)
    if _WEEK.match(unit.strip()):
        days *= 5
    return days if 1 <= days <= MAX_TURNAROUND else None


def parse_turnaround_part(text: str) -> int | None:
    """A turnaround given as its own part of /hospital (``7bd``, ``7 business days``), or None."""
    match = _TURNAROUND_PART.match(text or "")
    if match is None:
        return None
    days = int(match.group(1))
    return days if 1 <= days <= MAX_TURNAROUND else None


# --- the review's clock -----------------------------------------------------------------------


def review_started_at(state_changed_at: datetime, hospital_set_at: datetime | None) -> datetime:
    """When the current review began: the move to under review, or a later re-route (a new
    hospital accepting during the review restarts it: the service moves ``state_changed_at``)."""
    if hospital_set_at is not None and hospital_set_at > state_changed_at:
        return hospital_set_at
    return state_changed_at


def review_running(
    state: CaseState,
    current: Outcome | None,
    *,
    position: int,
    route_created_at: datetime | None,
    state_changed_at: datetime,
) -> bool:
    """Whether a hospital is reviewing the case now, so that it has an expected end.

    The state table has no edge for a decline (going back is only for records the hospital asks
    for, and the records are complete), so a declined case keeps its state, sent or under
    review: the packet is with hospitals and its next step is another one (a re-route) or a
    withdrawal. The current route says whether a review runs: not when its hospital declined,
    nor when it is a re-route made during the review that its new hospital has not yet accepted.
    Only then is there no expected date and no review-overdue warning.
    """
    if state != CaseState.UNDER_REVIEW or current in (Outcome.DECLINED, Outcome.NEEDS_MORE):
        return False
    # A later route made at or after the start of the review is a re-route during it (the first
    # route is made before sending; a re-route before the review is older than its start).
    rerouted_during_review = (
        position > 1 and route_created_at is not None and route_created_at >= state_changed_at
    )
    return not (current is None and rerouted_during_review)


def merge_spans(spans: Collection[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Spans of time as disjoint ones, in order: overlapping or touching spans become one (two
    questions to the family open at once are one wait, not two)."""
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in sorted(span for span in spans if span[1] > span[0]):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def review_due_at(
    start: datetime,
    sla_days: int,
    calendar: BusinessCalendar,
    *,
    family_waits: Collection[tuple[datetime, datetime]] = (),
    open_since: Collection[datetime] = (),
    now: datetime,
) -> datetime:
    """When the review is expected to end: ``sla_days`` of the hospital's business days after
    ``start``, plus the business days spent waiting on the family (questions to them asked and
    answered, or still open as of ``now``). Both the family's expected date and the
    coordinator's review-overdue warning are this moment.
    """
    spans = [(max(lo, start), min(hi, now)) for lo, hi in [*family_waits, *((at, now) for at in open_since)]]
    paused = sum(calendar.business_days_between(lo, hi) for lo, hi in merge_spans(spans))
    return calendar.add_business_days(start, sla_days + paused)
