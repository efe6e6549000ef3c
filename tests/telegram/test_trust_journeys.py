"""Journeys a family and its coordinators must be able to trust, end to end through the emulator: a family
who blocked the bot and came back, a coordinator who was removed, quiet hours in the family's own zone,
questions both ways, overdue cases, the disclaimer of each moment, and the red flags before sending."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from casebot.clock import ManualClock
from casebot.db.models import OutboxMessage, OutboxStatus, Participant
from casebot.testing import BotAPIEmulator, SentMessage

from .conftest import ADMIN, COORDINATOR_B, World
from .test_case_journey import invite_token, join, say

FAMILY = 3001
COORDINATOR_C = 2003
TRAVEL_LINE = "do not book travel before the records are reviewed"
CLOSING_LINE = "For any medical question"
# A code such as medications_labs or no_named_reviewer: a person should never read one.
CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")


async def sweep(world: World) -> None:
    """One tick of the reminder sweep now (the scheduler would do it within CASEBOT_SWEEP_EVERY)."""
    ticker = world.dispatcher["casebot"].ticker
    assert ticker is not None
    await ticker.tick()


def wake_sender(world: World) -> None:
    """The outbox sender looks again now (it would at its next poll)."""
    sender = world.dispatcher["casebot"].sender
    assert sender is not None
    sender.wake()


async def open_case_with_family(
    world: World, coordinator: int = ADMIN, label: str = "Lung, Mrs Ivanova"
) -> None:
    """A coordinator opens C-0001 and the family joins it by the invite link."""
    t = world.telegram
    opened = await say(t, coordinator, f"/newcase {label}", "opened")
    await join(t, FAMILY, invite_token(opened))
    await t.wait_for(coordinator, contains="A family member joined")


async def drained(world: World) -> None:
    """Wait until the outbox has settled every message due now (sent, or given up), then for the bot
    to go quiet: a message held back by the per-chat pacing would otherwise arrive after the look."""
    wake_sender(world)
    now = world.dispatcher["casebot"].runtime.services.cases.now()
    for _ in range(400):
        due = OutboxMessage.filter(status=OutboxStatus.PENDING, available_at__lte=now)
        if not await due.exists():
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the outbox still holds messages due now")
    await world.telegram.settle()


async def reachable(user_id: int) -> bool:
    """Whether the bot holds the person as reachable (not blocked)."""
    return not (await Participant.get(telegram_user_id=user_id)).blocked


async def eventually(condition: Callable[[], Awaitable[bool]]) -> None:
    """Wait until the bot has handled what it was sent far enough for ``condition`` to hold."""
    for _ in range(400):
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition never held")


def containing(t: BotAPIEmulator, chat: int, text: str) -> list[SentMessage]:
    """The bot's messages to a chat that contain ``text``."""
    return [m for m in t.sent_to(chat) if text in m.text]


def calls_to_chat(t: BotAPIEmulator, chat: int) -> int:
    """How many requests the bot made about this chat (successful or refused)."""
    return len([c for c in t.calls if str(c.params.get("chat_id")) == str(chat)])


async def file_a_document(t: BotAPIEmulator, name: str, item: str) -> None:
    """The family sends a document and files it under a checklist item."""
    before = len(t.sent_to(FAMILY))
    t.user(FAMILY).send_document(name, size=80_000)
    chooser = (await t.wait_for(FAMILY, after=before))[0]
    t.user(FAMILY).press(chooser, text=item)
    await t.wait_until(lambda: "the file is kept" in chooser.text)


# --- 1. a family that blocked the bot and comes back ----------------------------------------------


