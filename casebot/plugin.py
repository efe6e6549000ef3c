"""setup_casebot(dispatcher, settings) -> Router: the embeddable entry point and composition root."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot, Dispatcher, F, Router

from casebot.clock import Clock, SystemClock
from casebot.config import Settings
from casebot.db.database import Database
from casebot.db.models import Participant
from casebot.delivery import OutboxSender
from casebot.domain.calendar import official_calendar_gap
from casebot.domain.reminders import Policy
from casebot.domain.roles import Role
from casebot.rendering import Renderer
from casebot.scheduling.ticker import SweepTicker
from casebot.services import DigestSettings, ReminderSettings, Services
from casebot.telegram.context import CasebotGate, KnownPeople, Runtime
from casebot.telegram.errors import AdminAlerts, errors_router
from casebot.telegram.menus import set_coordinator_menu, set_family_menu
from casebot.telegram.notices import notice_composer
from casebot.telegram.routers.admin import admin_router
from casebot.telegram.routers.common import common_router
from casebot.telegram.routers.coordinator import (
    coordinator_router,
    refusal_router,
    staff_button_refusal_router,
)
from casebot.telegram.routers.erasure import erasure_router
from casebot.telegram.routers.exports import exports_router
from casebot.telegram.routers.fallback import fallback_router, unknown_button_router
from casebot.telegram.routers.family import family_router
from casebot.telegram.routers.files import files_router
from casebot.telegram.routers.followup import follow_up_router
from casebot.telegram.routers.membership import membership_router
from casebot.telegram.routers.onboarding import onboarding_router
from casebot.telegram.routers.outcomes import outcomes_router
from casebot.telegram.routers.prompts import prompts_router
from casebot.telegram.routers.reminders import family_reminders_router, staff_reminders_router

log = logging.getLogger("casebot")

OPEN_RETRY_MIN = 2.0
OPEN_RETRY_MAX = 60.0
OPEN_WAIT = 10.0
"""Seconds the dispatcher's startup waits for the database before going on without it."""
KNOWN_REFRESH_EVERY = 10.0
"""Seconds between two looks for participants registered by another instance."""


@dataclass
class CasebotInstance:
    """What one setup_casebot call built; the sender and ticker exist while the database is open."""

    runtime: Runtime
    router: Router
    sender: OutboxSender | None = field(default=None)
    ticker: SweepTicker | None = field(default=None)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


def build_services(settings: Settings, clock: Clock) -> Services:
    """The services over the settings, read once here."""
    return Services.build(
        clock,
        admin_ids=frozenset(settings.admin_ids),
        default_locale=settings.default_locale,
        default_timezone=settings.default_timezone,
        invite_ttl=settings.invite_ttl,
        reminders=ReminderSettings(
            policy=Policy(
                missing_items_every=settings.missing_items_every,
                escalate_after=settings.escalate_after,
                question_every=settings.question_every,
                hospital_answer_sla=settings.hospital_answer_sla,
                review_sla=settings.review_sla,
                stale_after=settings.stale_after,
                check_in_every=settings.check_in_every,
            ),
            quiet_hours=settings.quiet_hours,
            holidays=frozenset(settings.holidays),
        ),
        digest=DigestSettings(
            enabled=settings.digest, weekday=settings.digest_day, time_of_day=settings.digest_time
        ),
    )


def casebot_router(runtime: Runtime, clock: Clock, alerts: AdminAlerts) -> Router:
    """casebot's router tree, with its gate on it: what a host includes."""
    root = Router(name="casebot")
    root.message.filter(F.chat.type == "private")
    root.callback_query.filter(F.data.startswith("cb1"))
    root.include_routers(
        prompts_router(),
        membership_router(),
        staff_reminders_router(),
        outcomes_router(clock),
        coordinator_router(clock),
        exports_router(refuse_others=runtime.standalone),
        files_router(),
        admin_router(),
        erasure_router(clock, refuse_others=runtime.standalone),
        staff_button_refusal_router(),
        family_reminders_router(),
        follow_up_router(),
        family_router(),
        onboarding_router(clock),
        common_router(clock),
    )
    if runtime.standalone:
        root.include_routers(refusal_router(), fallback_router())
    root.include_routers(unknown_button_router(), errors_router(runtime.renderer, alerts))
    gate = CasebotGate(runtime, commands=handled_commands(root))
    for observer in (root.message, root.edited_message, root.callback_query, root.my_chat_member):
        observer.outer_middleware(gate)
    return root


def handled_commands(router: Router) -> frozenset[str]:
    """Every command a handler of the router tree takes (``/start`` aside: only its invites are
    casebot's): what the gate keeps as casebot's even while it cannot read its database."""
    found: set[str] = set()
    for each in router.chain_tail:
        for handler in each.message.handlers:
            for command in handler.flags.get("commands", ()):
                found.update(name for name in command.commands if isinstance(name, str))
    return frozenset(found - {"start"})


