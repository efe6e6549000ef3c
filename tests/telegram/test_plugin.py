"""casebot inside a host bot: it answers its own commands and people, everything else falls through."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiogram import Dispatcher, F, Router
from aiogram.filters import CommandStart
from aiogram.types import Message

from casebot.clock import ManualClock
from casebot.plugin import setup_casebot
from casebot.testing import BotAPIEmulator

from .conftest import ADMIN, emulator_settings

STRANGER = 4000


def host_router() -> Router:
    """The host bot's own handlers: a /start and an echo for any text."""
    router = Router(name="host")

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("host: welcome")

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"host echo: {message.text}")

    return router


@asynccontextmanager
async def running_host(
    telegram: BotAPIEmulator, database_url: str, clock: ManualClock, *, host_first: bool
) -> AsyncIterator[Dispatcher]:
    settings = emulator_settings(telegram, database_url)
    bot = telegram.create_bot()
    dispatcher = Dispatcher()
    if host_first:
        dispatcher.include_router(host_router())
        setup_casebot(dispatcher, settings, clock=clock, manage_menus=False)
    else:
        setup_casebot(dispatcher, settings, clock=clock, manage_menus=False)
        dispatcher.include_router(host_router())
    started = asyncio.Event()
    dispatcher.startup.register(started.set)
    polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False, polling_timeout=1))
    await asyncio.wait_for(started.wait(), 20)
    try:
        yield dispatcher
    finally:
        await dispatcher.stop_polling()
        with contextlib.suppress(asyncio.CancelledError):
            await polling
        await bot.session.close()


async def answer_to(telegram: BotAPIEmulator, user: int, text: str) -> list[str]:
    before = len(telegram.sent_to(user))
    telegram.user(user).send_text(text)
    await telegram.wait_for(user, after=before)
    await telegram.settle()
    return [m.text for m in telegram.sent_to(user)[before:]]


@pytest.mark.parametrize("host_first", [True, False], ids=["host-router-first", "casebot-first"])
async def test_casebot_answers_its_own_and_leaves_the_rest_to_the_host(
    database_url: str, clock: ManualClock, host_first: bool
) -> None:
    async with (
        BotAPIEmulator() as telegram,
        running_host(telegram, database_url, clock, host_first=host_first),
    ):
        assert await answer_to(telegram, STRANGER, "hello") == ["host echo: hello"]
        assert await answer_to(telegram, STRANGER, "/start") == ["host: welcome"]
        assert await answer_to(telegram, STRANGER, "/start host-campaign") == ["host: welcome"]
        opened = await answer_to(telegram, ADMIN, "/newcase Plugin case")
        assert len(opened) == 1 and "C-0001" in opened[0] and "host" not in opened[0]
        # A coordinator's plain text is not casebot's business.
        assert await answer_to(telegram, ADMIN, "lunch?") == ["host echo: lunch?"]
        # casebot's own command from a stranger: casebot refuses, the host does not see it.
        assert await answer_to(telegram, STRANGER, "/newcase X") == [
            "Only a coordinator can do that. Nothing was changed."
        ]


async def test_two_dispatchers_in_one_process_each_answer_their_own_bot(
    database_url: str, clock: ManualClock
) -> None:
    """Two bots, two Dispatchers, two casebot instances with their own connections, one database.

    (Both use one database backend: tortoise finalises its model classes for one SQL dialect
    per process, so one process cannot mix SQLite and PostgreSQL instances.)
    """
    async with (
        BotAPIEmulator() as first_telegram,
        BotAPIEmulator(token="654321:OTHER") as second_telegram,
        running_host(first_telegram, database_url, clock, host_first=False),
        running_host(second_telegram, database_url, clock, host_first=True),
    ):
        assert "C-0001" in (await answer_to(first_telegram, ADMIN, "/newcase First bot case"))[0]
        assert "C-0002" in (await answer_to(second_telegram, ADMIN, "/newcase Second bot case"))[0]
        assert await answer_to(second_telegram, STRANGER, "hi") == ["host echo: hi"]
        listing = (await answer_to(first_telegram, ADMIN, "/cases"))[0]
        assert "First bot case" in listing and "Second bot case" in listing
        assert first_telegram.sent_to(STRANGER) == []
