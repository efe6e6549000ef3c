"""End-to-end fixtures: the emulator over HTTP, and casebot polling it through a real aiohttp session."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from pydantic import SecretStr

from casebot.clock import ManualClock
from casebot.config import Settings
from casebot.plugin import setup_casebot
from casebot.testing import BotAPIEmulator, EmulatedUser

ADMIN = 1000
COORDINATOR_B = 2002


@dataclass
class World:
    """The emulator, the running bot, and the people around it."""

    telegram: BotAPIEmulator
    dispatcher: Dispatcher
    bot: Bot
    admin: EmulatedUser


@pytest.fixture
async def telegram() -> AsyncIterator[BotAPIEmulator]:
    """The local Bot API emulator."""
    async with BotAPIEmulator() as emulator:
        yield emulator


def emulator_settings(telegram: BotAPIEmulator, database_url: str, **overrides: object) -> Settings:
    """casebot's settings against this emulator, with ADMIN as the one admin.

    The background sweep ticks once at start and then hourly: tests sweep when they mean to
    (``sweep(world)``), so that no reminder arrives in the middle of a test that takes longer than
    the default 30 s on a slow machine. The weekly digests are off unless a test turns them on
    (``digest=True``): the tests' clock starts on a Monday at 09:00 in Shanghai, the digest hour,
    and a digest would otherwise come between any two messages of a conversation.
    """
    overrides.setdefault("sweep_every", "1h")
    overrides.setdefault("digest", False)
    return Settings(
        bot_token=SecretStr(telegram.token),
        database_url=database_url,
        telegram_api_url=telegram.base_url,
        admin_ids=[ADMIN],
        **overrides,  # type: ignore[arg-type]
    )


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """Extra settings for the world; a test parametrizes this name to change them."""
    return {}


@pytest.fixture
async def world(
    telegram: BotAPIEmulator, database_url: str, clock: ManualClock, settings_overrides: dict[str, object]
) -> AsyncIterator[World]:
    """casebot standalone, on long polling against the emulator, with one admin."""
    settings = emulator_settings(telegram, database_url, **settings_overrides)
    bot = telegram.create_bot(default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    dispatcher = Dispatcher()
    setup_casebot(dispatcher, settings, clock=clock, standalone=True)
    started = asyncio.Event()
    dispatcher.startup.register(started.set)
    polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False, polling_timeout=1))
    await asyncio.wait_for(started.wait(), 20)
    try:
        # The test body reads the database through casebot's own connection.
        dispatcher["casebot"].runtime.database.bind_for_task()
        yield World(telegram, dispatcher, bot, telegram.user(ADMIN, "Admin"))
    finally:
        await dispatcher.stop_polling()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(polling, 10)
        await bot.session.close()
