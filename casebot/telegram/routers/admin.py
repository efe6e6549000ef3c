"""Admins: add and remove coordinators."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, MagicData
from aiogram.types import Message

from casebot.domain.roles import Role
from casebot.rendering import Renderer
from casebot.services import Actor, Services
from casebot.telegram.context import Reply
from casebot.telegram.menus import set_coordinator_menu

_CHANGE = F.text.regexp(r"^/coordinator(@\w+)?\s+(add|remove)\s+\d{1,15}\s*$")


def admin_router() -> Router:
    """``/coordinator add|remove <user id>``; coordinators who are not admins get a refusal."""
    router = Router(name="casebot.admin")
    router.message.filter(MagicData(F.is_staff))

    @router.message(Command("coordinator"), _CHANGE)
    async def coordinator(
        message: Message, bot: Bot, services: Services, actor: Actor, renderer: Renderer, reply: Reply
    ) -> None:
        _, action, user_id = (message.text or "").split()
        role = Role.COORDINATOR if action == "add" else Role.FAMILY
        participant = await services.participants.set_role(actor, int(user_id), role)
        await set_coordinator_menu(bot, renderer, participant)
        await reply("staff/coordinator_changed", participant=participant)

    @router.message(Command("coordinator"))
    async def usage(message: Message, reply: Reply) -> None:
        await reply.usage("coordinator")

    return router
