"""The sweep ticker. APScheduler only ticks: the due times live in the database, so a restart
loses nothing and repeats nothing, and several instances may tick (the outbox dedupes)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from casebot.db.database import Database
from casebot.services.digest import DigestService
from casebot.services.reminders import ReminderService

log = logging.getLogger("casebot.scheduling")


class SweepTicker:
    """Runs the reminder sweep every ``every``, then the weekly digests that are due (unless they
    are off service-wide), and wakes the sender when either queued something."""

    def __init__(
        self,
        reminders: ReminderService,
        database: Database,
        every: timedelta,
        wake_sender: Callable[[], None],
        digests: DigestService | None = None,
    ) -> None:
        self.reminders = reminders
        self.digests = digests
        self.database = database
        self.every = every
        self.wake_sender = wake_sender
        self.scheduler = AsyncIOScheduler(timezone="UTC")

    async def tick(self) -> None:
        """One sweep, then the digest pass; a failure is logged and the next tick tries again."""
        try:
            with self.database.bound():
                result = await self.reminders.sweep()
        except Exception:
            log.exception("the reminder sweep failed; it runs again at the next tick")
        else:
            if result.enqueued:
                log.info("sweep: %s case(s) looked at, %s message(s) queued", result.cases, result.enqueued)
                self.wake_sender()
        await self.digest_pass()

    async def digest_pass(self) -> None:
        """The weekly digests that are due; nothing when they are off service-wide."""
        if self.digests is None or not self.digests.enabled:
            return
        try:
            with self.database.bound():
                queued = await self.digests.run_due()
        except Exception:
            log.exception("the digest pass failed; it runs again at the next tick")
            return
        if queued:
            self.wake_sender()

    def start(self) -> None:
        """Tick now and then every interval (one at a time; missed ticks coalesce)."""
        self.scheduler.add_job(
            self.tick,
            "interval",
            seconds=self.every.total_seconds(),
            id="casebot-sweep",
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),  # the scheduler's own clock; the sweep uses the injected one
        )
        self.scheduler.start()

    def stop(self) -> None:
        """Stop ticking."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
