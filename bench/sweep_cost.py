"""Sweep cost at 10,000 and 100,000 open cases holding the same number of due reminders.

    python bench/sweep_cost.py [--due 1000] [--repeat 3] [--postgres postgres://postgres@127.0.0.1:5432/postgres]

The sweep reads only cases whose reminder_due_at has come (an indexed column), so its time
should follow the due work, not the case count. Target: the 100k/10k time ratio <= 1.5.
Each size is swept ``--repeat`` times on the same data (the due work restored in between) and
the median is reported. With ``--postgres``, each size gets a temporary database on that server,
dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _postgres import create_database, drop_database  # bench/ is on sys.path when run as a script

from casebot.clock import ManualClock
from casebot.db.database import Database, migrate
from casebot.db.models import Case, CaseMember, ChecklistItem, OutboxMessage, Participant
from casebot.domain.checklist import DEFAULT_CHECKLIST
from casebot.domain.states import CaseState
from casebot.services import Services

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
CHUNK = 5000

DatabaseFor = Callable[[int], AbstractAsyncContextManager[str]]


async def populate(total: int, due: int) -> None:
    """``total`` open cases; ``due`` of them gathering records for 4 days with a family member."""
    opened = NOW - timedelta(days=4)
    family = await Participant.create(
        telegram_user_id=1,
        chat_id=1,
        locale="en",
        timezone="Asia/Shanghai",
        quiet_hours="",
        created_at=opened,
    )
    for start in range(0, total, CHUNK):
        rows = []
        for n in range(start, min(total, start + CHUNK)):
            is_due = n < due
            rows.append(
                Case(
                    label=f"case {n}",
                    state=CaseState.RECORDS_GATHERING if is_due else CaseState.UNDER_REVIEW,
                    created_at=opened,
                    state_changed_at=opened,
                    last_activity_at=opened if is_due else NOW,
                    reminder_due_at=NOW - timedelta(minutes=1) if is_due else NOW + timedelta(days=5),
                )
            )
        await Case.bulk_create(rows)
    due_ids = [case.id for case in await Case.filter(reminder_due_at__lte=NOW).only("id")]
    await CaseMember.bulk_create(
        [CaseMember(case_id=i, participant_id=family.id, joined_at=opened) for i in due_ids]
    )
    await ChecklistItem.bulk_create(
        [
            ChecklistItem(case_id=i, position=p, code=code, status_changed_at=opened)
            for i in due_ids
            for p, code in enumerate(DEFAULT_CHECKLIST, start=1)
        ]
    )


async def measure(url: str, total: int, due: int, repeat: int) -> tuple[float, int, int]:
    """The median time of ``repeat`` sweeps over the same due work, the cases swept, the rows queued."""
    database = Database(url)
    await database.open(apply_migrations=False)
    try:
        with database.bound():
            await populate(total, due)
            due_ids = [case.id for case in await Case.filter(reminder_due_at__lte=NOW).only("id")]
            services = Services.build(ManualClock(NOW))
            timings = []
            for _ in range(repeat):
                await OutboxMessage.all().delete()
                await Case.filter(id__in=due_ids).update(reminder_due_at=NOW - timedelta(minutes=1))
                started = time.perf_counter()
                result = await services.reminders.sweep()
                timings.append(time.perf_counter() - started)
            queued = await OutboxMessage.all().count()
    finally:
        await database.close()
    return statistics.median(timings), result.cases, queued


async def run_backend(name: str, database_for: DatabaseFor, due: int, repeat: int) -> None:
    timings = {}
    for total in (10_000, 100_000):
        async with database_for(total) as url:
            await migrate(url)
            elapsed, cases, queued = await measure(url, total, due, repeat)
        timings[total] = elapsed
        print(
            f"{name:10} {total:>7} cases  {cases:>5} due  {queued:>5} queued"
            f"  sweep {elapsed * 1000:8.1f} ms (median of {repeat})"
        )
    print(f"{name:10} ratio 100k/10k = {timings[100_000] / timings[10_000]:.2f} (target <= 1.5)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="sweeps timed per size (the median counts)")
    parser.add_argument(
        "--postgres", default=None, help="a PostgreSQL server URL to measure too (temporary databases)"
    )
    parser.add_argument("--only", choices=("sqlite", "postgres"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only is None:
        # tortoise fixes its SQL dialect per process: each backend runs in its own process.
        base = [sys.executable, __file__, "--due", str(args.due), "--repeat", str(args.repeat)]
        subprocess.run([*base, "--only", "sqlite"], check=True)
        if args.postgres:
            subprocess.run([*base, "--only", "postgres", "--postgres", args.postgres], check=True)
        return
    folder = Path(tempfile.mkdtemp(prefix="casebot-bench-"))

    @asynccontextmanager
    async def sqlite_database(total: int) -> AsyncIterator[str]:
        yield f"sqlite://{folder / f'sweep-{total}.sqlite3'}"

    @asynccontextmanager
    async def postgres_database(total: int) -> AsyncIterator[str]:
        url, name = await create_database(args.postgres, f"casebot_bench_sweep_{total}")
        try:
            yield url
        finally:
            await drop_database(args.postgres, name)

    if args.only == "sqlite":
        asyncio.run(run_backend("sqlite", sqlite_database, args.due, args.repeat))
    else:
        asyncio.run(run_backend("postgresql", postgres_database, args.due, args.repeat))


if __name__ == "__main__":
    main()
