"""Right before a message goes out, the outbox asks whether it still applies to its recipient as they are now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from casebot.clock import ManualClock
from casebot.db.models import CaseMember, OutboxMessage, Participant
from casebot.domain.notices import Deliver, Drop, Postpone
from casebot.domain.questions import Direction
from casebot.domain.roles import Role
from casebot.domain.states import CaseState
from casebot.services import Actor, Services
from casebot.services.base import SYSTEM

from ..conftest import ADMIN_TELEGRAM_ID, make_participant, redeem, register


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
    await Participant.filter(id=person.id).update(quiet_hours="21:00-09:00")
    clock.set(datetime(2026, 11, 25, 15, 0, tzinfo=UTC))  # 23:00 in Shanghai
    assert isinstance(await decide(services, "family_question"), Postpone)  # the coordinator's notice waits
    await services.questions.answer(coordinator, case_id, question.number, "Not before the review.")
    decision = await decide(services, "hospital_answered")
    assert isinstance(decision, Deliver) and decision.payload["answer"] == "Not before the review."
    # Answered meanwhile: the coordinator is no longer asked to put it to the hospital.
    assert isinstance(await decide(services, "family_question"), Drop)


async def test_a_reply_to_any_part_of_a_long_question_finds_the_question(
    services: Services, coordinator: Actor
) -> None:
    case_id, person = await a_case_with_a_family(services, coordinator)
    await services.questions.ask(coordinator, case_id, Direction.TO_FAMILY, "A long question")
    row = await OutboxMessage.get(kind="question_for_family")
    # Part 2 failed once; a /status answer (id 41) went out before the retry sent parts 2 and 3.
    await OutboxMessage.filter(id=row.id).update(
        sent_message_id=40, last_message_id=43, parts_sent=3, part_message_ids=[40, 42, 43]
    )
    family = services.participants.actor_for(person)
    for part in (40, 42, 43):
        assert await services.views.question_asked_in(family, part) == (case_id, 11)
    for other in (39, 41, 44):
        assert await services.views.question_asked_in(family, other) is None
    stranger = services.participants.actor_for(await register(3999))
    assert await services.views.question_asked_in(stranger, 42) is None


async def test_a_reply_to_a_question_of_a_case_erased_since_finds_no_question(
    services: Services, coordinator: Actor
) -> None:
    case_id, person = await a_case_with_a_family(services, coordinator)
    await services.questions.ask(coordinator, case_id, Direction.TO_FAMILY, "Blocks?")
    await OutboxMessage.filter(kind="question_for_family").update(sent_message_id=40, last_message_id=40)
    await services.cases.erase(SYSTEM, case_id)
    assert await services.views.question_asked_in(services.participants.actor_for(person), 40) is None


# --- every kind asks "does this still hold" at send time -----------------------------------------


async def test_a_question_answered_before_it_went_out_is_not_put_to_the_family(
    services: Services, coordinator: Actor
) -> None:
    case_id, _ = await a_case_with_a_family(services, coordinator)
    await services.questions.ask(coordinator, case_id, Direction.TO_FAMILY, "Blocks?")
    assert isinstance(await decide(services, "question_for_family"), Deliver)
    await services.questions.answer(coordinator, case_id, 11, "Yes (told us by phone)")
    assert await decide(services, "question_for_family") == Drop("no longer applies")


async def test_a_state_left_before_the_notice_went_out_is_not_announced_as_now(
    services: Services, coordinator: Actor
) -> None:
    case_id, _ = await a_case_with_a_family(services, coordinator)
    await services.cases.advance(coordinator, case_id, CaseState.SENT, reason="The family asked")
    first = await OutboxMessage.filter(kind="state_changed").order_by("id").first()
    assert first is not None
    await services.cases.advance(coordinator, case_id, CaseState.UNDER_REVIEW)
    person = await Participant.get(id=first.participant_id)
    assert await services.outbox.check(first, person) == Drop("no longer applies")
    latest = await decide(services, "state_changed")
    assert isinstance(latest, Deliver) and latest.payload["target"] == "under_review"


async def test_a_block_undone_before_the_notice_went_out_is_not_reported(
    services: Services, coordinator: Actor
) -> None:
    _, person = await a_case_with_a_family(services, coordinator)
    assert await services.participants.unreachable(person.id)
    row = await OutboxMessage.get(kind="recipient_blocked")
    assert row.payload["member_id"] == person.id
    assert isinstance(await decide(services, "recipient_blocked"), Deliver)
    assert await services.participants.reachable_again(await Participant.get(id=person.id))
    assert await decide(services, "recipient_blocked") == Drop("no longer applies")


async def test_a_case_that_moved_after_the_stale_notice_was_queued_is_not_called_idle(
    services: Services, coordinator: Actor, clock: ManualClock
) -> None:
    case_id, _ = await a_case_with_a_family(services, coordinator)
    clock.advance(timedelta(days=15))
    await services.reminders.sweep()
    assert isinstance(await decide(services, "stale"), Deliver)
    clock.advance(timedelta(hours=1))
    await services.cases.add_note(coordinator, case_id, "Called the hospital")
    assert await decide(services, "stale") == Drop("no longer applies")


async def test_a_handed_over_notice_takes_the_new_holders_key_and_is_not_doubled(
    services: Services, coordinator: Actor, clock: ManualClock
) -> None:
    await a_case_with_a_family(services, coordinator)
    clock.advance(timedelta(days=15))
    await services.reminders.sweep()
    row = await OutboxMessage.get(kind="stale")
    admin = await make_participant(services, ADMIN_TELEGRAM_ID, Role.ADMIN)
    await services.participants.remove_coordinator(admin, 2001)
    handed = await OutboxMessage.get(id=row.id)
    assert handed.participant_id == admin.participant_id
    assert handed.dedupe_key == f"{row.dedupe_key.rpartition(':')[0]}:{admin.participant_id}"
    await services.reminders.sweep()  # the hand-over made the case due again
    assert await OutboxMessage.filter(kind="stale").count() == 1


async def test_a_family_member_who_joins_later_gets_the_open_questions(
    services: Services, coordinator: Actor
) -> None:
    case = await services.cases.open_case(coordinator, "Later")
    await services.questions.ask(coordinator, case.id, Direction.TO_FAMILY, "Blocks?")
    await services.questions.ask(coordinator, case.id, Direction.TO_FAMILY, "Scans?")
    await services.questions.answer(coordinator, case.id, 12, "Sent already")
    assert not await services.questions.family_joined(case.id)
    person = await register(3001)
    await redeem(services, person, (await services.invites.create(coordinator, case.id)).token)
    rows = await OutboxMessage.filter(kind="question_for_family", participant_id=person.id)
    assert [r.payload["number"] for r in rows] == [11]


async def test_a_member_following_another_link_to_their_case_does_not_join_again_or_spend_it(
    services: Services, coordinator: Actor
) -> None:
    case_id, person = await a_case_with_a_family(services, coordinator)
    fresh = await services.invites.create(coordinator, case_id)
    joined = await redeem(services, person, fresh.token)
    assert joined.already_member
    assert await OutboxMessage.filter(kind="member_joined").count() == 1
    other = await register(3002)
    assert not (await redeem(services, other, fresh.token)).already_member
