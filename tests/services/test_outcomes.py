"""The hospital's answer, the hospitals a case went to, and the review's own clock, through the services."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casebot.clock import ManualClock
from casebot.db.models import (
    AuditEvent,
    Case,
    ChecklistItem,
    HospitalRoute,
    OutboxMessage,
    Participant,
    Question,
)
from casebot.domain.checklist import DEFAULT_CHECKLIST
from casebot.domain.notices import Deliver, Drop
from casebot.domain.outcomes import Outcome, OutcomeNotFitting, OutcomeReasonRequired, review_due_at
from casebot.domain.questions import Topic
from casebot.domain.states import CaseState
from casebot.errors import CaseClosed, InvalidInput, NotAllowed, StateConflict
from casebot.services import Actor, Services
from casebot.services.base import SYSTEM
from casebot.services.outcomes import Where, hospital_date

from ..conftest import redeem, register

S = CaseState
Oc = Outcome


@pytest.fixture
async def sent_case(services: Services, coordinator: Actor) -> tuple[int, Actor]:
    """A case with one family member, ready and sent to Hospital A."""
    case = await services.cases.open_case(coordinator, "Lung")
    invite = await services.invites.create(coordinator, case.id)
    person = await register(3001)
    await Participant.filter(id=person.id).update(quiet_hours="")
    await redeem(services, await Participant.get(id=person.id), invite.token)
    await services.cases.set_hospital(coordinator, case.id, "Hospital A", "Thoracic oncology", "Dr Li")
    for question in await Question.filter(case_id=case.id, topic__isnull=False):
        await services.questions.answer(coordinator, case.id, question.number, "ok Yes.")
    for position in range(1, len(DEFAULT_CHECKLIST) + 1):
        await services.checklist.mark_received(coordinator, case.id, position)
    await services.cases.advance(coordinator, case.id, S.SENT)
    return case.id, services.participants.actor_for(person)


async def family_notices(family: Actor) -> list[OutboxMessage]:
    return list(await OutboxMessage.filter(participant_id=family.participant_id).order_by("id"))


async def test_the_first_hospital_is_route_one_and_a_change_before_sending_keeps_a_trace(
    services: Services, coordinator: Actor
) -> None:
    case = await services.cases.open_case(coordinator, "Lung")
    await services.cases.set_hospital(coordinator, case.id, "Hospital A", "Thoracic oncology", "Dr Li")
    await services.cases.set_hospital(coordinator, case.id, "Hospital B", "Oncology", None)
    routes = await HospitalRoute.filter(case_id=case.id)
    assert [(r.position, r.hospital, r.reviewer) for r in routes] == [(1, "Hospital B", None)]
    trail = await AuditEvent.filter(case_id=case.id, action="hospital_set").order_by("id")
    assert [(e.from_value, e.to_value) for e in trail] == [
        (None, "Hospital A | Thoracic oncology | Dr Li"),
        ("Hospital A | Thoracic oncology | Dr Li", "Hospital B | Oncology | -"),
    ]
    again = await services.cases.set_route(coordinator, case.id, "Hospital B", "Oncology", None)
    assert not again.changed and await AuditEvent.filter(action="hospital_set").count() == 2


async def test_after_sending_another_hospital_is_a_reroute_that_keeps_history(
    services: Services, coordinator: Actor, clock: ManualClock, sent_case: tuple[int, Actor]
) -> None:
    case_id, _ = sent_case
    first_set = (await Case.get(id=case_id)).hospital_set_at
    clock.advance(timedelta(days=2))
    change = await services.cases.set_route(coordinator, case_id, "Hospital C", "Lung cancer", "Dr Wu")
    assert change.rerouted and change.route.position == 2
    case = await Case.get(id=case_id)
    assert (case.hospital, case.department, case.reviewer) == ("Hospital C", "Lung cancer", "Dr Wu")
    assert case.hospital_set_at == clock.now() != first_set, "the chase clock starts again"
    routes = await HospitalRoute.filter(case_id=case_id).order_by("position")
    assert [(r.hospital, r.outcome) for r in routes] == [("Hospital A", "rerouted"), ("Hospital C", None)]
    event = await AuditEvent.get(case_id=case_id, action="hospital_rerouted")
    assert event.from_value == "Hospital A | Thoracic oncology | Dr Li"
    assert event.to_value == "2:Hospital C | Lung cancer | Dr Wu"


async def test_accepted_moves_a_sent_case_under_review_and_tells_the_family_the_date(
    services: Services, coordinator: Actor, clock: ManualClock, sent_case: tuple[int, Actor]
) -> None:
    case_id, family = sent_case
    result = await services.outcomes.record(coordinator, case_id, Oc.ACCEPTED)
    assert result.state == S.UNDER_REVIEW and not result.repeat
    expected = hospital_date(
        review_due_at(clock.now(), 10, services.outcomes.config.policy.calendar, now=clock.now())
    )
    assert result.expected == expected
    route = await HospitalRoute.get(case_id=case_id)
    assert (route.outcome, route.outcome_at) == ("accepted", clock.now())
    told = [n for n in await family_notices(family) if n.kind == "state_changed"][-1]
    assert told.payload["target"] == "under_review" and told.payload["expected"] == expected
    # A doubled press records once.
    again = await services.outcomes.record(coordinator, case_id, Oc.ACCEPTED, position=1, expected=S.SENT)
    assert again.repeat
    assert await AuditEvent.filter(case_id=case_id, action="hospital_outcome").count() == 1
    event = await AuditEvent.get(case_id=case_id, action="hospital_outcome")
    assert (event.from_value, event.to_value) == ("1:open", "1:accepted")


async def test_needs_more_sends_the_case_back_adds_the_items_and_tells_the_family_why(
    services: Services, coordinator: Actor, sent_case: tuple[int, Actor]
) -> None:
    case_id, family = sent_case
    before = len(await family_notices(family))
    result = await services.outcomes.record(
        coordinator,
        case_id,
        Oc.NEEDS_MORE,
        reason="The slides are unreadable",
        items=["Pathology blocks", "PET-CT"],
    )
    assert result.state == S.RECORDS_GATHERING
    added = await ChecklistItem.filter(case_id=case_id, position__gt=len(DEFAULT_CHECKLIST)).order_by(
        "position"
    )
    assert [(i.title, i.status) for i in added] == [("Pathology blocks", "missing"), ("PET-CT", "missing")]
    new = (await family_notices(family))[before:]
    assert [n.kind for n in new] == ["more_records_needed"], "one message that says why, not two"
    assert new[0].payload["reason"] == "The slides are unreadable"
    assert [i["title"] for i in new[0].payload["items"]] == ["Pathology blocks", "PET-CT"]
    assert (await Case.get(id=case_id)).state == S.RECORDS_GATHERING
    moved = await AuditEvent.get(case_id=case_id, action="state_changed", to_value="records_gathering")
    assert moved.reason == "The slides are unreadable"
    # Typed twice: recorded once.
    again = await services.outcomes.record(
        coordinator, case_id, Oc.NEEDS_MORE, reason="The slides are unreadable"
    )
    assert again.repeat and await ChecklistItem.filter(case_id=case_id).count() == len(DEFAULT_CHECKLIST) + 2


async def test_needs_more_without_items_adds_the_reason_itself(
    services: Services, coordinator: Actor, sent_case: tuple[int, Actor]
) -> None:
    case_id, _ = sent_case
    await services.outcomes.record(coordinator, case_id, Oc.NEEDS_MORE, reason="A repeat CT of the chest")
    last = await ChecklistItem.filter(case_id=case_id).order_by("-position").first()
    assert last is not None and last.title == "A repeat CT of the chest"


async def test_needs_more_and_declined_need_the_hospitals_reason(
    services: Services, coordinator: Actor, sent_case: tuple[int, Actor]
) -> None:
    case_id, _ = sent_case
    for outcome in (Oc.NEEDS_MORE, Oc.DECLINED):
        with pytest.raises(OutcomeReasonRequired):
            await services.outcomes.record(coordinator, case_id, outcome, reason="  ")
    assert (await HospitalRoute.get(case_id=case_id)).outcome is None


async def test_declined_keeps_the_state_and_tells_the_family_carefully(
    services: Services, coordinator: Actor, sent_case: tuple[int, Actor]
) -> None:
    case_id, family = sent_case
    result = await services.outcomes.record(
        coordinator, case_id, Oc.DECLINED, reason="Not a surgical candidate"
    )
    assert result.state == S.SENT
    assert [n.kind for n in await family_notices(family)][-1] == "hospital_declined"
    assert (await HospitalRoute.get(case_id=case_id)).outcome_reason == "Not a surgical candidate"
    # Not a dead end: a re-route still fits.
    moved = await services.outcomes.record(
        coordinator, case_id, Oc.REROUTED, where=Where.cleaned("Hospital D", "Oncology", "Dr Ma", 7)
    )
    assert moved.position == 2
    routes = await HospitalRoute.filter(case_id=case_id).order_by("position")
    assert [r.outcome for r in routes] == ["declined", None], "the hospital's answer stays as it was"
    assert routes[1].turnaround_days == 7 and (await Case.get(id=case_id)).review_sla_days == 7


async def test_an_outcome_that_does_not_fit_is_refused_and_names_what_would(
    services: Services, coordinator: Actor
) -> None:
    case = await services.cases.open_case(coordinator, "Lung")
    await services.cases.set_hospital(coordinator, case.id, "Hospital A", "Oncology", "Dr Li")
    with pytest.raises(OutcomeNotFitting) as refused:
        await services.outcomes.record(coordinator, case.id, Oc.DECLINED, reason="no")
    assert "not been sent the records yet" in refused.value.message
    assert await AuditEvent.filter(case_id=case.id, action="hospital_outcome").count() == 0


async def test_a_closed_case_takes_no_outcome(
    services: Services, coordinator: Actor, sent_case: tuple[int, Actor]
) -> None:
    case_id, _ = sent_case
    await services.cases.advance(coordinator, case_id, S.WITHDRAWN, reason="the family stopped")
    with pytest.raises(CaseClosed):
        await services.outcomes.record(coordinator, case_id, Oc.ACCEPTED)


async def test_a_family_member_cannot_record_an_outcome(
    services: Services, sent_case: tuple[int, Actor]
) -> None:
    case_id, family = sent_case
    with pytest.raises(NotAllowed):
        await services.outcomes.record(family, case_id, Oc.ACCEPTED)
    with pytest.raises(NotAllowed):
        await services.cases.set_hospital(family, case_id, "Elsewhere", "Dept", None)


async def test_a_button_from_before_a_reroute_or_a_move_changes_nothing(
    services: Services, coordinator: Actor, sent_case: tuple[int, Actor]
) -> None:
    case_id, _ = sent_case
    await services.cases.set_route(coordinator, case_id, "Hospital C", "Lung cancer", "Dr Wu")
    with pytest.raises(InvalidInput):
        await services.outcomes.record(coordinator, case_id, Oc.ACCEPTED, position=1, expected=S.SENT)
    await services.cases.advance(coordinator, case_id, S.UNDER_REVIEW)
    with pytest.raises(StateConflict):
        await services.outcomes.record(
            coordinator, case_id, Oc.DECLINED, reason="no", position=2, expected=S.SENT
        )
    assert await AuditEvent.filter(case_id=case_id, action="hospital_outcome").count() == 0


async def test_the_review_duration_answer_sets_the_review_clock(
    services: Services, coordinator: Actor, clock: ManualClock
) -> None:
    case = await services.cases.open_case(coordinator, "Lung")
    await services.cases.set_hospital(coordinator, case.id, "Hospital A", "Oncology", "Dr Li")
    question = await Question.get(case_id=case.id, topic=Topic.REVIEW_DURATION)
    await services.questions.answer(coordinator, case.id, question.number, "Usually 5-7 working days")
    assert (await Case.get(id=case.id)).review_sla_days == 7
    assert (await HospitalRoute.get(case_id=case.id)).turnaround_days == 7
    event = await AuditEvent.get(case_id=case.id, action="review_sla_set")
    assert (event.from_value, event.to_value) == (None, "7")


async def test_the_turnaround_given_with_the_hospital_sets_the_expected_date(
    services: Services, coordinator: Actor, clock: ManualClock, sent_case: tuple[int, Actor]
) -> None:
    case_id, family = sent_case
    await services.cases.set_route(
        coordinator, case_id, "Hospital A", "Thoracic oncology", "Dr Li", turnaround=3
    )
    assert await HospitalRoute.filter(case_id=case_id).count() == 1, "the same hospital is no re-route"
    change = await services.cases.advance(coordinator, case_id, S.UNDER_REVIEW)
    assert change.target == S.UNDER_REVIEW
    told = [n for n in await family_notices(family) if n.kind == "state_changed"][-1]
    calendar = services.outcomes.config.policy.calendar
    assert told.payload["expected"] == hospital_date(calendar.add_business_days(clock.now(), 3))
    card = await services.views.card(coordinator, case_id)
    assert card.review_expected == told.payload["expected"]


async def test_the_overdue_warning_comes_on_the_hospitals_own_date(
    services: Services, coordinator: Actor, clock: ManualClock, sent_case: tuple[int, Actor]
) -> None:
    case_id, _ = sent_case
    await services.cases.set_route(
        coordinator, case_id, "Hospital A", "Thoracic oncology", "Dr Li", turnaround=3
    )
    await services.outcomes.record(coordinator, case_id, Oc.ACCEPTED)
    clock.advance(timedelta(days=2))  # Monday → Wednesday: 2 business days
    await services.reminders.sweep()
    assert not await OutboxMessage.filter(kind="review_overdue").exists()
    clock.advance(timedelta(days=1))
    await services.reminders.sweep()
    warning = await OutboxMessage.get(kind="review_overdue")
    assert warning.payload["days"] == 3


async def test_the_family_hears_of_more_records_only_while_the_case_still_needs_them(
    services: Services, coordinator: Actor, sent_case: tuple[int, Actor]
) -> None:
    case_id, family = sent_case
    await services.outcomes.record(coordinator, case_id, Oc.NEEDS_MORE, reason="Blocks")
    row = await OutboxMessage.get(kind="more_records_needed")
    person = await Participant.get(id=family.participant_id)
    assert isinstance(await services.outbox.check(row, person), Deliver)
    await services.cases.advance(coordinator, case_id, S.WITHDRAWN, reason="stopped")
    assert isinstance(await services.outbox.check(row, person), Drop)


async def test_erasure_clears_the_reviewers_and_the_hospitals_reasons(
    services: Services, coordinator: Actor, sent_case: tuple[int, Actor]
) -> None:
    case_id, _ = sent_case
    await services.outcomes.record(
        coordinator, case_id, Oc.DECLINED, reason="Patient Ivanova not a candidate"
    )
    await services.cases.set_route(coordinator, case_id, "Hospital C", "Lung cancer", "Dr Wu")
    await services.cases.erase(SYSTEM, case_id)
    for route in await HospitalRoute.filter(case_id=case_id):
        assert route.reviewer is None and route.outcome_reason is None
    for event in await AuditEvent.filter(case_id=case_id):
        assert "Ivanova" not in f"{event.from_value}{event.to_value}{event.reason}"
        assert "Dr Wu" not in f"{event.from_value}{event.to_value}"
