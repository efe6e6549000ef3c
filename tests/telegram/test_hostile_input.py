"""Confused and hostile people through the emulator: every input that used to crash, swallow or mislead
gets a readable answer and changes nothing; forged and doubled presses count for nothing more."""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from casebot.clock import ManualClock
from casebot.db.models import AuditEvent, Case, CheckIn, OutboxMessage, Participant, RecordFile
from casebot.testing import BotAPIEmulator, SentMessage

from .conftest import ADMIN, World
from .test_case_journey import invite_token, join, say

FAMILY, OTHER_FAMILY = 3001, 3002
BUG = "Something went wrong on our side"


async def case_with_family(world: World, family: int = FAMILY, label: str = "One") -> None:
    opened = await say(world.telegram, ADMIN, f"/newcase {label}", "opened")
    await join(world.telegram, family, invite_token(opened))


async def forged_press(telegram: BotAPIEmulator, user: int, message: SentMessage, data: str) -> str:
    """``user``'s client sends ``data`` from ``message``; return the notice the button showed."""
    query = telegram.user(user).press_data(message, data)
    await telegram.wait_until(lambda: query in telegram.callback_answers)
    return str(telegram.callback_answers[query].get("text") or "")


def no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == [], [record.getMessage()[:200] for record in errors]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/hospital C-0001|Fudan", "Usage: <code>/hospital"),
        ("/hospital C-0001|x y", "Usage: <code>/hospital"),
        ("/hospital C-0001 A | B | C | D", "Usage: <code>/hospital"),
        ("/received C-0001 ²", "has no checklist item"),
        ("/received C-0001 99999999999999999999", "has no checklist item"),
        ("/answer C-0001 ¹ yes", "has no question"),
        ("/answer C-0001 99999999999999999999 yes", "has no question"),
        ("/case C-99999999999999999999", "is not a case reference"),
        ("/case C-٣", "is not a case reference"),
        ("/pause C-0001 9999999999d", "more than a year away"),
        ("/pause C-0001 60w", "more than a year away"),
        ("/timezone Europe", "is not a time zone I know"),
        ("/timezone " + "Z" * 300, "is not a time zone I know"),
        ("/newcase \u200b\u200b\u200e", "invisible characters"),
        ("/advance C-0001 withdrawn", "needs a reason"),
        ("/coordinator remove 4242", "is not a coordinator"),
        ("/coordinator add ²", "Usage: <code>/coordinator"),
        ("/cases ⁹", "Usage: <code>/cases"),
    ],
)
async def test_a_coordinator_input_that_used_to_crash_gets_a_readable_answer_and_changes_nothing(
    world: World, caplog: pytest.LogCaptureFixture, command: str, expected: str
) -> None:
    await say(world.telegram, ADMIN, "/newcase One", "opened")
    events, people = await AuditEvent.all().count(), await Participant.all().count()
    answer = await say(world.telegram, ADMIN, command)
    assert expected in answer and BUG not in answer, answer
    assert (await Case.get(id=1)).state == "records_gathering"
    assert await AuditEvent.all().count() == events and await Participant.all().count() == people
    assert len(answer) < 600  # an answer, not an echo of a 300-character input
    no_errors_logged(caplog)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/snooze 9999999999d", "more than a year away"),
        ("/snooze 60w", "more than a year away"),
        ("/timezone Europe/Atlantis", "is not a time zone I know"),
        ("/reply ² yes", "has no question"),
        ("/ask", "Usage: <code>/ask"),
        ("/ask \u202e\u200b", "only invisible characters"),
        ("/quiet 25:00-99:00", "real times of day"),
    ],
)
async def test_a_family_input_that_used_to_crash_gets_a_readable_answer(
    world: World, caplog: pytest.LogCaptureFixture, command: str, expected: str
) -> None:
    await case_with_family(world)
    answer = await say(world.telegram, FAMILY, command)
    assert expected in answer and BUG not in answer, answer
    no_errors_logged(caplog)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("cb1f:2:1", "There is no case C-0002"),  # file my record under someone else's case
        ("cb1c:2", "There is no case C-0002"),
        ("cb1r:2:1d", "There is no case C-0002"),  # snooze someone else's reminders
        ("cb1r:1:365d", "no longer works"),  # a snooze the buttons never offer
        ("cb1k:1:7:done", "has no check-in waiting"),  # a check-in forged on day 0
        ("cb1k:1:0:done", "no longer works"),
        ("cb1f:99999999999999999999:1", "no longer works"),
        ("cb1a:1:sent:records_gathering", "Only a coordinator"),
        ("cb1zzz", "no longer works"),
        ("cb1", "no longer works"),
    ],
)
async def test_a_forged_button_gets_a_readable_refusal_and_changes_nothing(
    world: World, caplog: pytest.LogCaptureFixture, data: str, expected: str
) -> None:
    t = world.telegram
    await case_with_family(world, FAMILY, "Mine")
    await case_with_family(world, OTHER_FAMILY, "Theirs")
    t.user(FAMILY).send_document("scan.pdf", size=1000)
    chooser = (await t.wait_for(FAMILY, contains="Which record"))[-1]
    events = await AuditEvent.all().count()
    notice = await forged_press(t, FAMILY, chooser, data)
    assert expected in notice, notice
    assert await AuditEvent.all().count() == events
    assert not await RecordFile.exists()
    assert (await Case.get(id=2)).snoozed_until is None
    no_errors_logged(caplog)


