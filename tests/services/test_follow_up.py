"""Home follow-up (the home oncologist, monthly check-ins, follow-up questions) and records that come
another way (a link, a courier), through the services with a controllable clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casebot.clock import ManualClock
from casebot.db.models import AuditEvent, Case, ChecklistItem, OutboxMessage, Participant
from casebot.domain.checklist import ItemStatus
from casebot.domain.notices import Deliver, Drop
from casebot.domain.states import CaseState
from casebot.errors import CaseClosed, CaseNotFound, InvalidInput, InvalidText, ItemNotFound, NotAllowed
from casebot.services import Actor, Services
from casebot.services.base import SYSTEM
from casebot.services.checklist import IncomingFile

from ..conftest import make_participant, redeem, register

DAY = timedelta(days=1)


@pytest.fixture
async def case_with_family(services: Services, coordinator: Actor) -> tuple[int, Actor]:
    """A case with one family member whose quiet hours are off (notices go out at once)."""
    case = await services.cases.open_case(coordinator, "Lung")
    invite = await services.invites.create(coordinator, case.id)
    person = await register(3001)
    await Participant.filter(id=person.id).update(quiet_hours="")
    await redeem(services, await Participant.get(id=person.id), invite.token)
    return case.id, services.participants.actor_for(person)


async def to_state(services: Services, coordinator: Actor, case_id: int, last: CaseState) -> None:
    """Move the case forward, state by state, up to ``last``."""
    path = [CaseState.SENT, CaseState.UNDER_REVIEW, CaseState.OPINION_RECEIVED, CaseState.HOME_FOLLOW_UP]
    current = (await Case.get(id=case_id)).state
    start = path.index(current) + 1 if current in path else 0
    for state in path[start : path.index(last) + 1]:
        await services.cases.advance(coordinator, case_id, state, reason="the hospital had what it needed")


async def kinds_for(participant_id: int | None, kind: str) -> list[OutboxMessage]:
    return list(await OutboxMessage.filter(participant_id=participant_id, kind=kind).order_by("id"))


async def decide(services: Services, row: OutboxMessage) -> Deliver | Drop:
    decision = await services.outbox.check(row, await Participant.get(id=row.participant_id))
    assert isinstance(decision, Deliver | Drop)
    return decision


# --- the home oncologist -------------------------------------------------------------------


async def test_the_opinion_arriving_asks_the_family_for_their_home_oncologist(
    services: Services, coordinator: Actor, case_with_family: tuple[int, Actor]
) -> None:
    case_id, family = case_with_family
    await to_state(services, coordinator, case_id, CaseState.UNDER_REVIEW)
    assert await kinds_for(family.participant_id, "ask_home_doctor") == []
    await to_state(services, coordinator, case_id, CaseState.OPINION_RECEIVED)
    [asked] = await kinds_for(family.participant_id, "ask_home_doctor")
    assert isinstance(await decide(services, asked), Deliver)

    case, changed = await services.reminders.set_home_doctor(
        family, case_id, "Dr Petrova,\n City Oncology Centre "
    )
    assert changed and case.home_doctor == "Dr Petrova, City Oncology Centre"
    assert (await Case.get(id=case_id)).home_doctor == "Dr Petrova, City Oncology Centre"
    # Answered meanwhile: the question still queued is not put again.
    assert isinstance(await decide(services, asked), Drop)
    [told] = await kinds_for(coordinator.participant_id, "home_doctor_set")
    assert told.payload["home_doctor"] == "Dr Petrova, City Oncology Centre"
    # The name is kept in the reason (which erasure clears), never in the audit values.
    event = await AuditEvent.get(action="home_doctor_set")
    assert (event.from_value, event.to_value, event.reason) == (
        None,
        "recorded",
        "Dr Petrova, City Oncology Centre",
    )


async def test_naming_the_same_oncologist_twice_records_once_and_a_change_is_kept(
    services: Services, coordinator: Actor, case_with_family: tuple[int, Actor]
) -> None:
    case_id, family = case_with_family
    await services.reminders.set_home_doctor(family, case_id, "don't know yet")
    _, changed = await services.reminders.set_home_doctor(family, case_id, "don't know yet")
    assert not changed
    assert await AuditEvent.filter(action="home_doctor_set").count() == 1
    _, changed = await services.reminders.set_home_doctor(family, case_id, "Dr Chen, Northside Clinic")
    assert changed
    latest = await AuditEvent.filter(action="home_doctor_set").order_by("-id").first()
    assert latest is not None and latest.from_value == "recorded"
    assert len(await kinds_for(coordinator.participant_id, "home_doctor_set")) == 2


async def test_a_home_oncologist_is_refused_for_a_closed_or_someone_elses_case_or_empty(
    services: Services, coordinator: Actor, case_with_family: tuple[int, Actor]
) -> None:
    case_id, family = case_with_family
    stranger = await make_participant(services, 3999, family.role)
    with pytest.raises(CaseNotFound):
        await services.reminders.set_home_doctor(stranger, case_id, "Dr Evil")
    with pytest.raises(InvalidText):
        await services.reminders.set_home_doctor(family, case_id, "  \u200b ")
    with pytest.raises(InvalidText):
        await services.reminders.set_home_doctor(family, case_id, "x" * 301)
    await services.cases.advance(coordinator, case_id, CaseState.WITHDRAWN, reason="family stopped")
    with pytest.raises(CaseClosed):
        await services.reminders.set_home_doctor(family, case_id, "Dr Petrova")
    assert (await Case.get(id=case_id)).home_doctor is None


async def test_erasure_forgets_the_home_oncologist(
    services: Services, coordinator: Actor, case_with_family: tuple[int, Actor]
) -> None:
    case_id, family = case_with_family
    await services.reminders.set_home_doctor(family, case_id, "Dr Petrova, City Oncology Centre")
    await services.cases.erase(SYSTEM, case_id)
    assert (await Case.get(id=case_id)).home_doctor is None
    assert not await AuditEvent.filter(reason__contains="Petrova").exists()
    assert not [r for r in await OutboxMessage.all() if "Petrova" in str(r.payload)]


# --- check-ins -----------------------------------------------------------------------------


async def test_check_ins_go_on_monthly_until_the_case_is_closed(
    services: Services, coordinator: Actor, clock: ManualClock, case_with_family: tuple[int, Actor]
) -> None:
    case_id, family = case_with_family
    await to_state(services, coordinator, case_id, CaseState.HOME_FOLLOW_UP)
    rounds = []
    for _ in range(95):
        clock.advance(DAY)
        await services.reminders.sweep()
    rounds = [row.payload["round"] for row in await kinds_for(family.participant_id, "check_in")]
    assert rounds == [7, 30, 60, 90]
    # The 60-day round can be answered; one not yet come cannot.
    assert await services.reminders.answer_check_in(family, case_id, 60, "done") is not None
    with pytest.raises(InvalidInput):
        await services.reminders.answer_check_in(family, case_id, 120, "done")
    await services.cases.advance(coordinator, case_id, CaseState.CLOSED, reason="done")
    last = (await kinds_for(family.participant_id, "check_in"))[-1]
    assert isinstance(await decide(services, last), Drop)
    for _ in range(40):
        clock.advance(DAY)
        await services.reminders.sweep()
    assert len(await kinds_for(family.participant_id, "check_in")) == 4


async def test_the_check_in_interval_is_a_setting(coordinator: Actor, clock: ManualClock) -> None:
    from dataclasses import replace

    from casebot.domain.reminders import Policy
    from casebot.services import ReminderSettings

    services = Services.build(
        clock,
        admin_ids=frozenset({1000}),
        reminders=ReminderSettings(policy=replace(Policy(), check_in_every=14)),
    )
    case = await services.cases.open_case(coordinator, "Breast")
    invite = await services.invites.create(coordinator, case.id)
    person = await register(3001)
    await Participant.filter(id=person.id).update(quiet_hours="")
    await redeem(services, await Participant.get(id=person.id), invite.token)
    await to_state(services, coordinator, case.id, CaseState.HOME_FOLLOW_UP)
    for _ in range(60):
        clock.advance(DAY)
        await services.reminders.sweep()
    rounds = [row.payload["round"] for row in await kinds_for(person.id, "check_in")]
    assert rounds == [7, 30, 44, 58]


# --- records that come another way ----------------------------------------------------------


async def only_item_three_missing(services: Services, coordinator: Actor, case_id: int) -> None:
    for position in (1, 2, 4, 5, 6, 7, 8):
        await services.checklist.mark_received(coordinator, case_id, position)


async def test_a_file_over_20_mb_keeps_its_item_missing_and_the_family_says_how_it_will_come(
    services: Services, coordinator: Actor, case_with_family: tuple[int, Actor]
) -> None:
    case_id, family = case_with_family
    big = IncomingFile("file-1", "u-1", "ct-dicom.zip", 300 * 1024 * 1024, "application/zip")
    filed = await services.checklist.attach_file(family, case_id, 3, big)
    assert filed.new and not filed.record.downloadable
    assert (await ChecklistItem.get(case_id=case_id, position=3)).status == ItemStatus.MISSING
    item, changed = await services.checklist.choose_arrival_route(family, case_id, 3, "courier")
    assert changed and item.arrival_route == "courier"
    _, changed = await services.checklist.choose_arrival_route(family, case_id, 3, "courier")
    assert not changed
    [told] = await kinds_for(coordinator.participant_id, "arrival_route_chosen")
    assert (told.payload["item"], told.payload["route"]) == (3, "courier")
    stranger = await make_participant(services, 3999, family.role)
    with pytest.raises(CaseNotFound):
        await services.checklist.choose_arrival_route(stranger, case_id, 3, "link")
    with pytest.raises(InvalidInput):
        await services.checklist.choose_arrival_route(family, case_id, 3, "pigeon")
    await services.checklist.mark_received(coordinator, case_id, 3)
    with pytest.raises(InvalidInput, match="already received"):
        await services.checklist.choose_arrival_route(family, case_id, 3, "link")


async def test_an_item_arriving_by_courier_is_not_reminded_until_its_date_then_is_again(
    services: Services, coordinator: Actor, clock: ManualClock, case_with_family: tuple[int, Actor]
) -> None:
    case_id, family = case_with_family
    await only_item_three_missing(services, coordinator, case_id)
    clock.advance(DAY * 3)
    await services.reminders.sweep()
    [queued] = await kinds_for(family.participant_id, "reminder_missing")  # before the date is known
    item = await services.checklist.mark_arriving(
        coordinator, case_id, 3, "courier", "2026-12-10", zone="Asia/Shanghai"
    )
    assert (item.arrival_route, item.arrival_expected_at.date().isoformat()) == ("courier", "2026-12-10")
    # The reminder queued earlier no longer applies when its turn comes: the send-time check agrees.
    assert isinstance(await decide(services, queued), Drop)
    for _ in range(12):  # up to 2026-12-08
        clock.advance(DAY)
        await services.reminders.sweep()
    assert len(await kinds_for(family.participant_id, "reminder_missing")) == 1
    clock.advance(DAY * 3)  # 2026-12-11: the date has passed, the record is still missing
    await services.reminders.sweep()
    rows = await kinds_for(family.participant_id, "reminder_missing")
    assert len(rows) == 2 and [i["position"] for i in rows[-1].payload["items"]] == [3]
    assert isinstance(await decide(services, rows[-1]), Deliver)
    assert not await OutboxMessage.filter(kind="escalation_missing").exists()
    event = await AuditEvent.get(action="arrival_expected")
    assert (event.from_value, event.to_value) == ("3:-", "3:courier:2026-12-10")


async def test_arriving_refuses_readably(
    services: Services, coordinator: Actor, case_with_family: tuple[int, Actor]
) -> None:
    case_id, family = case_with_family
    zone = "Asia/Shanghai"
    with pytest.raises(NotAllowed):
        await services.checklist.mark_arriving(family, case_id, 3, "link", "2026-12-10", zone=zone)
    with pytest.raises(InvalidInput, match="link or courier"):
        await services.checklist.mark_arriving(coordinator, case_id, 3, "fax", "2026-12-10", zone=zone)
    with pytest.raises(InvalidInput, match="already past"):
        await services.checklist.mark_arriving(coordinator, case_id, 3, "link", "2026-11-01", zone=zone)
    with pytest.raises(InvalidInput, match="not a date"):
        await services.checklist.mark_arriving(coordinator, case_id, 3, "link", "10/12/2026", zone=zone)
    with pytest.raises(ItemNotFound):
        await services.checklist.mark_arriving(coordinator, case_id, 42, "link", "2026-12-10", zone=zone)
    await services.checklist.mark_received(coordinator, case_id, 2)
    with pytest.raises(InvalidInput, match="already received"):
        await services.checklist.mark_arriving(coordinator, case_id, 2, "link", "2026-12-10", zone=zone)
    await services.cases.advance(coordinator, case_id, CaseState.WITHDRAWN, reason="family stopped")
    with pytest.raises(CaseClosed):
        await services.checklist.mark_arriving(coordinator, case_id, 3, "link", "2026-12-10", zone=zone)
    assert not await AuditEvent.filter(action="arrival_expected").exists()
