"""The last words of casebot's router: an answer to any casebot button nobody took, and, for the
standalone bot, a join hint for strangers and a pointer for participants."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from casebot.db.models import Participant
from casebot.telegram.context import Reply


def unknown_button_router() -> Router:
    """Every ``cb1`` press gets an answer, so no spinner keeps turning: a button from an old
    version, one whose data was forged, or one meant for someone else."""
    router = Router(name="casebot.unknown_button")

    @router.callback_query()
    async def unknown(query: CallbackQuery, reply: Reply) -> None:
        await query.answer(reply.label("button_gone"), show_alert=True)

    return router


def fallback_router() -> Router:
    """Included last, by the standalone bot only: a host bot keeps its own fallbacks."""
    router = Router(name="casebot.fallback")

    @router.message(F.chat.type == "private")
    async def hint(message: Message, participant: Participant | None, reply: Reply) -> None:
        await reply("hint_member" if participant is not None else "join_hint")

    @router.edited_message(F.chat.type == "private")
    async def edited(message: Message, reply: Reply) -> None:
        """An edit the bot has no use for changes nothing recorded: the person is told so, rather
        than believing a correction went somewhere."""
        await reply("edit_not_seen")

    @router.edited_message()
    async def edited_elsewhere(message: Message) -> None:
        """An edit in a group is nobody's request; it is acknowledged silently."""

    return router
