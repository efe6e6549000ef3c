"""Home follow-up check-ins go on until the case is closed; a record coming another way holds its reminders."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from casebot.domain.reminders import (
    CaseFacts,
    Policy,
    check_in_is_open,
    check_in_rounds,
    due_reminders,
    is_check_in_round,
    item_is_awaited,
    next_due_at,
    parse_arrival_date,
    parse_arrival_route,
)
from casebot.domain.states import CaseState
from casebot.errors import InvalidInput

START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def home(answered: frozenset[int] = frozenset(), state: CaseState = CaseState.HOME_FOLLOW_UP) -> CaseFacts:
    return CaseFacts(
        case_id=1,
        state=state,
        state_changed_at=START,
        last_activity_at=START + timedelta(days=1000),  # never stale in these tests
        answered_check_ins=answered,
    )


def check_ins(facts: CaseFacts, policy: Policy, days: float) -> list[int]:
    now = START + timedelta(days=days)
    return sorted(
        int(str(r.payload["round"])) for r in due_reminders(facts, policy, now) if r.kind == "check_in"
    )


@pytest.mark.parametrize(
    ("every", "rounds"),
    [
        (30, [7, 30, 60, 90, 120]),
        (14, [7, 30, 44, 58, 72]),
    ],
)
def test_check_ins_come_at_7_and_30_days_then_every_interval(every: int, rounds: list[int]) -> None:
    policy = Policy(check_in_every=every)
    seen: list[int] = []
    for day in range(0, rounds[-1] + 1):
        for round_ in check_ins(home(), policy, day):
            if round_ not in seen:
                seen.append(round_)
    assert seen == rounds
    assert all(is_check_in_round(r, every) for r in rounds)
    assert not is_check_in_round(rounds[-1] + 1, every)


def test_the_next_check_in_is_scheduled_so_the_sweep_wakes_for_it() -> None:
    policy = Policy(check_in_every=30)
    assert next_due_at(home(frozenset({7, 30})), policy, START + timedelta(days=31)) == START + timedelta(
        days=60
    )
    assert check_in_rounds(0, 30) == (None, 7)
    assert check_in_rounds(29, 30) == (7, 30)
    assert check_in_rounds(95, 30) == (90, 120)


def test_after_downtime_only_the_latest_check_in_goes_out_and_an_answered_one_not_again() -> None:
    policy = Policy(check_in_every=30)
    assert check_ins(home(), policy, 100) == [90]
    assert check_ins(home(frozenset({90})), policy, 100) == []


@pytest.mark.parametrize("state", [CaseState.CLOSED, CaseState.WITHDRAWN, CaseState.OPINION_RECEIVED])
def test_no_check_in_outside_home_follow_up(state: CaseState) -> None:
    assert check_ins(home(state=state), Policy(), 60) == []


@pytest.mark.parametrize(
    ("round_", "days_in", "every", "open_"),
    [
        (60, 60, 30, True),
        (60, 59, 30, False),  # forged ahead of time
        (44, 44, 14, True),
        (45, 45, 14, False),  # not a round at that interval
        (44, 44, 30, False),
    ],
)
def test_a_later_check_in_can_be_answered_once_its_day_has_come(
    round_: int, days_in: int, every: int, open_: bool
) -> None:
    now = START + timedelta(days=days_in)
    assert check_in_is_open(round_, CaseState.HOME_FOLLOW_UP, START, now, every) is open_


def gathering(arrivals: tuple[tuple[int, datetime], ...], missing: tuple[int, ...] = (3,)) -> CaseFacts:
    return CaseFacts(
        case_id=1,
        state=CaseState.RECORDS_GATHERING,
        state_changed_at=START,
        last_activity_at=START + timedelta(days=1000),
        records_activity_at=START,
        missing_items=missing,
        arrivals=arrivals,
    )


def missing_reminders(facts: CaseFacts, days: float) -> list[tuple[str, list[object]]]:
    now = START + timedelta(days=days)
    return [
        (r.kind, list(r.payload["items"]))  # type: ignore[call-overload]
        for r in due_reminders(facts, Policy(), now)
        if r.kind in ("reminder_missing", "escalation_missing")
    ]


def test_an_item_coming_by_courier_is_not_reminded_until_its_date_has_passed() -> None:
    expected = datetime(2026, 12, 10, tzinfo=UTC)  # 17 days in
    facts = gathering(((3, expected),))
    for day in (3, 6, 12, 17.5):
        assert missing_reminders(facts, day) == [], day
    # The sweep wakes when the wait ends, not before.
    assert next_due_at(facts, Policy(), START + timedelta(days=4)) == expected + DAY
    # The day after: still missing, so the reminders resume, the first one at once, no escalation.
    assert missing_reminders(facts, 18.01) == [("reminder_missing", [3])]
    assert missing_reminders(facts, 21.01) == [("reminder_missing", [3])]


def test_other_missing_items_are_still_reminded_meanwhile() -> None:
    facts = gathering(((3, datetime(2026, 12, 10, tzinfo=UTC)),), missing=(2, 3))
    assert missing_reminders(facts, 3) == [("reminder_missing", [2])]
    # Item 2 went unanswered long enough to be escalated; item 3 joins once its date has passed.
    assert ("reminder_missing", [2]) in missing_reminders(facts, 15.1)
    assert ("reminder_missing", [2, 3]) in missing_reminders(facts, 18.1)


def test_a_past_arrival_date_holds_nothing() -> None:
    facts = gathering(((3, START - 5 * DAY),))
    assert missing_reminders(facts, 3) == [("reminder_missing", [3])]
    assert not item_is_awaited(START - 5 * DAY, START)
    assert item_is_awaited(START, START + timedelta(hours=23))
    assert not item_is_awaited(None, START)


def test_arrival_route_and_date_are_read_readably() -> None:
    assert parse_arrival_route(" Courier ").value == "courier"
    with pytest.raises(InvalidInput, match="link or courier"):
        parse_arrival_route("pigeon")
    today = date(2026, 11, 23)
    assert parse_arrival_date("2026-12-03", today) == datetime(2026, 12, 3, tzinfo=UTC)
    assert parse_arrival_date("2026-11-23", today) == datetime(2026, 11, 23, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="already past"):
        parse_arrival_date("2026-11-22", today)
    with pytest.raises(InvalidInput, match="not a date"):
        parse_arrival_date("2026-02-30", today)
    with pytest.raises(InvalidInput, match="not a date"):
        parse_arrival_date("tomorrow", today)
    with pytest.raises(InvalidInput, match="year"):
        parse_arrival_date("2028-01-01", today)
