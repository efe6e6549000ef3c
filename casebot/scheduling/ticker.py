"""The sweep ticker. APScheduler only ticks: the due times live in the database, so a restart
loses nothing and repeats nothing, and several instances may tick (the outbox dedupes)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from casebot.db.database import Database
from casebot.services.reminders import ReminderService

log = logging.getLogger("casebot.scheduling")


class SweepTicker:
    """Runs the reminder sweep every ``every`` and wakes the sender when it queued something."""

    def __init__(
        self,
        reminders: ReminderService,
        database: Database,
        every: timedelta,
        wake_sender: Callable[[], None],
    ) -> None:
        self.reminders = reminders
        self.database = database
        self.every = every
        self.wake_sender = wake_sender
        self.scheduler = AsyncIOScheduler(timezone="UTC")

    async def tick(self) -> None:
        """One sweep; a failure is logged and the next tick tries again."""
        try:
            with self.database.bound():
                result = await self.reminders.sweep()
        except Exception:
            log.exception("the reminder sweep failed; it runs again at the next tick")
            return
        if result.enqueued:
            log.info("sweep: %s case(s) looked at, %s message(s) queued", result.cases, result.enqueued)
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
