"""Opening cases, setting where they go, and moving them through their states."""

from __future__ import annotations

import asyncio

import pytest

from casebot.db.models import AuditEvent, Case, CaseFile, ChecklistItem, Question
from casebot.domain.checklist import DEFAULT_CHECKLIST
from casebot.domain.questions import STANDARD_HOSPITAL_QUESTIONS, Direction, Topic
from casebot.domain.states import CaseState
from casebot.errors import (
    CaseClosed,
    CaseNotFound,
    InvalidReference,
    InvalidText,
    NotAllowed,
    OverrideRequired,
    ReasonRequired,
    StateConflict,
    TransitionNotAllowed,
)
from casebot.services import Actor, Services

S = CaseState


async def make_ready(services: Services, actor: Actor, ref: str) -> None:
    """Set the hospital, answer the red-flag questions and receive every item."""
    await services.cases.set_hospital(actor, ref, "Hospital A", "Thoracic oncology", "Dr Li")
    for question in await Question.filter(case_id=int(ref[2:]), topic__isnull=False):
        await services.questions.answer(actor, ref, question.number, "ok Yes.")
    for position in range(1, len(DEFAULT_CHECKLIST) + 1):
        await services.checklist.mark_received(actor, ref, position)


async def test_a_new_case_starts_gathering_records_with_the_default_checklist(
    services: Services, coordinator: Actor
) -> None:
    case = await services.cases.open_case(coordinator, "  Lung, second opinion  ")
    assert case.state == S.RECORDS_GATHERING
    assert case.label == "Lung, second opinion"
    items = await ChecklistItem.filter(case_id=case.id).order_by("position")
    assert [item.code for item in items] == list(DEFAULT_CHECKLIST)
    questions = await Question.filter(case_id=case.id)
    assert {q.topic for q in questions} == {q.topic for q in STANDARD_HOSPITAL_QUESTIONS}
    assert all(q.direction == Direction.TO_HOSPITAL for q in questions)
    assert await AuditEvent.filter(case_id=case.id).values_list("action", flat=True) == ["case_opened"]


async def test_cases_get_short_sequential_references(services: Services, coordinator: Actor) -> None:
    first = await services.cases.open_case(coordinator, "one")
    second = await services.cases.open_case(coordinator, "two")
    assert second.id == first.id + 1


async def test_a_family_member_cannot_open_a_case(services: Services, family: Actor) -> None:
    with pytest.raises(NotAllowed):
        await services.cases.open_case(family, "mine")
    assert await Case.all().count() == 0


@pytest.mark.parametrize("label", ["", "   ", "x" * 5000])
async def test_a_case_label_must_be_sensible(services: Services, coordinator: Actor, label: str) -> None:
    with pytest.raises(InvalidText):
        await services.cases.open_case(coordinator, label)
    assert await Case.all().count() == 0


async def test_an_unknown_reference_says_there_is_no_such_case(
    services: Services, coordinator: Actor
) -> None:
    with pytest.raises(CaseNotFound, match="There is no case C-0099"):
        await services.cases.set_hospital(coordinator, "C-0099", "H", "D", None)
    with pytest.raises(InvalidReference):
        await services.cases.set_hospital(coordinator, "nonsense", "H", "D", None)


async def test_a_case_is_carried_from_gathering_to_closed(services: Services, coordinator: Actor) -> None:
    case = await services.cases.open_case(coordinator, "Liver")
    ref = f"C-{case.id:04d}"
    await make_ready(services, coordinator, ref)
    # The written opinion went to the family through the bot (/opinion), so the move needs no reason.
    await CaseFile.create(
        case_id=case.id, purpose="opinion", kind="document", telegram_file_id="f", file_unique_id="u",
        created_at=case.created_at,
    )  # fmt: skip
    path = [S.SENT, S.UNDER_REVIEW, S.OPINION_RECEIVED, S.HOME_FOLLOW_UP, S.CLOSED]
    for target in path:
        change = await services.cases.advance(coordinator, ref, target)
        assert change.target == target and not change.overridden
    assert (await Case.get(id=case.id)).state == S.CLOSED
    moves = await AuditEvent.filter(case_id=case.id, action="state_changed").values_list(
        "to_value", flat=True
    )
    assert moves == [state.value for state in path]
    with pytest.raises(CaseClosed):
        await services.cases.set_hospital(coordinator, ref, "H", "D", None)


