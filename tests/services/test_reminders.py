"""Reminders through the sweep, with a controllable clock: who gets what, when, and never twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from casebot.clock import ManualClock
from casebot.db.models import Case, OutboxMessage, Participant
from casebot.domain.notices import Deliver, Drop
from casebot.domain.questions import Direction
from casebot.domain.states import CaseState
from casebot.errors import InvalidInput
from casebot.services import Actor, Services

from ..conftest import redeem, register

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def kinds(participant_id: int | None = None) -> list[str]:
    query = OutboxMessage.all().order_by("id")
    if participant_id is not None:
        query = query.filter(participant_id=participant_id)
    return [
        row.kind
        for row in await query
        if row.kind.startswith(("reminder", "escalation", "chase", "review", "check", "stale"))
    ]


@pytest.fixture
async def case_with_family(services: Services, coordinator: Actor, clock: ManualClock) -> tuple[int, Actor]:
    """A case opened Monday 10:00 Shanghai with one family member (quiet hours off for them)."""
    case = await services.cases.open_case(coordinator, "Lung")
    invite = await services.invites.create(coordinator, case.id)
    person = await register(3001)
    await Participant.filter(id=person.id).update(quiet_hours="")
    await redeem(services, await Participant.get(id=person.id), invite.token)
    return case.id, services.participants.actor_for(person)


async def sweep_at(services: Services, clock: ManualClock, delta: timedelta) -> None:
    clock.advance(delta)
    await services.reminders.sweep()


async def test_missing_records_are_reminded_every_three_days_and_then_escalated(
    services: Services, clock: ManualClock, case_with_family: tuple[int, Actor], coordinator: Actor
) -> None:
    _, family = case_with_family
    await sweep_at(services, clock, timedelta(days=2, hours=23))
    assert await kinds() == []
    await sweep_at(services, clock, timedelta(hours=1))
    assert await kinds(family.participant_id) == ["reminder_missing"]
    row = await OutboxMessage.get(kind="reminder_missing")
    assert [item["position"] for item in row.payload["items"]] == list(range(1, 9))
    await sweep_at(services, clock, timedelta(minutes=1))
    assert await kinds() == ["reminder_missing"], "the same reminder is never queued twice"
    for _ in range(3):
        await sweep_at(services, clock, timedelta(days=3))
    assert await kinds(family.participant_id) == ["reminder_missing"] * 4
    assert await kinds(coordinator.participant_id) == ["escalation_missing"]


async def test_a_received_item_leaves_the_reminder_and_a_complete_packet_stops_it(
    services: Services, clock: ManualClock, case_with_family: tuple[int, Actor], coordinator: Actor
) -> None:
    case_id, _ = case_with_family
    for position in range(1, 8):
        await services.checklist.mark_received(coordinator, case_id, position)
    await sweep_at(services, clock, timedelta(days=3))
    row = await OutboxMessage.get(kind="reminder_missing")
    assert [item["position"] for item in row.payload["items"]] == [8]
    await services.checklist.waive(coordinator, case_id, 8, "summary not needed")
    await sweep_at(services, clock, timedelta(days=30))
    assert await kinds() == ["reminder_missing", "stale"]


async def test_a_reminder_falling_in_quiet_hours_waits_for_the_morning(
    services: Services, clock: ManualClock, case_with_family: tuple[int, Actor]
) -> None:
    _, family = case_with_family
    await Participant.filter(id=family.participant_id).update(quiet_hours=None, timezone="Europe/Moscow")
    clock.set(datetime(2026, 11, 26, 20, 0, tzinfo=UTC))  # 23:00 in Moscow, three days in
    await services.reminders.sweep()
    row = await OutboxMessage.get(kind="reminder_missing")
    local = row.available_at.astimezone(ZoneInfo("Europe/Moscow"))
    assert (local.day, local.hour, local.minute) == (27, 9, 0)


async def test_after_downtime_an_overdue_reminder_goes_out_once(
    services: Services, clock: ManualClock, case_with_family: tuple[int, Actor], coordinator: Actor
) -> None:
    _, family = case_with_family
    await sweep_at(services, clock, timedelta(days=40))
    assert await kinds(family.participant_id) == ["reminder_missing"]
    assert sorted(await kinds(coordinator.participant_id)) == ["escalation_missing", "stale"]


async def test_a_paused_case_is_quiet_until_the_pause_ends(
    services: Services, clock: ManualClock, case_with_family: tuple[int, Actor], coordinator: Actor
) -> None:
    case_id, _ = case_with_family
    await services.reminders.pause(coordinator, case_id, "2026-12-10", "Asia/Shanghai")
    await sweep_at(services, clock, timedelta(days=5))
    assert await kinds() == []
    await services.reminders.resume(coordinator, case_id)
    await services.reminders.sweep()
    assert await kinds() == ["reminder_missing"]


async def test_the_hospitals_question_is_reminded_until_answered(
    services: Services, clock: ManualClock, case_with_family: tuple[int, Actor], coordinator: Actor
) -> None:
    case_id, family = case_with_family
    await services.cases.advance(coordinator, case_id, CaseState.SENT, reason="override")
    question = await services.questions.ask(coordinator, case_id, Direction.TO_FAMILY, "Blocks available?")
    await sweep_at(services, clock, timedelta(days=2))
    assert "reminder_question" in await kinds(family.participant_id)
    await services.questions.answer(family, case_id, question.number, "Yes")
    await sweep_at(services, clock, timedelta(days=2))
    assert (await kinds(family.participant_id)).count("reminder_question") == 1


async def test_the_coordinator_is_told_to_chase_the_hospital_after_three_business_days(
    services: Services, clock: ManualClock, case_with_family: tuple[int, Actor], coordinator: Actor
) -> None:
    case_id, _ = case_with_family
    clock.set(datetime(2026, 11, 27, 2, 0, tzinfo=UTC))  # Friday 10:00 in Shanghai
    await services.cases.set_hospital(coordinator, case_id, "Hospital", "Dept", "Dr Li")
    await services.checklist.mark_received(coordinator, case_id, 1)  # keeps the records reminder away
    clock.set(datetime(2026, 12, 2, 1, 59, tzinfo=UTC))  # Wednesday 09:59: not yet three business days
    await services.reminders.sweep()
    assert "chase_hospital" not in await kinds(coordinator.participant_id)
    await sweep_at(services, clock, timedelta(minutes=2))
    assert "chase_hospital" in await kinds(coordinator.participant_id)
    row = await OutboxMessage.get(kind="chase_hospital")
    assert len(row.payload["questions"]) == 10


async def test_a_long_review_warns_the_coordinator_but_not_while_waiting_on_the_family(
    services: Services, clock: ManualClock, case_with_family: tuple[int, Actor], coordinator: Actor
) -> None:
    case_id, family = case_with_family
    await services.cases.advance(coordinator, case_id, CaseState.SENT, reason="override")
    await services.cases.advance(coordinator, case_id, CaseState.UNDER_REVIEW)
    question = await services.questions.ask(coordinator, case_id, Direction.TO_FAMILY, "Any new scans?")
    await sweep_at(services, clock, timedelta(days=7))  # a week waiting on the family
    await services.questions.answer(family, case_id, question.number, "No")
    await sweep_at(services, clock, timedelta(days=9))  # 7 business days of real review
    assert "review_overdue" not in await kinds(coordinator.participant_id)
    await sweep_at(services, clock, timedelta(days=5))
    assert "review_overdue" in await kinds(coordinator.participant_id)


async def test_home_follow_up_check_ins_come_at_seven_and_thirty_days(
    services: Services, clock: ManualClock, case_with_family: tuple[int, Actor], coordinator: Actor
) -> None:
    case_id, family = case_with_family
    for state in (
        CaseState.SENT,
        CaseState.UNDER_REVIEW,
        CaseState.OPINION_RECEIVED,
        CaseState.HOME_FOLLOW_UP,
    ):
        await services.cases.advance(coordinator, case_id, state, reason="override")
    await sweep_at(services, clock, timedelta(days=7))
    assert (await kinds(family.participant_id)).count("check_in") == 1
    await services.reminders.answer_check_in(family, case_id, 7, "need_help")
    assert await OutboxMessage.filter(
        kind="check_in_help", participant_id=coordinator.participant_id
    ).exists()
    await sweep_at(services, clock, timedelta(days=23))
    assert (await kinds(family.participant_id)).count("check_in") == 2


async def test_a_quiet_case_is_reported_stale_once(
    services: Services, clock: ManualClock, case_with_family: tuple[int, Actor], coordinator: Actor
) -> None:
    case_id, _ = case_with_family
    await services.reminders.pause(coordinator, case_id, "2w", "Asia/Shanghai")
    await Case.filter(id=case_id).update(paused_until=None)
    await sweep_at(services, clock, timedelta(days=14))
    await sweep_at(services, clock, timedelta(days=1))
    assert (await kinds(coordinator.participant_id)).count("stale") == 1


@pytest.mark.parametrize("until", ["2026-02-30", "yesterday", "2020-01-01", "0d", "5x"])
async def test_an_impossible_pause_or_snooze_changes_nothing(
    services: Services, case_with_family: tuple[int, Actor], coordinator: Actor, until: str
) -> None:
    case_id, family = case_with_family
    with pytest.raises(InvalidInput):
        await services.reminders.pause(coordinator, case_id, until, "Asia/Shanghai")
    with pytest.raises(InvalidInput):
        await services.reminders.snooze(family, until, "Asia/Shanghai")
    case = await Case.get(id=case_id)
    assert case.paused_until is None and case.snoozed_until is None


async def test_a_snooze_moves_the_next_reminder_to_its_end(
    services: Services, clock: ManualClock, case_with_family: tuple[int, Actor]
) -> None:
    _, family = case_with_family
    await sweep_at(services, clock, timedelta(days=3))
    await services.reminders.snooze(family, "3d", "Asia/Shanghai")
    await sweep_at(services, clock, timedelta(days=2, hours=23))
    assert (await kinds(family.participant_id)).count("reminder_missing") == 1
    await sweep_at(services, clock, timedelta(hours=1))
    assert (await kinds(family.participant_id)).count("reminder_missing") == 2


async def test_the_schedule_says_what_comes_next_and_why(
    services: Services, case_with_family: tuple[int, Actor], coordinator: Actor
) -> None:
    case_id, _ = case_with_family
    _, upcoming = await services.reminders.schedule(coordinator, case_id)
    assert upcoming[0].kind == "reminder_missing" and upcoming[0].why == "records_missing"
    assert upcoming == sorted(upcoming, key=lambda r: r.due_at)


async def test_a_reminder_waiting_for_the_morning_drops_what_arrived_overnight(
    services: Services, clock: ManualClock, case_with_family: tuple[int, Actor], coordinator: Actor
) -> None:
    case_id, _ = case_with_family
    for position in range(1, 7):
        await services.checklist.mark_received(coordinator, case_id, position)
    await sweep_at(services, clock, timedelta(days=3))
    row = await OutboxMessage.get(kind="reminder_missing")
    await services.checklist.mark_received(coordinator, case_id, 7)
    decision = await services.outbox.check(row, await Participant.get(id=row.participant_id))
    assert isinstance(decision, Deliver)
    assert [item["position"] for item in decision.payload["items"]] == [8]
    await services.checklist.mark_received(coordinator, case_id, 8)
    assert await services.outbox.check(row, await Participant.get(id=row.participant_id)) == Drop(
        "no longer applies"
    )


@pytest.mark.parametrize(
    ("hospital_chosen", "not_yet", "due"),
    [
        # National Day 2026: 1-7 October off; 30 September, then 8 and 9 October are the three days.
        ("2026-09-29 10:00", "2026-10-09 09:59", "2026-10-09 10:01"),
        # Saturday 10 October 2026 is a make-up working day: 9, 10 and 12 October.
        ("2026-10-08 10:00", "2026-10-12 09:59", "2026-10-12 10:01"),
        # Spring Festival 2026: 15-23 February off, Saturday 14 February worked: 14, 24, 25 February.
        ("2026-02-13 10:00", "2026-02-25 09:59", "2026-02-25 10:01"),
    ],
)
async def test_the_hospital_is_chased_after_three_of_chinas_official_working_days(
    services: Services, clock: ManualClock, coordinator: Actor, hospital_chosen: str, not_yet: str, due: str
) -> None:
    def shanghai(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)

    clock.set(shanghai(hospital_chosen))
    case = await services.cases.open_case(coordinator, "Holiday")
    await services.cases.set_hospital(coordinator, case.id, "Hospital", "Dept", "Dr Li")
    clock.set(shanghai(not_yet))
    await services.reminders.sweep()
    assert "chase_hospital" not in await kinds(coordinator.participant_id)
    clock.set(shanghai(due))
    await services.reminders.sweep()
    assert "chase_hospital" in await kinds(coordinator.participant_id)
