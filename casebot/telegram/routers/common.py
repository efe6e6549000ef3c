"""What every participant can do besides language and time zone: quiet hours and help."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, MagicData
from aiogram.types import Message

from casebot.clock import Clock
from casebot.db.models import Participant
from casebot.services import Services
from casebot.telegram.context import Reply
from casebot.telegram.filters import Args


def common_router(clock: Clock) -> Router:
    """Quiet hours and help, for participants only (hosts keep their own /help for others)."""
    router = Router(name="casebot.common")
    router.message.filter(MagicData(F.participant))

    @router.message(Command("quiet"), Args(1))
    async def quiet(
        message: Message, args: list[str], participant: Participant, services: Services, reply: Reply
    ) -> None:
        await services.participants.set_quiet_hours(participant, args[0])
        await reply("settings/saved", participant=participant, now=clock.now())

    @router.message(Command("quiet"))
    async def usage(message: Message, reply: Reply) -> None:
        await reply.usage("quiet")

    @router.message(Command("help"))
    async def help_(message: Message, is_staff: bool, reply: Reply) -> None:
        await reply("help", is_staff=is_staff)

    return router