@pytest.mark.parametrize("comes_back", ["writes /status", "unblocks the bot"])
async def test_a_family_who_blocked_the_bot_and_comes_back_gets_one_current_reminder(
    world: World, clock: ManualClock, comes_back: str
) -> None:
    t = world.telegram
    await open_case_with_family(world)
    await say(t, FAMILY, "/quiet off", "Saved")
    t.block(FAMILY)

    clock.advance(timedelta(days=3))  # the first missing-records reminder is due: Telegram answers 403
    await sweep(world)
    told = await t.wait_for(ADMIN, contains="has blocked the bot")
    assert "C-0001" in told[0].text
    await drained(world)
    assert (await Participant.get(telegram_user_id=FAMILY)).blocked
    tried_while_blocked = calls_to_chat(t, FAMILY)

    for _ in range(2):  # two more reminder cycles go by while they are blocked
        clock.advance(timedelta(days=3))
        await sweep(world)
        await drained(world)
    assert calls_to_chat(t, FAMILY) == tried_while_blocked, "nothing is tried while they are blocked"
    assert len(containing(t, ADMIN, "has blocked the bot")) == 1, "the coordinator is told once"

    clock.advance(timedelta(hours=12))
    t.unblock(FAMILY, notify=comes_back == "unblocks the bot")
    if comes_back == "writes /status":
        await say(t, FAMILY, "/status", "gathering records")
    else:
        await eventually(lambda: reachable(FAMILY))
    assert await reachable(FAMILY)

    await sweep(world)
    reminder = await t.wait_for(FAMILY, contains="gentle reminder")
    assert "Pathology reports" in reminder[0].text
    await sweep(world)
    await drained(world)
    assert len(containing(t, FAMILY, "gentle reminder")) == 1, "one current reminder, none replayed"

    clock.advance(timedelta(days=3))  # and they go on at the usual interval
    await sweep(world)
    await t.wait_for(FAMILY, contains="gentle reminder", count=2)


async def test_the_coordinator_hears_once_of_a_family_who_blocked_the_bot_when_telegram_says_so_first(
    world: World, clock: ManualClock
) -> None:
    """Telegram tells the bot of a block at once (my_chat_member), before any reminder is refused."""
    t = world.telegram
    await open_case_with_family(world)
    await say(t, FAMILY, "/quiet off", "Saved")
    tried_before = calls_to_chat(t, FAMILY)

    t.block(FAMILY, notify=True)
    told = await t.wait_for(ADMIN, contains="has blocked the bot")
    assert "C-0001" in told[0].text
    assert (await Participant.get(telegram_user_id=FAMILY)).blocked
    for _ in range(3):
        clock.advance(timedelta(days=3))
        await sweep(world)
        await drained(world)
    assert calls_to_chat(t, FAMILY) == tried_before, "nothing is tried while they are blocked"
    assert len(containing(t, ADMIN, "has blocked the bot")) == 1


# --- 2. a removed coordinator hears nothing more ---------------------------------------------------


async def test_a_removed_coordinator_hears_nothing_more_and_the_admin_takes_over(
    world: World, clock: ManualClock
) -> None:
    t = world.telegram
    await say(t, COORDINATOR_B, "/start")  # Bo opens the bot before being made a coordinator
    await say(t, ADMIN, f"/coordinator add {COORDINATOR_B}", "is now a coordinator")
    assert "case" in t.menu(COORDINATOR_B)
    await open_case_with_family(world, coordinator=COORDINATOR_B)
    await say(t, FAMILY, "/quiet off", "Saved")

    # 22:00 in Shanghai: a file the family sends now waits for the coordinator's morning.
    clock.set(datetime(2026, 11, 23, 14, 0, tzinfo=UTC))
    await file_a_document(t, "pathology.pdf", "2. Pathology")
    await drained(world)
    assert not containing(t, COORDINATOR_B, "a file from the family")

    removed = await say(t, ADMIN, f"/coordinator remove {COORDINATOR_B}", "no longer a coordinator")
    assert "C-0001" in removed and str(ADMIN) in removed
    menu = t.menu(COORDINATOR_B)
    assert "case" not in menu and "status" in menu, "the coordinator's own menu is gone: the family's"
    await drained(world)
    heard_before = len(t.sent_to(COORDINATOR_B))

    await file_a_document(t, "ct-report.pdf", "3. Imaging")
    await say(t, ADMIN, "/ask C-0001 Are the pathology blocks available?", "Q11 logged")
    question = (await t.wait_for(FAMILY, contains="The hospital asks"))[-1]
    before = len(t.sent_to(FAMILY))
    t.user(FAMILY).reply_to(question, "Yes, at the local hospital")
    await t.wait_for(FAMILY, after=before, contains="Q11 is recorded")

    clock.set(datetime(2026, 11, 24, 1, 0, tzinfo=UTC))  # 09:00 in Shanghai
    wake_sender(world)
    files = await t.wait_for(ADMIN, contains="a file from the family", count=2)
    # The one that waited for the morning was handed over with the case; the later one was the admin's.
    assert any("pathology.pdf" in m.text for m in files) and any("ct-report.pdf" in m.text for m in files)
    await t.wait_for(ADMIN, contains="Yes, at the local hospital")
    await drained(world)
    assert len(t.sent_to(COORDINATOR_B)) == heard_before, "nothing about the family reaches 2002"

    refused = await say(t, COORDINATOR_B, "/case C-0001")
    assert "Only a coordinator can do that" in refused
    assert "Mrs Ivanova" not in refused and "Pathology" not in refused


