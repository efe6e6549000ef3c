"""Digests never hold up what someone is waiting for: urgent rows go ahead of bulk ones."""

from __future__ import annotations

from typing import Any

from casebot.db.models import OutboxMessage, OutboxStatus, Participant
from casebot.delivery import SendLimits
from casebot.delivery.store import BULK
from casebot.domain.notices import Deliver, SendDecision
from casebot.testing import BotAPIEmulator

from .conftest import Outbox, SenderFactory, VirtualTime, texts


async def _bulk(outbox: Outbox, people: list[Participant]) -> list[OutboxMessage]:
    """One bulk row (a stand-in for a digest) for each person."""
    rows = await outbox.enqueue_many(people)
    await OutboxMessage.filter(id__in=[row.id for row in rows]).update(priority=BULK)
    return rows


def _order(telegram: BotAPIEmulator, people: list[Participant]) -> list[str]:
    """Every text the bot sent to these people, in the order Telegram took them."""
    sent = [message for person in people for message in telegram.sent_to(person.chat_id)]
    return [message.plain_text for message in sorted(sent, key=lambda m: m.timestamp)]


async def test_an_urgent_row_queued_after_the_digests_is_sent_before_them(
    telegram: BotAPIEmulator, outbox: Outbox, make_sender: SenderFactory, virtual_time: VirtualTime
) -> None:
    people = await outbox.people(9101, 40)
    await _bulk(outbox, people)
    urgent = await outbox.enqueue(people[-1], marker="URGENT")
    sender = make_sender(monotonic=virtual_time.monotonic, sleep=virtual_time.sleep, batch_size=20)

    assert await sender.drain() == 41

    # It is the first to go; up to eight sends are in flight at once, so Telegram may take a few of
    # them before it, never the forty digests queued ahead of it by id.
    assert _order(telegram, people).index("👋 A family member joined URGENT.") < SendLimits().concurrency
    await urgent.refresh_from_db()
    assert urgent.status == OutboxStatus.SENT
    # The same person's digest still reaches them, after the urgent row.
    assert texts(telegram.sent_to(people[-1].chat_id))[0].endswith("URGENT.")
    assert len(telegram.sent_to(people[-1].chat_id)) == 2


async def test_an_urgent_row_written_by_another_instance_mid_run_overtakes_the_queued_digests(
    telegram: BotAPIEmulator, outbox: Outbox, make_sender: SenderFactory, virtual_time: VirtualTime
) -> None:
    """No wake: the row appears in the table, as another instance's handler would write it. The sender
    holds a queue full of digests; it must look for urgent rows while it drains them."""
    people = await outbox.people(9201, 200)
    await _bulk(outbox, people)
    urgent_for = people[0]
    checked = 0

    async def check(row: OutboxMessage, participant: Participant) -> SendDecision:
        nonlocal checked
        checked += 1
        if checked == 30:
            await outbox.enqueue(urgent_for, marker="URGENT")
        payload: dict[str, Any] = row.payload
        return Deliver(payload)

    sender = make_sender(
        check=check, monotonic=virtual_time.monotonic, sleep=virtual_time.sleep, batch_size=60
    )

    assert await sender.drain() == 201

    order = _order(telegram, people)
    position = order.index("👋 A family member joined URGENT.")
    # 30 digests were checked when it was written; at 30 msg/s and a look every half second it goes
    # within about 15 more sends, far ahead of the 100-odd digests already claimed before it.
    assert position < 30 + 25, position
