"""The CSV export: its columns, counts and SLA status, who sees which cases, and nothing private in it."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from tortoise import Tortoise

from casebot.clock import ManualClock
from casebot.db.models import Participant, Question
from casebot.domain.checklist import DEFAULT_CHECKLIST
from casebot.domain.questions import Direction
from casebot.domain.roles import Role
from casebot.domain.states import CaseState
from casebot.errors import NotAllowed
from casebot.services import Actor, Services
from casebot.services.base import SYSTEM
from casebot.services.exports import COLUMNS, ExportService

from ..conftest import ADMIN_TELEGRAM_ID, make_participant, redeem, register

S = CaseState

# Distinctive words seeded into every kind of private text: none may reach the file.
LABEL = "LABELZEBRA Mrs Ivanova"
REVIEWER = "Dr REVIEWERQUOKKA"
FAMILY_NAME = "FAMILYNAMEOKAPI"
QUESTION = "QUESTIONNARWHAL are the blocks there?"
CHASE = "CHASEAXOLOTL when is the review?"
ANSWER = "ANSWERPANGOLIN yes they are"
NOTE = "NOTEWOMBAT family is anxious"
WAIVE = "WAIVEDINGO not done"
SECRETS = ("LABELZEBRA", "Ivanova", "REVIEWERQUOKKA", "FAMILYNAMEOKAPI", "QUESTIONNARWHAL")
SECRETS += ("CHASEAXOLOTL", "ANSWERPANGOLIN", "NOTEWOMBAT", "WAIVEDINGO")


def exports_of(services: Services) -> ExportService:
    return ExportService(services.views.config)


async def export(services: Services, actor: Actor, *, chunk: int = 1000) -> tuple[str, list[dict[str, str]]]:
    """The file as text, and its rows parsed by the csv module."""
    out = io.StringIO(newline="")
    await exports_of(services).write_csv(actor, out, chunk=chunk)
    text = out.getvalue()
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    return text, rows


async def reviewed_case(services: Services, coordinator: Actor, clock: ManualClock) -> int:
    """A case with a family member, sent on day 1 and under review from day 2 (Wednesday),
    with a question open each way, a note and a waived item."""
    case = await services.cases.open_case(coordinator, LABEL)
    invite = await services.invites.create(coordinator, case.id)
    person = await register(3001)
    await Participant.filter(id=person.id).update(display_name=FAMILY_NAME, quiet_hours="")
    await redeem(services, await Participant.get(id=person.id), invite.token)
    await services.cases.set_hospital(coordinator, case.id, "Fudan Cancer Hospital", "Thoracic", REVIEWER)
    for question in await Question.filter(case_id=case.id, topic__isnull=False):
        await services.questions.answer(coordinator, case.id, question.number, f"ok {ANSWER}")
    await services.checklist.waive(coordinator, case.id, 1, WAIVE)
    for position in range(2, len(DEFAULT_CHECKLIST) + 1):
        await services.checklist.mark_received(coordinator, case.id, position)
    clock.advance(timedelta(days=1))
    await services.cases.advance(coordinator, case.id, S.SENT)
    clock.advance(timedelta(days=1))
    await services.cases.advance(coordinator, case.id, S.UNDER_REVIEW)
    await services.questions.ask(coordinator, case.id, Direction.TO_FAMILY, QUESTION)
    await services.questions.ask(coordinator, case.id, Direction.TO_HOSPITAL, CHASE)
    await services.cases.add_note(coordinator, case.id, NOTE)
    return case.id


async def test_the_header_is_english_snake_case_with_one_date_column_per_state(
    services: Services, coordinator: Actor
) -> None:
    text, rows = await export(services, coordinator)
    assert rows == []
    assert text == (
        "reference,state,created_at,records_gathering_at,sent_at,under_review_at,opinion_received_at,"
        "home_follow_up_at,closed_at,withdrawn_at,missing_items,open_questions_to_family,"
        "open_questions_to_hospital,review_sla,hospital_answers_overdue,hospital,department\r\n"
    )
    assert not text.startswith("\ufeff")
    assert len(COLUMNS) == 17


async def test_a_case_under_review_shows_its_dates_counts_and_slas_and_no_private_text(
    services: Services, coordinator: Actor, clock: ManualClock
) -> None:
    await reviewed_case(services, coordinator, clock)
    text, [row] = await export(services, coordinator)
    assert row == {
        "reference": "C-0001",
        "state": "under_review",
        "created_at": "2026-11-23T01:00:00+00:00",
        "records_gathering_at": "2026-11-23T01:00:00+00:00",
        "sent_at": "2026-11-24T01:00:00+00:00",
        "under_review_at": "2026-11-25T01:00:00+00:00",
        "opinion_received_at": "",
        "home_follow_up_at": "",
        "closed_at": "",
        "withdrawn_at": "",
        "missing_items": "0",
        "open_questions_to_family": "1",
        "open_questions_to_hospital": "1",
        "review_sla": "on_time",
        "hospital_answers_overdue": "0",
        "hospital": "Fudan Cancer Hospital",
        "department": "Thoracic",
    }
    for secret in SECRETS:
        assert secret not in text


async def test_the_review_goes_overdue_and_the_hospitals_answers_go_past_their_sla(
    services: Services, coordinator: Actor, clock: ManualClock
) -> None:
    case_id = await reviewed_case(services, coordinator, clock)
    # Thursday: one business day since the chase (the SLA is 3).
    clock.advance(timedelta(days=1))
    _, [row] = await export(services, coordinator)
    assert (row["review_sla"], row["hospital_answers_overdue"]) == ("on_time", "0")
    # The next Monday: three business days since the chase was logged on Wednesday.
    clock.advance(timedelta(days=4))
    _, [row] = await export(services, coordinator)
    assert row["hospital_answers_overdue"] == "1"
    # While the family's answer is awaited the review's clock stands still; once it came,
    # ten business days (CASEBOT_REVIEW_SLA) and the days waited later, the review is overdue.
    clock.advance(timedelta(days=30))
    _, [row] = await export(services, coordinator)
    assert row["review_sla"] == "on_time"
    family_question = await Question.get(case_id=case_id, direction=Direction.TO_FAMILY)
    await services.questions.answer(coordinator, case_id, family_question.number, ANSWER)
    clock.advance(timedelta(days=15))
    text, [row] = await export(services, coordinator)
    assert (row["review_sla"], row["open_questions_to_family"]) == ("overdue", "0")
    assert "ANSWERPANGOLIN" not in text


async def test_a_case_not_under_review_has_no_review_sla_and_its_missing_items_are_counted(
    services: Services, coordinator: Actor
) -> None:
    await services.cases.open_case(coordinator, LABEL)
    _, [row] = await export(services, coordinator)
    assert row["missing_items"] == str(len(DEFAULT_CHECKLIST))
    assert row["open_questions_to_hospital"] == "10"  # the standard questions, none answered
    assert row["review_sla"] == "n/a"
    assert (row["hospital"], row["department"], row["sent_at"]) == ("", "", "")


async def test_a_case_sent_back_for_more_records_keeps_the_last_time_it_entered_each_state(
    services: Services, coordinator: Actor, clock: ManualClock
) -> None:
    case_id = await reviewed_case(services, coordinator, clock)
    clock.advance(timedelta(days=3))
    await services.cases.advance(coordinator, case_id, S.RECORDS_GATHERING, reason="repeat biopsy")
    _, [row] = await export(services, coordinator)
    assert row["state"] == "records_gathering"
    assert row["records_gathering_at"] == "2026-11-28T01:00:00+00:00"
    assert row["under_review_at"] == "2026-11-25T01:00:00+00:00"
    assert row["review_sla"] == "n/a"


@pytest.mark.parametrize(
    ("typed", "cell"),
    [
        ('=HYPERLINK("http://x.example","open")', '\'=HYPERLINK("http://x.example","open")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("Peking Union", "Peking Union"),
    ],
)
async def test_a_hospital_typed_as_a_formula_is_neutralised(
    services: Services, coordinator: Actor, typed: str, cell: str
) -> None:
    case = await services.cases.open_case(coordinator, LABEL)
    await services.cases.set_hospital(coordinator, case.id, typed, typed, None)
    _, [row] = await export(services, coordinator)
    assert (row["hospital"], row["department"]) == (cell, cell)


async def test_an_erased_case_exports_its_structure_only(
    services: Services, coordinator: Actor, clock: ManualClock
) -> None:
    case_id = await reviewed_case(services, coordinator, clock)
    clock.advance(timedelta(hours=1))
    await services.cases.erase(SYSTEM, case_id)
    text, [row] = await export(services, coordinator)
    assert (row["reference"], row["state"]) == ("C-0001", "withdrawn")
    assert row["withdrawn_at"] == "2026-11-25T02:00:00+00:00"
    assert row["sent_at"] == "2026-11-24T01:00:00+00:00"
    assert (row["hospital"], row["department"]) == ("", "")
    assert "Fudan" not in text and "Thoracic" not in text


async def test_erasing_a_closed_case_does_not_move_its_closed_date(
    services: Services, coordinator: Actor, clock: ManualClock
) -> None:
    case = await services.cases.open_case(coordinator, LABEL)
    await services.cases.advance(coordinator, case.id, S.WITHDRAWN, reason="family stopped")
    clock.advance(timedelta(days=2))
    await services.cases.erase(SYSTEM, case.id)
    _, [row] = await export(services, coordinator)
    assert row["withdrawn_at"] == "2026-11-23T01:00:00+00:00"


async def test_a_coordinator_exports_their_cases_and_an_admin_or_the_command_line_every_case(
    services: Services, coordinator: Actor, other_coordinator: Actor
) -> None:
    await services.cases.open_case(coordinator, "Mine one")
    await services.cases.open_case(other_coordinator, "Theirs")
    await services.cases.open_case(coordinator, "Mine two")
    admin = await make_participant(services, ADMIN_TELEGRAM_ID, Role.ADMIN)
    assert admin.role == Role.ADMIN
    refs = {}
    for who, actor in (("mine", coordinator), ("theirs", other_coordinator), ("admin", admin)):
        _, rows = await export(services, actor)
        refs[who] = [row["reference"] for row in rows]
    _, rows = await export(services, SYSTEM)
    refs["system"] = [row["reference"] for row in rows]
    assert refs == {
        "mine": ["C-0001", "C-0003"],
        "theirs": ["C-0002"],
        "admin": ["C-0001", "C-0002", "C-0003"],
        "system": ["C-0001", "C-0002", "C-0003"],
    }
    assert await exports_of(services).count(coordinator) == 2


async def test_a_family_member_is_refused_before_anything_is_read(
    services: Services, coordinator: Actor, family: Actor
) -> None:
    await services.cases.open_case(coordinator, LABEL)
    out = io.StringIO()
    with pytest.raises(NotAllowed):
        await exports_of(services).write_csv(family, out)
    assert out.getvalue() == ""


class QueryCounter:
    """Counts the SQL statements the default connection runs."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        connection = Tortoise.get_connection("default")
        for name in ("execute_query", "execute_query_dict"):
            original = getattr(connection, name)
            monkeypatch.setattr(connection, name, self._counting(original))

    def _counting(self, original: Any) -> Any:
        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await original(*args, **kwargs)

        return counted


@pytest.fixture
def queries(db: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[QueryCounter]:
    yield QueryCounter(monkeypatch)


async def test_the_export_reads_in_chunks_with_the_same_few_queries_whatever_the_cases_hold(
    services: Services, coordinator: Actor, clock: ManualClock, queries: QueryCounter
) -> None:
    await reviewed_case(services, coordinator, clock)
    for n in range(6):
        case = await services.cases.open_case(coordinator, f"{LABEL} {n}")
        await services.questions.ask(coordinator, case.id, Direction.TO_FAMILY, QUESTION)
    whole_text, _ = await export(services, coordinator)
    queries.count = 0
    chunked_text, chunked = await export(services, coordinator, chunk=3)
    assert chunked_text == whole_text and len(chunked) == 7
    # Three chunks (3 + 3 + 1 cases) and the empty read that ends them, not one query per case:
    # each chunk reads its cases, state entries, missing items and open questions, and a chunk
    # with a case under review also its waits and routes.
    assert queries.count == 3 * 4 + 2 + 1
    batches = [len(rows) async for rows in exports_of(services).rows(coordinator, chunk=3)]
    assert batches == [3, 3, 1]
