"""The migrations upgrade a database that already holds cases, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tortoise import Tortoise
from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate as migrate_api

from casebot.db.database import Database, tortoise_config

POSTGRES_URL = os.environ.get("CASEBOT_TEST_DATABASE_URL", "").strip()
# One backend per run: tortoise fixes its SQL dialect per process (the SQLite run and the
# PostgreSQL run of the suite each test their own).
BACKENDS = ["postgres"] if POSTGRES_URL.startswith("postgres") else ["sqlite"]
STAMP = datetime(2026, 1, 5, 3, 0, tzinfo=UTC).isoformat()


async def _on_server(sql: str) -> None:
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(POSTGRES_URL))
        await Tortoise.get_connection("default").execute_script(sql)


@pytest.fixture
async def empty_database(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of the run's backend; a PostgreSQL one is dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite://{tmp_path / 'upgrade.sqlite3'}"
        return
    name = f"casebot_upgrade_{uuid.uuid4().hex[:8]}"
    await _on_server(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_URL.rpartition('/')[0]}/{name}"
    finally:
        await _on_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_latest_migrations_apply_to_a_database_holding_cases(empty_database: str) -> None:
    url = empty_database
    async with TortoiseContext():
        await migrate_api(config=tortoise_config(url), target="casebot.0001_initial")
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(url))
        connection = Tortoise.get_connection("default")
        await connection.execute_query(
            "INSERT INTO participants (telegram_user_id, chat_id, display_name, role, locale, timezone, blocked, created_at)"
            " VALUES (42, 42, '', 'coordinator', 'en', 'Asia/Shanghai', FALSE, $1)".replace(
                "$1", f"'{STAMP}'"
            )
        )
        await connection.execute_query(
            "INSERT INTO cases (label, state, created_at, state_changed_at, last_activity_at)"
            f" VALUES ('old case', 'under_review', '{STAMP}', '{STAMP}', '{STAMP}')"
        )
    database = Database(url)
    await database.open(apply_migrations=True)
    try:
        with database.bound():
            from casebot.db.models import Case

            case = await Case.get(label="old case")
            assert case.state == "under_review"
            assert case.reminder_due_at is None and case.paused_until is None
    finally:
        await database.close()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_check_in_upgrade_keeps_the_first_of_doubled_answers(empty_database: str) -> None:
    url = empty_database
    async with TortoiseContext():
        await migrate_api(config=tortoise_config(url), target="casebot.0003_reminders")
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(url))
        connection = Tortoise.get_connection("default")
        await connection.execute_query(
            "INSERT INTO cases (label, state, created_at, state_changed_at, last_activity_at)"
            f" VALUES ('old case', 'home_follow_up', '{STAMP}', '{STAMP}', '{STAMP}')"
        )
        for answer in ("need_help", "need_help", "done"):
            await connection.execute_query(
                "INSERT INTO check_ins (case_id, round, answer, answered_at)"
                f" VALUES (1, 7, '{answer}', '{STAMP}')"
            )
    database = Database(url)
    await database.open(apply_migrations=True)
    try:
        with database.bound():
            from casebot.db.models import CheckIn

            kept = await CheckIn.all()
            assert [(c.round, c.answer) for c in kept] == [(7, "need_help")]
    finally:
        await database.close()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_upgrade_marks_the_familys_own_questions_by_who_was_a_member(empty_database: str) -> None:
    """Who asked is recorded from now on; before, a question to the hospital asked by a member of the
    case's family was the family's. A removed coordinator (role family now, no member) asked none."""
    url = empty_database
    async with TortoiseContext():
        await migrate_api(config=tortoise_config(url), target="casebot.0003_reminders")
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(url))
        connection = Tortoise.get_connection("default")
        for telegram_id in (42, 43):
            await connection.execute_query(
                "INSERT INTO participants (telegram_user_id, chat_id, display_name, role, locale, timezone,"
                f" blocked, created_at) VALUES ({telegram_id}, {telegram_id}, '', 'family', 'en',"
                f" 'Asia/Shanghai', FALSE, '{STAMP}')"
            )
        await connection.execute_query(
            "INSERT INTO cases (label, state, created_at, state_changed_at, last_activity_at)"
            f" VALUES ('old case', 'under_review', '{STAMP}', '{STAMP}', '{STAMP}')"
        )
        await connection.execute_query(
            f"INSERT INTO case_members (case_id, participant_id, joined_at) VALUES (1, 2, '{STAMP}')"
        )
        for number, direction, asker in ((1, "to_hospital", 2), (2, "to_hospital", 1), (3, "to_family", 1)):
            await connection.execute_query(
                "INSERT INTO questions (case_id, number, direction, text, asked_by_id, created_at)"
                f" VALUES (1, {number}, '{direction}', 'Q', {asker}, '{STAMP}')"
            )
    database = Database(url)
    await database.open(apply_migrations=True)
    try:
        with database.bound():
            from casebot.db.models import Question

            flags = {q.number: q.asked_by_family for q in await Question.filter(number__lte=3)}
            assert flags == {1: True, 2: False, 3: False}
    finally:
        await database.close()
