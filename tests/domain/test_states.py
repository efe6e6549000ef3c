"""The transition table of a case, as data."""

from __future__ import annotations

import itertools

import pytest

from casebot.domain.states import (
    FINAL_STATES,
    OPEN_STATES,
    TRANSITIONS,
    CaseState,
    allowed_targets,
    parse_state,
    reachable_states,
    transition_for,
)
from casebot.errors import CasebotError, TransitionNotAllowed, UnknownState

HAPPY_PATH = [
    CaseState.RECORDS_GATHERING,
    CaseState.SENT,
    CaseState.UNDER_REVIEW,
    CaseState.OPINION_RECEIVED,
    CaseState.HOME_FOLLOW_UP,
    CaseState.CLOSED,
]


@pytest.mark.parametrize(("source", "target"), list(itertools.pairwise(HAPPY_PATH)))
def test_a_case_moves_forward_one_step_at_a_time(source: CaseState, target: CaseState) -> None:
    assert transition_for(source, target).target == target
    assert allowed_targets(source)[0] == target


@pytest.mark.parametrize("source", [CaseState.SENT, CaseState.UNDER_REVIEW])
def test_the_hospital_can_send_a_case_back_for_more_records_with_a_reason(source: CaseState) -> None:
    transition = transition_for(source, CaseState.RECORDS_GATHERING)
    assert transition.needs_reason


@pytest.mark.parametrize("source", OPEN_STATES)
def test_every_open_case_can_be_withdrawn(source: CaseState) -> None:
    assert CaseState.WITHDRAWN in allowed_targets(source)


@pytest.mark.parametrize("source", sorted(FINAL_STATES))
def test_closed_and_withdrawn_cases_go_nowhere(source: CaseState) -> None:
    assert allowed_targets(source) == ()
    with pytest.raises(TransitionNotAllowed):
        transition_for(source, CaseState.RECORDS_GATHERING)


def test_skipping_a_step_names_the_allowed_next_states() -> None:
    with pytest.raises(TransitionNotAllowed) as raised:
        transition_for(CaseState.RECORDS_GATHERING, CaseState.OPINION_RECEIVED)
    assert isinstance(raised.value, CasebotError)
    assert raised.value.state == "records_gathering"
    assert "sent" in raised.value.message and "withdrawn" in raised.value.message


def test_a_new_case_can_reach_exactly_the_seven_states() -> None:
    # A state added to CaseState without a way in would be a state no case can ever be in.
    assert reachable_states() == frozenset(CaseState)
    assert {state.value for state in reachable_states()} == {
        "records_gathering",
        "sent",
        "under_review",
        "opinion_received",
        "home_follow_up",
        "closed",
        "withdrawn",
    }


def test_a_case_is_closed_only_after_home_follow_up() -> None:
    # Walk the table from a new case without ever entering home follow-up: closed stays out of reach.
    seen = {CaseState.RECORDS_GATHERING}
    frontier = [CaseState.RECORDS_GATHERING]
    while frontier:
        for target in allowed_targets(frontier.pop()):
            if target not in seen and target != CaseState.HOME_FOLLOW_UP:
                seen.add(target)
                frontier.append(target)
    assert CaseState.OPINION_RECEIVED in seen
    assert CaseState.CLOSED not in seen
    assert CaseState.CLOSED in allowed_targets(CaseState.HOME_FOLLOW_UP)


def test_the_table_has_no_duplicate_edges() -> None:
    edges = [(t.source, t.target) for t in TRANSITIONS]
    assert len(edges) == len(set(edges))


@pytest.mark.parametrize(
    ("typed", "state"),
    [
        ("sent", CaseState.SENT),
        ("SENT", CaseState.SENT),
        (" Sent ", CaseState.SENT),
        ("under-review", CaseState.UNDER_REVIEW),
        ("Under Review", CaseState.UNDER_REVIEW),
        ("home follow up", CaseState.HOME_FOLLOW_UP),
        ("home-follow-up", CaseState.HOME_FOLLOW_UP),
        ("Opinion_Received", CaseState.OPINION_RECEIVED),
        ("records gathering", CaseState.RECORDS_GATHERING),
        ("closed", CaseState.CLOSED),
        ("Withdrawn", CaseState.WITHDRAWN),
    ],
)
def test_coordinators_can_type_states_loosely(typed: str, state: CaseState) -> None:
    assert parse_state(typed, CaseState.RECORDS_GATHERING) is state


@pytest.mark.parametrize("word", ["finished", "review", "send", "under__review", "sent!"])
def test_a_word_that_is_not_a_state_names_the_allowed_next_states(word: str) -> None:
    with pytest.raises(UnknownState) as raised:
        parse_state(word, CaseState.SENT)
    assert raised.value.allowed == ("under_review", "records_gathering", "withdrawn")
    assert word in raised.value.message
    for allowed in ("under_review", "records_gathering", "withdrawn"):
        assert allowed in raised.value.message
