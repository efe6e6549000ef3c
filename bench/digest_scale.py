"""The weekly digests at scale: queries, rendering rate, the pipeline picture, and a running bot's memory.

    python bench/digest_scale.py [--cases 10000] [--big 100000] [--trace]
                                 [--postgres postgres://postgres@127.0.0.1:5432/postgres]

Data, seeded in bulk and not measured: open cases spread over the five open states with a realistic
time in each, each with one family member (its own Telegram id; en, ru and zh mixed; eight time
zones), the default checklist (some items received) and the ten standard questions (some answered,
with the coordinator's verdict), now and then a question of the hospital to the family, a hospital
route once the hospital is chosen, the written opinion (and its translation) where the case has one,
and a state-change audit event for the one case in ten that moved this week; 50 coordinators hold the
cases between them. Everyone's digest is due at their local Monday 09:00 and the clock stands at the
last of those moments, so one weekly pass queues a digest for every person.

On ``--cases`` (10,000) cases:
1. queries per 1,000 digests while the weekly pass (DigestService.run_due) runs, counting every
   statement sent through the tortoise client and its transaction wrappers (execute_query,
   execute_insert, execute_many, execute_script, execute_query_dict; BEGIN and COMMIT go around
   them and are counted apart); target <= 10;
2. digests rendered per second on one core (time.process_time): each queued row's payload rendered
   with the Renderer in its recipient's locale and zone, split into parts as the outbox composer
   does (a coordinator's first part is the picture's caption); target >= 2,000/s;
3. the pipeline picture: time per picture (digest_picture(...).make()) over the 50 coordinators'
   digests, the first (which imports Pillow and loads the font) reported on its own.
On ``--big`` (100,000) cases, seeded by one process, then in a fresh process casebot is built as
``casebot run`` builds it (setup_casebot on a Dispatcher, the settings pointing at the Bot API
emulator, which runs in a process of its own), its database opened, one tick of its sweep ticker
run at the digest moment (the reminder sweep, then the weekly pass over every case), and every
queued row claimed in the sender's batches and composed as the sender would (rendered, and the
coordinators' pictures drawn), without sending:
4. VmRSS and VmHWM (the peak) of that process from /proc/self/status, after each stage; target
   <= 150 MB. Over the target, ``--trace`` runs the weekly pass again under tracemalloc in the same
   process and prints what Python held at its largest (at 100,000 cases that takes 15 to 20 minutes).

Each backend runs in its own processes (tortoise keeps one SQL dialect per process): a temporary
SQLite file, and with --postgres temporary databases created on that server and dropped afterwards.
Figures 1 to 3 are measured one backend after the other; the two backends' runs of figure 4 (a
memory figure) go side by side, so that the whole benchmark takes about ten minutes on two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

from _postgres import create_database, drop_database  # bench/ is on sys.path when run as a script

from casebot.clock import ManualClock
from casebot.db.database import Database, migrate
from casebot.db.models import (
    AuditEvent,
    Case,
    CaseFile,
    CaseMember,
    ChecklistItem,
    HospitalRoute,
    OutboxMessage,
    OutboxStatus,
    Participant,
    Question,
)
from casebot.domain.checklist import DEFAULT_CHECKLIST, ItemStatus
from casebot.domain.digest import STAFF_DIGEST
from casebot.domain.questions import STANDARD_HOSPITAL_QUESTIONS, Direction
from casebot.domain.roles import Role
from casebot.domain.states import CaseState

if TYPE_CHECKING:
    from casebot.rendering import Renderer

MONDAY = date(2026, 11, 23)
ZONES = (
    "Asia/Shanghai",
    "Europe/Moscow",
    "Asia/Almaty",
    "Asia/Tashkent",
    "Asia/Novosibirsk",
    "Asia/Vladivostok",
    "Europe/Berlin",
    "Europe/London",
)
# Everyone's digest moment: Monday 09:00 in their own zone. The clock stands at the last of them.
MOMENTS = {zone: datetime.combine(MONDAY, clock_time(9, 0), ZoneInfo(zone)).astimezone(UTC) for zone in ZONES}
NOW = max(MOMENTS.values())
LOCALES = ("en", "ru", "zh")
LOCALE_WEIGHTS = (40, 35, 25)
STATES = (
    CaseState.RECORDS_GATHERING,
    CaseState.SENT,
    CaseState.UNDER_REVIEW,
    CaseState.OPINION_RECEIVED,
    CaseState.HOME_FOLLOW_UP,
)
STATE_WEIGHTS = (35, 15, 20, 10, 20)
# Where a case that moved this week came from.
CAME_FROM = {
    CaseState.RECORDS_GATHERING: CaseState.SENT,  # the hospital asked for more records
    CaseState.SENT: CaseState.RECORDS_GATHERING,
    CaseState.UNDER_REVIEW: CaseState.SENT,
    CaseState.OPINION_RECEIVED: CaseState.UNDER_REVIEW,
    CaseState.HOME_FOLLOW_UP: CaseState.OPINION_RECEIVED,
}
COORDINATORS = 50
FIRST_COORDINATOR = 1_000
FIRST_FAMILY = 1_000_000
CHUNK = 5000
MB = 1024 * 1024
TARGET_QUERIES = 10
TARGET_RATE = 2000
TARGET_RSS_MB = 150
DAY = timedelta(days=1)


# --- seeding (not measured) -----------------------------------------------------------------------


# Days a case spends in each state before the next, and (for its current state) up to now.
PHASES = {
    CaseState.RECORDS_GATHERING: (5, 40),
    CaseState.SENT: (2, 21),
    CaseState.UNDER_REVIEW: (7, 30),
    CaseState.OPINION_RECEIVED: (3, 21),
    CaseState.HOME_FOLLOW_UP: (7, 90),
}


@dataclass(frozen=True, slots=True)
class Shape:
    """What one seeded case looks like, drawn before its rows exist."""

    state: CaseState
    created_at: datetime
    state_changed_at: datetime
    moved: bool
    hospital_set_at: datetime | None
    translation: str | None


def draw_case(rng: random.Random) -> Shape:
    """A case's timeline: in its state for a while (one in ten entered it this week), and before
    that the earlier states for a realistic time each; the hospital chosen while gathering records."""
    state = rng.choices(STATES, STATE_WEIGHTS)[0]
    moved = rng.random() < 0.1
    high = PHASES[state][1]
    if moved:
        changed = NOW - timedelta(hours=rng.randint(1, 160))
    else:
        changed = NOW - timedelta(days=rng.randint(7, max(8, high)), hours=rng.randint(0, 23))
    moment = changed
    hospital = None
    for earlier in STATES[: STATES.index(state)][::-1]:
        moment -= timedelta(days=rng.randint(*PHASES[earlier]), hours=rng.randint(0, 23))
        if earlier == CaseState.SENT:
            hospital = moment - timedelta(days=rng.randint(0, 5))
    if state == CaseState.SENT:
        hospital = changed - timedelta(days=rng.randint(0, 5))
    created = moment if state != CaseState.RECORDS_GATHERING else changed
    if state == CaseState.RECORDS_GATHERING and moved:  # the hospital asked for more records
        created = changed - timedelta(days=rng.randint(10, 40))
        hospital = created + timedelta(days=rng.randint(2, 8))
    elif state == CaseState.RECORDS_GATHERING and rng.random() < 0.3:
        hospital = created + (changed - created) / 2 if changed > created else changed
    hospital = min(hospital, changed) if hospital else None
    created = min(created, hospital) if hospital else created
    translation = None
    if state in (CaseState.OPINION_RECEIVED, CaseState.HOME_FOLLOW_UP):
        translation = "sent" if rng.random() < 0.6 else "pending"
    return Shape(state, created, changed, moved, hospital, translation)


async def seed(total: int, rng: random.Random) -> None:
    """``total`` open cases in the shape the module docstring describes, in chunks of bulk inserts."""
    started = NOW - DAY * 200
    await Participant.bulk_create(
        [
            Participant(
                telegram_user_id=FIRST_COORDINATOR + n,
                chat_id=FIRST_COORDINATOR + n,
                role=Role.COORDINATOR,
                locale=LOCALES[n % len(LOCALES)],
                timezone=ZONES[n % len(ZONES)],
                created_at=started,
                next_digest_at=MOMENTS[ZONES[n % len(ZONES)]],
            )
            for n in range(COORDINATORS)
        ]
    )
    staff = list(await Participant.filter(role=Role.COORDINATOR).order_by("id").values_list("id", flat=True))
    last_case = 0
    for first in range(0, total, CHUNK):
        count = min(total, first + CHUNK) - first
        zones = [rng.choice(ZONES) for _ in range(count)]
        await Participant.bulk_create(
            [
                Participant(
                    telegram_user_id=FIRST_FAMILY + first + n,
                    chat_id=FIRST_FAMILY + first + n,
                    locale=rng.choices(LOCALES, LOCALE_WEIGHTS)[0],
                    timezone=zones[n],
                    quiet_hours=None if n % 3 else "",
                    created_at=started,
                    next_digest_at=MOMENTS[zones[n]],
                )
                for n in range(count)
            ]
        )
        people = list(
            await Participant.filter(telegram_user_id__gte=FIRST_FAMILY + first)
            .order_by("id")
            .values_list("id", flat=True)
        )
        shapes = [draw_case(rng) for _ in range(count)]
        await Case.bulk_create(
            [
                Case(
                    label=f"Case {first + n}",
                    coordinator_id=staff[(first + n) % COORDINATORS],
                    state=shape.state,
                    created_at=shape.created_at,
                    state_changed_at=shape.state_changed_at,
                    last_activity_at=max(shape.state_changed_at, NOW - DAY * rng.randint(0, 25)),
                    records_activity_at=max(shape.created_at, NOW - DAY * rng.randint(0, 12)),
                    hospital=f"Hospital {rng.randint(1, 30)}" if shape.hospital_set_at else None,
                    department="Oncology" if shape.hospital_set_at else None,
                    hospital_set_at=shape.hospital_set_at,
                    reminder_due_at=NOW + DAY * rng.randint(1, 5),
                    review_sla_days=rng.randint(10, 20) if rng.random() < 0.2 else None,
                    home_doctor="Dr Home, City Clinic"
                    if shape.state == CaseState.HOME_FOLLOW_UP or rng.random() < 0.1
                    else None,
                    translation_status=shape.translation,
                )
                for n, shape in enumerate(shapes)
            ]
        )
        cases = cast(
            list[int], await Case.filter(id__gt=last_case).order_by("id").values_list("id", flat=True)
        )
        last_case = cases[-1]
        await CaseMember.bulk_create(
            [
                CaseMember(case_id=c, participant_id=p, joined_at=shape.created_at)
                for c, p, shape in zip(cases, people, shapes, strict=True)
            ]
        )
        await ChecklistItem.bulk_create(
            [item for c, shape in zip(cases, shapes, strict=True) for item in checklist(c, shape, rng)]
        )
        await Question.bulk_create(
            [q for c, shape in zip(cases, shapes, strict=True) for q in questions(c, shape, rng)]
        )
        await HospitalRoute.bulk_create(
            [
                HospitalRoute(
                    case_id=c,
                    position=1,
                    hospital="Hospital",
                    department="Oncology",
                    created_at=shape.hospital_set_at,
                    outcome=None if shape.state in (CaseState.RECORDS_GATHERING, CaseState.SENT) else "accepted",
                    outcome_at=None if shape.state in (CaseState.RECORDS_GATHERING, CaseState.SENT) else shape.hospital_set_at + DAY,
                )
                for c, shape in zip(cases, shapes, strict=True)
                if shape.hospital_set_at is not None
            ]
        )  # fmt: skip
        files = [
            CaseFile(
                case_id=c,
                sender_id=staff[c % COORDINATORS],
                purpose=purpose,
                kind="document",
                telegram_file_id=f"file-{c}-{purpose}",
                file_unique_id=f"unique-{c}-{purpose}",
                created_at=shape.state_changed_at,
                confirmed_at=shape.state_changed_at + DAY if rng.random() < 0.7 else None,
            )
            for c, shape in zip(cases, shapes, strict=True)
            if shape.translation is not None
            for purpose in (("opinion", "translation") if shape.translation == "sent" else ("opinion",))
        ]
        await CaseFile.bulk_create(files)
        await AuditEvent.bulk_create(
            [
                AuditEvent(
                    case_id=c,
                    actor_id=staff[(c - 1) % COORDINATORS],
                    actor_role=Role.COORDINATOR.value,
                    action="state_changed",
                    from_value=CAME_FROM[shape.state].value,
                    to_value=shape.state.value,
                    created_at=shape.state_changed_at,
                )
                for c, shape in zip(cases, shapes, strict=True)
                if shape.moved
            ]
        )


def checklist(case_id: int, shape: Shape, rng: random.Random) -> list[ChecklistItem]:
    """The default items: some received while gathering records, all but a waived one later."""
    if shape.state == CaseState.RECORDS_GATHERING:
        received = set(rng.sample(range(len(DEFAULT_CHECKLIST)), rng.randint(0, 6)))
    else:
        received = set(range(len(DEFAULT_CHECKLIST))) - {rng.randrange(12)}  # now and then one waived
    items = []
    for n, code in enumerate(DEFAULT_CHECKLIST):
        status = ItemStatus.RECEIVED if n in received else ItemStatus.MISSING
        if status == ItemStatus.MISSING and shape.state != CaseState.RECORDS_GATHERING:
            status = ItemStatus.WAIVED
        changed = shape.created_at
        if status != ItemStatus.MISSING:
            changed += (NOW - shape.created_at) * rng.random()
        items.append(
            ChecklistItem(
                case_id=case_id,
                position=n + 1,
                code=code,
                status=status,
                waive_reason="not available" if status == ItemStatus.WAIVED else None,
                status_changed_at=changed,
            )
        )
    return items


def questions(case_id: int, shape: Shape, rng: random.Random) -> list[Question]:
    """The standard questions to the hospital, more of them answered the further the case is;
    now and then a question of the hospital to the family."""
    if shape.hospital_set_at is None:
        answered = 0
    else:
        answered = {
            CaseState.RECORDS_GATHERING: rng.randint(0, 3),
            CaseState.SENT: rng.randint(3, 8),
        }.get(shape.state, rng.randint(8, 10))
    since = shape.hospital_set_at or shape.created_at
    rows = []
    for n, standard in enumerate(STANDARD_HOSPITAL_QUESTIONS, start=1):
        done = n <= answered
        at = since + (NOW - since) * rng.random() if done else None
        rows.append(
            Question(
                case_id=case_id,
                number=n,
                direction=Direction.TO_HOSPITAL,
                topic=standard.topic,
                text=standard.text,
                created_at=shape.created_at,
                answer="The hospital answered." if done else None,
                answered_at=at,
                verdict=("ok" if rng.random() < 0.9 else "concern") if done else None,
            )
        )
    if rng.random() < 0.15:
        done = rng.random() < 0.5
        rows.append(
            Question(
                case_id=case_id,
                number=len(rows) + 1,
                direction=Direction.TO_FAMILY,
                text="Please send the pathology report with the block numbers.",
                created_at=NOW - DAY * rng.randint(1, 10),
                answer="Sent yesterday." if done else None,
                answered_at=NOW - timedelta(hours=rng.randint(1, 20)) if done else None,
            )
        )
    return rows


async def seed_database(url: str, total: int) -> None:
    """A fresh database (migrated) with ``total`` cases; prints how long it took (not measured)."""
    await migrate(url)
    database = Database(url)
    await database.open(apply_migrations=False)
    started = time.perf_counter()
    try:
        with database.bound():
            await seed(total, random.Random(9))
            people = await Participant.all().count()
    finally:
        await database.close()
    print(
        f"   seeded {total:,} cases and {people:,} participants in {time.perf_counter() - started:.0f} s"
        " (not measured)",
        flush=True,
    )


# --- 1. queries -------------------------------------------------------------------------------------


STATEMENT_METHODS = (
    "execute_query",
    "execute_insert",
    "execute_many",
    "execute_script",
    "execute_query_dict",
)


@contextmanager
def counted_statements(connection: Any) -> Iterator[Counter[str]]:
    """Every statement the tortoise client of ``connection`` (and its transaction wrappers) sends
    while the block runs, counted once however the client's methods call each other; and the
    transactions begun (their BEGIN and COMMIT do not go through execute_*)."""
    counts: Counter[str] = Counter()
    depth: contextvars.ContextVar[int] = contextvars.ContextVar("depth", default=0)

    def counting(original: Any) -> Any:
        async def statement(self: Any, *args: Any, **kw: Any) -> Any:
            if depth.get() == 0:
                counts["statements"] += 1
            token = depth.set(depth.get() + 1)
            try:
                return await original(self, *args, **kw)
            finally:
                depth.reset(token)

        return statement

    def beginning(original: Any) -> Any:
        async def begin(self: Any) -> Any:
            counts["transactions"] += 1
            return await original(self)

        return begin

    client = type(connection)
    module = sys.modules[client.__module__]
    classes = {c for c in vars(module).values() if isinstance(c, type) and issubclass(c, client)}
    originals = {
        (cls, name): vars(cls)[name]
        for cls in classes
        for name in (*STATEMENT_METHODS, "begin")
        if name in vars(cls)
    }
    for (cls, name), original in originals.items():
        setattr(cls, name, beginning(original) if name == "begin" else counting(original))
    try:
        yield counts
    finally:
        for (cls, name), original in originals.items():
            setattr(cls, name, original)


def verdict(met: bool) -> str:
    return "met" if met else "NOT MET"


async def measure_scale(backend: str, url: str, total: int) -> None:
    from casebot.rendering import Renderer
    from casebot.services import Services

    await seed_database(url, total)
    database = Database(url)
    await database.open(apply_migrations=False)
    try:
        with database.bound():
            services = Services.build(ManualClock(NOW))
            with counted_statements(OutboxMessage._meta.db) as counts:
                started = time.perf_counter()
                queued = await services.digest.run_due()
                pass_seconds = time.perf_counter() - started
            rows = list(
                await OutboxMessage.filter(kind__startswith="digest_")
                .order_by("id")
                .select_related("participant")
            )
    finally:
        await database.close()
    kinds = Counter(row.kind for row in rows)
    per_thousand = counts["statements"] * 1000 / queued if queued else float("inf")
    print(
        f"1. weekly pass: {queued:,} digests queued ({kinds['digest_family']:,} family,"
        f" {kinds['digest_staff']} coordinator) in {pass_seconds:.1f} s"
    )
    batches = counts["transactions"]  # each batch of participants commits in one transaction
    print(
        f"   queries: {counts['statements']} in {batches} batches of up to {services.digest.settings.batch:,}"
        f" participants ({counts['statements'] / max(1, batches):.1f} a batch; and one BEGIN/COMMIT each),"
        f" {per_thousand:.1f} per 1,000 digests; target <= {TARGET_QUERIES}: {verdict(per_thousand <= TARGET_QUERIES)}",
        flush=True,
    )
    renderer = Renderer()
    rendering_rate(rows, renderer)
    pictures([row for row in rows if row.kind == STAFF_DIGEST], renderer)  # rendering imports no Pillow


# --- 2. rendering ----------------------------------------------------------------------------------


def render_as_composer(renderer: Renderer, row: OutboxMessage) -> list[str]:
    """The text parts of a digest row, as casebot.telegram.notices.notice_composer makes them: a
    coordinator's first part is the picture's caption (1,024 characters at most)."""
    from casebot.rendering.renderer import split_message
    from casebot.telegram.notices import CAPTION_LIMIT

    person = row.participant
    name = f"notices/{row.kind}"
    if row.kind != STAFF_DIGEST:
        return renderer.render_parts(person.locale, name, zone=person.timezone, **row.payload)
    text = renderer.render(person.locale, name, zone=person.timezone, **row.payload)
    first, *rest = split_message(text, CAPTION_LIMIT)
    return [first, *(split_message("\n".join(rest)) if rest else [])]


def rendering_rate(rows: list[OutboxMessage], renderer: Renderer) -> None:
    # Compile each template once before timing: a running bot has them compiled after its first digest.
    for kind, locale in {(row.kind, row.participant.locale) for row in rows}:
        render_as_composer(
            renderer, next(r for r in rows if (r.kind, r.participant.locale) == (kind, locale))
        )
    cpu: dict[str, float] = defaultdict(float)
    done: Counter[str] = Counter()
    parts: Counter[str] = Counter()
    for row in rows:
        started = time.process_time()
        made = render_as_composer(renderer, row)
        cpu[row.kind] += time.process_time() - started
        done[row.kind] += 1
        parts[row.kind] += len(made)
    for kind in ("digest_family", "digest_staff"):
        print(
            f"2. {kind:13} {done[kind]:6,} rendered in {cpu[kind]:5.2f} s CPU:"
            f" {done[kind] / cpu[kind]:7,.0f}/s ({parts[kind] / done[kind]:.2f} parts each)"
        )
    overall = sum(done.values()) / sum(cpu.values())
    print(
        f"   overall {sum(done.values()):,} digests: {overall:,.0f}/s on one core;"
        f" target >= {TARGET_RATE:,}/s: {verdict(overall >= TARGET_RATE)}",
        flush=True,
    )


# --- 3. the picture ----------------------------------------------------------------------------------


def pictures(rows: list[OutboxMessage], renderer: Renderer) -> None:
    from casebot.telegram.notices import digest_picture

    cold = "PIL.ImageFont" not in sys.modules
    wall: list[float] = []
    cpu: list[float] = []
    sizes: list[int] = []
    for row in rows:
        started, cpu_started = time.perf_counter(), time.process_time()
        picture = digest_picture(renderer, row.participant.locale, row.payload)
        assert picture is not None and picture.make is not None
        sizes.append(len(picture.make()))
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    first = "first (imports Pillow, loads the font)" if cold else "first (Pillow already imported)"
    print(f"3. pipeline picture, {first}: {wall[0]:.0f} ms ({cpu[0]:.0f} ms CPU)")
    rest, rest_cpu = wall[1:], cpu[1:]
    p95 = statistics.quantiles(rest, n=20)[-1] if len(rest) > 1 else rest[0]
    print(
        f"   the other {len(rest)}: mean {statistics.mean(rest):.1f} ms, p95 {p95:.1f} ms"
        f" (CPU mean {statistics.mean(rest_cpu):.1f} ms); PNG {statistics.mean(sizes) / 1024:.0f} KiB on average"
        f" (locales {dict(Counter(row.participant.locale for row in rows))})",
        flush=True,
    )


# --- 4. a running bot's memory ----------------------------------------------------------------------


def memory() -> tuple[float, float]:
    """VmRSS and VmHWM (the peak) of this process, in MB."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found["VmRSS"], found["VmHWM"]


