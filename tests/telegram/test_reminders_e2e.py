"""Reminders through the emulator with a controllable clock: buttons, quiet hours, check-ins, blocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from casebot.clock import ManualClock
from casebot.db.models import Participant

from .conftest import ADMIN, World
from .test_case_journey import invite_token, join, say

FAMILY = 3001


async def sweep(world: World) -> None:
    """One tick of the sweep now (the scheduler would do it within CASEBOT_SWEEP_EVERY)."""
    ticker = world.dispatcher["casebot"].ticker
    assert ticker is not None
    await ticker.tick()


async def family_case(world: World, quiet: str | None = "") -> None:
    t = world.telegram
    opened = await say(t, ADMIN, "/newcase Reminders", "opened")
    await join(t, FAMILY, invite_token(opened))
    await Participant.filter(telegram_user_id=FAMILY).update(quiet_hours=quiet, timezone="Europe/Moscow")


async def test_a_missing_records_reminder_comes_with_buttons_and_can_be_snoozed(
    world: World, clock: ManualClock
) -> None:
    t = world.telegram
    await family_case(world)
    clock.advance(timedelta(days=3))
    await sweep(world)
    reminder = (await t.wait_for(FAMILY, contains="gentle reminder"))[-1]
    assert "Pathology reports" in reminder.text and "not medical advice" in reminder.text
    assert [text for text, _ in reminder.flat_buttons] == [
        "I'll send it now",
        "Snooze 1 day",
        "Snooze 3 days",
    ]
    t.user(FAMILY).press(reminder, text="Snooze 1 day")
    snoozed = (await t.wait_for(FAMILY, contains="will wait until"))[-1]
    assert "Nov 27, 2026, 4:00\u202fAM" in snoozed.text  # one day on, in the family's Moscow time
    clock.advance(timedelta(hours=23))
    await sweep(world)
    await t.settle()
    assert len([m for m in t.sent_to(FAMILY) if "gentle reminder" in m.text]) == 1
    clock.advance(timedelta(hours=2))
    await sweep(world)
    await t.wait_for(FAMILY, count=2, contains="gentle reminder")


@pytest.mark.parametrize("settings_overrides", [{"missing_items_every": "1d", "escalate_after": "1"}])
async def test_the_reminder_settings_set_the_interval_and_the_escalation(
    world: World, clock: ManualClock
) -> None:
    t = world.telegram
    await family_case(world)
    clock.advance(timedelta(hours=23))
    await sweep(world)
    await t.settle()
    assert not [m for m in t.sent_to(FAMILY) if "gentle reminder" in m.text]
    clock.advance(timedelta(hours=1))  # one day: CASEBOT_MISSING_ITEMS_EVERY=1d, not the default 3d
    await sweep(world)
    await t.wait_for(FAMILY, contains="gentle reminder")
    clock.advance(timedelta(days=1))  # after one unanswered reminder: CASEBOT_ESCALATE_AFTER=1
    await sweep(world)
    escalation = await t.wait_for(ADMIN, contains="1 reminder about missing records went unanswered")
    assert "C-0001" in escalation[-1].text


async def test_a_reminder_due_at_night_arrives_in_the_morning(world: World, clock: ManualClock) -> None:
    t = world.telegram
    await family_case(world, quiet=None)  # the default 21:00-09:00, in Moscow
    clock.set(datetime(2026, 11, 26, 20, 0, tzinfo=UTC))  # 23:00 in Moscow, three days in
    await sweep(world)
    await t.settle()
    assert not [m for m in t.sent_to(FAMILY) if "gentle reminder" in m.text]
    clock.set(datetime(2026, 11, 27, 6, 1, tzinfo=UTC))  # 09:01 in Moscow
    world.dispatcher["casebot"].sender.wake()
    await t.wait_for(FAMILY, contains="gentle reminder")


async def test_a_check_in_answered_need_help_reaches_the_coordinator(
    world: World, clock: ManualClock
) -> None:
    t = world.telegram
    await family_case(world)
    await say(t, ADMIN, "/advance C-0001 sent Family asked", "✅")
    for state in ("under_review", "opinion_received reviewed without the rest", "home_follow_up"):
        await say(t, ADMIN, f"/advance C-0001 {state}", "✅")
    clock.advance(timedelta(days=7))
    await sweep(world)
    check_in = (await t.wait_for(FAMILY, contains="checking in"))[-1]
    t.user(FAMILY).press(check_in, text="I need help")
    await t.wait_for(FAMILY, contains="will get in touch")
    await t.wait_for(ADMIN, contains="asked for help")


async def test_a_family_who_blocked_the_bot_is_recorded_once_and_not_retried(
    world: World, clock: ManualClock
) -> None:
    t = world.telegram
    await family_case(world)
    t.block(FAMILY)
    for _ in range(3):
        clock.advance(timedelta(days=3))
        await sweep(world)
        await t.settle()
    assert (await Participant.get(telegram_user_id=FAMILY)).blocked
    blocked_notices = await t.wait_for(ADMIN, contains="blocked the bot")
    assert len(blocked_notices) == 1
    attempts = [
        c for c in t.calls_to("sendMessage") if str(c.params.get("chat_id")) == str(FAMILY) and not c.ok
    ]
    assert len(attempts) == 1


async def test_pause_resume_and_the_schedule_answer_coordinators_readably(world: World) -> None:
    t = world.telegram
    await family_case(world)
    assert "is not a date I can read" in await say(t, ADMIN, "/pause C-0001 someday")
    assert "already past" in await say(t, ADMIN, "/pause C-0001 2020-01-01")
    assert "Usage" in await say(t, ADMIN, "/pause C-0001")
    schedule = await say(t, ADMIN, "/reminders C-0001", "scheduled next")
    assert "reminder of missing records → the family: records are missing" in schedule
    paused = await say(t, ADMIN, "/pause C-0001 2026-12-20", "no reminders until")
    assert "Dec 20, 2026" in paused
    assert "not paused" not in await say(t, ADMIN, "/resume C-0001", "on again")
    assert "is not paused" in await say(t, ADMIN, "/resume C-0001")
    assert "not a time zone" in await say(t, FAMILY, "/timezone Mars/Olympus")


async def test_every_coordinator_reminder_arrives_through_telegram(world: World, clock: ManualClock) -> None:
    """The hospital's question to the family, its escalation, chasing the hospital, a long review
    and a stale case: each reaches the right person as a Telegram message."""
    t = world.telegram
    await family_case(world)
    await say(t, ADMIN, "/hospital C-0001 Hospital | Thoracic oncology | Dr Li", "Dr Li")
    await say(t, ADMIN, "/advance C-0001 sent Family asked", "✅")
    await say(t, ADMIN, "/advance C-0001 under_review", "✅")
    await say(t, ADMIN, "/ask C-0001 Are the blocks available?", "Q11 logged")
    for _ in range(4):  # four question cycles of two days: reminders, then the escalation
        clock.advance(timedelta(days=2))
        await sweep(world)
    await t.wait_for(FAMILY, contains="still waiting for your answer to question Q11")
    await t.wait_for(ADMIN, contains="reminders about the hospital's question Q11 went unanswered")
    await t.wait_for(ADMIN, contains="questions to the hospital unanswered for 3 business days")
    question = (await t.wait_for(FAMILY, contains="The hospital asks"))[0]
    t.user(FAMILY).reply_to(question, "Yes")
    await t.wait_for(FAMILY, contains="Q11 is recorded")
    clock.advance(timedelta(days=15))
    await sweep(world)
    await t.wait_for(ADMIN, contains="has been under review for 10 business days")
    await t.wait_for(ADMIN, contains="no activity for 14 days")
