"""Joining a case by invite, and erasing a case on request."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casebot.clock import ManualClock
from casebot.db.models import (
    AuditEvent,
    Case,
    CaseMember,
    Invite,
    OutboxMessage,
    Participant,
    Question,
    RecordFile,
)
from casebot.domain.questions import Direction
from casebot.domain.roles import Role
from casebot.domain.states import CaseState
from casebot.errors import CaseNotFound, InvalidInput, InviteInvalid, NotAllowed
from casebot.services import Actor, Services
from casebot.services.base import SYSTEM
from casebot.services.checklist import IncomingFile

from ..conftest import redeem, register


async def family_participant(telegram_user_id: int = 3001) -> Participant:
    return await Participant.get(telegram_user_id=telegram_user_id)


async def test_an_invite_joins_the_family_member_once_and_is_stored_hashed(
    services: Services, coordinator: Actor, family: Actor
) -> None:
    case = await services.cases.open_case(coordinator, "Pancreas")
    invite = await services.invites.create(coordinator, case.id)
    assert len(invite.token) >= 22  # >= 128 random bits in URL-safe base64
    stored = await Invite.get(id=invite.invite.id)
    assert stored.token_hash != invite.token and invite.token not in stored.token_hash
    assert stored.expires_at - stored.created_at == timedelta(days=7)

    joined = await redeem(services, await family_participant(), invite.token)
    assert joined.reference == f"C-{case.id:04d}" and not joined.already_member
    assert await CaseMember.filter(case_id=case.id, participant_id=family.participant_id).exists()
    with pytest.raises(InviteInvalid, match="already used"):
        await redeem(services, await family_participant(), invite.token)


async def test_an_expired_invite_is_refused(
    services: Services, coordinator: Actor, family: Actor, clock: ManualClock
) -> None:
    case = await services.cases.open_case(coordinator, "Thyroid")
    invite = await services.invites.create(coordinator, case.id)
    clock.advance(timedelta(days=7, seconds=1))
    with pytest.raises(InviteInvalid, match="expired"):
        await redeem(services, await family_participant(), invite.token)
    assert not await CaseMember.exists(case_id=case.id)


@pytest.mark.parametrize("token", ["", "short", "x" * 32, "bad token with spaces!"])
async def test_an_unknown_invite_is_refused(services: Services, family: Actor, token: str) -> None:
    with pytest.raises(InviteInvalid, match="not valid"):
        await redeem(services, await family_participant(), token)


async def test_a_member_sees_their_case_and_not_another(
    services: Services, coordinator: Actor, family: Actor
) -> None:
    mine = await services.cases.open_case(coordinator, "Mine")
    theirs = await services.cases.open_case(coordinator, "Theirs")
    invite = await services.invites.create(coordinator, mine.id)
    await redeem(services, await family_participant(), invite.token)
    question = await services.questions.ask(coordinator, mine.id, Direction.TO_FAMILY, "Blocks?")
    await services.questions.answer(family, mine.id, question.number, "Yes")
    with pytest.raises(CaseNotFound):
        await services.questions.answer(family, theirs.id, 1, "Yes")
    with pytest.raises(NotAllowed):
        await services.questions.answer(family, mine.id, 1, "The hospital said yes")


async def test_coordinators_do_not_join_by_invite(services: Services, coordinator: Actor) -> None:
    case = await services.cases.open_case(coordinator, "x")
    invite = await services.invites.create(coordinator, case.id)
    with pytest.raises(NotAllowed):
        await redeem(services, await Participant.get(id=coordinator.participant_id), invite.token)


async def test_erasing_a_case_leaves_an_anonymous_skeleton(
    services: Services, coordinator: Actor, family: Actor
) -> None:
    case = await services.cases.open_case(coordinator, "Mr Wang, lung")
    await services.cases.set_hospital(coordinator, case.id, "Hospital", "Dept", "Dr Zhang")
    invite = await services.invites.create(coordinator, case.id)
    await Participant.filter(id=family.participant_id).update(display_name="Wang Wei")
    await redeem(services, await family_participant(), invite.token)
    await services.checklist.waive(coordinator, case.id, 4, "Mr Wang never had surgery")
    await services.checklist.add_item(coordinator, case.id, "Wang's biopsy from May")
    await services.checklist.attach_file(
        family, case.id, 1, IncomingFile("f", "u", "wang.pdf", 10, "application/pdf")
    )
    question = await services.questions.ask(
        coordinator, case.id, Direction.TO_FAMILY, "Is Mr Wang on steroids?"
    )
    await services.questions.answer(family, case.id, question.number, "Wang takes dexamethasone")
    await services.cases.advance(coordinator, case.id, CaseState.SENT, reason="Wang family insisted")
    events_before = await AuditEvent.filter(case_id=case.id).count()

    change = await services.cases.erase(SYSTEM, case.id)

    assert change is not None and change.target == CaseState.WITHDRAWN
    erased = await Case.get(id=case.id)
    assert erased.erased_at is not None and erased.state == CaseState.WITHDRAWN
    texts = [erased.label, erased.reviewer or ""]
    texts += [q.text + (q.answer or "") for q in await Question.filter(case_id=case.id)]
    texts += [str(e.reason) for e in await AuditEvent.filter(case_id=case.id) if e.reason]
    texts += [(await Participant.get(id=family.participant_id)).display_name]
    assert not any("wang" in text.lower() for text in texts), texts
    assert await RecordFile.filter(case_id=case.id).count() == 0
    assert await CaseMember.filter(case_id=case.id).count() == 0
    assert await AuditEvent.filter(case_id=case.id).count() == events_before + 1
    assert (await AuditEvent.filter(case_id=case.id).order_by("-id").first()).action == "case_erased"  # type: ignore[union-attr]
    with pytest.raises(CaseNotFound):
        await services.questions.answer(family, case.id, question.number, "x")


async def test_only_an_admin_erases(services: Services, coordinator: Actor, family: Actor) -> None:
    case = await services.cases.open_case(coordinator, "x")
    for someone in (family, coordinator):  # the case's own coordinator included
        with pytest.raises(NotAllowed):
            await services.cases.erase(someone, case.id)
    assert (await Case.get(id=case.id)).erased_at is None


async def test_removing_a_coordinator_hands_their_open_cases_and_pending_notices_to_the_admin(
    services: Services, coordinator: Actor, family: Actor
) -> None:
    admin = services.participants.actor_for(await register(1000, Role.ADMIN))
    assert admin.role == Role.ADMIN
    open_case = await services.cases.open_case(coordinator, "Open")
    closed = await services.cases.open_case(coordinator, "Stopped")
    await services.cases.advance(coordinator, closed.id, CaseState.WITHDRAWN, reason="family stopped")
    invite = await services.invites.create(coordinator, open_case.id)
    await redeem(services, await family_participant(), invite.token)
    waiting = await OutboxMessage.get(kind="member_joined")
    assert waiting.participant_id == coordinator.participant_id

    change = await services.participants.remove_coordinator(admin, 2001)

    leaving = await Participant.get(id=coordinator.participant_id)
    assert leaving.role == Role.FAMILY and change.handed_over == (open_case.id,)
    assert (await Case.get(id=open_case.id)).coordinator_id == admin.participant_id
    assert (await Case.get(id=closed.id)).coordinator_id == coordinator.participant_id  # history stays
    assert (await OutboxMessage.get(id=waiting.id)).participant_id == admin.participant_id
    event = await AuditEvent.get(case_id=open_case.id, action="coordinator_assigned")
    assert (event.from_value, event.to_value) == (str(coordinator.participant_id), str(admin.participant_id))
    with pytest.raises(NotAllowed):
        await services.cases.open_case(services.participants.actor_for(leaving), "after leaving")


async def test_removed_coordinator_cases_go_to_the_named_coordinator_who_is_told(
    services: Services, coordinator: Actor, other_coordinator: Actor
) -> None:
    admin = services.participants.actor_for(await register(1000, Role.ADMIN))
    case = await services.cases.open_case(coordinator, "Handed")
    await services.participants.remove_coordinator(admin, 2001, hand_to=2002)
    assert (await Case.get(id=case.id)).coordinator_id == other_coordinator.participant_id
    told = await OutboxMessage.get(kind="cases_handed_over")
    assert told.participant_id == other_coordinator.participant_id and told.payload == {"cases": [case.id]}


@pytest.mark.parametrize("who", [4242, 3001, 1000])
async def test_removing_someone_who_is_no_coordinator_changes_nothing_and_creates_nobody(
    services: Services, family: Actor, who: int
) -> None:
    admin = services.participants.actor_for(await register(1000, Role.ADMIN))
    people = await Participant.all().count()
    with pytest.raises(InvalidInput):
        await services.participants.remove_coordinator(admin, who)
    assert await Participant.all().count() == people
    assert (await Participant.get(id=family.participant_id)).role == Role.FAMILY


async def test_only_admins_add_or_remove_coordinators(services: Services, coordinator: Actor) -> None:
    admin = services.participants.actor_for(await register(1000, Role.ADMIN))
    added = await services.participants.add_coordinator(admin, 4242)
    assert added.participant.role == Role.COORDINATOR
    with pytest.raises(NotAllowed):
        await services.participants.add_coordinator(coordinator, 4243)
    with pytest.raises(NotAllowed):
        await services.participants.remove_coordinator(coordinator, 4242)
    assert not await Participant.exists(telegram_user_id=4243)
    assert (await Participant.get(telegram_user_id=4242)).role == Role.COORDINATOR
