"""The outbox table as a sender sees it: claims on lease, the progress of long messages, outcomes.

Claims are leases (``claimed_by``/``claimed_until``). On PostgreSQL one ``UPDATE … FOR UPDATE
SKIP LOCKED`` statement claims a batch, so several instances can drain one outbox without taking
the same row; on SQLite candidates are claimed by compare-and-set. A crashed sender's rows come
back when its lease runs out, and a long message resumes at the first part not yet sent.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from tortoise.expressions import Q

from casebot.clock import Clock
from casebot.db.models import OutboxMessage, OutboxStatus, Participant

MAX_ATTEMPTS = 10
"""Failed sends (5xx, network) before a row is dead: about 17 minutes of retries in all."""
LEASE = timedelta(seconds=60)
"""How long a claim holds a row; the sender renews it while the row waits in its queue."""
BLOCKED = "recipient has blocked the bot"
URGENT = 0
"""The priority of a message someone is waiting for: a reply, a state change, a reminder."""
BULK = 1
"""The priority of bulk messages (the weekly digests): sent when nothing urgent is due."""

_CLAIM_POSTGRES = """
WITH due AS (
    SELECT id FROM outbox
    WHERE status = 'pending' AND available_at <= $3 AND (claimed_until IS NULL OR claimed_until < $3)
      AND priority <= $5
    ORDER BY priority, id
    LIMIT $4
    FOR UPDATE SKIP LOCKED
)
UPDATE outbox SET claimed_by = $1, claimed_until = $2
FROM due WHERE outbox.id = due.id
RETURNING outbox.id
"""


def backoff(attempt: int) -> timedelta:
    """Wait before retry ``attempt``: 2, 4, 8 … seconds, at most 10 minutes."""
    return timedelta(seconds=min(2**attempt, 600))


def new_instance_id() -> str:
    """A name for this sender, unique among the processes sharing an outbox."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class OutboxStore:
    """Reads and settles outbox rows for one sender instance (the default database of the context)."""

    def __init__(
        self, clock: Clock, instance: str, *, lease: timedelta = LEASE, max_attempts: int = MAX_ATTEMPTS
    ) -> None:
        self.clock = clock
        self.instance = instance[:64]
        self.lease = lease
        self.max_attempts = max_attempts

    # --- claims -------------------------------------------------------------------------------

    async def claim(self, count: int, *, urgent_only: bool = False) -> tuple[list[OutboxMessage], datetime]:
        """Claim up to ``count`` due rows, urgent ones (priority 0) first and then bulk ones (the
        digests), oldest first within each; ``urgent_only`` leaves bulk rows alone. Return the rows
        and when their lease ends."""
        most = URGENT if urgent_only else BULK
        now = self.clock.now()
        until = now + self.lease
        if count <= 0:
            return [], until
        connection = OutboxMessage._meta.db
        if connection.capabilities.dialect == "postgres":
            _, records = await connection.execute_query(
                _CLAIM_POSTGRES, [self.instance, until, now, count, most]
            )
            ids = [int(record["id"]) for record in records]
        else:
            # SQLite has no SKIP LOCKED: select candidates, then claim them by compare-and-set
            # (only rows still unclaimed), and keep what this instance actually got. A second
            # instance on the same file therefore never takes a row the first one holds.
            unclaimed = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
            due = (
                OutboxMessage.filter(status=OutboxStatus.PENDING, available_at__lte=now, priority__lte=most)
                .filter(unclaimed)
                .order_by("priority", "id")
                .limit(count)
            )
            ids = cast(list[int], await due.values_list("id", flat=True))
            if ids:
                await (
                    OutboxMessage.filter(id__in=ids)
                    .filter(unclaimed)
                    .update(claimed_by=self.instance, claimed_until=until)
                )
                ids = cast(
                    list[int],
                    await OutboxMessage.filter(
                        id__in=ids, claimed_by=self.instance, claimed_until=until
                    ).values_list("id", flat=True),
                )
        if not ids:
            return [], until
        return list(await OutboxMessage.filter(id__in=ids).order_by("priority", "id")), until

    async def renew(self, ids: list[int]) -> datetime:
        """Extend the lease on rows this instance still holds; return when it now ends."""
        until = self.clock.now() + self.lease
        await OutboxMessage.filter(id__in=ids, claimed_by=self.instance, status=OutboxStatus.PENDING).update(
            claimed_until=until
        )
        return until

    async def release(self, ids: list[int]) -> None:
        """Hand rows back untouched: due as before, no attempt spent, progress kept."""
        if ids:
            await OutboxMessage.filter(
                id__in=ids, claimed_by=self.instance, status=OutboxStatus.PENDING
            ).update(claimed_by=None, claimed_until=None)

    async def reload(self, row_id: int) -> OutboxMessage | None:
        """The row as it is now, with its recipient read afresh; None when it is no longer this
        instance's to send (erased with its case, or finished elsewhere after the lease ran out)."""
        return (
            await OutboxMessage.filter(id=row_id, status=OutboxStatus.PENDING, claimed_by=self.instance)
            .select_related("participant")
            .first()
        )

    async def participants(self, ids: set[int]) -> list[Participant]:
        return list(await Participant.filter(id__in=ids))

    async def move_chat(self, participant_id: int, chat_id: int) -> None:
        """The recipient's group became a supergroup with ``chat_id``."""
        await Participant.filter(id=participant_id).update(chat_id=chat_id)

    # --- outcomes -----------------------------------------------------------------------------

    async def part_sent(
        self, row: OutboxMessage, message_id: int | None, *, last: bool, payload: dict[str, Any] | None = None
    ) -> None:
        """One more part of the row's message reached Telegram; with the ``last`` one, the row is sent.

        ``payload`` (with the first part of several) is what the message was composed from, kept
        so that a later attempt finishes the same message.
        """
        changes: dict[str, Any] = {"parts_sent": row.parts_sent + 1, "last_message_id": message_id}
        if row.parts_sent == 0:
            changes["sent_message_id"] = message_id
        if message_id is not None:
            earlier = row.part_message_ids if row.parts_sent else None
            changes["part_message_ids"] = [*(earlier or []), message_id]
        if payload is not None:
            changes["payload"] = payload
        if last:
            changes.update(
                status=OutboxStatus.SENT,
                sent_at=self.clock.now(),
                attempts=row.attempts + 1,
                claimed_until=None,
            )
        await OutboxMessage.filter(id=row.id).update(**changes)
        for name, value in changes.items():
            setattr(row, name, value)

    async def mark_sent(self, row: OutboxMessage) -> None:
        """Every part is already in the chat (an earlier attempt sent them all but the record)."""
        await OutboxMessage.filter(id=row.id).update(
            status=OutboxStatus.SENT, sent_at=self.clock.now(), attempts=row.attempts + 1, claimed_until=None
        )
        row.status = OutboxStatus.SENT

    async def mark_dead(self, row: OutboxMessage, error: str, *, attempted: bool) -> None:
        """The row will never be sent; ``attempted``: Telegram was asked (it counts an attempt)."""
        await OutboxMessage.filter(id=row.id).update(
            status=OutboxStatus.DEAD,
            attempts=row.attempts + (1 if attempted else 0),
            last_error=error[:300],
            claimed_until=None,
        )

    async def failed(self, row: OutboxMessage, error: str) -> int:
        """A send failed for a passing reason: try again after a backoff, or give the row up after
        ``max_attempts``. Returns the attempts spent so far."""
        attempts = row.attempts + 1
        if attempts >= self.max_attempts:
            await self.mark_dead(row, error, attempted=True)
            return attempts
        await OutboxMessage.filter(id=row.id).update(
            attempts=attempts,
            available_at=self.clock.now() + backoff(attempts),
            last_error=error[:300],
            claimed_until=None,
        )
        return attempts

    async def postpone(self, row: OutboxMessage, until: datetime) -> None:
        """Not now: due again at ``until``, claim released, no attempt spent."""
        await OutboxMessage.filter(id=row.id, status=OutboxStatus.PENDING).update(
            available_at=until, claimed_by=None, claimed_until=None
        )

    async def drop(self, ids: list[int], reason: str) -> int:
        """Rows that die unsent (their recipient blocked the bot); returns how many were pending."""
        if not ids:
            return 0
        return await OutboxMessage.filter(id__in=ids, status=OutboxStatus.PENDING).update(
            status=OutboxStatus.DEAD, last_error=reason, claimed_until=None
        )
