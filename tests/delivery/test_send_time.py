"""What is decided when a row's turn comes: the recipient as they are then, the check, a 403's hook."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from aiogram.client.default import DefaultBotProperties

from casebot.clock import ManualClock
from casebot.db.models import OutboxMessage, OutboxStatus, Participant
from casebot.delivery import Outgoing
from casebot.domain.notices import Deliver, Postpone, SendDecision
from casebot.testing import BotAPIEmulator

from .conftest import Outbox, SenderFactory, VirtualTime, later, texts


async def test_the_check_and_the_text_see_the_recipient_as_the_database_has_them_when_the_message_goes(
    telegram: BotAPIEmulator, outbox: Outbox, make_sender: SenderFactory, virtual_time: VirtualTime
) -> None:
    family = await outbox.group(-880010, user_id=8810)
    telegram.group(-880011)
    first = await outbox.enqueue(family, marker="first")
    await outbox.enqueue(family, marker="second")
    seen: list[tuple[str, int]] = []

    async def check(row: OutboxMessage, participant: Participant) -> SendDecision:
        seen.append((participant.locale, participant.chat_id))
        if row.id == first.id:
            # Meanwhile the family switched to Russian and moved to another group.
            await Participant.filter(id=participant.id).update(locale="ru", chat_id=-880011)
        return Deliver(row.payload)

    def in_their_language(row: OutboxMessage, payload: dict[str, Any], participant: Participant) -> Outgoing:
        return Outgoing([f"[{participant.locale}] {payload['ref']}"])

    sender = make_sender(
        check=check, compose=in_their_language, monotonic=virtual_time.monotonic, sleep=virtual_time.sleep
    )

    assert await sender.drain() == 2

    assert seen == [("en", -880010), ("ru", -880011)]
    assert texts(telegram.sent_to(-880010)) == ["[en] first"]
    assert texts(telegram.sent_to(-880011)) == ["[ru] second"]
    assert (await Participant.get(id=family.id)).chat_id == -880011


async def test_a_recipient_marked_blocked_after_the_claim_gets_nothing_more(
    telegram: BotAPIEmulator, outbox: Outbox, make_sender: SenderFactory, virtual_time: VirtualTime
) -> None:
    ann = await outbox.person(9401)
    first = await outbox.enqueue(ann, marker="first")
    second = await outbox.enqueue(ann, marker="second")

    async def check(row: OutboxMessage, participant: Participant) -> SendDecision:
        if row.id == first.id:
            await Participant.filter(id=participant.id).update(blocked=True)  # another instance saw a 403
        return Deliver(row.payload)

    sender = make_sender(check=check, monotonic=virtual_time.monotonic, sleep=virtual_time.sleep)

    assert await sender.drain() == 1

    assert texts(telegram.sent_to(ann.chat_id)) == ["👋 A family member joined first."]
    await second.refresh_from_db()
    assert (second.status, second.attempts, second.last_error) == (
        OutboxStatus.DEAD,
        0,
        "recipient has blocked the bot",
    )


async def test_a_postponed_message_waits_until_the_time_the_check_gave_without_spending_an_attempt(
    telegram: BotAPIEmulator,
    outbox: Outbox,
    make_sender: SenderFactory,
    clock: ManualClock,
    virtual_time: VirtualTime,
) -> None:
    ann = await outbox.person(9501)
    row = await outbox.enqueue(ann, marker="after the night")
    morning = later(clock, hours=8)
    asked: list[int] = []

    async def check(row: OutboxMessage, participant: Participant) -> SendDecision:
        asked.append(row.id)
        return Postpone(morning) if clock.now() < morning else Deliver(row.payload)

    sender = make_sender(check=check, monotonic=virtual_time.monotonic, sleep=virtual_time.sleep)

    assert await sender.drain() == 0
    await row.refresh_from_db()
    assert (row.status, row.attempts, row.available_at) == (OutboxStatus.PENDING, 0, morning)
    assert (row.claimed_by, row.claimed_until) == (None, None)
    assert telegram.calls_to("sendMessage") == []

    clock.advance(timedelta(hours=7))
    assert await sender.drain() == 0
    assert asked == [row.id]  # not due, not asked

    clock.advance(timedelta(hours=1))
    assert await sender.drain() == 1
    assert texts(telegram.sent_to(ann.chat_id)) == ["👋 A family member joined after the night."]
    await row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 1)
    assert (sender.stats.postponed, sender.stats.dead) == (1, 0)


async def test_without_an_on_blocked_hook_delivery_drops_the_rows_and_nothing_else(
    telegram: BotAPIEmulator, outbox: Outbox, make_sender: SenderFactory, virtual_time: VirtualTime
) -> None:
    ann = await outbox.person(9601)
    rows = [await outbox.enqueue(ann, marker=f"notice {n}") for n in range(3)]
    telegram.block(ann.chat_id)
    sender = make_sender(monotonic=virtual_time.monotonic, sleep=virtual_time.sleep)

    assert await sender.drain() == 0

    assert len(telegram.calls_to("sendMessage")) == 1
    for row in rows:
        await row.refresh_from_db()
        assert (row.status, row.last_error) == (OutboxStatus.DEAD, "recipient has blocked the bot")
    assert [row.attempts for row in rows] == [1, 0, 0]
    assert not (await Participant.get(id=ann.id)).blocked
    assert await OutboxMessage.all().count() == 3


async def test_the_on_blocked_hook_hears_once_of_a_recipient_who_blocked_the_bot(
    telegram: BotAPIEmulator,
    outbox: Outbox,
    make_sender: SenderFactory,
    virtual_time: VirtualTime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ann, bob = await outbox.people(9701, 2)
    rows = [await outbox.enqueue(ann, marker=f"notice {n}") for n in range(3)]
    await outbox.enqueue(bob, marker="for Bob")
    telegram.block(ann.chat_id)
    heard: list[tuple[int, int, bool]] = []

    async def on_blocked(row: OutboxMessage, participant: Participant) -> None:
        heard.append((row.id, participant.id, participant.blocked))
        raise RuntimeError("the hook failed")

    caplog.set_level(logging.DEBUG)
    sender = make_sender(on_blocked=on_blocked, monotonic=virtual_time.monotonic, sleep=virtual_time.sleep)

    assert await sender.drain() == 1

    assert heard == [(rows[0].id, ann.id, True)]
    assert texts(telegram.sent_to(bob.chat_id)) == ["👋 A family member joined for Bob."]
    assert any(f"on_blocked failed for participant {ann.id}" in r.getMessage() for r in caplog.records)


async def test_messages_go_as_telegram_html_even_when_the_host_bot_defaults_to_markdown(
    telegram: BotAPIEmulator, outbox: Outbox, make_sender: SenderFactory, virtual_time: VirtualTime
) -> None:
    ann = await outbox.person(9801)
    await outbox.enqueue(ann, marker="C-0042_x")
    markdown_bot = telegram.create_bot(default=DefaultBotProperties(parse_mode="MarkdownV2"))
    try:
        sender = make_sender(bot=markdown_bot, monotonic=virtual_time.monotonic, sleep=virtual_time.sleep)
        assert await sender.drain() == 1
    finally:
        await markdown_bot.session.close()

    sent = telegram.last(ann.chat_id)
    assert sent.parse_mode == "HTML"
    assert sent.plain_text == "👋 A family member joined C-0042_x."


async def test_a_recipient_who_unblocks_the_bot_during_a_drain_gets_what_is_queued_for_them_afterwards(
    telegram: BotAPIEmulator, outbox: Outbox, make_sender: SenderFactory, virtual_time: VirtualTime
) -> None:
    ann = await outbox.person(9501)
    telegram.block(9501)
    await outbox.enqueue(ann, marker="while blocked")
    sender: Any = None

    async def on_blocked(row: OutboxMessage, participant: Participant) -> None:
        # Telegram refused it; at once Ann unblocks the bot (casebot records it) and a new
        # notice is queued for her, while this drain goes on.
        telegram.unblock(9501)
        await Participant.filter(id=ann.id).update(blocked=False)
        await outbox.enqueue(ann, marker="after unblocking")
        sender.wake()

    sender = make_sender(on_blocked=on_blocked, monotonic=virtual_time.monotonic, sleep=virtual_time.sleep)
    await sender.drain()
    assert [text.endswith("after unblocking.") for text in texts(telegram.sent_to(9501))] == [True]
