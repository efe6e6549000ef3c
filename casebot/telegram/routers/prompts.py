"""Questions the bot asked and whose answer is the person's next message: a reason, a city.

A pending question never swallows what was meant for something else: any command cancels it
(and says so), and a reason typed long after it was asked is not taken as the reason.

casebot keeps its questions in its own FSM context (``casebot_state``, under its own destiny),
never in the host's conversation (``state``), and its handlers ask whether a question is pending
with ``Pending``, which reads that context when it is asked: aiogram's ``StateFilter`` reads the
host's ``raw_state``, read once before any handler ran, so it would still see a question cancelled
a moment ago.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, Filter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message, TelegramObject

from casebot.telegram.context import Reply

REASON_VALID_FOR = timedelta(minutes=15)


class AwaitingReason(StatesGroup):
    """A button asked for a reason (an override, going back, withdrawing); the next text is it."""

    advance = State()
    # A hospital answer button: the hospital's reason (needs_more, declined), or where to re-route.
    outcome = State()
    reroute = State()


class AwaitingCity(StatesGroup):
    """The bot asked which city (time zone) a person lives in."""

    city = State()


class Pending(Filter):
    """Whether one of these questions of casebot's is pending for the person, as of now."""

    def __init__(self, *states: State) -> None:
        self.states = frozenset(state.state for state in states)

    def __str__(self) -> str:
        return f"Pending({', '.join(sorted(str(state) for state in self.states))})"

    async def __call__(self, event: TelegramObject, casebot_state: FSMContext | None = None) -> bool:
        return casebot_state is not None and await casebot_state.get_state() in self.states


def reason_has_expired(asked_at: str | None, now: datetime) -> bool:
    """Whether a reason prompt is too old to take the next text as its answer."""
    if not asked_at:
        return True
    return now - datetime.fromisoformat(asked_at) > REASON_VALID_FOR


async def drop_prompt(casebot_state: FSMContext) -> dict[str, Any]:
    """Forget the pending question; returns what it was waiting with."""
    pending = await casebot_state.get_data()
    await casebot_state.clear()
    return pending


def prompts_router() -> Router:
    """Included first among casebot's routers, so it sees a command before any handler takes it."""
    router = Router(name="casebot.prompts")
    any_question = Pending(
        AwaitingReason.advance, AwaitingReason.outcome, AwaitingReason.reroute, AwaitingCity.city
    )

    @router.message(Command("cancel"), any_question)
    async def cancel(message: Message, casebot_state: FSMContext, reply: Reply) -> None:
        await reply("prompt_cancelled", pending=await drop_prompt(casebot_state))

    @router.message(F.text.startswith("/"), any_question)
    async def another_command(message: Message, casebot_state: FSMContext, reply: Reply) -> None:
        """The person moved on: drop the question, say so, and let the command run as if no
        question had been pending (the handlers that take answers check ``Pending`` afresh)."""
        await reply("prompt_cancelled", pending=await drop_prompt(casebot_state))
        raise SkipHandler

    return router
