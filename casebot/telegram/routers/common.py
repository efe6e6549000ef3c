"""What every participant can do: language, time zone, quiet hours, help."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, MagicData
from aiogram.types import Message

from casebot.db.models import Participant
from casebot.services import Services
from casebot.services.participants import SUPPORTED_LOCALES
from casebot.telegram.context import Reply
from casebot.telegram.filters import Args


def common_router() -> Router:
    """Preferences and help, for participants only (hosts keep their own /help for others)."""
    router = Router(name="casebot.common")
    router.message.filter(MagicData(F.participant))

    @router.message(Command("language"), Args(1))
    async def language(
        message: Message, args: list[str], participant: Participant, services: Services, reply: Reply
    ) -> None:
        await services.participants.set_locale(participant, args[0])
        await Reply(reply.message, reply.renderer, participant.locale)(
            "settings/saved", participant=participant
        )

    @router.message(Command("language"))
    async def languages(message: Message, reply: Reply) -> None:
        await reply("settings/language", locales=SUPPORTED_LOCALES)

    @router.message(Command("timezone"), Args(1))
    async def timezone(
        message: Message, args: list[str], participant: Participant, services: Services, reply: Reply
    ) -> None:
        await services.participants.set_timezone(participant, args[0])
        await reply("settings/saved", participant=participant)

    @router.message(Command("quiet"), Args(1))
    async def quiet(
        message: Message, args: list[str], participant: Participant, services: Services, reply: Reply
    ) -> None:
        await services.participants.set_quiet_hours(participant, args[0])
        await reply("settings/saved", participant=participant)

    @router.message(Command("timezone", "quiet"))
    async def usage(message: Message, command: CommandObject, reply: Reply) -> None:
        await reply.usage(command.command)

    @router.message(Command("help"))
    async def help_(message: Message, is_staff: bool, reply: Reply) -> None:
        await reply("help", is_staff=is_staff)

    return router
