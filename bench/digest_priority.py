"""Priority under a digest backlog: how long a state-change notice waits while thousands of digests drain.

    python bench/digest_priority.py [--digests 3000] [--notices 20] [--postgres postgres://postgres@127.0.0.1:5432/postgres]

3,000 family digests (bulk rows, priority 1, as the weekly pass builds them) are queued for 3,000 chats, and the
real OutboxSender at the default settings drains them through a real aiogram Bot to the emulator
enforcing Telegram's limits (30/s overall, 1/s per chat). While it drains, 20 state-change notices
(urgent rows) are enqueued a few seconds apart for 20 other chats: the odd ones as casebot's own
handler enqueues them (the row, then a wake of the sender), the even ones written by "another
instance" (the row only: the sender must find it by itself). For each notice the time from its
commit to Telegram receiving it is measured.
Target: p99 <= 2 s over the 20 notices; the digests still drain at >= 29 msg/s with zero 429s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from _postgres import create_database, drop_database  # bench/ is on sys.path when run as a script

from casebot.clock import SystemClock
from casebot.config import Settings
from casebot.db.database import Database, migrate
from casebot.db.models import OutboxMessage, OutboxStatus, Participant
from casebot.delivery import OutboxSender, SendLimits
from casebot.delivery.store import BULK
from casebot.domain.checklist import DEFAULT_CHECKLIST, ItemStatus
from casebot.domain.digest import FAMILY_DIGEST, CaseDigestFacts, ItemFact, QuestionFact, family_digest
from casebot.domain.questions import Direction
from casebot.domain.reminders import Policy
from casebot.domain.states import CaseState
from casebot.rendering import Renderer
from casebot.telegram.notices import notice_composer
from casebot.testing import BotAPIEmulator

FIRST_USER = 200_000
NOTICE_USER = 900_000


@dataclass
class Result:
    backend: str
    digests: int
    waits: list[float]
    digest_rate: float
    emulator_429: int
    pending: int
    duplicates: int


async def people(telegram: BotAPIEmulator, first: int, count: int, clock: SystemClock) -> list[Participant]:
    now = clock.now()
    await Participant.bulk_create(
        [
            Participant(telegram_user_id=i, chat_id=i, locale="en", timezone="Asia/Shanghai", created_at=now)
            for i in range(first, first + count)
        ],
        batch_size=1000,
    )
    for i in range(first, first + count):
        telegram.user(i).open_chat()
    return list(
        await Participant.filter(telegram_user_id__gte=first, telegram_user_id__lt=first + count).order_by(
            "id"
        )
    )


def digest_payload(now: datetime) -> dict[str, Any]:
    """A family's weekly digest as the weekly pass builds it: a case gathering records with the
    default checklist half received and two questions open."""
    opened = now - timedelta(days=10)
    items = tuple(
        ItemFact(n, code, "", ItemStatus.RECEIVED if n % 2 else ItemStatus.MISSING, opened)
        for n, code in enumerate(DEFAULT_CHECKLIST, start=1)
    )
    questions = (
        QuestionFact(1, Direction.TO_FAMILY, "Please send the pathology report.", now - timedelta(days=2)),
        QuestionFact(2, Direction.TO_HOSPITAL, "Which department will review the case?", opened),
    )
    facts = CaseDigestFacts(
        case_id=1, state=CaseState.RECORDS_GATHERING, created_at=opened, state_changed_at=opened,
        last_activity_at=now, items=items, questions=questions, members=1,
    )  # fmt: skip
    payload = family_digest([facts], Policy(), now, "2026-W48")
    assert payload is not None
    return payload


async def queue_digests(recipients: list[Participant], clock: SystemClock) -> None:
    now = clock.now() - timedelta(seconds=1)
    payload = digest_payload(now)
    await OutboxMessage.bulk_create(
        [
            OutboxMessage(
                dedupe_key=f"digest:{p.id}:bench",
                participant_id=p.id,
                kind=FAMILY_DIGEST,
                payload=payload,
                priority=BULK,
                available_at=now,
                created_at=now,
            )
            for p in recipients
        ],
        batch_size=1000,
    )


async def notices(
    sender: OutboxSender, recipients: list[Participant], clock: SystemClock, gap: float
) -> dict[int, float]:
    """Enqueue one urgent notice per recipient, ``gap`` seconds apart; return when each was committed."""
    committed: dict[int, float] = {}
    await asyncio.sleep(gap)
    for index, person in enumerate(recipients):
        now = clock.now()
        await OutboxMessage.create(
            dedupe_key=f"state_changed:bench:{person.id}",
            participant_id=person.id,
            kind="member_joined",
            payload={"ref": f"URGENT-{index}"},
            available_at=now,
            created_at=now,
        )
        committed[person.chat_id] = time.monotonic()
        if index % 2 == 0:
            sender.wake()  # casebot's own handler wakes its sender; another instance's cannot
        await asyncio.sleep(gap)
    return committed


async def run(backend: str, url: str, digests: int, count: int) -> Result:
    await migrate(url)
    database = Database(url)
    await database.open(apply_migrations=False)
    clock = SystemClock()
    limits = SendLimits.from_settings(Settings(_env_file=None))
    try:
        async with BotAPIEmulator() as telegram:
            with database.bound():
                readers = await people(telegram, FIRST_USER, digests, clock)
                waiting = await people(telegram, NOTICE_USER, count, clock)
                await queue_digests(readers, clock)
            telegram.enforce_limits(per_chat_per_second=1, per_group_per_minute=20, global_per_second=30)
            bot = telegram.create_bot()
            sender = OutboxSender(bot, database, clock, compose=notice_composer(Renderer()), limits=limits)
            # Spread the notices over the first two thirds of the drain (it takes digests / 30 s).
            gap = (digests / 30) * 2 / 3 / (count + 1)
            try:
                sender.start()
                with database.bound():
                    committed = await notices(sender, waiting, clock, gap)
                    for _ in range(int(digests / 10) + 120):  # the drain takes digests / 30 s
                        if not await OutboxMessage.filter(status=OutboxStatus.PENDING).exists():
                            break
                        await asyncio.sleep(1)
                    pending = await OutboxMessage.filter(status=OutboxStatus.PENDING).count()
                await sender.stop()
            finally:
                await bot.session.close()
            waits = [telegram.sent_to(chat)[0].timestamp - at for chat, at in committed.items()]
            stamps = sorted(m.timestamp for p in readers for m in telegram.sent_to(p.chat_id))
            per_chat = [len(telegram.sent_to(p.chat_id)) for p in [*readers, *waiting]]
            return Result(
                backend=backend,
                digests=digests,
                waits=waits,
                digest_rate=(len(stamps) - 1) / (stamps[-1] - stamps[0]),
                emulator_429=telegram.stats.rate_limited,
                pending=pending,
                duplicates=sum(n - 1 for n in per_chat if n > 1),
            )
    finally:
        await database.close()


def report(result: Result) -> bool:
    waits = sorted(result.waits)
    p50 = statistics.median(waits)
    p99 = waits[min(len(waits) - 1, round(0.99 * (len(waits) - 1)))]
    woken = sorted(result.waits[0::2])
    found = sorted(result.waits[1::2])
    ok = p99 <= 2.0 and result.emulator_429 == 0 and result.pending == 0 and result.duplicates == 0
    print(
        f"== {result.backend}: {result.digests} digests queued, {len(waits)} state-change notices during the drain"
    )
    print(f"   notice wait p50     {p50:8.2f} s")
    print(f"   notice wait p99     {p99:8.2f} s   (max {waits[-1]:.2f} s)")
    print(
        f"   same instance (wake)   max {woken[-1]:.2f} s;  another instance (found)  max {found[-1]:.2f} s"
    )
    print(f"   digests drained at  {result.digest_rate:8.2f} messages/s")
    print(
        f"   429s from Telegram  {result.emulator_429:8d}    duplicates {result.duplicates}    left pending {result.pending}"
    )
    print(f"   target p99 <= 2 s with zero 429s: {'met' if ok else 'NOT MET'}")
    return ok


def in_child(backend: str, url: str, args: argparse.Namespace) -> int:
    """One backend per process (tortoise keeps one SQL dialect per process)."""
    command = [sys.executable, __file__, "--digests", str(args.digests), "--notices", str(args.notices)]
    return subprocess.run([*command, "--one", backend, url], check=False).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--digests", type=int, default=3000)
    parser.add_argument("--notices", type=int, default=20)
    parser.add_argument(
        "--postgres", metavar="URL", help="a PostgreSQL server to create a temporary database on"
    )
    parser.add_argument("--one", nargs=2, metavar=("BACKEND", "DATABASE_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        backend, url = args.one
        return 0 if report(asyncio.run(run(backend, url, args.digests, args.notices))) else 1
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores", flush=True)
    failures = 0
    with tempfile.TemporaryDirectory() as folder:
        failures += in_child("sqlite", f"sqlite://{Path(folder) / 'bench.sqlite3'}", args) != 0
    if args.postgres:
        url, name = asyncio.run(create_database(args.postgres, "casebot_bench_priority"))
        try:
            failures += in_child("postgresql", url, args) != 0
        finally:
            asyncio.run(drop_database(args.postgres, name))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
