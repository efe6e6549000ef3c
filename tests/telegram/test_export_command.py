"""/export through the emulator: a coordinator gets a CSV of their cases, an admin every case,
a family member a refusal in their language."""

from __future__ import annotations

import csv
import io

import pytest

from casebot.rendering import Renderer
from casebot.testing import BotAPIEmulator, SentMessage

from .conftest import ADMIN, COORDINATOR_B, World
from .test_case_journey import invite_token, join, say

FAMILY = 3001


async def export(t: BotAPIEmulator, user_id: int) -> SentMessage:
    """The user sends /export; return the bot's answer (a document, or a sentence)."""
    before = len(t.sent_to(user_id))
    t.user(user_id).send_text("/export")
    return (await t.wait_for(user_id, after=before))[0]


def csv_rows(t: BotAPIEmulator, sent: SentMessage) -> tuple[str, list[dict[str, str]]]:
    """The document's bytes as text, and its rows as the csv module reads them."""
    assert sent.document is not None, sent
    text = t.file(sent.document["file_id"]).data().decode("utf-8")
    return text, list(csv.DictReader(io.StringIO(text, newline="")))


async def add_coordinator_b(t: BotAPIEmulator) -> None:
    await say(t, COORDINATOR_B, "hello")
    await say(t, ADMIN, f"/coordinator add {COORDINATOR_B}", "now a coordinator")


async def test_a_coordinator_gets_their_own_cases_and_an_admin_every_case_as_a_csv_document(
    world: World,
) -> None:
    t = world.telegram
    await add_coordinator_b(t)
    await say(t, COORDINATOR_B, "/newcase LABELZEBRA Mrs Ivanova", "opened")
    await say(t, ADMIN, "/newcase LABELOKAPI Mr Chen", "opened")
    await say(t, COORDINATOR_B, "/hospital C-0001 =HYPERLINK(1) | Thoracic oncology | Dr QUOKKA", "C-0001")

    sent = await export(t, COORDINATOR_B)
    text, rows = csv_rows(t, sent)
    assert sent.document is not None
    assert sent.document["file_name"] == "casebot-cases-2026-11-23.csv"
    assert "1 case" in sent.caption and "1 cases" not in sent.caption
    assert [row["reference"] for row in rows] == ["C-0001"]
    assert rows[0]["state"] == "records_gathering"
    assert (rows[0]["hospital"], rows[0]["department"]) == ("'=HYPERLINK(1)", "Thoracic oncology")
    for private in ("LABELZEBRA", "Ivanova", "QUOKKA", "LABELOKAPI"):
        assert private not in text

    sent = await export(t, ADMIN)
    _, rows = csv_rows(t, sent)
    assert [row["reference"] for row in rows] == ["C-0001", "C-0002"]
    assert "2 cases" in sent.caption


async def test_a_coordinator_without_cases_is_told_so_rather_than_sent_an_empty_file(world: World) -> None:
    t = world.telegram
    await add_coordinator_b(t)
    await say(t, ADMIN, "/newcase Not theirs", "opened")
    sent = await export(t, COORDINATOR_B)
    assert sent.document is None
    assert "no cases to export" in sent.text
    assert t.calls_to("sendDocument") == []


async def test_a_family_member_asking_for_an_export_is_refused_in_russian(world: World) -> None:
    t = world.telegram
    opened = await say(t, ADMIN, "/newcase LABELZEBRA", "opened")
    await join(t, FAMILY, invite_token(opened), "Ольга", "ru")
    sent = await export(t, FAMILY)
    assert sent.document is None
    assert "Это может сделать только координатор" in sent.text
    assert t.calls_to("sendDocument") == []


async def test_export_is_in_the_coordinators_menu_and_not_the_familys(world: World) -> None:
    t = world.telegram
    await add_coordinator_b(t)
    assert "export" in t.menu(chat_id=COORDINATOR_B)
    assert "export" not in t.menu()


@pytest.mark.parametrize(
    ("locale", "count", "words"),
    [
        ("en", 1, "1 case</b>"),
        ("en", 2, "2 cases</b>"),
        ("ru", 1, "1 случай</b>"),
        ("ru", 3, "3 случая</b>"),
        ("ru", 5, "5 случаев</b>"),
        ("ru", 21, "21 случай</b>"),
        ("zh", 12, "12 个病例</b>"),
    ],
)
def test_the_caption_counts_the_cases_in_the_readers_language(locale: str, count: int, words: str) -> None:
    assert words in Renderer().render(locale, "staff/exported", count=count)