class Peaks:
    """Under tracemalloc: a snapshot at the largest traced size seen at the moments watched."""

    def __init__(self) -> None:
        self.size = 0
        self.where = ""
        self.snapshot: tracemalloc.Snapshot | None = None

    def look(self, where: str) -> None:
        size = tracemalloc.get_traced_memory()[0]
        if size > self.size:
            self.size, self.where, self.snapshot = size, where, tracemalloc.take_snapshot()

    def watch(self, target: Any, name: str) -> None:
        """Look after each call of the coroutine method ``target.name``, before its result is dropped."""
        original: Callable[..., Awaitable[Any]] = getattr(target, name)

        async def watched(*args: Any, **kw: Any) -> Any:
            result = await original(*args, **kw)
            self.look(f"{name} returned")
            return result

        setattr(target, name, watched)


def top(snapshot: tracemalloc.Snapshot, count: int = 12) -> None:
    stats = snapshot.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)]).statistics("lineno")
    for stat in stats[:count]:
        frame = stat.traceback[0]
        where = frame.filename.split("site-packages/")[-1].split("/work/main/")[-1]
        print(f"     {stat.size / MB:7.1f} MB {stat.count:10,} blocks  {where}:{frame.lineno}")


async def emulator() -> None:
    """The Bot API emulator in a process of its own, so the bot's memory holds none of it: prints
    its URL and token, serves until its standard input closes."""
    from casebot.testing import BotAPIEmulator

    async with BotAPIEmulator() as telegram:
        print(telegram.base_url, telegram.token, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def running_bot(url: str, *, trace: bool) -> None:
    """casebot built as `casebot run` builds it, one tick of its ticker at the digest moment, every
    queued row composed as its sender would; then this process's memory. Over the target, with
    ``trace``, the weekly pass is run again (its rows and due times put back) under tracemalloc."""
    telegram = subprocess.Popen(
        [sys.executable, __file__, "--phase", "emulator", "-", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert telegram.stdout is not None and telegram.stdin is not None
    api_url, token = telegram.stdout.readline().split()
    try:
        asyncio.run(measure_running_bot(url, api_url, token, trace=trace))
    finally:
        telegram.stdin.close()
        telegram.wait(timeout=30)


async def measure_running_bot(url: str, api_url: str, token: str, *, trace: bool) -> None:
    stages = [("python, tortoise and casebot's models", *memory())]
    # As `casebot run` imports it (casebot.cli): aiogram's types built when first used.
    from casebot.lean_import import defer_aiogram_validators

    lean = defer_aiogram_validators()
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    stages.append((f"aiogram imported ({'lean' if lean else 'NOT lean'})", *memory()))
    from pydantic import SecretStr

    from casebot.config import load_settings
    from casebot.delivery import OutboxSender
    from casebot.plugin import CasebotInstance, setup_casebot
    from casebot.scheduling.ticker import SweepTicker
    from casebot.telegram.notices import notice_composer

    settings = load_settings(
        _env_file=None, bot_token=SecretStr(token), database_url=url, telegram_api_url=api_url
    )
    # As `casebot run` makes its Bot (casebot.cli._bot), less the default parse mode it sets.
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url)))
    clock = ManualClock(NOW)
    dispatcher = Dispatcher()
    setup_casebot(dispatcher, settings, clock=clock, standalone=True, manage_menus=False)
    instance: CasebotInstance = dispatcher["casebot"]
    runtime = instance.runtime
    database, services = runtime.database, runtime.services
    try:
        await bot.get_me()
        # What the dispatcher's startup does (casebot.plugin._Lifecycle), without starting the
        # sender's and the ticker's loops: the sender would send, the ticker would tick by itself.
        await database.open()
        with database.bound():
            await runtime.known.refresh()
        sender = OutboxSender.from_settings(
            bot,
            database,
            clock,
            settings,
            compose=notice_composer(runtime.renderer),
            check=services.outbox.check,
            on_blocked=services.outbox.recipient_blocked,
            on_dead=services.outbox.row_dead,
        )
        ticker = SweepTicker(
            services.reminders, database, settings.sweep_every, runtime.wake_sender, services.digest
        )
        stages.append(("casebot built, database open", *memory()))
        started = time.perf_counter()
        await ticker.tick()
        pass_seconds = time.perf_counter() - started
        with database.bound():
            queued = await OutboxMessage.filter(kind__startswith="digest_").count()
        stages.append(("after the weekly pass", *memory()))
        started = time.perf_counter()
        composed, drawn, parts = await compose_all(sender, database, stages)
        compose_seconds = time.perf_counter() - started
        stages.append(("after composing every row", *memory()))
        print(
            f"4. running bot: {queued:,} digests queued by one tick in {pass_seconds:.0f} s;"
            f" {composed:,} composed ({parts:,} parts, {drawn} pictures drawn) in {compose_seconds:.0f} s"
        )
        for name, stage_rss, stage_hwm in stages:
            print(f"   {name:38} VmRSS {stage_rss:5.0f} MB, VmHWM {stage_hwm:5.0f} MB")
        rss, hwm = memory()
        print(
            f"   at the end: VmRSS {rss:.0f} MB, VmHWM (peak) {hwm:.0f} MB; target <= {TARGET_RSS_MB} MB:"
            f" {verdict(max(rss, hwm) <= TARGET_RSS_MB)}",
            flush=True,
        )
        if max(rss, hwm) > TARGET_RSS_MB and trace:
            await trace_pass(ticker, services.digest, database)
        elif max(rss, hwm) > TARGET_RSS_MB:
            print("   (--trace runs the weekly pass again under tracemalloc to show where it goes)")
    finally:
        await database.close()
        await bot.session.close()


