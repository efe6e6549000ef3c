"""What every participant can do besides language and time zone: quiet hours, the weekly digest, help."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, MagicData
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

    @router.message(Command("digest_off", "digest_on"))
    async def digest_tapped(
        message: Message, command: CommandObject, actor: Actor, services: Services, reply: Reply
    ) -> None:
        """``/digest_off`` and ``/digest_on``: what a digest offers to tap (Telegram makes only a
        single word after the slash tappable)."""
        await _set_digest(command.command.removeprefix("digest_"), actor, services, reply)

    @router.message(Command("digest"), Args(1))
    async def digest(
        message: Message, args: list[str], actor: Actor, services: Services, reply: Reply
    ) -> None:
        await _set_digest(args[0], actor, services, reply)

    @router.message(Command("digest"))
    async def digest_usage(message: Message, reply: Reply) -> None:
        await reply.usage("digest")

    @router.message(Command("help"))
    async def help_(message: Message, is_staff: bool, reply: Reply) -> None:
        await reply("help", is_staff=is_staff)

    return router


async def _set_digest(choice: str, actor: Actor, services: Services, reply: Reply) -> None:
    """/digest off|on: the person's own weekly digest."""
    choice = choice.strip().lower()
    if choice not in ("on", "off"):
        await reply.usage("digest")
        return
    digests = services.digest
    if not digests.enabled:
        await reply("settings/digest_disabled")
        return
    await digests.set_enabled(actor, choice == "on")
    if choice == "off":
        await reply("settings/digest_off")
        return
    schedule = digests.schedule
    await reply("settings/digest_on", weekday=schedule.weekday, time=f"{schedule.time_of_day:%H:%M}")
