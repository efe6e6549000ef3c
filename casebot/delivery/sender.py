"""The outbox sender: claims due rows, has each composed for its recipient and sends it within
Telegram's limits, recording the outcome as soon as Telegram answers.

How a row moves (the table side is ``store.py``, the rows held by one drain ``backlog.py``, the
meaning of Telegram's answers ``policy.py``, the pauses ``pacing.py``, Telegram's rate limits
``limiter.py``):

- claimed: the sender takes a batch of due rows on a lease and queues them, urgent rows (priority
  0: replies, state changes, reminders) before bulk ones (priority 1: the weekly digests), by id
  within each; the lease is renewed while they wait. While bulk rows wait, urgent rows are looked
  for every ``urgent_poll`` seconds (and at once on ``wake``) and go to the front of the queue.
  One row at a time per recipient, in order.
- checked: right before a row's first part goes, the recipient is read afresh and the ``check``
  hook decides: deliver (with this payload), drop (the row dies unsent, no attempt) or postpone
  (due again later, no attempt). A recipient marked blocked meanwhile: the row dies.
- sent: ``compose`` turns the row into Telegram-sized parts (the first one the caption of a
  file when the row carries one, re-sent by its Telegram file_id); each part's progress is recorded as
  soon as Telegram answers, and the row is marked sent with its last part. A crash repeats at
  most the parts that were in flight (``concurrency``), and a failure in the middle of a long
  message resumes at the first part not yet sent. A message partly in the chat is finished as it
  began: its payload is kept with the first part and the check is not asked again.
- retried: a 5xx or network failure pushes the row back exponentially and counts an attempt;
  after ``max_attempts`` it is dead. Such a failure also pauses all sending (see ``pacing.py``).
- 429: every send waits the ``retry_after`` Telegram gave, then the row is sent again; not an attempt.
- 401: the token is refused: all sending stops at once, every claimed row is handed back without
  spending an attempt, and getMe is tried every ``token_probe_interval`` until it works again.
- 403: the row and every queued row for that recipient die without a call; ``on_blocked`` is told.
- 400: the row dies with the error; a migrated group is followed to its new chat id.

Logs name rows, participants, kinds and error classes, never message text, names or the token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.types import BufferedInputFile, Message

from casebot.clock import Clock
from casebot.db.database import Database
from casebot.db.models import OutboxMessage, OutboxStatus, Participant
from casebot.delivery.backlog import Backlog, Item
from casebot.delivery.hooks import Compose, OnBlocked, OnDead, Outgoing, OutgoingFile, SendCheck
from casebot.delivery.limiter import Monotonic, Permit, SendLimiter, SendLimits
from casebot.delivery.pacing import TOKEN_PROBE_INTERVAL, Changes, OutageBreaker, TokenGate, wait
from casebot.delivery.policy import (
    SEND_ERRORS,
    Accepted,
    Migrated,
    RateLimited,
    Refused,
    TokenRefused,
    Transient,
    Unreachable,
    Verdict,
    judge,
)
from casebot.delivery.store import BLOCKED, LEASE, MAX_ATTEMPTS, OutboxStore, new_instance_id
from casebot.domain.notices import Drop, Postpone

if TYPE_CHECKING:
    from casebot.config import Settings

log = logging.getLogger("casebot.delivery")

LEASE_MARGIN = timedelta(seconds=5)
"""A row whose lease ends sooner than this is not sent: another instance may be about to take it."""
MAX_MIGRATIONS = 3
"""Times one row follows a group migration before it is given up."""


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
    dropped: int = 0
    """Rows the check said no longer apply."""
    postponed: int = 0
    """Rows the check put off until later."""


class OutboxSender:
    """Drains the outbox of one casebot instance within Telegram's limits."""

    def __init__(
        self,
        bot: Bot,
        database: Database,
        clock: Clock,
        *,
        compose: Compose,
        check: SendCheck | None = None,
        on_blocked: OnBlocked | None = None,
        on_dead: OnDead | None = None,
        poll_interval: float = 1.0,
        urgent_poll: float = 0.5,
        limits: SendLimits | None = None,
        lease: timedelta = LEASE,
        max_attempts: int = MAX_ATTEMPTS,
        batch_size: int | None = None,
        instance_id: str | None = None,
        monotonic: Monotonic = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        stop_timeout: float = 10.0,
        token_probe_interval: float = TOKEN_PROBE_INTERVAL,
    ) -> None:
        """``compose`` builds a row's message; ``check`` (optional) decides, right before the first
        part, whether and with what payload a row goes; ``on_blocked`` (optional) hears of each 403.

        ``clock`` dates rows and leases; ``monotonic`` and ``sleep`` pace the sending (tests may
        replace both with virtual time). ``batch_size`` rows are claimed at a time (default: about
        two seconds of sending); up to twice that wait in the queue.
        """
        self.bot = bot
        self.database = database
        self.clock = clock
        self.compose = compose
        self.check = check
        self.on_blocked = on_blocked
        self.on_dead = on_dead
        self.poll_interval = poll_interval
        self.urgent_poll = urgent_poll
        self.limits = limits or SendLimits()
        self.limiter = SendLimiter(self.limits, monotonic=monotonic)
        self.batch_size = batch_size or max(20, 4 * self.limits.concurrency, int(2 * self.limits.rate))
        self.store = OutboxStore(
            clock, instance_id or new_instance_id(), lease=lease, max_attempts=max_attempts
        )
        self.monotonic = monotonic
        self.stop_timeout = stop_timeout
        self.stats = SenderStats()
        self._sleep = sleep
        self._breaker = OutageBreaker(monotonic)
        self._token = TokenGate(monotonic, probe_interval=token_probe_interval)
        self._changes = Changes()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._backlog = Backlog(self.store, clock)
        self._tasks: set[asyncio.Task[None]] = set()
        self._claim_now = False
        self._urgent_poll_at = 0.0
        self._drained = 0

    @classmethod
    def from_settings(
        cls,
        bot: Bot,
        database: Database,
        clock: Clock,
        settings: Settings,
        *,
        compose: Compose,
        check: SendCheck | None = None,
        on_blocked: OnBlocked | None = None,
        on_dead: OnDead | None = None,
        **options: Any,
    ) -> OutboxSender:
        """A sender with the limits of the CASEBOT_SEND_* settings."""
        return cls(
            bot,
            database,
            clock,
            compose=compose,
            check=check,
            on_blocked=on_blocked,
            on_dead=on_dead,
            limits=SendLimits.from_settings(settings),
            **options,
        )

    @property
    def instance_id(self) -> str:
        """The name this sender claims rows under."""
        return self.store.instance

    # --- lifecycle ----------------------------------------------------------------------------

    def wake(self) -> None:
        """Look at the outbox now rather than at the next poll."""
        self._claim_now = True
        self._wake.set()
        self._changes.notify()

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
        self._changes.notify()
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
                    await wait(self._wake, self.poll_interval, self._sleep)

    # --- draining -----------------------------------------------------------------------------

    async def drain(self, limit: int | None = None) -> int:
        """Send every row that is due now; return how many were sent.

        Returns early when Telegram looks down (a 5xx or network failure) or refuses the token:
        the rows not yet tried stay due. The next drain first waits out the pause and tries one
        row, or, while the token is refused, waits for the next getMe probe and goes on only if
        it succeeds. ``limit`` overrides the batch size.
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

    async def _settle(self) -> None:
        """Wait for the sends in flight, then hand back the rows never tried."""
        try:
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
        finally:
            await self._backlog.hand_back()

    async def _drain(self) -> None:
        if self._token.refused and not await self._probe_token():
            return
        if not await self._wait_out_outage():
            return
        self._breaker.opened = False
        last_claim_full = True
        backlog = self._backlog
        while not self._stopping and not self._breaker.opened and not self._token.refused:
            await backlog.renew()
            if len(backlog) < self.batch_size and (last_claim_full or not backlog or self._claim_now):
                self._claim_now = False
                wanted = 2 * self.batch_size - len(backlog)
                claimed, blocked = await backlog.claim(wanted)
                await self._drop_blocked(blocked)
                last_claim_full = claimed >= wanted
                if not claimed and not backlog and not self._tasks:
                    return
            elif backlog.holds_bulk and (self._claim_now or self.monotonic() >= self._urgent_poll_at):
                # Digests fill the queue: look for urgent rows (queued here or by another instance)
                # now and then, so that they go ahead of the digests instead of after them.
                self._claim_now = False
                self._urgent_poll_at = self.monotonic() + self.urgent_poll
                _, blocked = await backlog.claim(self.batch_size, urgent_only=True)
                await self._drop_blocked(blocked)
            if backlog or self._tasks:
                await self._step()

    async def _wait_out_outage(self) -> bool:
        """Wait until the pause after a failure is over; False when stopping meanwhile."""
        while not self._stopping:
            left = self._breaker.remaining()
            if left <= 0:
                return True
            await wait(self._changes.watch(), left, self._sleep)
        return False

    async def _probe_token(self) -> bool:
        """When the next probe is due, ask getMe; True when the token works again."""
        while not self._stopping:
            left = self._token.remaining()
            if left > 0:
                await wait(self._changes.watch(), left, self._sleep)
                continue
            try:
                await self.bot.get_me()
            except SEND_ERRORS as error:
                self._token.probe_failed()
                log.debug("getMe failed (%s); sending stays stopped", type(error).__name__)
                return False
            self._token.accepted()
            log.info("Telegram accepts the bot token again (getMe succeeded): sending resumes")
            return True
        return False

    async def _step(self) -> None:
        """Start sending one row if the limits allow, else wait until they might."""
        changed = self._changes.watch()
        limit = 1 if self._breaker.probing else self.limits.concurrency
        if len(self._tasks) >= limit:
            await wait(changed, None, self._sleep)
            return
        overall = self.limiter.overall_delay()
        if overall is None or overall > 0:
            await wait(changed, overall, self._sleep)
            return
        now = self.clock.now()
        soonest: float | None = None
        waiting_on_answers = bool(self._tasks)
        blocked: list[Item] = []
        for item, participant in self._backlog.next_per_recipient():
            if participant.blocked:
                blocked.append(item)
                continue
            lease_ends = self._backlog.lease_ends(item)
            if lease_ends is None or lease_ends - LEASE_MARGIN <= now:
                # The lease is about to run out (the sender stalled): leave the row to whoever claims it.
                self._backlog.forget(item)
                continue
            wait_for = self.limiter.delay(participant.chat_id)
            if wait_for == 0.0:
                self._backlog.start(item)
                permit = self.limiter.acquire(participant.chat_id)
                task = asyncio.create_task(self._send(item, permit))
                self._tasks.add(task)
                return
            if wait_for is not None:
                soonest = wait_for if soonest is None else min(soonest, wait_for)
        if blocked:
            await self._drop_blocked(blocked)
            return
        if soonest is None and not waiting_on_answers:
            soonest = 0.0  # the queue changed under the scan (a lease ran out): look again
        await wait(changed, soonest, self._sleep)

    async def _send(self, item: Item, permit: Permit) -> None:
        try:
            await self._deliver(item, permit)
        except Exception as exc:  # a bug or the database: the row is tried again later
            log.error("outbox row %s could not be processed (%s)", item.row.id, type(exc).__name__)
            with contextlib.suppress(Exception):
                await self._failed(item, type(exc).__name__, type(exc).__name__, outage=False)
        finally:
            self._release(permit)
            self._backlog.finish(item)
            task = asyncio.current_task()
            if task is not None:
                self._tasks.discard(task)
            self._changes.notify()

    async def _deliver(self, item: Item, first_permit: Permit) -> None:
        prepared = await self._prepare(item)
        if prepared is None:
            self._release(first_permit, reached_telegram=False)
            return
        participant, outgoing, payload = prepared
        row = item.row
        parts = outgoing.parts
        permit: Permit | None = first_permit
        if first_permit.chat_id != participant.chat_id:  # they moved chats since the row was claimed
            self._release(first_permit, reached_telegram=False)
            permit = None
        while row.parts_sent < len(parts):
            if permit is None:
                permit = await self._acquire(participant.chat_id)
            if self._token.refused:  # another send was just refused: send nothing more
                self._release(permit, reached_telegram=False)
                await self._hand_back(item)
                return
            index = row.parts_sent
            last = index == len(parts) - 1
            try:
                message = await self._send_part(
                    participant.chat_id,
                    parts[index],
                    outgoing.file if index == 0 else None,
                    outgoing.reply_markup if last else None,
                )
                message_id: int | None = message.message_id
            except SEND_ERRORS as error:
                verdict = judge(error, token=self._token_text())
                if not isinstance(verdict, Accepted):
                    self._release(permit)
                    await self._send_failed(item, participant, error, verdict)
                    return
                log.warning(
                    "Telegram took outbox row %s (part %s) but its answer was unreadable (%s)",
                    row.id,
                    index + 1,
                    type(error).__name__,
                )
                message_id = verdict.message_id
            self._release(permit)
            permit = None
            self._breaker.healthy()
            keep = payload if index == 0 and not last and payload != row.payload else None
            await self.store.part_sent(row, message_id, last=last, payload=keep)
        if permit is not None:
            self._release(permit, reached_telegram=False)
        if row.status != OutboxStatus.SENT:
            await self.store.mark_sent(row)
        self._backlog.settled(item)
        self._drained += 1
        self.stats.sent += 1

    async def _send_part(
        self, chat_id: int, text: str, file: OutgoingFile | None, reply_markup: Any | None
    ) -> Message:
        """One part: a text message, or (the first part of a row with a file) the file with the
        part as its caption. The parse mode is explicit: the host's Bot may default to another."""
        if file is None:
            return await self.bot.send_message(
                chat_id, text, parse_mode=ParseMode.HTML, reply_markup=reply_markup
            )
        options: dict[str, Any] = {
            "caption": text,
            "parse_mode": ParseMode.HTML,
            "reply_markup": reply_markup,
        }
        # Bytes to upload (the digest's picture, drawn off the event loop), or a file Telegram holds.
        content = file.content
        if content is None and file.make is not None:
            content = await asyncio.to_thread(file.make)
            if not content:
                return await self.bot.send_message(
                    chat_id, text, parse_mode=ParseMode.HTML, reply_markup=reply_markup
                )
        source: BufferedInputFile | str = (
            BufferedInputFile(content, filename=file.filename) if content else file.file_id
        )
        if file.kind == "photo":
            return await self.bot.send_photo(chat_id, source, **options)
        if file.kind == "video":
            return await self.bot.send_video(chat_id, source, **options)
        return await self.bot.send_document(chat_id, source, **options)

    async def _prepare(self, item: Item) -> tuple[Participant, Outgoing, dict[str, Any]] | None:
        """The recipient as of now, the message and its payload; None when the row is not to be
        sent (it is settled then)."""
        row = await self.store.reload(item.row.id)
        if row is None:
            self._backlog.settled(item)
            return None
        item.row = row
        participant = row.participant
        self._backlog.refreshed(participant)
        if participant.blocked:
            await self._drop_blocked([item])
            return None
        payload = row.payload
        if row.parts_sent == 0 and self.check is not None:
            decision = await self.check(row, participant)
            if isinstance(decision, Drop):
                await self.store.mark_dead(row, decision.reason, attempted=False)
                self._backlog.settled(item)
                self.stats.dropped += 1
                return None
            if isinstance(decision, Postpone):
                await self.store.postpone(row, decision.until)
                self._backlog.settled(item)
                self.stats.postponed += 1
                return None
            payload = decision.payload
        try:
            outgoing = self.compose(row, payload, participant)
        except Exception as exc:
            log.error("outbox row %s (%s) cannot be composed (%s)", row.id, row.kind, type(exc).__name__)
            await self._dead(item, f"cannot render: {type(exc).__name__}", attempted=False)
            await self._report_dead(row, "unrenderable")
            return None
        return participant, outgoing, payload

    async def _send_failed(
        self, item: Item, participant: Participant, error: BaseException, verdict: Verdict
    ) -> None:
        """Settle a row whose send failed, by what Telegram (or the network) said."""
        row = item.row
        if isinstance(verdict, RateLimited):
            self.limiter.pause(verdict.retry_after)
            self.stats.rate_limited += 1
            log.warning("Telegram asked to wait %s s; outbox row %s waits", verdict.retry_after, row.id)
            self._backlog.requeue(item)
        elif isinstance(verdict, Migrated):
            await self._migrate(item, participant, verdict.chat_id)
        elif isinstance(verdict, TokenRefused):
            await self._token_refused(item)
        elif isinstance(verdict, Unreachable):
            await self._unreachable(item, participant, error)
        elif isinstance(verdict, Refused):
            await self._dead(item, verdict.description, attempted=True)
            log.error("Telegram refused outbox row %s (%s): %s", row.id, row.kind, type(error).__name__)
            await self._report_dead(row, "refused")
        elif isinstance(verdict, Transient):
            await self._failed(item, verdict.description, type(error).__name__, outage=True)

    async def _acquire(self, chat_id: int) -> Permit:
        """Wait until one more message to ``chat_id`` may go (the later parts of a long message)."""
        while True:
            changed = self._changes.watch()
            answer = self.limiter.try_acquire(chat_id)
            if isinstance(answer, Permit):
                return answer
            await wait(changed, answer, self._sleep)

    # --- outcomes -----------------------------------------------------------------------------

    async def _dead(self, item: Item, error: str, *, attempted: bool) -> None:
        await self.store.mark_dead(item.row, error, attempted=attempted)
        self._backlog.settled(item)
        self.stats.dead += 1

    async def _report_dead(self, row: OutboxMessage, reason: str) -> None:
        """Tell the ``on_dead`` hook of a row given up; its failure is logged, never raised."""
        if self.on_dead is None:
            return
        try:
            await self.on_dead(row, reason)
        except Exception as exc:
            log.error("on_dead failed for outbox row %s (%s)", row.id, type(exc).__name__)
        self._claim_now = True  # the hook may have queued a notice (to the case's coordinator)

    async def _failed(self, item: Item, description: str, error_class: str, *, outage: bool) -> None:
        row = item.row
        if outage:
            self._breaker.trip()
            self._changes.notify()
        attempts = await self.store.failed(row, description)
        self._backlog.settled(item)
        if attempts >= self.store.max_attempts:
            self.stats.dead += 1
            log.error(
                "outbox row %s (%s) gave up after %s attempts (%s)", row.id, row.kind, attempts, error_class
            )
            await self._report_dead(row, "gave_up")
            return
        self.stats.retried += 1
        log.warning("outbox row %s failed (attempt %s, %s); retrying later", row.id, attempts, error_class)

    async def _token_refused(self, item: Item) -> None:
        if self._token.refuse():
            log.error(
                "Telegram refused the bot token (401 Unauthorized): sending stopped; "
                "it resumes by itself once getMe succeeds"
            )
        await self._hand_back(item)
        self._changes.notify()

    async def _hand_back(self, item: Item) -> None:
        """Return a row untried (no attempt spent; the parts already sent stay recorded)."""
        await self.store.release([item.row.id])
        self._backlog.settled(item)

    async def _migrate(self, item: Item, participant: Participant, new_chat_id: int) -> None:
        item.migrations += 1
        await self.store.move_chat(participant.id, new_chat_id)
        participant.chat_id = new_chat_id
        log.info("participant %s: the group became a supergroup; following it", participant.id)
        if item.migrations > MAX_MIGRATIONS:
            await self._dead(item, "the group kept migrating", attempted=True)
            return
        self._backlog.requeue(item)

    async def _unreachable(self, item: Item, participant: Participant, error: BaseException) -> None:
        participant.blocked = True
        await self._dead(item, BLOCKED, attempted=True)
        await self._drop_blocked(self._backlog.queued_for(participant.id))
        log.warning(
            "participant %s cannot be reached (%s); their messages are dropped",
            participant.id,
            type(error).__name__,
        )
        if self.on_blocked is None:
            return
        try:
            await self.on_blocked(item.row, participant)
        except Exception as exc:
            log.error("on_blocked failed for participant %s (%s)", participant.id, type(exc).__name__)
        self._claim_now = True  # the hook may have queued a notice (to the case's coordinator)

    async def _drop_blocked(self, items: list[Item]) -> None:
        """Rows for a recipient who blocked the bot die without a call."""
        if not items:
            return
        for item in items:
            self._backlog.forget(item)
        await self.store.drop([item.row.id for item in items], BLOCKED)
        self.stats.dead += len(items)

    # --- pacing -------------------------------------------------------------------------------

    def _release(self, permit: Permit, *, reached_telegram: bool = True) -> None:
        if not permit.released:
            self.limiter.release(permit, reached_telegram=reached_telegram)
            self._changes.notify()

    def _token_text(self) -> str | None:
        token = getattr(self.bot, "token", None)
        return token if isinstance(token, str) else None