async def trace_pass(ticker: Any, digests: Any, database: Database) -> None:
    """The weekly pass again under tracemalloc, from the same rows: where its memory goes."""
    with database.bound():
        await OutboxMessage.filter(kind__startswith="digest_").delete()
        for zone, moment in MOMENTS.items():
            await Participant.filter(timezone=zone).update(next_digest_at=moment)
    peaks = Peaks()
    peaks.watch(digests, "_load")
    peaks.watch(digests, "build")
    tracemalloc.start()
    started = time.perf_counter()
    await ticker.tick()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(
        f"   the weekly pass again under tracemalloc ({seconds:.0f} s): Python objects peak at {peak / MB:.0f} MB"
        f" over what was held before it; the most held at once ({peaks.size / MB:.0f} MB, when {peaks.where}):"
    )
    if peaks.snapshot is not None:
        top(peaks.snapshot)


async def compose_all(
    sender: Any, database: Database, stages: list[tuple[str, float, float]]
) -> tuple[int, int, int]:
    """Claim every queued row in the sender's batches and compose it as the sender does before
    sending (the recipients read with the batch; the digest's picture drawn off the event loop),
    then settle the batch as sent."""
    composed = drawn = parts = 0
    with database.bound():
        while True:
            rows, _ = await sender.store.claim(sender.batch_size)
            if not rows:
                return composed, drawn, parts
            people = {p.id: p for p in await sender.store.participants({row.participant_id for row in rows})}
            for row in rows:
                outgoing = sender.compose(row, row.payload, people[row.participant_id])
                parts += len(outgoing.parts)
                if outgoing.file is not None and outgoing.file.make is not None:
                    drawn += bool(await asyncio.to_thread(outgoing.file.make))
                    if drawn == 1:
                        stages.append(("the first picture drawn", *memory()))
                composed += 1
            await OutboxMessage.filter(id__in=[row.id for row in rows]).update(
                status=OutboxStatus.SENT, sent_at=NOW
            )


