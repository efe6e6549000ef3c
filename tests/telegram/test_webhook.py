"""casebot behind a webhook: updates arrive by HTTP POST with the secret, and only with it."""

from __future__ import annotations

import aiohttp
from aiogram import Dispatcher
from aiohttp import web

from casebot.clock import ManualClock
from casebot.plugin import setup_casebot
from casebot.testing import BotAPIEmulator
from casebot.webhook import webhook_app

from .conftest import ADMIN, emulator_settings

SECRET = "s3cret-Token_1"


async def test_updates_arrive_by_webhook_and_a_wrong_secret_is_refused(
    database_url: str, clock: ManualClock, unused_tcp_port: int
) -> None:
    async with BotAPIEmulator() as telegram:
        settings = emulator_settings(telegram, database_url)
        bot = telegram.create_bot()
        dispatcher = Dispatcher()
        setup_casebot(dispatcher, settings, clock=clock, standalone=True)
        public = f"http://127.0.0.1:{unused_tcp_port}"
        app = webhook_app(dispatcher, bot, path="/telegram/webhook", secret=SECRET, public_url=public)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", unused_tcp_port).start()
        try:
            await telegram.wait_until(lambda: telegram.webhook_url is not None)
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
                async with client.post(
                    f"{public}/telegram/webhook", json=forged, headers=headers
                ) as response:
                    assert response.status == 401
            await telegram.settle()
            assert not [m for m in telegram.sent_to(ADMIN) if "C-0002" in m.text]
        finally:
            await runner.cleanup()
            await bot.session.close()
