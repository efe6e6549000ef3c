"""One fixture per real component: the database (SQLite file or PostgreSQL), the clock, the services."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tortoise import Tortoise
from tortoise.context import TortoiseContext

from casebot.clock import ManualClock
from casebot.db.database import Database, migrate, tortoise_config
from casebot.db.models import Participant
from casebot.domain.roles import Role
from casebot.lean_import import defer_aiogram_validators
from casebot.services import Actor, Services
from casebot.services.invites import Joined

# Set CASEBOT_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run on PostgreSQL.
POSTGRES_URL = os.environ.get("CASEBOT_TEST_DATABASE_URL", "").strip()
ADMIN_TELEGRAM_ID = 1000
# A Monday morning in Shanghai.
START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def pytest_configure(config: pytest.Config) -> None:
    """The suite runs on aiogram's Telegram types as `casebot run` has them, built on first use
    (casebot.lean_import); tests/test_lean_import.py checks the shim itself and a host's own import."""
    defer_aiogram_validators()


def _on_postgres() -> bool:
    return POSTGRES_URL.startswith(("postgres://", "asyncpg://"))


async def _postgres_reset_schema(url: str) -> None:
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(url))
        connection = context.db()
        await connection.execute_script("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    await migrate(url)


async def _truncate_all() -> None:
    connection = Tortoise.get_connection("default")
    _, rows = await connection.execute_query(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'tortoise_migrations'"
    )
    tables = ", ".join(f'"{row["tablename"]}"' for row in rows)
    await connection.execute_script(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate once per session: a template SQLite file, or the PostgreSQL schema."""
    if _on_postgres():
        asyncio.run(_postgres_reset_schema(POSTGRES_URL))
        return POSTGRES_URL
    path = tmp_path_factory.mktemp("template") / "casebot.sqlite3"
    asyncio.run(migrate(f"sqlite://{path}"))
    return str(path)


@pytest.fixture
async def database_url(migrated_template: str, tmp_path: Path) -> str:
    """A clean, migrated database for one test: a copy of the template file, or emptied PostgreSQL tables."""
    if _on_postgres():
        async with TortoiseContext() as context:
            await context.init(config=tortoise_config(POSTGRES_URL))
            await _truncate_all()
        return POSTGRES_URL
    path = tmp_path / "casebot.sqlite3"
    shutil.copyfile(migrated_template, path)
    return f"sqlite://{path}"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """The open database, the default of the process for the test (fixtures run in other tasks)."""
    database = Database(database_url)
    await database.open(apply_migrations=False, process_default=True)
    yield database
    await database.close()


@pytest.fixture
def clock() -> ManualClock:
    """A clock that moves only when the test says so."""
    return ManualClock(START)


@pytest.fixture
def services(clock: ManualClock) -> Services:
    """The services over the test clock, with one admin."""
    return Services.build(clock, admin_ids=frozenset({ADMIN_TELEGRAM_ID}))


async def register(telegram_user_id: int, role: Role = Role.FAMILY) -> Participant:
    """A participant row as the bot keeps it (admins are coordinators listed in settings)."""
    participant, _ = await Participant.get_or_create(
        telegram_user_id=telegram_user_id,
        defaults={
            "chat_id": telegram_user_id,
            "role": Role.COORDINATOR if role == Role.ADMIN else role,
            "locale": "en",
            "timezone": "Asia/Shanghai",
            "created_at": START,
        },
    )
    return participant


async def make_participant(services: Services, telegram_user_id: int, role: Role) -> Actor:
    """Register someone with a role; return the actor they act as."""
    return services.participants.actor_for(await register(telegram_user_id, role))


async def redeem(services: Services, participant: Participant, token: str) -> Joined:
    """The participant follows an invite link."""
    return await services.invites.redeem(participant.telegram_user_id, participant.chat_id, token)


@pytest.fixture
async def coordinator(db: Database, services: Services) -> Actor:
    """A coordinator."""
    return await make_participant(services, 2001, Role.COORDINATOR)


@pytest.fixture
async def other_coordinator(db: Database, services: Services) -> Actor:
    """A second coordinator, for races."""
    return await make_participant(services, 2002, Role.COORDINATOR)


@pytest.fixture
async def family(db: Database, services: Services) -> Actor:
    """A family member who has joined no case yet."""
    return await make_participant(services, 3001, Role.FAMILY)
