"""`casebot export --csv FILE`: every case, written to a file a spreadsheet opens safely."""

from __future__ import annotations

import asyncio
import csv
import sys
from pathlib import Path

import pytest

from casebot.cli import main
from casebot.clock import ManualClock
from casebot.db.database import Database
from casebot.domain.roles import Role
from casebot.services import Services

from .conftest import START, make_participant


async def seed(url: str) -> None:
    """Two coordinators with a case each, one of them sent to a hospital typed as a formula."""
    database = Database(url)
    await database.open()
    try:
        with database.bound():
            services = Services.build(ManualClock(START))
            first = await make_participant(services, 2001, Role.COORDINATOR)
            second = await make_participant(services, 2002, Role.COORDINATOR)
            case = await services.cases.open_case(first, "LABELZEBRA Mrs Ivanova")
            await services.cases.set_hospital(first, case.id, "@Fudan", "Thoracic", "Dr QUOKKA")
            await services.cases.open_case(second, "LABELOKAPI Mr Chen")
    finally:
        await database.close()


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh SQLite file, named by CASEBOT_DATABASE_URL, away from any .env of the checkout."""
    url = f"sqlite://{tmp_path / 'casebot.sqlite3'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CASEBOT_DATABASE_URL", url)
    return url


def test_export_writes_every_case_as_csv(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(seed(sqlite_url))
    target = tmp_path / "cases.csv"
    assert main(["export", "--csv", str(target)]) == 0
    raw = target.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")  # no BOM
    text = raw.decode("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    assert [(row["reference"], row["state"]) for row in rows] == [
        ("C-0001", "records_gathering"),
        ("C-0002", "records_gathering"),
    ]
    assert rows[0]["hospital"] == "'@Fudan"
    assert rows[0]["created_at"] == "2026-11-23T01:00:00+00:00"
    for private in ("LABELZEBRA", "Ivanova", "QUOKKA", "LABELOKAPI"):
        assert private not in text
    captured = capsys.readouterr()
    assert f"wrote 2 cases to {target}" in captured.out
    assert "case/s" not in captured.err  # no progress bar when stderr is not a terminal


def test_export_shows_its_progress_on_a_terminal(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(seed(sqlite_url))
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["export", "--csv", str(tmp_path / "cases.csv")]) == 0
    captured = capsys.readouterr()
    assert "2/2" in captured.err and "case/s" in captured.err
    assert "2/2" not in captured.out


def test_export_to_a_folder_that_does_not_exist_says_so(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing" / "cases.csv"
    assert main(["export", "--csv", str(target)]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert not target.exists()
