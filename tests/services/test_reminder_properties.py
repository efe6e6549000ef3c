"""A property test over random schedules of changes and clock moves: the reminders stay right."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casebot.clock import ManualClock
from casebot.db.models import ChecklistItem, OutboxMessage, Participant
from casebot.domain.checklist import ItemStatus
from casebot.domain.questions import Direction
from casebot.domain.quiet import parse_quiet_hours
from casebot.errors import CasebotError
from casebot.services import Actor, Services

from ..conftest import redeem, register

steps = st.lists(
    st.one_of(
        st.tuples(st.just("wait"), st.integers(min_value=1, max_value=96)),  # hours
        st.tuples(st.just("receive"), st.integers(min_value=1, max_value=8)),
        st.tuples(st.just("missing"), st.integers(min_value=1, max_value=8)),
        st.tuples(st.just("ask"), st.just(0)),
        st.tuples(st.just("answer"), st.integers(min_value=10, max_value=13)),
        st.tuples(st.just("snooze"), st.sampled_from([1, 3])),
    ),
    max_size=30,
)
zones = st.sampled_from(["Europe/Moscow", "Asia/Shanghai", "America/New_York", "Asia/Kolkata"])


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(schedule=steps, zone=zones)
async def test_reminders_never_name_a_received_item_never_fall_in_quiet_hours_and_never_repeat(
    services: Services, coordinator: Actor, clock: ManualClock, schedule: list[tuple[str, int]], zone: str
) -> None:
    case = await services.cases.open_case(coordinator, "property")
    person = await register(50_000 + case.id)
    await Participant.filter(id=person.id).update(timezone=zone, quiet_hours=None)
    invite = await services.invites.create(coordinator, case.id)
    await redeem(services, await Participant.get(id=person.id), invite.token)
    family = services.participants.actor_for(person)
    quiet = parse_quiet_hours("21:00-09:00")
    assert quiet is not None
    for action, value in schedule:
        try:
            match action:
                case "wait":
                    clock.advance(timedelta(hours=value))
                case "receive":
                    await services.checklist.mark_received(coordinator, case.id, value)
                case "missing":
                    await services.checklist.mark_missing(coordinator, case.id, value)
                case "ask":
                    await services.questions.ask(coordinator, case.id, Direction.TO_FAMILY, "A question?")
                case "answer":
                    await services.questions.answer(family, case.id, value, "An answer")
                case "snooze":
                    await services.reminders.snooze(family, f"{value}d", zone)
        except CasebotError:
            pass
        before = {row.id for row in await OutboxMessage.filter(case_id=case.id)}
        await services.reminders.sweep()
        new_rows = await OutboxMessage.filter(case_id=case.id).exclude(id__in=list(before) or [0])
        received = {
            item.position
            for item in await ChecklistItem.filter(case_id=case.id).exclude(status=ItemStatus.MISSING)
        }
        for row in new_rows:
            if row.kind == "reminder_missing":
                named = {item["position"] for item in row.payload["items"]}
                assert not named & received, f"reminded of received items {named & received}"
            if row.participant_id == person.id and row.kind.startswith("reminder"):
                local = row.available_at.astimezone(ZoneInfo(zone)).time()
                assert not quiet.contains(local), f"{row.kind} due at {local} in quiet hours"
    keys = await OutboxMessage.filter(case_id=case.id).values_list("dedupe_key", flat=True)
    assert len(keys) == len(set(keys))
    per_cycle = [k.rsplit(":", 1)[0] for k in keys if k.startswith("missing:")]
    assert len(per_cycle) == len(set(per_cycle)), "one reminder per cycle and recipient"
