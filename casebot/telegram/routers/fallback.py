"""The standalone bot's last word: a join hint for strangers, a pointer for participants, silence otherwise."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message

from casebot.db.models import Participant
from casebot.telegram.context import Reply


def fallback_router() -> Router:
    """Included last, by the standalone bot only: a host bot keeps its own fallbacks."""
    router = Router(name="casebot.fallback")

    @router.message(F.chat.type == "private", F.text | F.sticker | F.forward_origin | F.document | F.photo)
    async def hint(message: Message, participant: Participant | None, reply: Reply) -> None:
        await reply("hint_member" if participant is not None else "join_hint")

    @router.edited_message()
    async def edited(message: Message) -> None:
        """An edit changes nothing that was already recorded; it is acknowledged silently."""

    return router
