"""A bot token Telegram refuses (401) stops sending without costing any row, until the token works again."""

from __future__ import annotations

import itertools
import logging

import pytest

from casebot.clock import ManualClock
from casebot.db.models import OutboxMessage, OutboxStatus
from casebot.testing import BotAPIEmulator

from .composing import paragraphs, paragraphs_composer
from .conftest import TOKEN, Outbox, SenderFactory, VirtualTime, texts

REFUSED = "Telegram refused the bot token (401 Unauthorized): sending stopped; it resumes by itself once getMe succeeds"


def casebot_records(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("casebot") and r.levelno == level]


async def test_a_revoked_token_stops_all_sending_without_spending_attempts_until_getme_succeeds(
    telegram: BotAPIEmulator,
    outbox: Outbox,
    make_sender: SenderFactory,
    clock: ManualClock,
    virtual_time: VirtualTime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    telegram.clock = virtual_time.monotonic
    people = await outbox.people(11_001, 30)
    await outbox.enqueue_many(people)
    telegram.revoke_token()
    sender = make_sender(
        token_probe_interval=30.0, monotonic=virtual_time.monotonic, sleep=virtual_time.sleep
    )

    assert await sender.drain() == 0
    refused_sends = len(telegram.calls_to("sendMessage"))
    assert 1 <= refused_sends <= sender.limits.concurrency  # only what was already in flight
    for _ in range(3):
        assert await sender.drain() == 0

    assert len(telegram.calls_to("sendMessage")) == refused_sends
    probes = telegram.calls_to("getMe")
    assert [call.status for call in probes] == [401, 401, 401]
    gaps = [later.time - earlier.time for earlier, later in itertools.pairwise(probes)]
    assert gaps == pytest.approx([30.0, 30.0])  # virtual seconds
    rows = await OutboxMessage.all()
    assert {(row.status, row.attempts, row.claimed_until) for row in rows} == {
        (OutboxStatus.PENDING, 0, None)
    }
    assert casebot_records(caplog, logging.ERROR) == [REFUSED]
    assert not [r for r in caplog.records if TOKEN.split(":")[1] in r.getMessage()]

    telegram.restore_token()
    assert await sender.drain() == 30

    for person in people:
        assert texts(telegram.sent_to(person.chat_id)) == [f"👋 A family member joined ROW-{person.id}-0."]
    rows = await OutboxMessage.all()
    assert {(row.status, row.attempts) for row in rows} == {(OutboxStatus.SENT, 1)}
    assert casebot_records(caplog, logging.ERROR) == [REFUSED]
    assert [m for m in casebot_records(caplog, logging.INFO) if "token" in m] == [
        "Telegram accepts the bot token again (getMe succeeded): sending resumes"
    ]


async def test_a_background_sender_resumes_by_itself_once_the_token_works_again(
    telegram: BotAPIEmulator, outbox: Outbox, make_sender: SenderFactory, virtual_time: VirtualTime
) -> None:
    people = await outbox.people(12_001, 5)
    await outbox.enqueue_many(people)
    telegram.revoke_token()
    sender = make_sender(poll_interval=5.0, monotonic=virtual_time.monotonic, sleep=virtual_time.sleep)
    sender.start()
    try:
        await telegram.wait_until(lambda: len(telegram.calls_to("getMe")) >= 3, timeout=30)
        assert [call.status for call in telegram.calls_to("sendMessage")] == [401] * len(
            telegram.calls_to("sendMessage")
        )
        assert await OutboxMessage.filter(status=OutboxStatus.PENDING, attempts=0).count() == 5

        telegram.restore_token()
        await telegram.wait_until(lambda: telegram.stats.sent == 5, timeout=30)
    finally:
        await sender.stop()
    for person in people:
        assert len(telegram.sent_to(person.chat_id)) == 1
    assert await OutboxMessage.filter(status=OutboxStatus.SENT).count() == 5


async def test_a_long_message_refused_in_the_middle_resumes_at_the_next_part_without_an_attempt(
    telegram: BotAPIEmulator, outbox: Outbox, make_sender: SenderFactory, virtual_time: VirtualTime
) -> None:
    ann = await outbox.person(13_001)
    row = await outbox.enqueue(ann, payload={"paragraphs": paragraphs("One", "Two", "Three")})
    telegram.fail_next("sendMessage", 401, after=1, description="Unauthorized")
    sender = make_sender(
        compose=paragraphs_composer(), monotonic=virtual_time.monotonic, sleep=virtual_time.sleep
    )

    assert await sender.drain() == 0
    await row.refresh_from_db()
    assert (row.status, row.attempts, row.parts_sent, row.claimed_until) == (OutboxStatus.PENDING, 0, 1, None)

    assert await sender.drain() == 1  # getMe works: on with the second part

    received = [message.text.split(" ", 1)[0] for message in telegram.sent_to(ann.chat_id)]
    assert received == ["One", "Two", "Three"]
    await row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 1)
