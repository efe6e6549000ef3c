"""casebot inside a host bot: a good guest. It answers its own commands and people, touches its database
for nothing else, and the host keeps working whatever casebot's state."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest
from aiogram import Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.filters import Command, CommandStart
from aiogram.types import (
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from casebot.clock import ManualClock
from casebot.db.models import Participant
from casebot.plugin import setup_casebot
from casebot.testing import BotAPIEmulator

from .conftest import ADMIN, emulator_settings
from .test_case_journey import invite_token, join

STRANGER, FAMILY = 4000, 3001
HOST_SAW_MEMBERSHIP: list[tuple[int, str]] = []


def host_commands() -> Router:
    """The host's own commands: /start, a /note of its own, and a button of its own."""
    router = Router(name="host.commands")

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("host: welcome")

    @router.message(Command("note"))
    async def note(message: Message) -> None:
        await message.answer("host: noted")

    @router.message(Command("menu"))
    async def menu(message: Message) -> None:
        button = InlineKeyboardButton(text="Pizza", callback_data="host:pizza")
        await message.answer("host: menu", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]))

    @router.callback_query(F.data == "host:pizza")
    async def pizza(query: CallbackQuery) -> None:
        await query.answer("host: pizza ordered")

    @router.my_chat_member()
    async def membership(event: ChatMemberUpdated) -> None:
        HOST_SAW_MEMBERSHIP.append((event.from_user.id, event.new_chat_member.status))

    return router


def host_fallback() -> Router:
    """The host's catch-all, included last (as with any router)."""
    router = Router(name="host.fallback")

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"host echo: {message.text}")

    return router


@asynccontextmanager
async def running_host(
    telegram: BotAPIEmulator,
    database_url: str,
    clock: ManualClock,
    *,
    parse_mode: ParseMode | None = None,
) -> AsyncIterator[Dispatcher]:
    settings = emulator_settings(telegram, database_url)
    bot = telegram.create_bot(default=DefaultBotProperties(parse_mode=parse_mode))
    dispatcher = Dispatcher()
    # casebot is included first, like any router that must see /start deep links; it claims only
    # its own updates, so the host's commands and catch-all after it see everything else.
    setup_casebot(dispatcher, settings, clock=clock, manage_menus=False)
    dispatcher.include_routers(host_commands(), host_fallback())
    started = asyncio.Event()
    dispatcher.startup.register(started.set)
    polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False, polling_timeout=1))
    await asyncio.wait_for(started.wait(), 30)
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
    await telegram.wait_for(user, after=before, timeout=20)
    await telegram.settle()
    return [m.plain_text for m in telegram.sent_to(user)[before:]]


