"""Questions the bot asked and whose answer is the person's next message: a reason, a city.

A pending question never swallows what was meant for something else: any command cancels it
(and says so), and a reason typed long after it was asked is not taken as the reason.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message

from casebot.telegram.context import Reply

REASON_VALID_FOR = timedelta(minutes=15)


class AwaitingReason(StatesGroup):
    """A button asked for a reason (an override, going back, withdrawing); the next text is it."""

    advance = State()


class AwaitingCity(StatesGroup):
    """The bot asked which city (time zone) a person lives in."""

    city = State()


def reason_has_expired(asked_at: str | None, now: datetime) -> bool:
    """Whether a reason prompt is too old to take the next text as its answer."""
    if not asked_at:
        return True
    return now - datetime.fromisoformat(asked_at) > REASON_VALID_FOR


def prompts_router() -> Router:
    """Included first among casebot's routers, so it sees a command before any handler takes it."""
    router = Router(name="casebot.prompts")

    @router.message(StateFilter(AwaitingReason.advance, AwaitingCity.city), Command("cancel"))
    async def cancel(message: Message, state: FSMContext, reply: Reply) -> None:
        pending = await state.get_data()
        await state.clear()
        await reply("prompt_cancelled", pending=pending)

    @router.message(StateFilter(AwaitingReason.advance, AwaitingCity.city), F.text.startswith("/"))
    async def another_command(message: Message, state: FSMContext, reply: Reply) -> None:
        """The person moved on: drop the question, say so, and let the command run."""
        pending = await state.get_data()
        await state.clear()
        await reply("prompt_cancelled", pending=pending)
        raise SkipHandler

    return router