async def test_a_removed_coordinators_cases_go_to_the_coordinator_named_who_is_told(world: World) -> None:
    t = world.telegram
    await say(t, ADMIN, f"/coordinator add {COORDINATOR_B}", "is now a coordinator")
    await say(t, ADMIN, f"/coordinator add {COORDINATOR_C}", "is now a coordinator")
    t.user(COORDINATOR_B, "Bo", "en")
    await say(t, COORDINATOR_C, "/help")  # Cai has opened the bot: it may write to them
    await open_case_with_family(world, coordinator=COORDINATOR_B)
    await say(t, FAMILY, "/quiet off", "Saved")

    removed = await say(
        t, ADMIN, f"/coordinator remove {COORDINATOR_B} to {COORDINATOR_C}", "no longer a coordinator"
    )
    assert "C-0001" in removed and str(COORDINATOR_C) in removed
    told = await t.wait_for(COORDINATOR_C, contains="You now hold")
    assert "C-0001" in told[0].text
    await drained(world)
    heard_before = len(t.sent_to(COORDINATOR_B))

    await file_a_document(t, "pathology.pdf", "2. Pathology")
    arrived = await t.wait_for(COORDINATOR_C, contains="a file from the family")
    assert "pathology.pdf" in arrived[0].text
    card = await say(t, COORDINATOR_C, "/case C-0001", "Checklist")
    assert "Mrs Ivanova" in card
    await drained(world)
    assert len(t.sent_to(COORDINATOR_B)) == heard_before
    assert not containing(t, ADMIN, "a file from the family")


# --- 3. quiet hours in the family's own zone --------------------------------------------------------


async def test_quiet_hours_follow_the_familys_own_zone_but_an_answer_to_their_question_is_not_held(
    world: World, clock: ManualClock
) -> None:
    t = world.telegram
    family = t.user(FAMILY, "Olga", "en")
    await open_case_with_family(world)
    # Joining asks the language, then the time zone, which the family finds by typing its city.
    before = len(t.sent_to(FAMILY))
    family.press(t.last(FAMILY), text="English")
    await t.wait_for(FAMILY, after=before, contains="Which time zone")
    saved = await say(t, FAMILY, "Moscow", "Saved")
    assert "Europe/Moscow" in saved

    # 04:00 in Moscow (09:00 in Shanghai, where the coordinator is): night for the family.
    await say(t, ADMIN, "/advance C-0001 sent The family asked to send what we have", "✅")
    asked = await say(t, FAMILY, "/ask Will the doctors see the original scans?", "Q11")
    assert "C-0001 Q11" in asked
    await t.wait_for(ADMIN, contains="the family asks the hospital")
    await say(t, ADMIN, "/answer C-0001 11 Yes, they read the DICOM files directly", "Q11 answered")
    answer = await t.wait_for(FAMILY, contains="the hospital answered your question Q11")
    assert "they read the DICOM files directly" in answer[0].text
    await drained(world)
    assert not containing(t, FAMILY, "is now: <b>sent to the hospital</b>"), "held: night in Moscow"

    clock.set(datetime(2026, 11, 23, 5, 59, tzinfo=UTC))  # 08:59 in Moscow
    wake_sender(world)
    await drained(world)
    assert not containing(t, FAMILY, "is now: <b>sent to the hospital</b>")

    clock.set(datetime(2026, 11, 23, 6, 0, tzinfo=UTC))  # 09:00 in Moscow
    wake_sender(world)
    notice = await t.wait_for(FAMILY, contains="is now: <b>sent to the hospital</b>")
    assert "not medical advice" in notice[0].text
    await drained(world)
    assert len(containing(t, FAMILY, "is now: <b>sent to the hospital</b>")) == 1


# --- 4. questions both ways stay visible --------------------------------------------------------------


