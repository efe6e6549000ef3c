"""casebot behind a webhook: updates arrive by HTTP POST with the secret, and only with it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiogram import Dispatcher
from aiohttp import web
from tortoise.exceptions import OperationalError

from casebot.clock import ManualClock
from casebot.plugin import setup_casebot
from casebot.testing import BotAPIEmulator
from casebot.webhook import WEBHOOK_BODY_LIMIT, webhook_app

from .conftest import ADMIN, emulator_settings

SECRET = "s3cret-Token_1"


@asynccontextmanager
async def webhook_bot(
    telegram: BotAPIEmulator, database_url: str, clock: ManualClock, port: int
) -> AsyncIterator[tuple[Dispatcher, str]]:
    """casebot standalone behind its webhook app on a local port; yields it and its public URL."""
    settings = emulator_settings(telegram, database_url)
    bot = telegram.create_bot()
    dispatcher = Dispatcher()
    setup_casebot(dispatcher, settings, clock=clock, standalone=True)
    public = f"http://127.0.0.1:{port}"
    app = webhook_app(dispatcher, bot, path="/telegram/webhook", secret=SECRET, public_url=public)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await telegram.wait_until(lambda: telegram.webhook_url is not None)
        yield dispatcher, public
    finally:
        await runner.cleanup()
        await bot.session.close()


async def test_updates_arrive_by_webhook_and_a_wrong_secret_is_refused(
    database_url: str, clock: ManualClock, unused_tcp_port: int
) -> None:
    async with (
        BotAPIEmulator() as telegram,
        webhook_bot(telegram, database_url, clock, unused_tcp_port) as (_, public),
    ):
        assert telegram.webhook_url == f"{public}/telegram/webhook"
        telegram.user(ADMIN).send_text("/newcase By webhook")
        opened = await telegram.wait_for(ADMIN, contains="opened")
        assert "C-0001" in opened[0].text

        async with aiohttp.ClientSession() as client:
            forged = {"update_id": 999, "message": {"message_id": 1, "date": 0,
                      "chat": {"id": ADMIN, "type": "private"},
                      "from": {"id": ADMIN, "is_bot": False, "first_name": "x"},
                      "text": "/newcase Forged"}}  # fmt: skip
            headers = {"X-Telegram-Bot-Api-Secret-Token": "wrong"}
            async with client.post(f"{public}/telegram/webhook", json=forged, headers=headers) as response:
                assert response.status == 401
        await telegram.settle()
        assert not [m for m in telegram.sent_to(ADMIN) if "C-0002" in m.text]


async def test_an_oversized_body_is_refused_unread_even_with_the_secret(
    database_url: str, clock: ManualClock, unused_tcp_port: int
) -> None:
    async with (
        BotAPIEmulator() as telegram,
        webhook_bot(telegram, database_url, clock, unused_tcp_port) as (_, public),
        aiohttp.ClientSession() as client,
    ):
        huge = {"update_id": 998, "message": {"message_id": 1, "date": 0,
                "chat": {"id": ADMIN, "type": "private"},
                "from": {"id": ADMIN, "is_bot": False, "first_name": "x"},
                "text": "/newcase " + "x" * WEBHOOK_BODY_LIMIT}}  # fmt: skip
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with client.post(f"{public}/telegram/webhook", json=huge, headers=headers) as response:
            assert response.status == 413
        # The bot goes on: the next update is handled.
        telegram.user(ADMIN).send_text("/newcase After the flood")
        opened = await telegram.wait_for(ADMIN, contains="opened")
        assert "C-0001" in opened[0].text


async def test_a_bug_on_one_update_is_answered_and_acknowledged_and_logs_no_text(
    database_url: str, clock: ManualClock, unused_tcp_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Delivering the same input again would only fail again: the person hears that nothing was
    saved, the update is acknowledged (200), the admins get one alert however often it happens,
    and the log has the traceback but not what the person wrote."""
    async with (
        BotAPIEmulator() as telegram,
        webhook_bot(telegram, database_url, clock, unused_tcp_port) as (dispatcher, _),
    ):
        services = dispatcher["casebot"].runtime.services

        async def broken(*args: object, **kwargs: object) -> None:
            raise ValueError(f"{args[-1]!r} broke a handler")  # the message quotes what was typed

        services.cases.open_case = broken
        for _ in range(2):
            before = len(telegram.sent_to(ADMIN))
            telegram.user(ADMIN).send_text("/newcase PRIVATE-LABEL-TEXT")
            answer = await telegram.wait_for(ADMIN, after=before, contains="Something went wrong")
            assert answer[0].plain_text.startswith("⚠️ Something went wrong on our side and nothing was saved")
        await telegram.settle()
        assert all(delivery.ok for delivery in telegram.webhook_deliveries)
        alerts = [m for m in telegram.sent_to(ADMIN) if "casebot failed on an update" in m.plain_text]
        assert len(alerts) == 1 and "ValueError" in alerts[0].plain_text
        assert "PRIVATE-LABEL-TEXT" not in alerts[0].plain_text
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "ValueError" in logged and "open_case" in logged
    assert "PRIVATE-LABEL-TEXT" not in logged


async def test_a_database_failure_leaves_the_update_for_telegram_to_deliver_again(
    database_url: str, clock: ManualClock, unused_tcp_port: int
) -> None:
    async with (
        BotAPIEmulator() as telegram,
        webhook_bot(telegram, database_url, clock, unused_tcp_port) as (dispatcher, _),
    ):
        services = dispatcher["casebot"].runtime.services
        real = services.views.list_cases
        failures = [1]

        async def database_gone(*args: object, **kwargs: object) -> object:
            if failures:
                failures.pop()
                raise OperationalError("connection lost") from ConnectionResetError()
            return await real(*args, **kwargs)

        services.views.list_cases = database_gone
        telegram.user(ADMIN).send_text("/cases")
        await telegram.wait_for(ADMIN, contains="cannot reach my records")
        await telegram.wait_for(ADMIN, contains="<b>Cases</b>")  # delivered again, and answered this time
        await telegram.wait_until(lambda: telegram.webhook_deliveries[-1].ok)
        assert [delivery.status for delivery in telegram.webhook_deliveries][-2:] == [500, 200]