def setup_casebot(
    dispatcher: Dispatcher,
    settings: Settings,
    *,
    clock: Clock | None = None,
    standalone: bool = False,
    manage_menus: bool = True,
    parent: Router | None = None,
) -> Router:
    """Add casebot to an aiogram 3 Dispatcher and return its router.

    casebot is an ordinary router, included into ``parent`` (default: the dispatcher) at the
    point of this call: include your own catch-all handlers after it, as with any router.
    It touches only its own updates (its commands and ``cb1`` buttons, its participants'
    private messages); everything else passes on to your handlers untouched, with no
    database query, so your bot keeps working whatever casebot's state. Its errors are
    answered by its own ``errors`` handler.

    On the dispatcher's startup casebot opens its database (applying migrations) and starts
    its outbox sender and reminder sweep; if the database cannot be opened it says so in the
    log, keeps trying, and answers its own updates with "unavailable" meanwhile. It never
    stops your bot from starting. ``standalone`` makes casebot the whole bot: it then also
    answers strangers (a join hint) and others' coordinator commands (a refusal).
    """
    clock = clock or SystemClock()
    admin_ids = frozenset(settings.admin_ids)
    database = Database(settings.database_url)
    renderer = Renderer(settings.templates_dir)
    services = build_services(settings, clock)
    known = KnownPeople(admin_ids)
    instance: CasebotInstance
    lifecycle: _Lifecycle

    def wake_sender() -> None:
        if instance.sender is not None:
            instance.sender.wake()

    def open_soon() -> None:
        lifecycle.open_soon()

    runtime = Runtime(
        database,
        services,
        renderer,
        admin_ids,
        settings.default_locale,
        wake_sender,
        known,
        standalone,
        open_soon,
    )
    alerts = AdminAlerts(admin_ids, renderer, settings.default_locale, database=database)
    router = casebot_router(runtime, clock, alerts)
    (parent or dispatcher).include_router(router)
    instance = CasebotInstance(runtime, router)
    lifecycle = _Lifecycle(instance, settings, clock, manage_menus)
    dispatcher.startup.register(lifecycle.on_startup)
    dispatcher.shutdown.register(lifecycle.on_shutdown)
    dispatcher["casebot"] = instance
    return router


class _Lifecycle:
    """Opening casebot's database and starting its background work on the dispatcher's startup,
    without ever holding up or failing the start of the bot that embeds it."""

    def __init__(
        self, instance: CasebotInstance, settings: Settings, clock: Clock, manage_menus: bool
    ) -> None:
        self.instance = instance
        self.settings = settings
        self.clock = clock
        self.manage_menus = manage_menus
        self.retry = asyncio.Event()

    def open_soon(self) -> None:
        """Someone needs casebot now: try to open its database without waiting out the pause."""
        self.retry.set()

    async def on_startup(self, bot: Bot) -> None:
        gap = official_calendar_gap(self.clock.now().date())
        if gap:
            log.warning("%s", gap)
        # One attempt now, bounded: a database that is slow or down must not hold up the start of
        # the bot. If it fails, casebot keeps trying in the background.
        try:
            await asyncio.wait_for(self.instance.runtime.database.open(), OPEN_WAIT)
        except Exception as error:
            log.error("casebot cannot open its database (%s); it keeps trying", type(error).__name__)
            _spawn(self.instance, self._open_when_possible(bot), "casebot-open-database")
            return
        await self._start_working(bot)

    async def _open_when_possible(self, bot: Bot) -> None:
        database = self.instance.runtime.database
        pause = OPEN_RETRY_MIN
        while True:
            self.retry.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.retry.wait(), pause)
            try:
                await database.open()
            except Exception as error:
                # Try again after a longer pause, or at once when one of casebot's updates comes in.
                pause = min(2 * pause, OPEN_RETRY_MAX)
                log.error(
                    "casebot cannot open its database (%s); its commands answer 'unavailable' "
                    "and it tries again within %.0f s",
                    type(error).__name__,
                    pause,
                )
                continue
            await self._start_working(bot)
            return

    async def _start_working(self, bot: Bot) -> None:
        """Everything that needs the open database."""
        instance, runtime = self.instance, self.instance.runtime
        database, services = runtime.database, runtime.services
        with database.bound():
            await runtime.known.refresh()
        instance.sender = OutboxSender.from_settings(
            bot,
            database,
            self.clock,
            self.settings,
            compose=notice_composer(runtime.renderer),
            check=services.outbox.check,
            on_blocked=services.outbox.recipient_blocked,
            on_dead=services.outbox.row_dead,
        )
        instance.sender.start()
        instance.ticker = SweepTicker(
            services.reminders, database, self.settings.sweep_every, runtime.wake_sender, services.digest
        )
        instance.ticker.start()
        _spawn(instance, _refresh_known(database, runtime.known), "casebot-known-people")
        if self.manage_menus:
            try:
                with database.bound():
                    await _set_menus(bot, runtime.renderer, runtime.admin_ids)
            except Exception as error:  # Telegram or the database: the menus come at the next start
                log.warning("casebot could not set its command menus (%s)", type(error).__name__)
        log.info("casebot started")

    async def on_shutdown(self) -> None:
        instance = self.instance
        for task in list(instance.tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if instance.ticker is not None:
            instance.ticker.stop()
            instance.ticker = None
        if instance.sender is not None:
            await instance.sender.stop()
            instance.sender = None
        await instance.runtime.database.close()
        log.info("casebot stopped")


def _spawn(instance: CasebotInstance, work: Any, name: str) -> asyncio.Task[None]:
    task: asyncio.Task[None] = asyncio.create_task(work, name=name)
    instance.tasks.add(task)
    task.add_done_callback(instance.tasks.discard)
    return task


async def _refresh_known(database: Database, known: KnownPeople) -> None:
    """Learn of participants another instance registered (a join handled there)."""
    while True:
        await asyncio.sleep(KNOWN_REFRESH_EVERY)
        try:
            with database.bound():
                await known.refresh()
        except Exception as error:
            log.warning("could not refresh the participants casebot knows (%s)", type(error).__name__)


async def _set_menus(bot: Bot, renderer: Renderer, admin_ids: frozenset[int]) -> None:
    await set_family_menu(bot, renderer)
    for participant in await Participant.filter(role=Role.COORDINATOR):
        await set_coordinator_menu(
            bot, renderer, participant, admin=participant.telegram_user_id in admin_ids
        )
