"""The rows one sender holds on lease: queued by priority and id, taken one at a time per recipient, leases kept fresh."""

from __future__ import annotations

import bisect
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from casebot.clock import Clock
from casebot.db.models import OutboxMessage, Participant
from casebot.delivery.store import URGENT, OutboxStore


@dataclass(eq=False)
class Item:
    """A claimed row waiting in the queue or being sent."""

    row: OutboxMessage
    migrations: int = 0

    @property
    def participant_id(self) -> int:
        return self.row.participant_id


class Backlog:
    """What one drain holds: the queue (by row id), each row's lease, the recipients, who is being sent to.

    A row stays held from its claim until it is settled (sent, dead, postponed, handed back);
    while held, its lease is renewed every third of a lease.
    """

    def __init__(self, store: OutboxStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._queue: list[Item] = []
        self._held: dict[int, datetime] = {}
        self._participants: dict[int, Participant] = {}
        self._busy: set[int] = set()
        self._renew_at: datetime | None = None

    def __len__(self) -> int:
        """Rows waiting in the queue (not those being sent)."""
        return len(self._queue)

    @property
    def holds_bulk(self) -> bool:
        """Whether bulk rows (digests) wait in the queue: an urgent row may be due behind them."""
        return any(item.row.priority > URGENT for item in self._queue)

    async def claim(self, count: int, *, urgent_only: bool = False) -> tuple[int, list[Item]]:
        """Claim up to ``count`` due rows and queue them. Returns how many were claimed, and those
        whose recipient is already known to have blocked the bot (held, not queued)."""
        rows, until = await self.store.claim(count, urgent_only=urgent_only)
        if not rows:
            return 0, []
        if self._renew_at is None:
            self._renew_at = self.clock.now() + self.store.lease / 3
        await self._load_participants({row.participant_id for row in rows})
        blocked: list[Item] = []
        for row in rows:
            item = Item(row)
            self._held[row.id] = until
            if self._participants[row.participant_id].blocked:
                blocked.append(item)
            else:
                self.requeue(item)
        return len(rows), blocked

    def next_per_recipient(self) -> Iterator[tuple[Item, Participant]]:
        """The first queued row of each recipient nothing is being sent to, oldest first."""
        seen: set[int] = set()
        for item in list(self._queue):
            participant_id = item.participant_id
            if participant_id in seen:
                continue
            seen.add(participant_id)
            if participant_id not in self._busy:
                yield item, self._participants[participant_id]

    def lease_ends(self, item: Item) -> datetime | None:
        """When this instance's claim on the row runs out (None: it no longer holds the row)."""
        return self._held.get(item.row.id)

    def queued_for(self, participant_id: int) -> list[Item]:
        return [item for item in self._queue if item.participant_id == participant_id]

    def refreshed(self, participant: Participant) -> None:
        """The recipient as just read from the database: the queue's later rows see it too."""
        self._participants[participant.id] = participant

    def start(self, item: Item) -> None:
        """The row leaves the queue to be sent; its recipient gets nothing else meanwhile."""
        self._queue.remove(item)
        self._busy.add(item.participant_id)

    def finish(self, item: Item) -> None:
        """The send of the row is over, however it ended."""
        self._busy.discard(item.participant_id)

    def requeue(self, item: Item) -> None:
        """Queue the row in its place: urgent rows before bulk ones, by id within each."""
        bisect.insort(self._queue, item, key=lambda queued: (queued.row.priority, queued.row.id))

    def settled(self, item: Item) -> None:
        """The row's outcome is recorded: it is no longer held."""
        self._held.pop(item.row.id, None)

    def forget(self, item: Item) -> None:
        """Neither queue nor hold the row any longer (its outcome is recorded or left to its lease)."""
        if item in self._queue:
            self._queue.remove(item)
        self._held.pop(item.row.id, None)

    async def renew(self) -> None:
        """Extend the lease on every row still held, every third of a lease."""
        now = self.clock.now()
        if self._renew_at is None or now < self._renew_at or not self._held:
            return
        ids = list(self._held)
        until = await self.store.renew(ids)
        for row_id in ids:
            if row_id in self._held:
                self._held[row_id] = until
        self._renew_at = now + self.store.lease / 3

    async def hand_back(self) -> None:
        """End of a drain: the rows never tried go back, due as before, and everything is forgotten."""
        held = [item.row.id for item in self._queue if item.row.id in self._held]
        self._queue.clear()
        self._held.clear()
        self._busy.clear()
        self._participants.clear()
        self._renew_at = None
        with contextlib.suppress(Exception):  # the database is away: the leases will run out instead
            await self.store.release(held)

    async def _load_participants(self, wanted: set[int]) -> None:
        """Load the recipients of newly claimed rows afresh, unless rows of theirs are queued or being
        sent: someone marked blocked here may have unblocked the bot since, so nothing outlives
        the rows it was read for."""
        keep = {item.participant_id for item in self._queue} | self._busy
        for participant_id in [p for p in self._participants if p not in keep]:
            del self._participants[participant_id]
        missing = wanted - self._participants.keys()
        if missing:
            for participant in await self.store.participants(missing):
                self._participants[participant.id] = participant
