"""Random sequences of service calls keep the invariants of a case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casebot.clock import ManualClock
from casebot.db.models import AuditEvent, Case, ChecklistItem, Participant, Question
from casebot.domain.questions import Direction
from casebot.domain.states import CaseState, reachable_states
from casebot.errors import CasebotError
from casebot.services import Actor, Services
from casebot.services.base import SYSTEM
from casebot.services.checklist import IncomingFile


@dataclass(frozen=True)
class Op:
    name: str
    arg: int
    text: str


SECRET = "PII-SECRET"
texts = st.sampled_from(["", "  ", f"{SECRET} ok", "x" * 2100, f"{SECRET} reason"])
ops = st.builds(
    Op,
    name=st.sampled_from(
        ["received", "waive", "missing", "additem", "ask", "chase", "answer", "advance", "hospital", "file"]
    ),
    arg=st.integers(min_value=0, max_value=12),
    text=texts,
)
STATES = list(CaseState)


async def apply(services: Services, actor: Actor, family: Actor, case_id: int, op: Op) -> None:
    s = services
    match op.name:
        case "received":
            await s.checklist.mark_received(actor, case_id, op.arg)
        case "waive":
            await s.checklist.waive(actor, case_id, op.arg, op.text)
        case "missing":
            await s.checklist.mark_missing(actor, case_id, op.arg)
        case "additem":
            await s.checklist.add_item(actor, case_id, op.text)
        case "ask":
            await s.questions.ask(actor, case_id, Direction.TO_FAMILY, op.text)
        case "chase":
            await s.questions.ask(actor, case_id, Direction.TO_HOSPITAL, op.text)
        case "answer":
            who = family if op.arg % 2 else actor
            await s.questions.answer(who, case_id, op.arg, op.text)
        case "advance":
            await s.cases.advance(actor, case_id, STATES[op.arg % len(STATES)], reason=op.text or None)
        case "hospital":
            await s.cases.set_hospital(actor, case_id, "H", "D", op.text or None)
        case "file":
            await s.checklist.attach_file(
                family, case_id, op.arg or None, IncomingFile("f", "u", op.text[:50], 1, None)
            )


async def personal_texts(case_id: int) -> list[str]:
    case = await Case.get(id=case_id)
    found = [case.label, case.reviewer or ""]
    found += [i.title + (i.waive_reason or "") for i in await ChecklistItem.filter(case_id=case_id)]
    found += [q.text + (q.answer or "") for q in await Question.filter(case_id=case_id)]
    found += [e.reason or "" for e in await AuditEvent.filter(case_id=case_id)]
    return found


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=st.lists(ops, max_size=25), erase=st.booleans())
async def test_random_service_calls_keep_the_case_consistent(
    services: Services, coordinator: Actor, clock: ManualClock, sequence: list[Op], erase: bool
) -> None:
    case = await services.cases.open_case(coordinator, f"{SECRET} label")
    invite = await services.invites.create(coordinator, case.id)
    joined = await services.invites.redeem(
        9000 + case.id, 9000 + case.id, invite.token, full_name=f"{SECRET} \u202eAnna"
    )
    family_participant = joined.participant
    family = services.participants.actor_for(family_participant)
    assert family_participant.display_name == f"{SECRET} Anna"  # kept, without the bidi override
    changes = 3  # opened, invite created, member joined
    for op in sequence:
        clock.advance(timedelta(minutes=1))
        before = await AuditEvent.filter(case_id=case.id).count()
        try:
            await apply(services, coordinator, family, case.id, op)
        except CasebotError:
            assert await AuditEvent.filter(case_id=case.id).count() == before, f"{op} failed but wrote"
            continue
        after = await AuditEvent.filter(case_id=case.id).count()
        assert after - before in (0, 1), f"{op} wrote {after - before} audit rows"
        changes += after - before

    stored = await Case.get(id=case.id)
    assert stored.state in reachable_states()
    events = await AuditEvent.filter(case_id=case.id).order_by("id")
    assert len(events) == changes
    # Replaying the state changes of the audit trail reproduces the stored state.
    state = CaseState.RECORDS_GATHERING
    for event in events:
        if event.action in ("state_changed", "state_overridden"):
            assert event.from_value == state.value
            state = CaseState(event.to_value)
    assert state == stored.state

    name = (await Participant.get(id=family_participant.id)).display_name
    if not erase:
        assert name == f"{SECRET} Anna"  # no other call touches a family member's name
        return
    await services.cases.erase(SYSTEM, case.id)
    assert not any(SECRET in text for text in await personal_texts(case.id))
    assert (await Participant.get(id=family_participant.id)).display_name == ""