# --- the processes ---------------------------------------------------------------------------------


def child(*arguments: str) -> int:
    return subprocess.run([sys.executable, __file__, *arguments], check=False).returncode


def big_run(backend: str, url: str, args: argparse.Namespace) -> tuple[int, str]:
    """Seed ``--big`` cases in one process, then measure the running bot in a fresh one; returns the
    failures and what they printed (the backends run side by side, their output is kept apart)."""
    trace = ["--trace"] if args.trace else []
    output, failures = [], 0
    for arguments in (
        ["--phase", "seed", backend, url, "--cases", str(args.big)],
        ["--phase", "rss", backend, url, *trace],
    ):
        done = subprocess.run(
            [sys.executable, __file__, *arguments],
            check=False,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output.append(done.stdout.rstrip())
        if done.returncode != 0:
            failures += 1
            break
    return failures, "\n".join(output)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=10_000, help="cases for figures 1 to 3")
    parser.add_argument("--big", type=int, default=100_000, help="cases the running bot holds (figure 4)")
    parser.add_argument(
        "--postgres", metavar="URL", help="a PostgreSQL server to create temporary databases on"
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="over the memory target, run the weekly pass again under tracemalloc (minutes more)",
    )
    parser.add_argument("--phase", nargs=3, metavar=("PHASE", "BACKEND", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        phase, backend, url = args.phase
        if phase == "seed":
            asyncio.run(seed_database(url, args.cases))
        elif phase == "scale":
            asyncio.run(measure_scale(backend, url, args.cases))
        elif phase == "emulator":
            asyncio.run(emulator())
        else:
            running_bot(url, trace=args.trace)
        return 0
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores", flush=True)
    started = time.perf_counter()
    failures = 0
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))

        @contextmanager
        def sqlite_url(name: str) -> Iterator[str]:
            yield f"sqlite://{folder / f'{name}.sqlite3'}"

        @contextmanager
        def postgres_url(name: str) -> Iterator[str]:
            url, database = asyncio.run(create_database(args.postgres, f"casebot_bench_digest_{name}"))
            try:
                yield url
            finally:
                asyncio.run(drop_database(args.postgres, database))

        backends: dict[str, Callable[[str], AbstractContextManager[str]]] = {"sqlite": sqlite_url}
        if args.postgres:
            backends["postgresql"] = postgres_url
        # Figures 1 to 3: one backend after the other (the picture is timed on the wall clock too).
        for backend, urls in backends.items():
            print(f"== {backend}: {args.cases:,} cases, {COORDINATORS} coordinators", flush=True)
            with urls("scale") as url:
                failures += child("--phase", "scale", backend, url, "--cases", str(args.cases)) != 0
        # Figure 4 is memory: the backends' runs go side by side, one process each, to keep the
        # whole benchmark within minutes on two cores (their times are then shared-machine times).
        big = {backend: stack.enter_context(urls("big")) for backend, urls in backends.items()}
        with ThreadPoolExecutor(len(big)) as pool:
            runs = {backend: pool.submit(big_run, backend, url, args) for backend, url in big.items()}
            for backend, run in runs.items():
                code, output = run.result()
                print(f"== {backend}: a running bot holding {args.big:,} cases (a fresh process)")
                print(output, flush=True)
                failures += code
    print(f"(the whole benchmark took {time.perf_counter() - started:.0f} s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
