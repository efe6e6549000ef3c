"""What every participant can do besides language and time zone: quiet hours, the weekly digest, help."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, MagicData
from aiogram.types import Message

from casebot.clock import Clock
from casebot.db.models import Participant
from casebot.services import Actor, Services
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

    @router.message(Command("digest"), Args(1))
    async def digest(
        message: Message, args: list[str], actor: Actor, services: Services, reply: Reply
    ) -> None:
        choice = args[0].strip().lower()
        if choice not in ("on", "off"):
            return await reply.usage("digest")
        digests = services.digest
        if not digests.enabled:
            return await reply("settings/digest_disabled")
        await digests.set_enabled(actor, choice == "on")
        if choice == "off":
            return await reply("settings/digest_off")
        schedule = digests.schedule
        await reply("settings/digest_on", weekday=schedule.weekday, time=f"{schedule.time_of_day:%H:%M}")
        return None

    @router.message(Command("digest"))
    async def digest_usage(message: Message, reply: Reply) -> None:
        await reply.usage("digest")

    @router.message(Command("help"))
    async def help_(message: Message, is_staff: bool, reply: Reply) -> None:
        await reply("help", is_staff=is_staff)

    return router
