"""The outbox sender: claims due rows, renders each in its recipient's language and sends it within
Telegram's limits, recording the outcome as soon as Telegram answers.

How a row moves:

- claimed: the sender takes a batch of due rows on a lease (``claimed_by``/``claimed_until``). On
  PostgreSQL one ``UPDATE … FOR UPDATE SKIP LOCKED`` statement does it, so several instances can
  drain one outbox without taking the same row; a crashed sender's rows come back when the lease
  runs out. The lease is renewed while rows wait in the sender's queue.
- sent: the row is marked sent (with the message id) right after Telegram answers, one row at a
  time, so a crash can repeat at most the messages that were in flight (``concurrency``).
- retried: a 5xx or network failure pushes the row's ``available_at`` back exponentially and counts
  an attempt; after ``max_attempts`` the row is dead. Such a failure also pauses all sending
  briefly (doubling up to a minute while it lasts, one probe at a time afterwards), so an outage
  of Telegram costs one attempt per pause instead of one per queued message.
- 429: every send waits the ``retry_after`` Telegram gave, then the row is sent again; not an attempt.
- 403 (blocked, deactivated): the participant is marked blocked, the row and every later row for
  them die without a call, and the case's coordinator gets one ``recipient_blocked`` notice.
- 400: the row dies with the error; a migrated group is followed to its new chat id.

Just before sending, an optional ``refresh`` hook may update the row's payload or say that it no
longer applies (a reminder whose item has arrived meanwhile): such a row dies unsent. The last
part of each message carries the buttons of its kind (``markup``; by default casebot's own).

Logs name rows, participants and error classes, never message text, names or the token.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiohttp import ClientError
from tortoise.expressions import Q

from casebot.clock import Clock
from casebot.db.database import Database
from casebot.db.models import Case, OutboxMessage, OutboxStatus, Participant
from casebot.delivery.limiter import Monotonic, Permit, SendLimiter, SendLimits
from casebot.domain.refs import format_ref
from casebot.rendering import Renderer
from casebot.telegram.keyboards import for_notice

if TYPE_CHECKING:
    from casebot.config import Settings

log = logging.getLogger("casebot.delivery")

MAX_ATTEMPTS = 10
"""Failed sends (5xx, network) before a row is dead: about 17 minutes of retries in all."""
LEASE = timedelta(seconds=60)
"""How long a claim holds a row; renewed every third of it while the row waits in the queue."""
LEASE_MARGIN = timedelta(seconds=5)
"""A row whose lease ends sooner than this is not sent: another instance may be about to take it."""
MAX_MIGRATIONS = 3
"""Times one row follows a group migration before it is given up."""
OUTAGE_PAUSE_MIN = 1.0
OUTAGE_PAUSE_MAX = 60.0
BLOCKED = "recipient has blocked the bot"
RECIPIENT_BLOCKED = "recipient_blocked"
NO_LONGER_APPLIES = "no longer applies"

NoticeMarkup = Callable[[str, dict[str, Any], str], Any]
"""(kind, payload, locale) -> the reply markup a notice carries, or None."""
PayloadRefresh = Callable[[OutboxMessage], Awaitable[dict[str, Any] | None]]
"""A row -> its payload as of sending, or None when it no longer applies."""

# Transient failures: Telegram or the network between is in trouble, the message itself is fine.
_TRANSIENT = (
    TelegramServerError,
    TelegramNetworkError,
    TelegramUnauthorizedError,
    ClientDecodeError,
    ClientError,
    TimeoutError,
    OSError,
)

_CLAIM_POSTGRES = """
WITH due AS (
    SELECT id FROM outbox
    WHERE status = 'pending' AND available_at <= $3 AND (claimed_until IS NULL OR claimed_until < $3)
    ORDER BY id
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


def _instance_id() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class SenderStats:
    """What one sender did since it was made."""

    sent: int = 0
    """Rows delivered."""
    retried: int = 0
    """Failed sends rescheduled (5xx, network)."""
    dead: int = 0
    """Rows given up (400, 403, too many failures, a recipient who blocked the bot)."""
    rate_limited: int = 0
    """429 answers obeyed."""


@dataclass(eq=False)
class _Item:
    """A claimed row waiting in the queue or being sent; remembers how far a long message got."""

    row: OutboxMessage
    parts_sent: int = 0
    first_message_id: int | None = None
    migrations: int = 0

    @property
    def participant_id(self) -> int:
        return self.row.participant_id


class OutboxSender:
    """Drains the outbox of one casebot instance within Telegram's limits."""

    def __init__(
        self,
        bot: Bot,
        database: Database,
        renderer: Renderer,
        clock: Clock,
        *,
        poll_interval: float = 1.0,
        limits: SendLimits | None = None,
        lease: timedelta = LEASE,
        max_attempts: int = MAX_ATTEMPTS,
        batch_size: int | None = None,
        instance_id: str | None = None,
        monotonic: Monotonic = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        stop_timeout: float = 10.0,
        refresh: PayloadRefresh | None = None,
        markup: NoticeMarkup | None = None,
    ) -> None:
        """``clock`` dates rows and leases; ``monotonic`` and ``sleep`` pace the sending (tests may
        replace both with virtual time). ``batch_size`` rows are claimed at a time (default: about
        two seconds of sending); up to twice that wait in the queue. ``refresh`` brings a row's
        payload up to date before it is sent; ``markup`` gives a notice's buttons (default:
        ``casebot.telegram.keyboards.for_notice``)."""
        self.bot = bot
        self.database = database
        self.renderer = renderer
        self.clock = clock
        self.poll_interval = poll_interval
        self.limits = limits or SendLimits()
        self.limiter = SendLimiter(self.limits, monotonic=monotonic)
        self.lease = lease
        self.max_attempts = max_attempts
        self.batch_size = batch_size or max(20, 4 * self.limits.concurrency, int(2 * self.limits.rate))
        self.instance_id = (instance_id or _instance_id())[:64]
        self.monotonic = monotonic
        self.stop_timeout = stop_timeout
        self.stats = SenderStats()
        self.refresh = refresh
        self.markup: NoticeMarkup = markup or (
            lambda kind, payload, locale: for_notice(kind, payload, renderer, locale)
        )
        self._sleep = sleep
        self._wake = asyncio.Event()
        self._changed = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        # Per drain: the queue (by row id), the rows held on lease, the recipients.
        self._queue: list[_Item] = []
        self._held: dict[int, datetime] = {}
        self._participants: dict[int, Participant] = {}
        self._busy: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._claim_now = False
        self._renew_at: datetime | None = None
        self._drained = 0
        # The outage breaker: after a transient failure, nothing is sent until resume_at, then one
        # row at a time until a send succeeds.
        self._outage_pause = 0.0
        self._resume_at = float("-inf")
        self._outage_open = False
        self._probing = False

    @classmethod
    def from_settings(
        cls,
        bot: Bot,
        database: Database,
        renderer: Renderer,
        clock: Clock,
        settings: Settings,
        **options: Any,
    ) -> OutboxSender:
        """A sender with the limits of the CASEBOT_SEND_* settings."""
        return cls(bot, database, renderer, clock, limits=SendLimits.from_settings(settings), **options)

    # --- lifecycle ----------------------------------------------------------------------------

    def wake(self) -> None:
        """Look at the outbox now rather than at the next poll."""
        self._claim_now = True
        self._wake.set()
        self._notify()

    def start(self) -> None:
        """Run in the background until ``stop``."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="casebot-outbox")

    async def stop(self) -> None:
        """Stop claiming, let the messages in flight finish (up to ``stop_timeout``), hand back the rest."""
        task = self._task
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        self._notify()
        try:
            await asyncio.wait_for(asyncio.shield(task), self.stop_timeout)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finally:
            self._task = None
            self._stopping = False

    async def _run(self) -> None:
        with self.database.bound():
            while not self._stopping:
                self._wake.clear()
                try:
                    await self.drain()
                except Exception as exc:  # the database went away, most likely: try again later
                    log.error("the outbox sender failed (%s); retrying", type(exc).__name__)
                if self._stopping:
                    break
                if not self._wake.is_set():
                    await self._wait(self._wake, self.poll_interval)

    # --- draining -----------------------------------------------------------------------------

    async def drain(self, limit: int | None = None) -> int:
        """Send every row that is due now; return how many were sent.

        Returns early when Telegram looks down (a 5xx or network failure): the rows not yet
        tried stay due, and the next drain waits out the pause before trying one of them.
        ``limit`` overrides the batch size.
        """
        async with self._lock:
            if limit is not None:
                self.batch_size = limit
            self._drained = 0
            try:
                await self._drain()
            finally:
                await self._settle()
            return self._drained

    async def _drain(self) -> None:
        if not await self._wait_out_outage():
            return
        self._outage_open = False
        last_claim_full = True
        while not self._stopping and not self._outage_open:
            await self._renew_leases()
            if len(self._queue) < self.batch_size and (last_claim_full or not self._queue or self._claim_now):
                self._claim_now = False
                wanted = 2 * self.batch_size - len(self._queue)
                claimed = await self._claim(wanted)
                last_claim_full = claimed >= wanted
                if not claimed and not self._queue and not self._tasks:
                    return
            if self._queue or self._tasks:
                await self._step()

    async def _wait_out_outage(self) -> bool:
        """Wait until the pause after a failure is over; False when stopping meanwhile."""
        while not self._stopping:
            left = self._resume_at - self.monotonic()
            if left <= 0:
                return True
            await self._wait(self._changed, left)
        return False

    async def _step(self) -> None:
        """Start sending one row if the limits allow, else wait until they might."""
        changed = self._changed
        limit = 1 if self._probing else self.limits.concurrency
        if len(self._tasks) >= limit:
            await self._wait(changed, None)
            return
        overall = self.limiter.overall_delay()
        if overall is None or overall > 0:
            await self._wait(changed, overall)
            return
        now = self.clock.now()
        soonest: float | None = None
        waiting_on_answers = bool(self._tasks)
        seen: set[int] = set()
        blocked: list[_Item] = []
        for item in list(self._queue):
            participant_id = item.participant_id
            if participant_id in seen:
                continue  # one row at a time per recipient, in order
            seen.add(participant_id)
            if participant_id in self._busy:
                continue
            participant = self._participants[participant_id]
            if participant.blocked:
                blocked.append(item)
                continue
            if self._held.get(item.row.id, now) - LEASE_MARGIN <= now:
                # The lease is about to run out (the sender stalled): leave the row to whoever claims it.
                self._queue.remove(item)
                self._held.pop(item.row.id, None)
                continue
            wait = self.limiter.delay(participant.chat_id)
            if wait == 0.0:
                self._queue.remove(item)
                self._busy.add(participant_id)
                permit = self.limiter.acquire(participant.chat_id)
                task = asyncio.create_task(self._send(item, participant, permit))
                self._tasks.add(task)
                return
            if wait is not None:
                soonest = wait if soonest is None else min(soonest, wait)
        if blocked:
            await self._drop_blocked(blocked)
            return
        if soonest is None and not waiting_on_answers:
            soonest = 0.0  # the queue changed under the scan (a lease ran out): look again
        await self._wait(changed, soonest)

    async def _send(self, item: _Item, participant: Participant, permit: Permit) -> None:
        try:
            await self._deliver(item, participant, permit)
        except Exception as exc:  # a bug or the database: the row is tried again later
            log.error("outbox row %s could not be processed (%s)", item.row.id, type(exc).__name__)
            with contextlib.suppress(Exception):
                await self._failed(item, type(exc).__name__, outage=False)
        finally:
            self._release(permit)
            self._busy.discard(item.participant_id)
            task = asyncio.current_task()
            if task is not None:
                self._tasks.discard(task)
            self._notify()

    async def _deliver(self, item: _Item, participant: Participant, first_permit: Permit) -> None:
        prepared = await self._prepare(item, participant)
        if prepared is None:
            self._release(first_permit, reached_telegram=False)
            return
        parts, reply_markup = prepared
        permit: Permit | None = first_permit
        while item.parts_sent < len(parts):
            if permit is None:
                permit = await self._acquire(participant.chat_id)
            last = item.parts_sent == len(parts) - 1
            try:
                message = await self.bot.send_message(
                    participant.chat_id,
                    parts[item.parts_sent],
                    parse_mode=ParseMode.HTML,
                    reply_markup=reply_markup if last else None,
                )
            except (TelegramAPIError, *_TRANSIENT) as error:
                self._release(permit)
                await self._send_failed(item, participant, error)
                return
            self._release(permit)
            permit = None
            self._healthy()
            item.parts_sent += 1
            if item.first_message_id is None:
                item.first_message_id = message.message_id
        await self._mark_sent(item)

    async def _prepare(self, item: _Item, participant: Participant) -> tuple[list[str], Any] | None:
        """The parts and buttons of a row's message, or None when it is not to be sent (settled)."""
        row = item.row
        if not await OutboxMessage.filter(id=row.id, status=OutboxStatus.PENDING).exists():
            # Erased with its case, or finished by another instance after our lease ran out.
            self._held.pop(row.id, None)
            return None
        payload: dict[str, Any] | None = row.payload
        if self.refresh is not None:
            payload = await self.refresh(row)
        if payload is None:
            await self._finish(item, OutboxStatus.DEAD, NO_LONGER_APPLIES, attempted=False)
            return None
        try:
            return self._render(row, payload, participant), self.markup(row.kind, payload, participant.locale)
        except Exception as exc:
            log.error("outbox row %s (%s) cannot be rendered (%s)", row.id, row.kind, type(exc).__name__)
            reason = f"cannot render: {type(exc).__name__}"
            await self._finish(item, OutboxStatus.DEAD, reason, attempted=False)
            return None

    async def _send_failed(self, item: _Item, participant: Participant, error: BaseException) -> None:
        """Settle a row whose send failed, by what Telegram (or the network) said."""
        if isinstance(error, TelegramRetryAfter):
            self.limiter.pause(error.retry_after)
            self.stats.rate_limited += 1
            log.warning("Telegram asked to wait %s s; outbox row %s waits", error.retry_after, item.row.id)
            self._requeue(item)
        elif isinstance(error, TelegramMigrateToChat):
            await self._migrate(item, participant, error.migrate_to_chat_id)
        elif isinstance(error, TelegramForbiddenError):
            await self._blocked(item, participant, error.message)
        elif isinstance(error, TelegramAPIError) and (
            isinstance(error, TelegramEntityTooLarge) or not isinstance(error, _TRANSIENT)
        ):
            await self._refused(item, error)  # 400 and other refusals: sending again will not help
        else:
            await self._failed(item, self._describe(error), outage=True)

    def _render(self, row: OutboxMessage, payload: dict[str, Any], participant: Participant) -> list[str]:
        context = dict(payload)
        if row.case_id is not None:
            context.setdefault("ref", format_ref(row.case_id))
        return self.renderer.render_parts(participant.locale, f"notices/{row.kind}", **context)

    async def _acquire(self, chat_id: int) -> Permit:
        """Wait until one more message to ``chat_id`` may go (the later parts of a long message)."""
        while True:
            changed = self._changed
            answer = self.limiter.try_acquire(chat_id)
            if isinstance(answer, Permit):
                return answer
            await self._wait(changed, answer)

    # --- outcomes -----------------------------------------------------------------------------

    async def _mark_sent(self, item: _Item) -> None:
        row = item.row
        await OutboxMessage.filter(id=row.id).update(
            status=OutboxStatus.SENT,
            sent_at=self.clock.now(),
            sent_message_id=item.first_message_id,
            attempts=row.attempts + 1,
            claimed_until=None,
        )
        self._held.pop(row.id, None)
        self._drained += 1
        self.stats.sent += 1

    async def _finish(self, item: _Item, status: OutboxStatus, error: str, *, attempted: bool = True) -> None:
        row = item.row
        await OutboxMessage.filter(id=row.id).update(
            status=status,
            attempts=row.attempts + (1 if attempted else 0),
            last_error=error[:300],
            claimed_until=None,
        )
        self._held.pop(row.id, None)
        if status == OutboxStatus.DEAD and error != NO_LONGER_APPLIES:
            self.stats.dead += 1

    async def _refused(self, item: _Item, error: TelegramAPIError) -> None:
        description = self._describe(error)
        await self._finish(item, OutboxStatus.DEAD, description)
        log.error("Telegram refused outbox row %s (%s): %s", item.row.id, item.row.kind, description)

    async def _failed(self, item: _Item, error: str, *, outage: bool) -> None:
        row = item.row
        attempts = row.attempts + 1
        if outage:
            self._open_outage()
        if attempts >= self.max_attempts:
            await self._finish(item, OutboxStatus.DEAD, error)
            log.error("outbox row %s (%s) gave up after %s attempts: %s", row.id, row.kind, attempts, error)
            return
        await OutboxMessage.filter(id=row.id).update(
            attempts=attempts,
            available_at=self.clock.now() + backoff(attempts),
            last_error=error[:300],
            claimed_until=None,
        )
        self._held.pop(row.id, None)
        self.stats.retried += 1
        log.warning("outbox row %s failed (attempt %s), retrying later: %s", row.id, attempts, error)

    async def _migrate(self, item: _Item, participant: Participant, new_chat_id: int) -> None:
        item.migrations += 1
        await Participant.filter(id=participant.id).update(chat_id=new_chat_id)
        participant.chat_id = new_chat_id
        log.info("participant %s: the group became a supergroup; following it", participant.id)
        if item.migrations > MAX_MIGRATIONS:
            await self._finish(item, OutboxStatus.DEAD, "the group kept migrating")
            return
        self._requeue(item)

    async def _blocked(self, item: _Item, participant: Participant, description: str) -> None:
        await Participant.filter(id=participant.id).update(blocked=True)
        participant.blocked = True
        await self._finish(item, OutboxStatus.DEAD, BLOCKED)
        later = [other for other in self._queue if other.participant_id == participant.id]
        await self._drop_blocked(later)
        log.warning(
            "participant %s cannot be reached (%s); their messages are dropped",
            participant.id,
            description[:100],
        )
        await self._tell_coordinator(item.row, participant.id)

    async def _drop_blocked(self, items: list[_Item]) -> None:
        """Rows for a recipient who blocked the bot die without a call."""
        if not items:
            return
        ids = [item.row.id for item in items]
        for item in items:
            if item in self._queue:
                self._queue.remove(item)
            self._held.pop(item.row.id, None)
        await OutboxMessage.filter(id__in=ids, status=OutboxStatus.PENDING).update(
            status=OutboxStatus.DEAD, last_error=BLOCKED, claimed_until=None
        )
        self.stats.dead += len(ids)

    async def _tell_coordinator(self, row: OutboxMessage, participant_id: int) -> None:
        """Queue one notice to the case's coordinator that a recipient blocked the bot."""
        if row.case_id is None:
            return
        case = await Case.get_or_none(id=row.case_id)
        if case is None or case.erased_at is not None:
            return
        coordinator_id = case.coordinator_id
        if coordinator_id is None or coordinator_id == participant_id:
            return
        now = self.clock.now()
        _, created = await OutboxMessage.get_or_create(
            dedupe_key=f"{RECIPIENT_BLOCKED}:{participant_id}:{case.id}",
            defaults={
                "participant_id": coordinator_id,
                "case_id": case.id,
                "kind": RECIPIENT_BLOCKED,
                "payload": {"case_id": case.id},
                "available_at": now,
                "created_at": now,
            },
        )
        if created:
            self._claim_now = True

    # --- claiming -----------------------------------------------------------------------------

    async def _claim(self, count: int) -> int:
        """Claim up to ``count`` due rows on lease and queue them; return how many were claimed."""
        if count <= 0:
            return 0
        now = self.clock.now()
        until = now + self.lease
        connection = OutboxMessage._meta.db
        if connection.capabilities.dialect == "postgres":
            _, records = await connection.execute_query(
                _CLAIM_POSTGRES, [self.instance_id, until, now, count]
            )
            ids = sorted(int(record["id"]) for record in records)
        else:
            # SQLite has no SKIP LOCKED: select candidates, then claim them by compare-and-set
            # (only rows still unclaimed), and keep what this instance actually got. A second
            # instance on the same file therefore never takes a row the first one holds.
            unclaimed = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
            due = (
                OutboxMessage.filter(status=OutboxStatus.PENDING, available_at__lte=now)
                .filter(unclaimed)
                .order_by("id")
                .limit(count)
            )
            ids = cast(list[int], await due.values_list("id", flat=True))
            if ids:
                await (
                    OutboxMessage.filter(id__in=ids)
                    .filter(unclaimed)
                    .update(claimed_by=self.instance_id, claimed_until=until)
                )
                ids = cast(
                    list[int],
                    await OutboxMessage.filter(
                        id__in=ids, claimed_by=self.instance_id, claimed_until=until
                    ).values_list("id", flat=True),
                )
        if not ids:
            return 0
        if self._renew_at is None:
            self._renew_at = now + self.lease / 3
        rows = await OutboxMessage.filter(id__in=ids).order_by("id")
        await self._load_participants({row.participant_id for row in rows})
        blocked: list[_Item] = []
        for row in rows:
            item = _Item(row)
            self._held[row.id] = until
            if self._participants[row.participant_id].blocked:
                blocked.append(item)
            else:
                bisect.insort(self._queue, item, key=lambda queued: queued.row.id)
        await self._drop_blocked(blocked)
        return len(ids)

    async def _load_participants(self, wanted: set[int]) -> None:
        """Load recipients not yet known; forget those with nothing queued (they are read afresh)."""
        keep = {item.participant_id for item in self._queue} | self._busy
        for participant_id in [p for p in self._participants if p not in keep and p not in wanted]:
            del self._participants[participant_id]
        missing = wanted - self._participants.keys()
        if missing:
            for participant in await Participant.filter(id__in=missing):
                self._participants[participant.id] = participant

    async def _renew_leases(self) -> None:
        """Extend the lease on every row still held, every third of a lease."""
        now = self.clock.now()
        if self._renew_at is None or now < self._renew_at or not self._held:
            return
        until = now + self.lease
        ids = list(self._held)
        await OutboxMessage.filter(
            id__in=ids, claimed_by=self.instance_id, status=OutboxStatus.PENDING
        ).update(claimed_until=until)
        for row_id in ids:
            if row_id in self._held:
                self._held[row_id] = until
        self._renew_at = now + self.lease / 3

    async def _settle(self) -> None:
        """Wait for the sends in flight, then hand back the rows never tried."""
        try:
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
        finally:
            held = [item.row.id for item in self._queue if item.row.id in self._held]
            self._queue.clear()
            self._held.clear()
            self._busy.clear()
            self._participants.clear()
            self._renew_at = None
            if held:
                with contextlib.suppress(Exception):
                    await OutboxMessage.filter(
                        id__in=held, claimed_by=self.instance_id, status=OutboxStatus.PENDING
                    ).update(claimed_by=None, claimed_until=None)

    # --- pacing -------------------------------------------------------------------------------

    def _requeue(self, item: _Item) -> None:
        bisect.insort(self._queue, item, key=lambda queued: queued.row.id)

    def _release(self, permit: Permit, *, reached_telegram: bool = True) -> None:
        if not permit.released:
            self.limiter.release(permit, reached_telegram=reached_telegram)
            self._notify()

    def _open_outage(self) -> None:
        """A transient failure: pause all sending; one failure per pause makes it longer."""
        if not self._outage_open:
            self._outage_pause = min(max(OUTAGE_PAUSE_MIN, 2 * self._outage_pause), OUTAGE_PAUSE_MAX)
            self._resume_at = self.monotonic() + self._outage_pause
            self._outage_open = True
        self._probing = True
        self._notify()

    def _healthy(self) -> None:
        self._outage_pause = 0.0
        self._probing = False

    def _notify(self) -> None:
        """Wake whatever waits for a change (an answer, a finished row, a stop)."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait(self, event: asyncio.Event, seconds: float | None) -> None:
        """Wait until ``event`` is set or ``seconds`` pass (on the injected sleep; None: no limit)."""
        if event.is_set():
            return
        if seconds is None:
            await event.wait()
            return
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        waiter = asyncio.ensure_future(event.wait())
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        try:
            await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for future in (waiter, sleeper):
                future.cancel()
            await asyncio.gather(waiter, sleeper, return_exceptions=True)

    def _describe(self, error: BaseException) -> str:
        """The error for the row and the log: its class and Telegram's words, never the token."""
        detail = error.message if isinstance(error, TelegramAPIError) else str(error)
        text = f"{type(error).__name__}: {detail}" if detail else type(error).__name__
        token = getattr(self.bot, "token", None)
        if token:
            text = text.replace(token, "<token>")
        return text[:300]
