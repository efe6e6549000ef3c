"""`casebot digest --preview ID` and `casebot digest --send-now`: a person's digest as plain text (and the
coordinator's picture in a file), and this week's digests queued once however often it runs."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from casebot.cli import main
from casebot.clock import ManualClock
from casebot.db.database import Database
from casebot.db.models import OutboxMessage, Participant
from casebot.domain.roles import Role
from casebot.services import Services

from .conftest import make_participant, redeem, register

COORDINATOR = 2001
FAMILY = 3001


async def seed(url: str) -> None:
    """A coordinator's case with a family member reading Russian, and an item with markup in its title."""
    database = Database(url)
    await database.open()
    try:
        with database.bound():
            services = Services.build(ManualClock(datetime.now(UTC)))
            coordinator = await make_participant(services, COORDINATOR, Role.COORDINATOR)
            case = await services.cases.open_case(coordinator, "Lung, Mrs Ivanova")
            await services.checklist.add_item(coordinator, case.id, "Scans <CT> & MRI")
            invite = await services.invites.create(coordinator, case.id)
            await redeem(services, await register(FAMILY), invite.token)
            await Participant.filter(telegram_user_id=FAMILY).update(locale="ru")
    finally:
        await database.close()


async def digest_rows(url: str) -> int:
    database = Database(url)
    await database.open(apply_migrations=False)
    try:
        with database.bound():
            return await OutboxMessage.filter(kind__startswith="digest_").count()
    finally:
        await database.close()


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh SQLite file, named by CASEBOT_DATABASE_URL, away from any .env of the checkout."""
    url = f"sqlite://{tmp_path / 'casebot.sqlite3'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CASEBOT_DATABASE_URL", url)
    asyncio.run(seed(url))
    return url


def test_preview_prints_a_familys_digest_as_plain_text_in_their_language(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["digest", "--preview", str(FAMILY)]) == 0
    out = capsys.readouterr().out
    assert "Ваша сводка за неделю" in out and "C-0001" in out
    assert "Scans <CT> & MRI" in out  # entities unescaped
    assert "<b>" not in out and "&lt;" not in out  # tags stripped
    assert "Ivanova" not in out
    assert asyncio.run(digest_rows(sqlite_url)) == 0  # a preview queues nothing


def test_preview_of_a_coordinator_writes_the_picture(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["digest", "--preview", str(COORDINATOR)]) == 0
    assert "Your weekly digest" in capsys.readouterr().out
    picture = tmp_path / f"digest-{COORDINATOR}.png"
    assert picture.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    chosen = tmp_path / "mine.png"
    assert main(["digest", "--preview", str(COORDINATOR), "--picture", str(chosen)]) == 0
    assert chosen.read_bytes().startswith(b"\x89PNG")


def test_preview_of_an_unknown_id_says_so_in_one_line(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["digest", "--preview", "424242"]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == "casebot: no participant with Telegram id 424242"
    assert captured.out == ""


def test_send_now_queues_this_weeks_digests_once(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["digest", "--send-now"]) == 0
    captured = capsys.readouterr()
    assert "casebot: 2 digests queued for this week." in captured.out
    assert "2/2" in captured.err  # the progress bar, on stderr
    assert main(["digest", "--send-now"]) == 0
    assert "casebot: 0 digests queued for this week." in capsys.readouterr().out
    assert asyncio.run(digest_rows(sqlite_url)) == 2
