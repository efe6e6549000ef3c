"""`casebot erase REF`: the operator wipes a case's personal data from the command line, after typing
the reference again on a terminal (or with --yes); anything else erases nothing, in one line."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from casebot.cli import main
from casebot.clock import ManualClock
from casebot.db.database import Database
from casebot.db.models import AuditEvent, Case, Note, Question
from casebot.domain.roles import Role
from casebot.services import Services

from .conftest import START, make_participant


class Terminal(io.StringIO):
    """Standard input as a terminal, with what the operator types."""

    def isatty(self) -> bool:
        return True


async def seed(url: str) -> None:
    """C-0001, open, with a label, a reviewer, a question and a note."""
    database = Database(url)
    await database.open()
    try:
        with database.bound():
            services = Services.build(ManualClock(START))
            coordinator = await make_participant(services, 2001, Role.COORDINATOR)
            case = await services.cases.open_case(coordinator, "LABELZEBRA Mrs Ivanova")
            await services.cases.set_hospital(coordinator, case.id, "Fudan", "Thoracic", "Dr QUOKKA")
            await services.cases.add_note(coordinator, case.id, "PANGOLIN")
    finally:
        await database.close()


async def read_case(url: str) -> tuple[Case, list[str], int]:
    """The case row, its notes' and questions' texts, and how many times it was erased."""
    database = Database(url)
    await database.open()
    try:
        with database.bound():
            case = await Case.get(id=1)
            texts = [n.text for n in await Note.filter(case_id=1)]
            texts += [q.text for q in await Question.filter(case_id=1)]
            erasures = await AuditEvent.filter(case_id=1, action="case_erased").count()
    finally:
        await database.close()
    return case, texts, erasures


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A seeded SQLite file, named by CASEBOT_DATABASE_URL, away from any .env of the checkout."""
    url = f"sqlite://{tmp_path / 'casebot.sqlite3'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CASEBOT_DATABASE_URL", url)
    asyncio.run(seed(url))
    return url


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def assert_untouched(url: str) -> None:
    case, texts, erasures = asyncio.run(read_case(url))
    assert case.erased_at is None and case.label == "LABELZEBRA Mrs Ivanova" and case.reviewer == "Dr QUOKKA"
    assert "PANGOLIN" in texts and erasures == 0


def test_erase_with_yes_wipes_the_case_and_keeps_its_skeleton(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal: --yes is what confirms
    assert main(["erase", "C-0001", "--yes"]) == 0
    out = lines(capsys.readouterr().out)
    assert len(out) == 1
    assert out[0].startswith("casebot: C-0001 erased:") and "records_gathering and is now withdrawn" in out[0]
    case, texts, erasures = asyncio.run(read_case(sqlite_url))
    assert case.erased_at is not None and case.label == "" and case.reviewer is None
    assert case.state == "withdrawn" and set(texts) == {""} and len(texts) > 1
    assert erasures == 1

    # Again: done already, nothing more, and said so in one line.
    assert main(["erase", "c1", "--yes"]) == 0
    out = lines(capsys.readouterr().out)
    assert out == ["casebot: C-0001 was already erased; nothing more was done."]
    assert asyncio.run(read_case(sqlite_url))[2] == 1


def test_erase_typed_again_on_a_terminal(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", Terminal("c-0001\n"))
    assert main(["erase", "C-0001"]) == 0
    captured = capsys.readouterr()
    assert "Type C-0001 again to erase it" in captured.err
    assert lines(captured.out)[0].startswith("casebot: C-0001 erased:")
    assert asyncio.run(read_case(sqlite_url))[0].erased_at is not None


@pytest.mark.parametrize("typed", ["C-0002\n", "yes\n", "\n", ""])
def test_erase_typed_wrong_on_a_terminal_erases_nothing(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, typed: str
) -> None:
    monkeypatch.setattr("sys.stdin", Terminal(typed))
    assert main(["erase", "C-0001"]) == 2
    captured = capsys.readouterr()
    assert "Type C-0001 again to erase it" in captured.err
    assert captured.err.endswith("casebot: that is not C-0001; nothing was erased.\n")
    assert captured.out == ""
    assert_untouched(sqlite_url)


def test_erase_without_yes_off_a_terminal_refuses_in_one_line(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("C-0001\n"))  # piped: not a confirmation
    assert main(["erase", "C-0001"]) == 2
    captured = capsys.readouterr()
    assert lines(captured.err) == [
        "casebot: erasing C-0001 needs a confirmation: run it on a terminal, or add --yes. "
        "Nothing was erased."
    ]
    assert captured.out == ""
    assert_untouched(sqlite_url)


@pytest.mark.parametrize(
    ("reference", "said"),
    [
        ("C-0099", "casebot: There is no case C-0099."),
        ("hello", "casebot: “hello” is not a case reference. A reference looks like C-0042."),
    ],
)
def test_erase_of_an_unknown_or_bad_reference_is_one_line_and_exit_code_2(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], reference: str, said: str
) -> None:
    assert main(["erase", reference, "--yes"]) == 2
    captured = capsys.readouterr()
    assert lines(captured.err) == [said]
    assert captured.out == ""
    assert_untouched(sqlite_url)