async def test_sending_an_unready_case_needs_an_override_reason_which_is_kept(
    services: Services, coordinator: Actor
) -> None:
    case = await services.cases.open_case(coordinator, "Breast")
    with pytest.raises(OverrideRequired) as raised:
        await services.cases.advance(coordinator, case.id, S.SENT)
    assert "no_named_reviewer" in raised.value.red_flags
    assert (await Case.get(id=case.id)).state == S.RECORDS_GATHERING

    change = await services.cases.advance(coordinator, case.id, S.SENT, reason="Family asked to send now")
    assert change.overridden
    event = await AuditEvent.get(case_id=case.id, action="state_overridden")
    assert (event.from_value, event.to_value, event.reason) == (
        "records_gathering",
        "sent",
        "Family asked to send now",
    )
    assert event.actor_id == coordinator.participant_id


async def test_the_red_flags_clear_as_the_hospital_answers(services: Services, coordinator: Actor) -> None:
    case = await services.cases.open_case(coordinator, "Colon")
    ref = f"C-{case.id:04d}"
    await make_ready(services, coordinator, ref)
    pathology = await Question.get(case_id=case.id, topic=Topic.REPEAT_TESTS)
    await Question.filter(id=pathology.id).update(answered_at=None, answer=None)
    with pytest.raises(OverrideRequired, match="pathology"):
        await services.cases.advance(coordinator, ref, S.SENT)


async def test_an_illegal_move_names_the_allowed_ones_and_changes_nothing(
    services: Services, coordinator: Actor
) -> None:
    case = await services.cases.open_case(coordinator, "Skin")
    with pytest.raises(TransitionNotAllowed, match="sent"):
        await services.cases.advance(coordinator, case.id, S.OPINION_RECEIVED)
    assert (await Case.get(id=case.id)).state == S.RECORDS_GATHERING
    assert await AuditEvent.filter(case_id=case.id).count() == 1


async def test_sending_a_case_back_for_more_records_needs_a_reason(
    services: Services, coordinator: Actor
) -> None:
    case = await services.cases.open_case(coordinator, "Kidney")
    await services.cases.advance(coordinator, case.id, S.SENT, reason="override")
    with pytest.raises(ReasonRequired):
        await services.cases.advance(coordinator, case.id, S.RECORDS_GATHERING)
    change = await services.cases.advance(
        coordinator, case.id, S.RECORDS_GATHERING, reason="Hospital wants the pathology blocks"
    )
    assert change.target == S.RECORDS_GATHERING


async def test_a_stale_expected_state_is_a_conflict(services: Services, coordinator: Actor) -> None:
    case = await services.cases.open_case(coordinator, "Bone")
    await services.cases.advance(coordinator, case.id, S.WITHDRAWN, reason="the family stopped")
    with pytest.raises(StateConflict) as raised:
        await services.cases.advance(coordinator, case.id, S.SENT, expected=S.RECORDS_GATHERING, reason="x")
    assert "withdrawn" in raised.value.message


async def test_two_coordinators_advancing_one_case_at_once_exactly_one_wins(
    services: Services, coordinator: Actor, other_coordinator: Actor
) -> None:
    """Run 100 times: each round, both press "under review" on the same sent case at once."""
    for _ in range(100):
        case = await services.cases.open_case(coordinator, "race")
        await services.cases.advance(coordinator, case.id, S.SENT, reason="override")
        results = await asyncio.gather(
            services.cases.advance(coordinator, case.id, S.UNDER_REVIEW, expected=S.SENT),
            services.cases.advance(other_coordinator, case.id, S.UNDER_REVIEW, expected=S.SENT),
            return_exceptions=True,
        )
        wins = [r for r in results if not isinstance(r, BaseException)]
        conflicts = [r for r in results if isinstance(r, StateConflict)]
        assert (len(wins), len(conflicts)) == (1, 1), results
        assert await AuditEvent.filter(case_id=case.id, to_value="under_review").count() == 1
        assert (await Case.get(id=case.id)).state == S.UNDER_REVIEW


async def test_a_family_member_cannot_move_or_even_see_another_case(
    services: Services, coordinator: Actor, family: Actor
) -> None:
    case = await services.cases.open_case(coordinator, "Private")
    with pytest.raises(NotAllowed):
        await services.cases.advance(family, case.id, S.SENT, reason="x")
    with pytest.raises(CaseNotFound):
        await services.questions.answer(family, case.id, 1, "hello")
    assert (await Case.get(id=case.id)).state == S.RECORDS_GATHERING