async def test_a_staff_button_carrying_a_state_that_does_not_exist_is_answered_and_not_logged(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    t = world.telegram
    await say(t, ADMIN, "/newcase One", "opened")
    await say(t, ADMIN, "/case C-0001", "Checklist")
    notice = await forged_press(t, ADMIN, t.last(ADMIN), "cb1a:1:FORGED-MARK:records_gathering")
    assert "no longer works" in notice
    assert (await Case.get(id=1)).state == "records_gathering"
    assert all("FORGED-MARK" not in record.getMessage() for record in caplog.records)


async def test_any_other_command_cancels_a_pending_reason_and_later_text_moves_nothing(world: World) -> None:
    t = world.telegram
    await say(t, ADMIN, "/newcase First", "opened")
    await say(t, ADMIN, "/newcase Second", "opened")
    await say(t, ADMIN, "/case C-0001", "Checklist")
    before = len(t.sent_to(ADMIN))
    t.user(ADMIN).press(t.last(ADMIN), text="→ sent to the hospital")
    prompt = (await t.wait_for(ADMIN, after=before))[0].plain_text
    assert "not ready to move" in prompt and "/cancel" in prompt
    card = await say(t, ADMIN, "/case C-0002")
    assert "was not made" in card and "C-0002" in card
    await say(t, ADMIN, "/cases")
    await say(t, ADMIN, "ok thanks")
    assert (await Case.get(id=1)).state == "records_gathering"
    assert not await AuditEvent.filter(reason="ok thanks").exists()


async def test_withdrawing_by_button_asks_why_and_a_reason_given_too_late_is_not_taken(
    world: World, clock: ManualClock
) -> None:
    t = world.telegram
    await say(t, ADMIN, "/newcase One", "opened")
    await say(t, ADMIN, "/case C-0001", "Checklist")
    before = len(t.sent_to(ADMIN))
    t.user(ADMIN).press(t.last(ADMIN), text="→ withdrawn")
    prompt = (await t.wait_for(ADMIN, after=before))[0].plain_text
    assert "needs a reason" in prompt and "ends the case for good" in prompt
    assert (await Case.get(id=1)).state == "records_gathering"
    clock.advance(timedelta(minutes=20))
    late = await say(t, ADMIN, "the family stopped")
    assert "too long ago" in late
    assert (await Case.get(id=1)).state == "records_gathering"
    await say(t, ADMIN, "/case C-0001", "Checklist")
    t.user(ADMIN).press(t.last(ADMIN), text="→ withdrawn")
    await t.wait_for(ADMIN, contains="needs a reason", count=2)
    await say(t, ADMIN, "the family stopped", "withdrawn")
    event = await AuditEvent.get(to_value="withdrawn")
    assert event.reason == "the family stopped"


@pytest.mark.parametrize("kind", ["video", "voice", "audio", "video_note"])
async def test_a_video_or_a_recording_is_a_record_like_a_document(world: World, kind: str) -> None:
    t = world.telegram
    await case_with_family(world)
    before = len(t.sent_to(FAMILY))
    t.user(FAMILY).send_media(kind, file_name="clip.mp4" if kind in ("video", "audio") else None)
    chooser = (await t.wait_for(FAMILY, after=before))[0]
    assert "Which record" in chooser.plain_text
    t.user(FAMILY).press(chooser, text="3. ")
    await t.wait_until(lambda: "the file is kept" in chooser.plain_text)
    record = await RecordFile.get()
    assert record.kind == ("video" if kind == "video_note" else kind)
    await t.wait_for(ADMIN, contains="from the family for item 3")


async def test_a_right_to_left_override_in_a_file_name_does_not_reach_the_coordinator(world: World) -> None:
    t = world.telegram
    await case_with_family(world)
    t.user(FAMILY).send_document("CT-\u202efdp.exe", size=1000)
    chooser = (await t.wait_for(FAMILY, contains="Which record"))[-1]
    t.user(FAMILY).press(chooser, text="3. ")
    notice = (await t.wait_for(ADMIN, contains="a file from the family"))[-1].plain_text
    assert "\u202e" not in notice and "CT-fdp.exe" in notice
    assert (await RecordFile.get()).file_name == "CT-fdp.exe"


@pytest.mark.parametrize("send", ["location", "contact", "sticker"])
async def test_a_location_or_a_contact_gets_a_readable_answer(world: World, send: str) -> None:
    t = world.telegram
    await case_with_family(world)
    before = len(t.sent_to(FAMILY))
    getattr(t.user(FAMILY), f"send_{send}")()
    answer = (await t.wait_for(FAMILY, after=before))[0].plain_text
    assert "is not kept" in answer and "videos" in answer


async def test_filing_one_file_twice_keeps_it_once_with_one_notice(world: World) -> None:
    t = world.telegram
    await case_with_family(world)
    t.user(FAMILY).send_document("ct.pdf", size=5000)
    chooser = (await t.wait_for(FAMILY, contains="Which record"))[-1]
    for _ in range(2):
        query = t.user(FAMILY).press_data(chooser, "cb1f:1:3")
        await t.wait_until(lambda query=query: query in t.callback_answers)
    await t.settle()
    assert await RecordFile.all().count() == 1
    await t.wait_for(ADMIN, contains="a file from the family")
    await t.settle()
    assert len([m for m in t.sent_to(ADMIN) if "a file from the family" in m.plain_text]) == 1
    assert await OutboxMessage.filter(kind="file_arrived").count() == 1


async def test_a_check_in_pressed_twice_and_then_answered_otherwise_counts_once(
    world: World, clock: ManualClock
) -> None:
    t = world.telegram
    await case_with_family(world)
    await Participant.filter(telegram_user_id=FAMILY).update(quiet_hours="")
    await say(t, ADMIN, "/advance C-0001 sent urgent", "✅")
    for state in ("under_review", "opinion_received reviewed what there was", "home_follow_up"):
        await say(t, ADMIN, f"/advance C-0001 {state}", "✅")
    clock.advance(timedelta(days=7))
    ticker = world.dispatcher["casebot"].ticker
    assert ticker is not None
    await ticker.tick()
    check_in = (await t.wait_for(FAMILY, contains="checking in"))[-1]
    for data in ("cb1k:1:7:need_help", "cb1k:1:7:need_help", "cb1k:1:7:done"):
        query = t.user(FAMILY).press_data(check_in, data)
        await t.wait_until(lambda query=query: query in t.callback_answers)
    await t.settle()
    assert [(c.round, c.answer) for c in await CheckIn.all()] == [(7, "need_help")]
    assert await OutboxMessage.filter(kind="check_in_help").count() == 1


async def test_a_snooze_pressed_twice_is_one_snooze(world: World, clock: ManualClock) -> None:
    t = world.telegram
    await case_with_family(world)
    await Participant.filter(telegram_user_id=FAMILY).update(quiet_hours="")
    clock.advance(timedelta(days=3))
    ticker = world.dispatcher["casebot"].ticker
    assert ticker is not None
    await ticker.tick()
    reminder = (await t.wait_for(FAMILY, contains="still missing"))[-1]
    for _ in range(2):
        query = t.user(FAMILY).press_data(reminder, "cb1r:1:1d")
        await t.wait_until(lambda query=query: query in t.callback_answers)
    await t.settle()
    assert await AuditEvent.filter(action="reminders_snoozed").count() == 1


def test_the_demo_plays_a_case_to_closed_and_prints_the_conversation_only(tmp_path: Path) -> None:
    """The `casebot demo` a person runs: the installed command, from a folder of their own."""
    command = Path(sys.executable).with_name("casebot")
    done = subprocess.run(
        [str(command), "demo"], capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "coordinator: /newcase" in done.stdout
    assert "bot → family:" in done.stdout and "is now: closed" in done.stdout
    # The second half of the journey plays too: re-routed, the opinion confirmed, the home doctor.
    for step in ("needs more", "re-routed to Zhongshan", "I received it", "home oncologist is Dr Petrova"):
        assert step in done.stdout, step
    noise = [
        line for line in (done.stdout + done.stderr).splitlines() if "apscheduler" in line or " INFO " in line
    ]
    assert noise == []
