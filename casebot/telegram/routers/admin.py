"""Admins: add and remove coordinators; a removed coordinator's open cases are handed over."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, MagicData
from aiogram.types import Message

from casebot.rendering import Renderer
from casebot.services import Actor, Services
from casebot.telegram.context import Reply
from casebot.telegram.filters import CoordinatorChange
from casebot.telegram.menus import set_coordinator_menu


def admin_router() -> Router:
    """``/coordinator add <id>`` and ``/coordinator remove <id> [to <id>]``; coordinators who are
    not admins get a refusal from the service."""
    router = Router(name="casebot.admin")
    router.message.filter(MagicData(F.is_staff))

    @router.message(Command("coordinator"), CoordinatorChange())
    async def coordinator(
        message: Message, action: str, user_id: int, hand_to: int | None, bot: Bot, services: Services,
        actor: Actor, renderer: Renderer, reply: Reply,
    ) -> None:  # fmt: skip
        if action == "add":
            change = await services.participants.add_coordinator(actor, user_id)
        else:
            change = await services.participants.remove_coordinator(actor, user_id, hand_to)
        await set_coordinator_menu(bot, renderer, change.participant)
        await reply("staff/coordinator_changed", change=change)

    @router.message(Command("coordinator"))
    async def usage(message: Message, reply: Reply) -> None:
        await reply.usage("coordinator")

    return router