@contextmanager
def counted_queries() -> Iterator[list[str]]:
    """Every SQL statement the process runs meanwhile (tortoise logs each at DEBUG)."""
    seen: list[str] = []

    class Counter(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage()[:40])

    logger = logging.getLogger("tortoise.db_client")
    handler, level = Counter(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield seen
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def test_casebot_answers_its_own_and_leaves_the_rest_to_the_host(
    database_url: str, clock: ManualClock
) -> None:
    async with BotAPIEmulator() as telegram, running_host(telegram, database_url, clock):
        opened = await answer_to(telegram, ADMIN, "/newcase Plugin case")
        assert len(opened) == 1 and "C-0001" in opened[0] and "host" not in opened[0]
        await join(telegram, FAMILY, invite_token(telegram.sent_to(ADMIN)[-1].text))
        assert await answer_to(telegram, STRANGER, "hello") == ["host echo: hello"]
        assert await answer_to(telegram, STRANGER, "/start") == ["host: welcome"]
        assert await answer_to(telegram, STRANGER, "/start host-campaign") == ["host: welcome"]
        # A stranger's link that is no valid invite is the host's to answer, and leaves no trace.
        assert await answer_to(telegram, STRANGER, "/start cb_not-a-real-invite-token-000") == [
            "host: welcome"
        ]
        # A command casebot shares a name with is the host's for people casebot does not serve.
        assert await answer_to(telegram, STRANGER, "/note lunch") == ["host: noted"]
        assert await answer_to(telegram, STRANGER, "/newcase X") == ["host echo: /newcase X"]
        assert await answer_to(telegram, FAMILY, "/note mine") == ["host: noted"]
        # A coordinator's plain text is not casebot's business.
        assert await answer_to(telegram, ADMIN, "lunch?") == ["host echo: lunch?"]
        # A family member's own command is casebot's.
        status = await answer_to(telegram, FAMILY, "/status")
        assert "C-0001" in status[0] and "host" not in status[0]


async def test_a_family_blocking_and_unblocking_the_bot_is_recorded_and_still_reaches_the_host(
    database_url: str, clock: ManualClock
) -> None:
    HOST_SAW_MEMBERSHIP.clear()
    async with BotAPIEmulator() as telegram, running_host(telegram, database_url, clock) as dispatcher:
        dispatcher["casebot"].runtime.database.bind_for_task()
        await answer_to(telegram, ADMIN, "/newcase Blocking")
        await join(telegram, FAMILY, invite_token(telegram.sent_to(ADMIN)[-1].text))
        telegram.block(FAMILY, notify=True)
        await telegram.wait_until(lambda: (FAMILY, "kicked") in HOST_SAW_MEMBERSHIP)
        await telegram.settle()
        assert (await Participant.get(telegram_user_id=FAMILY)).blocked
        telegram.unblock(FAMILY, notify=True)
        await telegram.wait_until(lambda: (FAMILY, "member") in HOST_SAW_MEMBERSHIP)
        await telegram.settle()
        assert not (await Participant.get(telegram_user_id=FAMILY)).blocked


async def test_casebot_reads_its_database_only_for_its_own_updates(
    database_url: str, clock: ManualClock
) -> None:
    async with BotAPIEmulator() as telegram, running_host(telegram, database_url, clock) as dispatcher:
        await answer_to(telegram, ADMIN, "/newcase Counted")
        casebot = dispatcher["casebot"]
        assert casebot.ticker is not None
        casebot.ticker.stop()  # the sweep reads the database on its own clock; this test counts updates
        assert casebot.sender is not None
        await casebot.sender.stop()
        group = telegram.group(-100123, "Host group")
        with counted_queries() as queries:
            await answer_to(telegram, STRANGER, "hello")
            await answer_to(telegram, STRANGER, "/note x")
            menu = await answer_to(telegram, STRANGER, "/menu")
            assert menu == ["host: menu"]
            pressed = telegram.user(STRANGER).press(telegram.last(STRANGER), text="Pizza")
            await telegram.wait_until(lambda: pressed in telegram.callback_answers)
            group.send_text_as(telegram.user(ADMIN), "/newcase in a group")
            await telegram.wait_for(group)
            await telegram.settle()
            # casebot works in private chats only: the host answers its group.
            assert [m.plain_text for m in telegram.sent_to(group)] == ["host echo: /newcase in a group"]
        assert queries == []
        with counted_queries() as queries:
            await answer_to(telegram, ADMIN, "/cases")
        assert queries, "casebot's own command reads its database"


async def test_the_host_keeps_answering_while_casebots_database_is_down_and_casebot_recovers(
    tmp_path: Path, clock: ManualClock
) -> None:
    """casebot's database cannot be opened (its folder is missing; on PostgreSQL, nothing listens):
    the host starts and answers; casebot's own commands say it is unavailable; then the database
    comes back and casebot works."""
    postgres = os.environ.get("CASEBOT_TEST_DATABASE_URL", "").startswith("postgres")
    folder = tmp_path / "not-yet"
    url = "postgres://postgres@127.0.0.1:1/test" if postgres else f"sqlite://{folder / 'casebot.sqlite3'}"
    async with BotAPIEmulator() as telegram, running_host(telegram, url, clock) as dispatcher:
        assert await answer_to(telegram, STRANGER, "/start") == ["host: welcome"]
        assert await answer_to(telegram, STRANGER, "hi") == ["host echo: hi"]
        unavailable = await answer_to(telegram, ADMIN, "/newcase Nothing yet")
        assert unavailable[0] == (
            "⚠️ I cannot reach my records right now, so nothing was saved. Please try again in a few minutes."
        )
        assert "casebot failed on an update: database" in unavailable[-1]  # the admin's alert
        if postgres:
            return  # the server cannot be brought up on port 1 here; SQLite shows the recovery
        folder.mkdir()
        casebot = dispatcher["casebot"]
        await answer_to(telegram, ADMIN, "/cases")  # casebot tries its database again at once
        for _ in range(200):
            if casebot.sender is not None:
                break
            await asyncio.sleep(0.1)
        opened = await answer_to(telegram, ADMIN, "/newcase Now it works")
        assert "C-0001" in opened[0]


@pytest.mark.parametrize(
    "parse_mode", [None, ParseMode.MARKDOWN_V2], ids=["no-default", "markdown-v2-default"]
)
async def test_casebot_sets_its_own_parse_mode_whatever_the_hosts_default(
    database_url: str, clock: ManualClock, parse_mode: ParseMode | None
) -> None:
    async with (
        BotAPIEmulator() as telegram,
        running_host(telegram, database_url, clock, parse_mode=parse_mode),
    ):
        await answer_to(telegram, ADMIN, "/newcase Bold & <careful>")
        await join(telegram, FAMILY, invite_token(telegram.sent_to(ADMIN)[-1].text))
        joined_notice = await telegram.wait_for(ADMIN, contains="joined")  # from the outbox
        welcome = telegram.sent_to(FAMILY)[0]
        for message in (telegram.sent_to(ADMIN)[0], joined_notice[0], welcome):
            assert message.parse_mode == "HTML"
            assert "<b>" not in message.plain_text and "&amp;" not in message.plain_text
            assert any(entity["type"] == "bold" for entity in message.entities)
        assert "Bold & <careful>" in telegram.sent_to(ADMIN)[0].plain_text


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
        running_host(first_telegram, database_url, clock),
        running_host(second_telegram, database_url, clock),
    ):
        assert "C-0001" in (await answer_to(first_telegram, ADMIN, "/newcase First bot case"))[0]
        assert "C-0002" in (await answer_to(second_telegram, ADMIN, "/newcase Second bot case"))[0]
        assert await answer_to(second_telegram, STRANGER, "hi") == ["host echo: hi"]
        listing = (await answer_to(first_telegram, ADMIN, "/cases"))[0]
        assert "First bot case" in listing and "Second bot case" in listing
        assert first_telegram.sent_to(STRANGER) == []
