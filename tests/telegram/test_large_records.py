"""Records too large for the bot (DICOM studies, whole-slide images) come by link or courier instead."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casebot.clock import ManualClock
from casebot.db.models import AuditEvent, ChecklistItem
from casebot.domain.checklist import ItemStatus

from .conftest import ADMIN, World
from .test_case_journey import say
from .test_follow_up_e2e import FAMILY, OTHER_FAMILY, family_case
from .test_reminders_e2e import sweep

DICOM = 300 * 1024 * 1024


async def send_big_scan(world: World, user_id: int = FAMILY) -> object:
    t = world.telegram
    before = len(t.sent_to(user_id))
    t.user(user_id).send_document("ct-dicom.zip", size=DICOM, mime_type="application/zip")
    return (await t.wait_for(user_id, after=before))[0]


async def test_a_big_scan_is_flagged_at_once_and_the_family_chooses_the_courier(world: World) -> None:
    t = world.telegram
    ref = await family_case(world)
    chooser = await send_big_scan(world)
    # Said at once, before anything is chosen.
    assert "over 20 MB" in chooser.text and "link or by courier" in chooser.text  # type: ignore[attr-defined]
    t.user(FAMILY).press(chooser, text="3. ")
    await t.wait_until(lambda: "still counts as missing" in chooser.text)  # type: ignore[attr-defined]
    assert chooser.button_texts == ["I'll send a link", "By courier"]  # type: ignore[attr-defined]
    assert (await ChecklistItem.get(position=3)).status == ItemStatus.MISSING
    await t.wait_for(ADMIN, contains="not downloadable")

    before = len(t.sent_to(FAMILY))
    t.user(FAMILY).press(chooser, text="By courier")
    thanks = (await t.wait_for(FAMILY, after=before))[0]
    assert "by courier" in thanks.text and "item 3" in thanks.text
    notice = (await t.wait_for(ADMIN, contains="by courier"))[-1]
    assert f"/arriving {ref} 3 courier" in notice.text
    assert (await ChecklistItem.get(position=3)).arrival_route == "courier"
    # The buttons went with the answer; a doubled press (a stale copy) records nothing more.
    query = t.user(FAMILY).press_data(chooser, "cb1ar:1:3:courier")
    await t.wait_until(lambda: query in t.callback_answers)
    assert "Already recorded" in str(t.callback_answers[query].get("text"))
    assert await AuditEvent.filter(action="arrival_route_chosen").count() == 1


async def test_the_warning_speaks_the_familys_language(world: World) -> None:
    await family_case(world, language="ru")
    chooser = await send_big_scan(world)
    assert "больше 20 МБ" in chooser.text  # type: ignore[attr-defined]
    world.telegram.user(FAMILY).press(chooser, text="3. ")
    await world.telegram.wait_until(lambda: "Курьером" in chooser.button_texts)  # type: ignore[attr-defined]


async def test_a_small_file_still_marks_its_item_received_with_no_route_buttons(world: World) -> None:
    t = world.telegram
    await family_case(world)
    before = len(t.sent_to(FAMILY))
    t.user(FAMILY).send_document("pathology.pdf", size=120_000)
    chooser = (await t.wait_for(FAMILY, after=before))[0]
    assert "over 20 MB" not in chooser.text
    t.user(FAMILY).press(chooser, text="2. ")
    await t.wait_until(lambda: "the file is kept" in chooser.text)
    assert chooser.button_texts == []
    assert (await ChecklistItem.get(position=2)).status == ItemStatus.RECEIVED


async def test_arriving_holds_the_items_reminders_until_its_date_and_shows_on_the_card(
    world: World, clock: ManualClock
) -> None:
    t = world.telegram
    ref = await family_case(world)
    for position in (1, 2, 4, 5, 6, 7, 8):
        await say(t, ADMIN, f"/received {ref} {position}", "✅")
    marked = await say(t, ADMIN, f"/arriving {ref} 3 courier 2026-12-03", "arriving")
    assert "by courier by December 3, 2026" in marked
    card = await say(t, ADMIN, f"/case {ref}", "Checklist")
    assert "arriving by courier by December 3, 2026" in card
    assert "Item 3 arriving by courier by December 3, 2026" in card  # the audit trail

    for _ in range(3):  # to 2026-12-02: no reminder of the record on its way
        clock.advance(timedelta(days=3))
        await sweep(world)
    await t.settle()
    # (The weekly digest lists it as on its way; it is no reminder.)
    assert not [m for m in t.sent_to(FAMILY) if "Imaging" in m.text and "weekly update" not in m.text]
    clock.advance(timedelta(days=2))  # 2026-12-04: the date has passed and it is still missing
    await sweep(world)
    reminder = (await t.wait_for(FAMILY, contains="Imaging"))[-1]
    assert "Imaging" in reminder.text


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("/arriving C-0001 3 pigeon 2026-12-03", "<code>link</code> or <code>courier</code>"),
        ("/arriving C-0001 3 courier 2026-11-01", "already past"),
        ("/arriving C-0001 3 courier next week", "not a date"),
        ("/arriving C-0001 99 courier 2026-12-03", "no checklist item"),
        ("/arriving C-0009 3 courier 2026-12-03", "no case C-0009"),
        ("/arriving C-0001 3", "/arriving &lt;case&gt;"),
    ],
)
async def test_arriving_answers_a_coordinators_mistakes_readably(
    world: World, command: str, says: str
) -> None:
    await family_case(world)
    answer = await say(world.telegram, ADMIN, command)
    assert says in answer
    assert not await AuditEvent.filter(action="arrival_expected").exists()


async def test_arriving_is_refused_for_a_family_member_and_a_closed_case(world: World) -> None:
    t = world.telegram
    ref = await family_case(world)
    refused = await say(t, FAMILY, f"/arriving {ref} 3 courier 2026-12-03")
    assert "Only a coordinator" in refused
    # Someone else's button on this case's item: the same answer as for no case at all.
    await family_case(world, user_id=OTHER_FAMILY, label="Colon")
    other = await send_big_scan(world, OTHER_FAMILY)
    query = t.user(OTHER_FAMILY).press_data(other, "cb1ar:1:3:link")  # type: ignore[arg-type]
    await t.wait_until(lambda: query in t.callback_answers)
    assert "no case" in str(t.callback_answers[query].get("text"))
    await say(t, ADMIN, f"/advance {ref} withdrawn The family stopped", "✅")
    closed = await say(t, ADMIN, f"/arriving {ref} 3 courier 2026-12-03")
    assert "withdrawn" in closed
    assert not await AuditEvent.filter(action__in=["arrival_expected", "arrival_route_chosen"]).exists()