async def test_questions_both_ways_stay_visible_with_their_answers(world: World) -> None:
    t = world.telegram
    await open_case_with_family(world)

    asked = await say(t, FAMILY, "/ask Does the team need the original slides?", "Q11")
    assert "C-0001 Q11" in asked
    notice = await t.wait_for(ADMIN, contains="the family asks the hospital")
    assert "Q11" in notice[0].text and "Does the team need the original slides?" in notice[0].text
    card = await say(t, ADMIN, "/case C-0001", "Waiting on the hospital")
    waiting = card.split("<b>Waiting on the hospital</b>", 1)[1].split("<b>Last changes</b>", 1)[0]
    assert "Q11. Does the team need the original slides? (asked by the family)" in waiting

    await say(t, ADMIN, "/ask C-0001 Are the pathology blocks available?", "Q12 logged")
    question = (await t.wait_for(FAMILY, contains="The hospital asks"))[-1]
    before = len(t.sent_to(FAMILY))
    t.user(FAMILY).reply_to(question, "Yes, the blocks are at the local hospital")
    await t.wait_for(FAMILY, after=before, contains="Q12 is recorded")
    await t.wait_for(ADMIN, contains="Yes, the blocks are at the local hospital")

    await say(
        t, ADMIN, "/answer C-0001 11 Yes, the slides or the blocks, not only the reports", "Q11 answered"
    )
    answered = await t.wait_for(FAMILY, contains="the hospital answered your question Q11")
    assert "Yes, the slides or the blocks, not only the reports" in answered[0].text

    listed = await say(t, FAMILY, "/questions", "Q11")
    assert "Does the team need the original slides?" in listed
    assert "Answer: Yes, the slides or the blocks, not only the reports" in listed
    assert "Are the pathology blocks available?" in listed
    assert "Answer: Yes, the blocks are at the local hospital" in listed
    assert "Which exact department" not in listed, "the coordinator's own questions stay off it"

    card = await say(t, ADMIN, "/case C-0001", "Answered")
    answered_part = card.split("<b>Answered</b>", 1)[1].split("<b>Last changes</b>", 1)[0]
    assert "Q11. Does the team need the original slides?" in answered_part
    assert "Yes, the slides or the blocks, not only the reports" in answered_part
    assert "Q12. Are the pathology blocks available?" in answered_part
    assert "Yes, the blocks are at the local hospital" in answered_part


# --- 5. /cases overdue follows CASEBOT_STALE_AFTER ---------------------------------------------------


@pytest.mark.parametrize("settings_overrides", [{"stale_after": "2d"}])
async def test_cases_overdue_lists_the_cases_idle_longer_than_the_stale_after_setting(
    world: World, clock: ManualClock
) -> None:
    t = world.telegram
    await say(t, ADMIN, "/newcase Idle case", "C-0001")
    await say(t, ADMIN, "/newcase Busy case", "C-0002")
    clock.advance(timedelta(days=2))
    await say(t, ADMIN, "/note C-0002 Called the family about the scans", "C-0002")
    clock.advance(timedelta(days=1))

    overdue = await say(t, ADMIN, "/cases overdue", "Cases (overdue)")
    assert "C-0001" in overdue and "Idle case" in overdue
    assert "C-0002" not in overdue and "Busy case" not in overdue
    everything = await say(t, ADMIN, "/cases", "Cases")
    assert "C-0001" in everything and "C-0002" in everything


# --- 6. the disclaimer fits the moment -----------------------------------------------------------------


async def test_the_disclaimer_fits_the_moment(world: World) -> None:
    t = world.telegram
    await open_case_with_family(world)

    status = await say(t, FAMILY, "/status", "gathering records")
    assert TRAVEL_LINE in status
    await say(t, ADMIN, "/ask C-0001 Are the pathology blocks available?", "Q11 logged")
    question = (await t.wait_for(FAMILY, contains="The hospital asks"))[-1]
    assert "not medical advice" in question.text and TRAVEL_LINE in question.text

    await say(t, ADMIN, "/advance C-0001 sent The family asked to send what we have", "✅")
    sent = await t.wait_for(FAMILY, contains="is now: <b>sent to the hospital</b>")
    assert TRAVEL_LINE in sent[0].text
    await say(t, ADMIN, "/advance C-0001 under_review", "✅")
    review = await t.wait_for(FAMILY, contains="is now: <b>under review</b>")
    assert TRAVEL_LINE in review[0].text

    for step in ("opinion_received reviewed on what it had", "home_follow_up", "closed"):
        await say(t, ADMIN, f"/advance C-0001 {step}", "✅")
    closed = await t.wait_for(FAMILY, contains="is now: <b>closed</b>")
    assert CLOSING_LINE in closed[0].text
    assert TRAVEL_LINE not in closed[0].text
    final = await say(t, FAMILY, "/status", "closed")
    assert CLOSING_LINE in final and TRAVEL_LINE not in final


