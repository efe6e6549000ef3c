"""The outbox sender delivering notices through a real aiogram Bot to the emulator over HTTP."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from casebot.clock import ManualClock
from casebot.db.models import OutboxMessage, OutboxStatus, Participant
from casebot.delivery import Outgoing
from casebot.delivery.store import MAX_ATTEMPTS, backoff
from casebot.domain.notices import Deliver, Drop, SendDecision
from casebot.domain.refs import format_ref
from casebot.domain.roles import Role
from casebot.testing import BotAPIEmulator

from .conftest import (
    TOKEN,
    Outbox,
    SenderFactory,
    VirtualTime,
    later,
    mark_blocked_and_tell_coordinator,
    texts,
)


async def test_each_due_row_is_delivered_once_and_marked_sent_with_its_message_id(
    telegram: BotAPIEmulator, outbox: Outbox, make_sender: SenderFactory, virtual_time: VirtualTime
) -> None:
    ann, bob = await outbox.people(5001, 2)
    first = await outbox.enqueue(ann, marker="first for Ann")
    second = await outbox.enqueue(ann, marker="second for Ann")
    for_bob = await outbox.enqueue(bob, marker="for Bob")
    sender = make_sender(monotonic=virtual_time.monotonic, sleep=virtual_time.sleep)

    assert await sender.drain() == 3

    assert texts(telegram.sent_to(5001)) == [
        "👋 A family member joined first for Ann.",
        "👋 A family member joined second for Ann.",
    ]
    assert texts(telegram.sent_to(5002)) == ["👋 A family member joined for Bob."]
    for row in (first, second, for_bob):
        await row.refresh_from_db()
        assert row.status == OutboxStatus.SENT
        assert row.attempts == 1
        assert row.sent_at is not None
    assert [first.sent_message_id, second.sent_message_id] == [m.message_id for m in telegram.sent_to(5001)]
    assert for_bob.sent_message_id == telegram.sent_to(5002)[0].message_id
    assert await sender.drain() == 0
    assert len(telegram.sent_to(5001)) == 2


async def test_a_row_not_yet_available_waits_until_its_time(
    telegram: BotAPIEmulator,
    outbox: Outbox,
    make_sender: SenderFactory,
    clock: ManualClock,
    virtual_time: VirtualTime,
) -> None:
    ann = await outbox.person(5001)
    row = await outbox.enqueue(ann, marker="tomorrow", available_at=later(clock, hours=1))
    sender = make_sender(monotonic=virtual_time.monotonic, sleep=virtual_time.sleep)

    assert await sender.drain() == 0
    assert telegram.sent_to(ann.chat_id) == []
    await row.refresh_from_db()
    assert row.status == OutboxStatus.PENDING

    clock.advance(timedelta(hours=1))
    assert await sender.drain() == 1
    assert texts(telegram.sent_to(ann.chat_id)) == ["👋 A family member joined tomorrow."]


async def test_a_burst_to_a_few_chats_within_telegrams_limits_gets_no_429(
    telegram: BotAPIEmulator, outbox: Outbox, make_sender: SenderFactory
) -> None:
    telegram.enforce_limits(per_chat_per_second=1, per_group_per_minute=20, global_per_second=30)
    few = await outbox.people(6001, 3)
    many = await outbox.people(7001, 36)
    group = await outbox.group(-880001, user_id=8801)
    await outbox.enqueue_many(few, per_person=3)
    await outbox.enqueue_many([*many, group])
    sender = make_sender()  # Telegram's limits, real time

    assert await sender.drain() == 9 + 37

    assert telegram.stats.rate_limited == 0
    assert sender.stats.rate_limited == 0
    for person in few:
        assert texts(telegram.sent_to(person.chat_id)) == [
            f"👋 A family member joined ROW-{person.id}-{round_}." for round_ in range(3)
        ]
    for person in [*many, group]:
        assert texts(telegram.sent_to(person.chat_id)) == [f"👋 A family member joined ROW-{person.id}-0."]


async def test_a_group_gets_its_messages_within_the_twenty_a_minute_limit(
    telegram: BotAPIEmulator, outbox: Outbox, make_sender: SenderFactory, virtual_time: VirtualTime
) -> None:
    # Telegram and the sender share one virtual clock, so a minute of group limits passes at once.
    telegram.clock = virtual_time.monotonic
    telegram.enforce_limits(per_chat_per_second=1, per_group_per_minute=20, global_per_second=30)
    group = await outbox.group(-880002, user_id=8802)
    await outbox.enqueue_many([group], per_person=25)
    sender = make_sender(monotonic=virtual_time.monotonic, sleep=virtual_time.sleep)

    assert await sender.drain() == 25

    assert telegram.stats.rate_limited == 0
    assert texts(telegram.sent_to(group.chat_id)) == [
        f"👋 A family member joined ROW-{group.id}-{round_}." for round_ in range(25)
    ]


async def test_a_storm_of_429s_is_obeyed_and_everything_is_delivered(
    telegram: BotAPIEmulator, outbox: Outbox, make_sender: SenderFactory
) -> None:
    people = await outbox.people(6101, 12)
    rows = await outbox.enqueue_many(people)
    telegram.fail_next("sendMessage", 429, count=6, retry_after=1)
    sender = make_sender()

    assert await sender.drain() == 12

    assert telegram.stats.rate_limited == 6
    assert sender.stats.rate_limited == 6
    for person in people:
        assert texts(telegram.sent_to(person.chat_id)) == [f"👋 A family member joined ROW-{person.id}-0."]
    for row in rows:
        await row.refresh_from_db()
        assert (row.status, row.attempts) == (OutboxStatus.SENT, 1)  # a 429 is not a failed attempt


async def test_a_message_that_fails_with_a_server_error_is_delivered_on_retry(
    telegram: BotAPIEmulator,
    outbox: Outbox,
    make_sender: SenderFactory,
    clock: ManualClock,
    virtual_time: VirtualTime,
) -> None:
    ann = await outbox.person(6201)
    row = await outbox.enqueue(ann, marker="after a hiccup")
    telegram.fail_next("sendMessage", 502)
    sender = make_sender(monotonic=virtual_time.monotonic, sleep=virtual_time.sleep)

    assert await sender.drain() == 0
    await row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)
    assert row.last_error is not None and "Bad Gateway" in row.last_error
    assert telegram.sent_to(ann.chat_id) == []

    clock.advance(backoff(1))
    assert await sender.drain() == 1
    assert texts(telegram.sent_to(ann.chat_id)) == ["👋 A family member joined after a hiccup."]
    await row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 2)


async def test_a_message_that_keeps_failing_is_given_up_after_the_maximum_attempts_without_logging_its_text(
    telegram: BotAPIEmulator,
    outbox: Outbox,
    make_sender: SenderFactory,
    clock: ManualClock,
    virtual_time: VirtualTime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    ann = await outbox.person(6301)
    row = await outbox.enqueue(ann, marker="Confidential diagnosis")
    telegram.fail_next("sendMessage", 500, count=MAX_ATTEMPTS + 5)
    sender = make_sender(monotonic=virtual_time.monotonic, sleep=virtual_time.sleep)

    for _ in range(MAX_ATTEMPTS + 3):
        await sender.drain()
        clock.advance(timedelta(minutes=11))

    await row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.DEAD, MAX_ATTEMPTS)
    assert telegram.sent_to(ann.chat_id) == []
    assert len(telegram.calls_to("sendMessage")) == MAX_ATTEMPTS
    ours = [
        record.getMessage() for record in caplog.records if record.name.startswith(("casebot", "aiogram"))
    ]
    assert any("gave up" in message for message in ours)
    assert not [message for message in ours if "Confidential" in message or TOKEN.split(":")[1] in message]


async def test_a_message_telegram_took_but_answered_unreadably_is_sent_once_and_its_answer_not_logged(
    telegram: BotAPIEmulator,
    outbox: Outbox,
    make_sender: SenderFactory,
    clock: ManualClock,
    virtual_time: VirtualTime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    telegram.user(6351, first_name="Xiaoling")
    ann = await outbox.person(6351)
    row = await outbox.enqueue(ann, marker="Confidential diagnosis")
    telegram.fail_next("sendMessage", unreadable=True)  # a Bot API newer than aiogram
    sender = make_sender(monotonic=virtual_time.monotonic, sleep=virtual_time.sleep)

    assert await sender.drain() == 1
    clock.advance(timedelta(hours=1))
    assert await sender.drain() == 0

    assert texts(telegram.sent_to(ann.chat_id)) == ["👋 A family member joined Confidential diagnosis."]
    await row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 1)
    assert row.sent_message_id == telegram.last(ann.chat_id).message_id
    ours = [
        record.getMessage() for record in caplog.records if record.name.startswith(("casebot", "aiogram"))
    ]
    assert any("answer was unreadable (ClientDecodeError)" in message for message in ours)
    assert not [message for message in ours if "Confidential" in message or "Xiaoling" in message]


async def test_a_recipient_who_blocked_the_bot_is_marked_blocked_and_the_coordinator_is_told_once(
    telegram: BotAPIEmulator,
    outbox: Outbox,
    make_sender: SenderFactory,
    clock: ManualClock,
    virtual_time: VirtualTime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    coordinator = await outbox.person(6401, role=Role.COORDINATOR)
    ann = await outbox.person(6402)
    case = await outbox.case(coordinator)
    rows = [await outbox.enqueue(ann, case=case, marker=f"notice {n}") for n in range(3)]
    telegram.block(ann.chat_id)
    sender = make_sender(
        on_blocked=mark_blocked_and_tell_coordinator(clock),
        monotonic=virtual_time.monotonic,
        sleep=virtual_time.sleep,
    )

    await sender.drain()

    await ann.refresh_from_db()
    assert ann.blocked
    for row in rows:
        await row.refresh_from_db()
        assert row.status == OutboxStatus.DEAD
    assert len(telegram.calls_to("sendMessage")) == 2  # one to Ann (403), one to the coordinator
    told = texts(telegram.sent_to(coordinator.chat_id))
    assert told == [
        f"⚠️ A family member of {format_ref(case.id)} has blocked the bot; messages to them are not delivered."
    ]

    # Later notices to Ann die without a call, and the coordinator is not told again.
    late = await outbox.enqueue(ann, case=case, marker="late notice")
    await sender.drain()
    await late.refresh_from_db()
    assert late.status == OutboxStatus.DEAD
    assert len(telegram.calls_to("sendMessage")) == 2
    assert len(telegram.sent_to(coordinator.chat_id)) == 1
    assert await OutboxMessage.filter(kind="recipient_blocked").count() == 1
    ours = [
        record.getMessage() for record in caplog.records if record.name.startswith(("casebot", "aiogram"))
    ]
    assert any("cannot be reached" in message for message in ours)
    assert not [message for message in ours if "notice" in message]


async def test_a_blocked_recipient_without_a_coordinator_on_the_case_is_simply_dropped(
    telegram: BotAPIEmulator,
    outbox: Outbox,
    make_sender: SenderFactory,
    clock: ManualClock,
    virtual_time: VirtualTime,
) -> None:
    ann = await outbox.person(6501)
    case = await outbox.case(None)
    row = await outbox.enqueue(ann, case=case)
    telegram.deactivate(ann.chat_id)
    sender = make_sender(
        on_blocked=mark_blocked_and_tell_coordinator(clock),
        monotonic=virtual_time.monotonic,
        sleep=virtual_time.sleep,
    )

    assert await sender.drain() == 0

    await row.refresh_from_db()
    assert row.status == OutboxStatus.DEAD
    assert (await Participant.get(id=ann.id)).blocked
    assert await OutboxMessage.filter(kind="recipient_blocked").count() == 0


async def test_a_message_telegram_refuses_is_recorded_as_dead_with_the_reason(
    telegram: BotAPIEmulator, outbox: Outbox, make_sender: SenderFactory, virtual_time: VirtualTime
) -> None:
    ann = await outbox.person(6601)
    row = await outbox.enqueue(ann, marker="refused")
    telegram.fail_next("sendMessage", 400, description="Bad Request: message is too long")
    sender = make_sender(monotonic=virtual_time.monotonic, sleep=virtual_time.sleep)

    assert await sender.drain() == 0

    await row.refresh_from_db()
    assert row.status == OutboxStatus.DEAD
    assert row.last_error is not None and "message is too long" in row.last_error
    assert not (await Participant.get(id=ann.id)).blocked


async def test_a_group_that_became_a_supergroup_is_followed_to_its_new_chat(
    telegram: BotAPIEmulator, outbox: Outbox, make_sender: SenderFactory, virtual_time: VirtualTime
) -> None:
    group = await outbox.group(-880003, user_id=8803)
    telegram.migrate_group(-880003, -1000880003)
    row = await outbox.enqueue(group, marker="to the family group")
    sender = make_sender(monotonic=virtual_time.monotonic, sleep=virtual_time.sleep)

    assert await sender.drain() == 1

    assert texts(telegram.sent_to(-1000880003)) == ["👋 A family member joined to the family group."]
    assert (await Participant.get(id=group.id)).chat_id == -1000880003
    await row.refresh_from_db()
    assert row.status == OutboxStatus.SENT
    assert row.attempts == 1


async def test_messages_queued_while_telegram_is_down_are_delivered_once_it_is_back(
    telegram: BotAPIEmulator,
    outbox: Outbox,
    make_sender: SenderFactory,
    clock: ManualClock,
    virtual_time: VirtualTime,
) -> None:
    people = await outbox.people(6701, 10)
    await outbox.enqueue_many(people)
    sender = make_sender(monotonic=virtual_time.monotonic, sleep=virtual_time.sleep)
    await telegram.stop()

    assert await sender.drain() == 0
    assert await sender.drain() == 0  # still down: the sender probes, it does not hammer

    pending = await OutboxMessage.filter(status=OutboxStatus.PENDING).count()
    assert pending == 10  # nothing was given up
    await telegram.start()  # the same port
    clock.advance(timedelta(minutes=5))
    assert await sender.drain() == 10

    for person in people:
        assert texts(telegram.sent_to(person.chat_id)) == [f"👋 A family member joined ROW-{person.id}-0."]


async def test_the_background_sender_delivers_what_is_enqueued_after_a_wake(
    telegram: BotAPIEmulator, outbox: Outbox, make_sender: SenderFactory
) -> None:
    ann = await outbox.person(6801)
    sender = make_sender(poll_interval=30.0)
    sender.start()
    try:
        await outbox.enqueue(ann, marker="woken")
        sender.wake()
        await telegram.wait_for(ann.chat_id, 1, timeout=10)
    finally:
        await sender.stop()
    assert texts(telegram.sent_to(ann.chat_id)) == ["👋 A family member joined woken."]
    row = await OutboxMessage.get(participant_id=ann.id)
    assert row.status == OutboxStatus.SENT


async def test_a_stopped_sender_hands_back_the_rows_it_did_not_send(
    telegram: BotAPIEmulator, outbox: Outbox, make_sender: SenderFactory
) -> None:
    ann = await outbox.person(6901)
    await outbox.enqueue_many([ann], per_person=4)  # one a second to one chat
    sender = make_sender()
    sender.start()
    await telegram.wait_for(ann.chat_id, 1, timeout=10)
    await sender.stop()

    pending = await OutboxMessage.filter(status=OutboxStatus.PENDING)
    assert pending, "the sender was expected to stop before sending all four"
    assert all(row.claimed_until is None for row in pending)
    sent = await OutboxMessage.filter(status=OutboxStatus.SENT).count()
    assert sent == len(telegram.sent_to(ann.chat_id))


async def test_a_notice_carries_the_buttons_of_its_kind(
    telegram: BotAPIEmulator, outbox: Outbox, make_sender: SenderFactory, virtual_time: VirtualTime
) -> None:
    ann = await outbox.person(7101)
    await outbox.enqueue(ann, marker="with a button")

    def with_buttons(row: OutboxMessage, payload: dict[str, Any], participant: Participant) -> Outgoing:
        buttons = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text=f"Open {payload['ref']}", callback_data="open")]]
        )
        return Outgoing([f"A family member joined {payload['ref']}."], buttons)

    sender = make_sender(compose=with_buttons, monotonic=virtual_time.monotonic, sleep=virtual_time.sleep)

    assert await sender.drain() == 1
    assert telegram.last(ann.chat_id).button_texts == ["Open with a button"]


async def test_a_notice_that_no_longer_applies_when_its_turn_comes_is_not_sent(
    telegram: BotAPIEmulator, outbox: Outbox, make_sender: SenderFactory, virtual_time: VirtualTime
) -> None:
    ann = await outbox.person(7201)
    stale = await outbox.enqueue(ann, marker="already done")
    current = await outbox.enqueue(ann, marker="old wording")

    async def check(row: OutboxMessage, participant: Participant) -> SendDecision:
        if row.id == stale.id:
            return Drop("no longer applies")
        return Deliver({"ref": "new wording"})

    sender = make_sender(check=check, monotonic=virtual_time.monotonic, sleep=virtual_time.sleep)

    assert await sender.drain() == 1
    assert texts(telegram.sent_to(ann.chat_id)) == ["👋 A family member joined new wording."]
    await stale.refresh_from_db()
    assert (stale.status, stale.attempts) == (OutboxStatus.DEAD, 0)
    assert stale.last_error == "no longer applies"
    await current.refresh_from_db()
    assert current.status == OutboxStatus.SENT
