"""A person blocking or unblocking the bot (Telegram's my_chat_member updates in a private chat)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter, MagicData
from aiogram.types import ChatMemberUpdated

from casebot.db.models import Participant
from casebot.services import Services
from casebot.telegram.context import Runtime


def membership_router() -> Router:
    """Blocked: no more sends are tried; unblocked: reminders resume from now (none replayed)."""
    router = Router(name="casebot.membership")
    router.my_chat_member.filter(F.chat.type == "private", MagicData(F.participant))

    @router.my_chat_member(ChatMemberUpdatedFilter(member_status_changed=KICKED))
    async def blocked(
        event: ChatMemberUpdated, participant: Participant, services: Services, runtime: Runtime
    ) -> None:
        await services.participants.unreachable(participant.id)
        _share_with_host(runtime)

    @router.my_chat_member(ChatMemberUpdatedFilter(member_status_changed=MEMBER))
    async def unblocked(
        event: ChatMemberUpdated, participant: Participant, services: Services, runtime: Runtime
    ) -> None:
        await services.participants.reachable_again(participant)
        _share_with_host(runtime)

    return router


def _share_with_host(runtime: Runtime) -> None:
    """A block or unblock concerns the host bot as much as casebot: let its handlers see it too."""
    if not runtime.standalone:
        raise SkipHandler
