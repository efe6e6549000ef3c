"""Which states the hospital is chased in, and when a family may answer a check-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from casebot.domain.reminders import (
    CaseFacts,
    OpenQuestion,
    Policy,
    check_in_is_open,
    due_reminders,
)
from casebot.domain.states import CaseState

START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
HOSPITAL_HAS_THE_CASE = {"records_gathering", "sent", "under_review", "opinion_received"}


@pytest.mark.parametrize("state", list(CaseState))
def test_the_hospital_is_chased_only_while_it_still_has_the_case(state: CaseState) -> None:
    facts = CaseFacts(
        case_id=1,
        state=state,
        state_changed_at=START,
        last_activity_at=START + timedelta(days=20),
        hospital_set_at=START,
        hospital_questions=(OpenQuestion(1, START),),
        has_family=False,
    )
    kinds = {reminder.kind for reminder in due_reminders(facts, Policy(), START + timedelta(days=20))}
    assert ("chase_hospital" in kinds) is (state in HOSPITAL_HAS_THE_CASE)


@pytest.mark.parametrize(
    ("round_", "state", "days_in", "open_"),
    [
        (7, CaseState.HOME_FOLLOW_UP, 7, True),
        (7, CaseState.HOME_FOLLOW_UP, 6, False),  # forged ahead of time
        (30, CaseState.HOME_FOLLOW_UP, 7, False),
        (30, CaseState.HOME_FOLLOW_UP, 31, True),
        (8, CaseState.HOME_FOLLOW_UP, 30, False),  # no such round
        (7, CaseState.OPINION_RECEIVED, 30, False),
    ],
)
def test_a_check_in_can_be_answered_only_once_its_day_has_come(
    round_: int, state: CaseState, days_in: int, open_: bool
) -> None:
    assert check_in_is_open(round_, state, START, START + timedelta(days=days_in)) is open_
