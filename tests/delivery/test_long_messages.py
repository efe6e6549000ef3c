"""A message too long for one Telegram message goes in parts, each exactly once, whatever fails between."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from casebot.clock import ManualClock
from casebot.db.models import OutboxMessage, OutboxStatus, Participant
from casebot.delivery import SendLimits
from casebot.delivery.store import LEASE, backoff
from casebot.domain.notices import Deliver, Drop, SendDecision
from casebot.testing import BotAPIEmulator

from .composing import paragraphs, paragraphs_composer
from .conftest import Outbox, SenderFactory, VirtualTime

SENDER_PROCESS = Path(__file__).with_name("sender_process.py")


def openings(texts: list[str]) -> list[str]:
    """The first word of each part, which names it."""
    return [text.split(" ", 1)[0] for text in texts]


async def first_part_recorded(row_id: int) -> None:
    """Wait until another process has recorded the first part of a row (only reading shows it)."""
    try:
        async with asyncio.timeout(60):
            while (await OutboxMessage.get(id=row_id)).parts_sent < 1:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError("the sender never recorded that the first part reached Telegram") from None


@pytest.mark.parametrize(
    "failure",
    [{"status": 502}, {"disconnect": True}],
    ids=["bad-gateway", "connection-lost"],
)
async def test_a_long_message_that_fails_in_the_middle_resumes_at_the_part_not_yet_sent(
    telegram: BotAPIEmulator,
    outbox: Outbox,
    make_sender: SenderFactory,
    clock: ManualClock,
    virtual_time: VirtualTime,
    failure: dict[str, Any],
) -> None:
    ann = await outbox.person(9001)
    row = await outbox.enqueue(ann, payload={"paragraphs": paragraphs("One", "Two", "Three")})
    telegram.fail_next("sendMessage", after=1, **failure)  # the second part fails
    sender = make_sender(
        compose=paragraphs_composer(), monotonic=virtual_time.monotonic, sleep=virtual_time.sleep
    )

    assert await sender.drain() == 0
    first = telegram.sent_to(ann.chat_id)
    assert openings([m.text for m in first]) == ["One"]
    await row.refresh_from_db()
    assert (row.status, row.attempts, row.parts_sent) == (OutboxStatus.PENDING, 1, 1)
    assert row.sent_message_id == row.last_message_id == first[0].message_id

    clock.advance(backoff(1))
    assert await sender.drain() == 1

    received = telegram.sent_to(ann.chat_id)
    assert openings([m.text for m in received]) == ["One", "Two", "Three"]
    assert [m.button_texts for m in received] == [[], [], ["Open"]]
    await row.refresh_from_db()
    assert (row.status, row.attempts, row.parts_sent) == (OutboxStatus.SENT, 2, 3)
    assert row.sent_message_id == received[0].message_id
    assert row.last_message_id == received[2].message_id


async def test_a_long_message_left_half_sent_by_a_crashed_sender_is_finished_by_the_next_one(
    telegram: BotAPIEmulator, outbox: Outbox, make_sender: SenderFactory, database_url: str
) -> None:
    ann = await outbox.person(9101)
    real_now = datetime.now(UTC)
    row = await outbox.enqueue(
        ann,
        payload={"paragraphs": paragraphs("One", "Two", "Three")},
        available_at=real_now - timedelta(minutes=1),
    )
    # A sender in its own process, allowed one message an hour to a chat: after the first part it
    # waits, and is killed while it waits.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SENDER_PROCESS),
        database_url,
        telegram.base_url,
        telegram.token,
        "--per-chat-interval",
        "3600",
        "--compose",
        "paragraphs",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        await first_part_recorded(row.id)
    finally:
        process.kill()  # SIGKILL: no clean-up, the lease left behind
        await process.wait()
    first = telegram.sent_to(ann.chat_id)
    assert openings([m.text for m in first]) == ["One"]
    await row.refresh_from_db()
    assert (row.status, row.claimed_until is not None) == (OutboxStatus.PENDING, True)

    # Another sender, once the dead one's lease has run out.
    after_lease = ManualClock(real_now + LEASE + timedelta(minutes=1))
    sender = make_sender(compose=paragraphs_composer(), clock=after_lease)
    assert await sender.drain() == 1

    received = telegram.sent_to(ann.chat_id)
    assert openings([m.text for m in received]) == ["One", "Two", "Three"]
    await row.refresh_from_db()
    assert (row.status, row.parts_sent) == (OutboxStatus.SENT, 3)
    assert row.sent_message_id == received[0].message_id
    assert row.last_message_id == received[2].message_id


async def test_a_message_partly_in_the_chat_is_finished_as_it_began_whatever_the_check_says_later(
    telegram: BotAPIEmulator,
    outbox: Outbox,
    make_sender: SenderFactory,
    clock: ManualClock,
    virtual_time: VirtualTime,
) -> None:
    ann = await outbox.person(9201)
    row = await outbox.enqueue(ann, payload={"paragraphs": paragraphs("Old1", "Old2", "Old3")})
    asked: list[int] = []

    async def check(row: OutboxMessage, participant: Participant) -> SendDecision:
        asked.append(row.id)
        if len(asked) == 1:
            return Deliver({"paragraphs": paragraphs("New1", "New2", "New3")})
        return Drop("no longer applies")

    telegram.fail_next("sendMessage", 502, after=1)
    sender = make_sender(
        compose=paragraphs_composer(), check=check, monotonic=virtual_time.monotonic, sleep=virtual_time.sleep
    )
    await sender.drain()
    clock.advance(backoff(1))
    assert await sender.drain() == 1

    assert openings([m.text for m in telegram.sent_to(ann.chat_id)]) == ["New1", "New2", "New3"]
    assert asked == [row.id]  # asked before the first part only
    await row.refresh_from_db()
    assert row.status == OutboxStatus.SENT


async def test_a_long_message_to_a_chat_gets_one_part_a_second_within_telegrams_limits(
    telegram: BotAPIEmulator, outbox: Outbox, make_sender: SenderFactory
) -> None:
    telegram.enforce_limits(per_chat_per_second=1, per_group_per_minute=20, global_per_second=30)
    ann = await outbox.person(9301)
    await outbox.enqueue(ann, payload={"paragraphs": paragraphs("One", "Two", "Three")})
    sender = make_sender(compose=paragraphs_composer(), limits=SendLimits())  # real time

    assert await sender.drain() == 1

    assert telegram.stats.rate_limited == 0
    assert openings([m.text for m in telegram.sent_to(ann.chat_id)]) == ["One", "Two", "Three"]
