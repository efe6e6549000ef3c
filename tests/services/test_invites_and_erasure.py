"""Joining a case by invite, and erasing a case on request."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casebot.clock import ManualClock
from casebot.db.models import AuditEvent, Case, CaseMember, Invite, Participant, Question, RecordFile
from casebot.domain.questions import Direction
from casebot.domain.roles import Role
from casebot.domain.states import CaseState
from casebot.errors import CaseNotFound, InviteInvalid, NotAllowed
from casebot.services import Actor, Services
from casebot.services.checklist import IncomingFile


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

    joined = await services.invites.redeem(await family_participant(), invite.token)
    assert joined.reference == f"C-{case.id:04d}" and not joined.already_member
    assert await CaseMember.filter(case_id=case.id, participant_id=family.participant_id).exists()
    with pytest.raises(InviteInvalid, match="already used"):
        await services.invites.redeem(await family_participant(), invite.token)


async def test_an_expired_invite_is_refused(
    services: Services, coordinator: Actor, family: Actor, clock: ManualClock
) -> None:
    case = await services.cases.open_case(coordinator, "Thyroid")
    invite = await services.invites.create(coordinator, case.id)
    clock.advance(timedelta(days=7, seconds=1))
    with pytest.raises(InviteInvalid, match="expired"):
        await services.invites.redeem(await family_participant(), invite.token)
    assert not await CaseMember.exists(case_id=case.id)


@pytest.mark.parametrize("token", ["", "short", "x" * 32, "bad token with spaces!"])
async def test_an_unknown_invite_is_refused(services: Services, family: Actor, token: str) -> None:
    with pytest.raises(InviteInvalid, match="not valid"):
        await services.invites.redeem(await family_participant(), token)


async def test_a_member_sees_their_case_and_not_another(
    services: Services, coordinator: Actor, family: Actor
) -> None:
    mine = await services.cases.open_case(coordinator, "Mine")
    theirs = await services.cases.open_case(coordinator, "Theirs")
    invite = await services.invites.create(coordinator, mine.id)
    await services.invites.redeem(await family_participant(), invite.token)
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
        await services.invites.redeem(await Participant.get(id=coordinator.participant_id), invite.token)


async def test_erasing_a_case_leaves_an_anonymous_skeleton(
    services: Services, coordinator: Actor, family: Actor
) -> None:
    case = await services.cases.open_case(coordinator, "Mr Wang, lung")
    await services.cases.set_hospital(coordinator, case.id, "Hospital", "Dept", "Dr Zhang")
    invite = await services.invites.create(coordinator, case.id)
    await Participant.filter(id=family.participant_id).update(display_name="Wang Wei")
    await services.invites.redeem(await family_participant(), invite.token)
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

    change = await services.cases.erase(coordinator, case.id)

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


async def test_only_staff_erase(services: Services, coordinator: Actor, family: Actor) -> None:
    case = await services.cases.open_case(coordinator, "x")
    with pytest.raises(NotAllowed):
        await services.cases.erase(family, case.id)


async def test_admins_add_and_remove_coordinators(services: Services, coordinator: Actor) -> None:
    admin = services.participants.actor_for(await services.participants.ensure(1000, 1000, "en"))
    assert admin.role == Role.ADMIN
    added = await services.participants.set_role(admin, 4242, Role.COORDINATOR)
    assert added.role == Role.COORDINATOR
    with pytest.raises(NotAllowed):
        await services.participants.set_role(coordinator, 4243, Role.COORDINATOR)
