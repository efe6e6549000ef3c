"""Two writers released together on one case: every outcome is one that running them one after the other
could give. On PostgreSQL the two run on two connections at once; on SQLite they serialise."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable

import pytest

from casebot.db.models import AuditEvent, Case, ChecklistItem, Question, RecordFile
from casebot.domain.checklist import DEFAULT_CHECKLIST, ItemStatus
from casebot.domain.readiness import FLAG_BY_TOPIC
from casebot.domain.states import CaseState
from casebot.errors import CaseClosed, OverrideRequired
from casebot.services import Actor, Services
from casebot.services.checklist import IncomingFile

from ..conftest import redeem, register

# The proof is on PostgreSQL, where the two writers really run at once on two connections; SQLite
# serialises them anyway, so a few rounds there show only that the outcomes stay sound.
ROUNDS = 100 if os.environ.get("CASEBOT_TEST_DATABASE_URL", "").startswith("postgres") else 10


async def together(first: Awaitable[object], second: Awaitable[object]) -> list[object]:
    """Start both at the same moment; return each result or exception."""
    gate = asyncio.Event()

    async def released(work: Awaitable[object]) -> object:
        await gate.wait()
        return await work

    tasks = [asyncio.ensure_future(released(first)), asyncio.ensure_future(released(second))]
    await asyncio.sleep(0)
    gate.set()
    return list(await asyncio.gather(*tasks, return_exceptions=True))


async def audit_id(case_id: int, action: str) -> int | None:
    event = await AuditEvent.filter(case_id=case_id, action=action).order_by("id").first()
    return event.id if event else None


async def test_a_withdrawal_and_an_upload_at_once_never_keep_a_file_after_the_withdrawal(
    services: Services, coordinator: Actor
) -> None:
    family_row = await register(3001)
    family = services.participants.actor_for(family_row)
    outcomes = {"file first": 0, "refused": 0}
    for n in range(ROUNDS):
        case = await services.cases.open_case(coordinator, f"race {n}")
        await redeem(services, family_row, (await services.invites.create(coordinator, case.id)).token)
        upload, withdrawal = await together(
            services.checklist.attach_file(
                family, case.id, 2, IncomingFile(f"f{n}", f"u{n}", "p.pdf", 10, None)
            ),
            services.cases.advance(coordinator, case.id, CaseState.WITHDRAWN, reason="the family stopped"),
        )
        assert not isinstance(withdrawal, BaseException), withdrawal
        withdrawn_at = await audit_id(case.id, "state_changed")
        assert withdrawn_at is not None
        if isinstance(upload, CaseClosed):
            outcomes["refused"] += 1
            assert not await RecordFile.exists(case_id=case.id)
        else:
            assert not isinstance(upload, BaseException), upload
            outcomes["file first"] += 1
            filed_at = await audit_id(case.id, "file_received")
            assert filed_at is not None and filed_at < withdrawn_at, "a file was kept after the withdrawal"
        assert (await Case.get(id=case.id)).state == CaseState.WITHDRAWN
    assert sum(outcomes.values()) == ROUNDS


async def ready_case(services: Services, actor: Actor, label: str) -> int:
    """A case with its hospital named, every red-flag answer ok and every item received."""
    case = await services.cases.open_case(actor, label)
    await services.cases.set_hospital(actor, case.id, "Hospital A", "Thoracic oncology", "Dr Li")
    for question in await Question.filter(case_id=case.id, topic__in=list(FLAG_BY_TOPIC)):
        await services.questions.answer(actor, case.id, question.number, "ok confirmed in writing")
    await ChecklistItem.filter(case_id=case.id).update(status=ItemStatus.RECEIVED)
    return case.id


async def test_an_item_marked_missing_while_the_case_is_sent_is_never_missed_by_the_readiness_check(
    services: Services, coordinator: Actor, other_coordinator: Actor
) -> None:
    assert len(DEFAULT_CHECKLIST) == 8
    outcomes = {"sent first": 0, "refused": 0}
    for n in range(ROUNDS):
        case_id = await ready_case(services, coordinator, f"race {n}")
        missing, advance = await together(
            services.checklist.mark_missing(other_coordinator, case_id, 1),
            services.cases.advance(coordinator, case_id, CaseState.SENT),
        )
        assert not isinstance(missing, BaseException), missing
        item_missing_at = await audit_id(case_id, "item_missing")
        assert item_missing_at is not None
        state = (await Case.get(id=case_id)).state
        if isinstance(advance, OverrideRequired):
            outcomes["refused"] += 1
            assert state == CaseState.RECORDS_GATHERING
            assert [item.position for item in advance.missing_items] == [1]
        else:
            assert not isinstance(advance, BaseException), advance
            outcomes["sent first"] += 1
            sent_at = await audit_id(case_id, "state_changed")
            assert sent_at is not None and sent_at < item_missing_at, "sent although an item was missing"
            assert state == CaseState.SENT
    assert sum(outcomes.values()) == ROUNDS


@pytest.mark.parametrize("rounds", [ROUNDS])
async def test_two_members_filing_the_same_file_at_once_keep_it_once(
    services: Services, coordinator: Actor, rounds: int
) -> None:
    first, second = await register(3001), await register(3002)
    for n in range(rounds):
        case = await services.cases.open_case(coordinator, f"race {n}")
        for person in (first, second):
            await redeem(services, person, (await services.invites.create(coordinator, case.id)).token)
        same = IncomingFile(f"f{n}", f"same-{n}", "ct.pdf", 10, None)
        results = await together(
            services.checklist.attach_file(services.participants.actor_for(first), case.id, 3, same),
            services.checklist.attach_file(services.participants.actor_for(second), case.id, 3, same),
        )
        assert all(not isinstance(result, BaseException) for result in results), results
        assert await RecordFile.filter(case_id=case.id).count() == 1
        assert await AuditEvent.filter(case_id=case.id, action="file_received").count() == 1
