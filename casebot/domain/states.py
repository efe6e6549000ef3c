"""The states of a case and the transitions between them, declared as data."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from casebot.errors import TransitionNotAllowed, UnknownState


class CaseState(StrEnum):
    """Where a case stands. The values are stored in the database and typed by coordinators."""

    RECORDS_GATHERING = "records_gathering"
    SENT = "sent"
    UNDER_REVIEW = "under_review"
    OPINION_RECEIVED = "opinion_received"
    HOME_FOLLOW_UP = "home_follow_up"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"

    @property
    def is_final(self) -> bool:
        """Closed and withdrawn cases are kept, read-only."""
        return self in FINAL_STATES


FINAL_STATES = frozenset({CaseState.CLOSED, CaseState.WITHDRAWN})
OPEN_STATES = tuple(state for state in CaseState if state not in FINAL_STATES)


@dataclass(frozen=True, slots=True)
class Transition:
    """One allowed move. ``needs_reason``: the audit trail must say why (going back, withdrawing)."""

    event: str
    source: CaseState
    target: CaseState
    needs_reason: bool = False


S = CaseState
TRANSITIONS: tuple[Transition, ...] = (
    Transition("send", S.RECORDS_GATHERING, S.SENT),
    Transition("start_review", S.SENT, S.UNDER_REVIEW),
    Transition("receive_opinion", S.UNDER_REVIEW, S.OPINION_RECEIVED),
    Transition("begin_follow_up", S.OPINION_RECEIVED, S.HOME_FOLLOW_UP),
    Transition("close", S.HOME_FOLLOW_UP, S.CLOSED),
    # The hospital asks for more records or a repeat test.
    Transition("request_more_records", S.SENT, S.RECORDS_GATHERING, needs_reason=True),
    Transition("request_more_records", S.UNDER_REVIEW, S.RECORDS_GATHERING, needs_reason=True),
    # The family stops: kept read-only for good, so the audit trail must say why.
    *(Transition("withdraw", state, S.WITHDRAWN, needs_reason=True) for state in OPEN_STATES),
)
del S

_BY_EDGE = {(t.source, t.target): t for t in TRANSITIONS}


def allowed_targets(state: CaseState) -> tuple[CaseState, ...]:
    """The states a case in ``state`` may move to, forward moves first."""
    return tuple(t.target for t in TRANSITIONS if t.source == state)


def parse_state(word: str, current: CaseState) -> CaseState:
    """Read a state a coordinator typed (case and dashes forgiven)."""
    cleaned = word.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return CaseState(cleaned)
    except ValueError:
        raise UnknownState(word, tuple(allowed_targets(current))) from None


def transition_for(state: CaseState, target: CaseState) -> Transition:
    """The transition from ``state`` to ``target``, or TransitionNotAllowed carrying both."""
    transition = _BY_EDGE.get((state, target))
    if transition is None:
        raise TransitionNotAllowed(state.value, target.value, tuple(allowed_targets(state)))
    return transition


def reachable_states() -> frozenset[CaseState]:
    """Every state a new case can reach by the table."""
    seen = {CaseState.RECORDS_GATHERING}
    frontier = [CaseState.RECORDS_GATHERING]
    while frontier:
        for target in allowed_targets(frontier.pop()):
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    return frozenset(seen)