# --- 7. red flags need an ok, not any answer --------------------------------------------------------------


async def test_red_flags_need_an_ok_not_any_answer_and_the_refusal_names_what_is_open(world: World) -> None:
    t = world.telegram
    await say(t, ADMIN, "/newcase Lung, Mrs Ivanova", "opened")

    await say(
        t, ADMIN, "/answer C-0001 1 ok Thoracic oncology; the reviewer is being assigned", "Q1 answered"
    )
    await say(t, ADMIN, "/hospital C-0001 Fudan | Thoracic | TBD", "Fudan")
    card = await say(t, ADMIN, "/case C-0001", "Red flags")
    assert "no named oncology reviewer confirmed" in card, "a reviewer called TBD names nobody"

    refused = await say(t, ADMIN, "/answer C-0001 2 No, you must travel first")
    assert "start the answer with <code>ok</code> or <code>concern</code>" in refused
    card = await say(t, ADMIN, "/case C-0001", "Red flags")
    assert "you must travel first" not in card, "a refused answer is not kept"

    concern = await say(t, ADMIN, "/answer C-0001 2 concern they want the patient to travel first", "Q2")
    assert "concern" in concern
    answered = await say(t, ADMIN, "/answer C-0001 6 ok eligibility guaranteed", "Q6")
    assert "kept as a <b>concern</b>" in answered
    card = await say(t, ADMIN, "/case C-0001", "Red flags")
    assert "not confirmed that the records are reviewed before any travel — <b>concern</b> recorded" in card
    assert "no honest answer on eligibility before a deposit" in card
    assert "[concern] they want the patient to travel first" in card
    assert "[concern] eligibility guaranteed" in card

    refusal = await say(t, ADMIN, "/advance C-0001 sent")
    assert "not ready to move to sent to the hospital" in refusal
    assert "no named oncology reviewer confirmed" in refusal
    assert "not confirmed that the records are reviewed before any travel" in refusal
    assert "no honest answer on eligibility before a deposit" in refusal
    assert "Pathology reports, and whether slides or blocks are available" in refusal
    assert "Medication list, allergies, and key lab trends" in refusal
    assert not CODE.findall(refusal), refusal
    assert "gathering records" in await say(t, ADMIN, "/case C-0001", "State")

    await say(t, ADMIN, "/language ru", "ru")
    russian = await say(t, ADMIN, "/advance C-0001 sent")
    assert "Случай ещё не готов" in russian
    assert "не подтверждён конкретный онколог" in russian
    assert "Гистологические заключения; есть ли гистологические стёкла и парафиновые блоки" in russian
    assert "Список лекарств, аллергии и динамика основных анализов" in russian
    assert not CODE.findall(russian), russian
    assert "Pathology reports" not in russian


async def test_a_bare_reply_number_open_in_two_cases_asks_which_case(world: World) -> None:
    """Q11 is the first question to the family in every case: a member of two cases who writes
    /reply 11 is asked which case, and the answer lands only where the case is named."""
    t = world.telegram
    await open_case_with_family(world, label="Father")
    second = await say(t, ADMIN, "/newcase Mother", "opened")
    t.user(FAMILY).send_command("/start", invite_token(second))
    await t.wait_for(FAMILY, contains="following case <b>C-0002</b>")
    await say(t, ADMIN, "/ask C-0001 Are the father's blocks available?", "Q11 logged")
    await say(t, ADMIN, "/ask C-0002 Is there a CT from May?", "Q11 logged")
    asked = await say(t, FAMILY, "/reply 11 Yes", "several of your cases")
    assert "C-0001" in asked and "C-0002" in asked and "/reply C-0001/11" in asked
    await say(t, FAMILY, "/reply C-0002/11 Yes, from May", "recorded")
    # Now only C-0001 waits for Q11: a bare number finds it.
    await say(t, FAMILY, "/reply 11 At the local hospital", "recorded")
    card = await say(t, ADMIN, "/case C-0001", "At the local hospital")
    assert "Yes, from May" not in card
