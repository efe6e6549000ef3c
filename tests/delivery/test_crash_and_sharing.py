"""Several senders on one outbox, and a sender killed mid-drain: every row delivered, duplicates bounded."""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from casebot.clock import ManualClock
from casebot.db.database import Database
from casebot.db.models import OutboxMessage, OutboxStatus
from casebot.delivery import OutboxSender, SendLimits
from casebot.delivery.store import LEASE
from casebot.testing import BotAPIEmulator

from .conftest import Outbox, SenderFactory

BACKEND = "postgres" if os.environ.get("CASEBOT_TEST_DATABASE_URL", "").startswith("postgres") else "sqlite"
FAST = SendLimits(rate=500, per_chat_interval=1.0, group_per_minute=20, concurrency=8)
SENDER_PROCESS = Path(__file__).with_name("sender_process.py")


def received_per_chat(telegram: BotAPIEmulator, chat_ids: list[int]) -> Counter[int]:
    """How many messages each chat received."""
    return Counter({chat_id: len(telegram.sent_to(chat_id)) for chat_id in chat_ids})


async def test_two_senders_draining_one_outbox_deliver_every_row_exactly_once(
    telegram: BotAPIEmulator,
    outbox: Outbox,
    make_sender: SenderFactory,
    db: Database,
    database_url: str,
) -> None:
    people = await outbox.people(10_001, 300)
    await outbox.enqueue_many(people)
    other_database = Database(database_url)
    await other_database.open(apply_migrations=False)
    other_bot = telegram.create_bot()
    first = make_sender(limits=FAST, batch_size=20, instance_id="first")
    second = make_sender(limits=FAST, batch_size=20, instance_id="second", bot=other_bot)
    second.database = other_database

    async def drain(sender: OutboxSender, database: Database) -> int:
        with database.bound():
            return await sender.drain()

    try:
        counts = await asyncio.gather(drain(first, db), drain(second, other_database))
    finally:
        await other_bot.session.close()
        await other_database.close()

    received = received_per_chat(telegram, [person.chat_id for person in people])
    assert set(received.values()) == {1}, "some family got a notice twice, or none"
    assert sum(counts) == 300
    if BACKEND == "postgres":
        # SKIP LOCKED lets both take rows at once; SQLite serialises, so there one may take all.
        assert all(count > 0 for count in counts), f"one sender did all the work: {counts}"
    assert await OutboxMessage.filter(status=OutboxStatus.SENT).count() == 300


async def test_a_sender_killed_mid_drain_loses_nothing_and_repeats_at_most_what_was_in_flight(
    telegram: BotAPIEmulator, outbox: Outbox, make_sender: SenderFactory, database_url: str
) -> None:
    people = await outbox.people(20_001, 1000)
    real_now = datetime.now(UTC)
    await outbox.enqueue_many(people, available_at=real_now - timedelta(minutes=1))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SENDER_PROCESS),
        database_url,
        telegram.base_url,
        telegram.token,
        "--rate",
        str(FAST.rate),
        "--concurrency",
        str(FAST.concurrency),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        await telegram.wait_until(lambda: telegram.stats.sent >= 300, timeout=60)
    finally:
        process.kill()  # SIGKILL: no clean-up, leases left behind
        await process.wait()
    sent_before_the_crash = telegram.stats.sent
    assert sent_before_the_crash < 1000, "the sender finished before it could be killed"

    # A new sender, once the dead one's leases have run out.
    after_leases = ManualClock(real_now + LEASE + timedelta(minutes=1))
    sender = make_sender(limits=FAST, clock=after_leases)
    await sender.drain()

    received = received_per_chat(telegram, [person.chat_id for person in people])
    duplicates = sum(count - 1 for count in received.values())
    print(  # noqa: T201
        f"\nSIGKILL after {sent_before_the_crash} of 1000 sent: {duplicates} duplicate(s), "
        f"in-flight limit {FAST.concurrency}"
    )
    assert min(received.values()) == 1, "a notice was lost"
    assert duplicates <= FAST.concurrency
    assert await OutboxMessage.filter(status=OutboxStatus.SENT).count() == 1000
