"""Outbox drain rate against the emulator enforcing Telegram's limits (1/s per chat, 30/s overall).

    python bench/outbox_drain.py [--messages 3000] [--postgres postgres://postgres@127.0.0.1:5432/postgres]

One notice for each of 3,000 chats is enqueued in a temporary SQLite database (and, with
--postgres, in a temporary database created on that server and dropped afterwards), then the
real OutboxSender at the default settings drains it through a real aiogram Bot over HTTP.
Printed: messages/s over the whole drain and over its steady middle (the 10th to 90th
percentile of sends), the 429s Telegram answered, and the totals.
Target: >= 29 messages/s sustained with zero 429s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from _postgres import create_database, drop_database  # bench/ is on sys.path when run as a script

from casebot.clock import SystemClock
from casebot.config import Settings
from casebot.db.database import Database, migrate
from casebot.db.models import OutboxMessage, OutboxStatus, Participant
from casebot.delivery import OutboxSender, SendLimits
from casebot.rendering import Renderer
from casebot.telegram.notices import notice_composer
from casebot.testing import BotAPIEmulator

FIRST_USER = 100_000


@dataclass
class Result:
    backend: str
    messages: int
    seconds: float
    overall_rate: float
    steady_rate: float
    emulator_429: int
    sender_429: int
    sent_rows: int
    dead_rows: int
    pending_rows: int
    delivered: int
    duplicates: int


async def enqueue(telegram: BotAPIEmulator, count: int, clock: SystemClock) -> None:
    now = clock.now() - timedelta(seconds=1)
    ids = range(FIRST_USER, FIRST_USER + count)
    await Participant.bulk_create(
        [
            Participant(telegram_user_id=i, chat_id=i, locale="en", timezone="Asia/Shanghai", created_at=now)
            for i in ids
        ],
        batch_size=1000,
    )
    participants = await Participant.filter(telegram_user_id__gte=FIRST_USER).only("id", "chat_id")
    await OutboxMessage.bulk_create(
        [
            OutboxMessage(
                dedupe_key=f"bench:{p.id}",
                participant_id=p.id,
                kind="member_joined",
                payload={"ref": f"B-{p.id}"},
                available_at=now,
                created_at=now,
            )
            for p in participants
        ],
        batch_size=1000,
    )
    for i in ids:
        telegram.user(i).open_chat()


async def run(backend: str, url: str, count: int) -> Result:
    await migrate(url)
    database = Database(url)
    await database.open(apply_migrations=False)
    clock = SystemClock()
    limits = SendLimits.from_settings(
        Settings(_env_file=None)
    )  # the defaults: 30/s, 1 s per chat, 8 in flight
    try:
        async with BotAPIEmulator() as telegram:
            with database.bound():
                await enqueue(telegram, count, clock)
            telegram.enforce_limits(per_chat_per_second=1, per_group_per_minute=20, global_per_second=30)
            bot = telegram.create_bot()
            sender = OutboxSender(bot, database, clock, compose=notice_composer(Renderer()), limits=limits)
            try:
                with database.bound():
                    started = time.monotonic()
                    await sender.drain()
                    seconds = time.monotonic() - started
                    statuses = {
                        status: await OutboxMessage.filter(status=status).count() for status in OutboxStatus
                    }
            finally:
                await bot.session.close()
            stamps = sorted(
                message.timestamp
                for i in range(FIRST_USER, FIRST_USER + count)
                for message in telegram.sent_to(i)
            )
            per_chat = [len(telegram.sent_to(i)) for i in range(FIRST_USER, FIRST_USER + count)]
            low, high = len(stamps) // 10, (len(stamps) * 9) // 10
            return Result(
                backend=backend,
                messages=count,
                seconds=seconds,
                overall_rate=(len(stamps) - 1) / (stamps[-1] - stamps[0]),
                steady_rate=(high - low) / (stamps[high] - stamps[low]),
                emulator_429=telegram.stats.rate_limited,
                sender_429=sender.stats.rate_limited,
                sent_rows=statuses[OutboxStatus.SENT],
                dead_rows=statuses[OutboxStatus.DEAD],
                pending_rows=statuses[OutboxStatus.PENDING],
                delivered=sum(1 for n in per_chat if n),
                duplicates=sum(n - 1 for n in per_chat if n > 1),
            )
    finally:
        await database.close()


def in_child(backend: str, url: str, messages: int) -> int:
    """Run one backend in its own process: tortoise caches each model's INSERT statement per
    connection name, not per dialect, so SQLite and PostgreSQL cannot follow each other in one."""
    command = [sys.executable, __file__, "--messages", str(messages), "--one", backend, url]
    return subprocess.run(command, check=False).returncode


def report(result: Result) -> None:
    ok = result.steady_rate >= 29 and result.emulator_429 == 0 and result.delivered == result.messages
    print(f"== {result.backend}: {result.messages} messages to {result.messages} chats")
    print(f"   drain took          {result.seconds:8.1f} s")
    print(f"   whole drain         {result.overall_rate:8.2f} messages/s")
    print(f"   steady middle       {result.steady_rate:8.2f} messages/s  (10th to 90th percentile of sends)")
    print(f"   429s from Telegram  {result.emulator_429:8d}        (sender saw {result.sender_429})")
    print(f"   delivered           {result.delivered:8d}        duplicates {result.duplicates}")
    print(f"   rows sent/dead/pending  {result.sent_rows}/{result.dead_rows}/{result.pending_rows}")
    print(f"   target >= 29 messages/s with zero 429s: {'met' if ok else 'NOT MET'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument(
        "--postgres", metavar="URL", help="a PostgreSQL server to create a temporary database on"
    )
    parser.add_argument("--one", nargs=2, metavar=("BACKEND", "DATABASE_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        backend, url = args.one
        result = asyncio.run(run(backend, url, args.messages))
        report(result)
        return 0 if result.delivered == result.messages else 1
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores", flush=True)
    failures = 0
    with tempfile.TemporaryDirectory() as folder:
        failures += in_child("sqlite", f"sqlite://{Path(folder) / 'bench.sqlite3'}", args.messages) != 0
    if args.postgres:
        url, name = asyncio.run(create_database(args.postgres, "casebot_bench_outbox"))
        try:
            failures += in_child("postgresql", url, args.messages) != 0
        finally:
            asyncio.run(drop_database(args.postgres, name))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
