"""setup_casebot(dispatcher, settings) -> Router: the embeddable entry point and composition root."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher, F, Router
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update

from casebot.clock import Clock, SystemClock
from casebot.config import Settings
from casebot.db.database import Database
from casebot.db.models import Participant
from casebot.delivery.sender import OutboxSender
from casebot.domain.reminders import Policy
from casebot.domain.roles import Role
from casebot.rendering import Renderer
from casebot.scheduling.ticker import SweepTicker
from casebot.services import ReminderSettings, Services
from casebot.telegram.context import CasebotContext, Runtime
from casebot.telegram.menus import set_coordinator_menu, set_family_menu
from casebot.telegram.routers.admin import admin_router
from casebot.telegram.routers.common import common_router
from casebot.telegram.routers.coordinator import coordinator_router, refusal_router
from casebot.telegram.routers.fallback import fallback_router
from casebot.telegram.routers.family import family_router
from casebot.telegram.routers.reminders import family_reminders_router, staff_reminders_router

log = logging.getLogger("casebot")


@dataclass
class CasebotInstance:
    """What one setup_casebot call built; the sender exists between startup and shutdown."""

    runtime: Runtime
    router: Router
    sender: OutboxSender | None = field(default=None)
    ticker: SweepTicker | None = field(default=None)


def setup_casebot(
    dispatcher: Dispatcher,
    settings: Settings,
    *,
    clock: Clock | None = None,
    standalone: bool = False,
    manage_menus: bool = True,
) -> Router:
    """Add casebot to an aiogram 3 Dispatcher and return its router.

    casebot opens its database (applying migrations) and starts its outbox sender on the
    dispatcher's startup, and stops them on shutdown. Its middleware is on its own routers
    only; it handles its own commands and buttons and its participants' private messages,
    and everything else falls through to the host's handlers. ``standalone`` adds the
    join hint for strangers, which a host bot would rather give itself.
    """
    clock = clock or SystemClock()
    admin_ids = frozenset(settings.admin_ids)
    database = Database(settings.database_url)
    renderer = Renderer()
    services = Services.build(
        clock,
        admin_ids=admin_ids,
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
            ),
            quiet_hours=settings.quiet_hours,
            holidays=frozenset(settings.holidays),
        ),
    )
    instance: CasebotInstance

    def wake_sender() -> None:
        if instance.sender is not None:
            instance.sender.wake()

    runtime = Runtime(database, services, renderer, admin_ids, settings.default_locale, wake_sender)
    root = Router(name="casebot")
    root.message.filter(F.chat.type == "private")
    root.callback_query.filter(F.data.startswith("cb1"))
    context = CasebotContext(runtime)
    for observer in (root.message, root.edited_message, root.callback_query):
        observer.outer_middleware(context)
    root.include_routers(
        staff_reminders_router(),
        coordinator_router(),
        admin_router(),
        refusal_router(),
        family_reminders_router(),
        family_router(),
        common_router(),
    )
    if standalone:
        root.include_router(fallback_router())
    instance = CasebotInstance(runtime, root)

    async def on_startup(bot: Bot) -> None:
        await database.open()
        instance.sender = OutboxSender.from_settings(
            bot, database, renderer, clock, settings, refresh=services.reminders.refresh
        )
        instance.sender.start()
        instance.ticker = SweepTicker(services.reminders, database, settings.sweep_every, wake_sender)
        instance.ticker.start()
        if manage_menus:
            with database.bound():
                await _set_menus(bot, renderer, admin_ids)
        log.info("casebot started")

    async def on_shutdown() -> None:
        if instance.ticker is not None:
            instance.ticker.stop()
            instance.ticker = None
        if instance.sender is not None:
            await instance.sender.stop()
            instance.sender = None
        await database.close()
        log.info("casebot stopped")

    dispatcher.startup.register(on_startup)
    dispatcher.shutdown.register(on_shutdown)
    # casebot goes first whatever the order of the host's routers: a host catch-all included
    # before it would otherwise swallow casebot's commands. What casebot leaves unhandled
    # continues through the host's tree as usual.
    dispatcher.update.outer_middleware(CasebotFirst(root))
    dispatcher.include_router(_update_types_router())
    dispatcher["casebot"] = instance
    return root


class CasebotFirst(BaseMiddleware):
    """Offers each update to casebot's router before the host's routers see it."""

    def __init__(self, router: Router) -> None:
        self.router = router

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, Update) and event.event_type in ("message", "edited_message", "callback_query"):
            result = await self.router.propagate_event(
                update_type=event.event_type, event=event.event, event_update=event, **data
            )
            if result is not UNHANDLED:
                return result
        return await handler(event, data)


def _update_types_router() -> Router:
    """Declares the update types casebot needs, so polling asks Telegram for them even when the
    host handles none; its handlers never match (casebot's real router runs from CasebotFirst)."""
    router = Router(name="casebot.update_types")
    never = F.func(lambda _: False)
    router.message.register(_never_called, never)
    router.edited_message.register(_never_called, never)
    router.callback_query.register(_never_called, never)
    return router


async def _never_called() -> None:
    """Never runs: its filter is always false."""


async def _set_menus(bot: Bot, renderer: Renderer, admin_ids: frozenset[int]) -> None:
    await set_family_menu(bot, renderer)
    for participant in await Participant.filter(role=Role.COORDINATOR):
        await set_coordinator_menu(
            bot, renderer, participant, admin=participant.telegram_user_id in admin_ids
        )
