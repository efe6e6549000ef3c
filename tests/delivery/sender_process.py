"""One outbox sender in its own process, draining until it is killed (the SIGKILL test runs it).

python tests/delivery/sender_process.py DATABASE_URL API_BASE_URL TOKEN [--rate R] [--concurrency N]
    [--per-chat-interval SECONDS] [--compose notices|paragraphs]
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from composing import notice_composer, paragraphs_composer  # this script's folder is on sys.path

from casebot.clock import SystemClock
from casebot.db.database import Database
from casebot.delivery import OutboxSender, SendLimits
from casebot.rendering import Renderer


async def main(
    database_url: str,
    api: str,
    token: str,
    rate: float,
    concurrency: int,
    per_chat_interval: float,
    compose: str,
) -> None:
    database = Database(database_url)
    await database.open(apply_migrations=False)
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api)))
    limits = SendLimits(
        rate=rate, per_chat_interval=per_chat_interval, group_per_minute=20, concurrency=concurrency
    )
    composer = paragraphs_composer() if compose == "paragraphs" else notice_composer(Renderer())
    sender = OutboxSender(bot, database, SystemClock(), compose=composer, limits=limits, poll_interval=0.1)
    sys.stdout.write("draining\n")
    sys.stdout.flush()
    sender.start()
    await asyncio.Event().wait()  # until SIGKILL


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("api")
    parser.add_argument("token")
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--per-chat-interval", type=float, default=1.0)
    parser.add_argument("--compose", choices=("notices", "paragraphs"), default="notices")
    args = parser.parse_args()
    asyncio.run(
        main(
            args.database_url,
            args.api,
            args.token,
            args.rate,
            args.concurrency,
            args.per_chat_interval,
            args.compose,
        )
    )
