"""Right before a message goes out, the outbox asks whether it still applies to its recipient as they are now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from casebot.clock import ManualClock
from casebot.db.models import CaseMember, OutboxMessage, Participant
from casebot.domain.notices import Deliver, Drop, Postpone
from casebot.domain.questions import Direction
from casebot.domain.roles import Role
from casebot.services import Actor, Services

from ..conftest import redeem, register


async def a_case_with_a_family(services: Services, coordinator: Actor) -> tuple[int, Participant]:
    case = await services.cases.open_case(coordinator, "Rules")
    person = await register(3001)
    await Participant.filter(id=person.id).update(quiet_hours="")
    await redeem(services, person, (await services.invites.create(coordinator, case.id)).token)
    return case.id, await Participant.get(id=person.id)


async def decide(services: Services, kind: str) -> Deliver | Drop | Postpone:
    row = await OutboxMessage.filter(kind=kind).order_by("-id").first()
    assert row is not None
    return await services.outbox.check(row, await Participant.get(id=row.participant_id))


async def test_a_notice_for_a_family_member_who_left_the_case_dies_unsent(
    services: Services, coordinator: Actor
) -> None:
    case_id, person = await a_case_with_a_family(services, coordinator)
    await services.questions.ask(coordinator, case_id, Direction.TO_FAMILY, "Blocks?")
    assert isinstance(await decide(services, "question_for_family"), Deliver)
    await CaseMember.filter(participant_id=person.id).delete()
    assert await decide(services, "question_for_family") == Drop(
        "the recipient is no longer a member of the case"
    )


async def test_a_notice_for_a_coordinator_who_was_removed_or_no_longer_holds_the_case_dies_unsent(
    services: Services, coordinator: Actor, other_coordinator: Actor
) -> None:
    case_id, _ = await a_case_with_a_family(services, coordinator)
    assert isinstance(await decide(services, "member_joined"), Deliver)
    await services.cases.assign_coordinator(coordinator, case_id, 2002)
    assert await decide(services, "member_joined") == Drop("the case is now held by another coordinator")
    await Participant.filter(id=coordinator.participant_id).update(role=Role.FAMILY)
    assert await decide(services, "member_joined") == Drop("the recipient is no longer a coordinator")


async def test_a_family_member_who_became_staff_gets_no_family_notice(
    services: Services, coordinator: Actor
) -> None:
    case_id, person = await a_case_with_a_family(services, coordinator)
    await services.questions.ask(coordinator, case_id, Direction.TO_FAMILY, "Scans?")
    await Participant.filter(id=person.id).update(role=Role.COORDINATOR)
    assert isinstance(await decide(services, "question_for_family"), Drop)


@pytest.mark.parametrize(
    ("zone", "utc_hour", "held_until_utc_hour"),
    [
        ("Europe/Moscow", 20, 6),  # 23:00 in Moscow: held until 09:00 there (06:00 UTC)
        ("Europe/Moscow", 7, None),  # 10:00 in Moscow
        ("Asia/Shanghai", 14, 1),  # 22:00 in Shanghai: held until 09:00 there (01:00 UTC)
    ],
)
async def test_a_notice_that_is_not_urgent_waits_for_the_end_of_quiet_hours_in_the_recipients_zone_now(
    services: Services,
    coordinator: Actor,
    clock: ManualClock,
    zone: str,
    utc_hour: int,
    held_until_utc_hour: int | None,
) -> None:
    case_id, person = await a_case_with_a_family(services, coordinator)
    await services.questions.ask(coordinator, case_id, Direction.TO_FAMILY, "Any new scans?")
    # The family changed zone and quiet hours after the notice was queued: what counts is now.
    await Participant.filter(id=person.id).update(timezone=zone, quiet_hours="21:00-09:00")
    clock.set(datetime(2026, 11, 25, utc_hour, 0, tzinfo=UTC))
    decision = await decide(services, "question_for_family")
    if held_until_utc_hour is None:
        assert isinstance(decision, Deliver)
    else:
        expected = datetime(2026, 11, 25, held_until_utc_hour, 0, tzinfo=UTC)
        if expected <= clock.now():
            expected += timedelta(days=1)
        assert decision == Postpone(expected)


async def test_the_hospitals_answer_to_a_familys_own_question_is_not_held_for_quiet_hours(
    services: Services, coordinator: Actor, clock: ManualClock
) -> None:
    case_id, person = await a_case_with_a_family(services, coordinator)
    family = services.participants.actor_for(person)
    question = await services.questions.ask(family, case_id, Direction.TO_HOSPITAL, "Is travel needed?")
    await services.questions.answer(coordinator, case_id, question.number, "Not before the review.")
    await Participant.filter(id=person.id).update(quiet_hours="21:00-09:00")
    clock.set(datetime(2026, 11, 25, 15, 0, tzinfo=UTC))  # 23:00 in Shanghai
    decision = await decide(services, "hospital_answered")
    assert isinstance(decision, Deliver) and decision.payload["answer"] == "Not before the review."
    assert isinstance(await decide(services, "family_question"), Postpone)  # the coordinator's notice waits


async def test_a_reply_to_the_last_part_of_a_long_question_finds_the_question(
    services: Services, coordinator: Actor
) -> None:
    case_id, person = await a_case_with_a_family(services, coordinator)
    await services.questions.ask(coordinator, case_id, Direction.TO_FAMILY, "A long question")
    row = await OutboxMessage.get(kind="question_for_family")
    await OutboxMessage.filter(id=row.id).update(sent_message_id=40, last_message_id=42, parts_sent=3)
    family = services.participants.actor_for(person)
    assert await services.views.question_asked_in(family, 42) == (case_id, 11)
    assert await services.views.question_asked_in(family, 40) == (case_id, 11)
    assert await services.views.question_asked_in(family, 41) is None
    stranger = services.participants.actor_for(await register(3999))
    assert await services.views.question_asked_in(stranger, 42) is None


async def test_a_reply_to_a_question_of_a_case_erased_since_finds_no_question(
    services: Services, coordinator: Actor
) -> None:
    case_id, person = await a_case_with_a_family(services, coordinator)
    await services.questions.ask(coordinator, case_id, Direction.TO_FAMILY, "Blocks?")
    await OutboxMessage.filter(kind="question_for_family").update(sent_message_id=40, last_message_id=40)
    await services.cases.erase(coordinator, case_id)
    assert await services.views.question_asked_in(services.participants.actor_for(person), 40) is None
