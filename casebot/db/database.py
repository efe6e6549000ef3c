"""Opening, migrating and closing the database behind casebot."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from asyncpg import exceptions as asyncpg_errors
from tortoise.context import TortoiseContext, _current_context
from tortoise.exceptions import (
    DBConnectionError,
    IntegrityError,
    NotExistOrMultiple,
    NoValuesFetched,
    OperationalError,
    TransactionManagementError,
)
from tortoise.migrations.api import migrate as migrate_api

_DATABASE_FAILURES: tuple[type[BaseException], ...] = (
    OperationalError,
    DBConnectionError,
    TransactionManagementError,
    sqlite3.OperationalError,
    sqlite3.InterfaceError,
    asyncpg_errors.PostgresConnectionError,
    asyncpg_errors.InterfaceError,
    asyncpg_errors.OperatorInterventionError,
    asyncpg_errors.InsufficientResourcesError,
    asyncpg_errors.TransactionRollbackError,
    ConnectionError,
    OSError,
    TimeoutError,
)

# What SQLite says when the file, not the query, is the trouble.
_SQLITE_OUTAGES = ("locked", "unable to open", "disk i/o", "readonly", "closed", "busy")
_NOT_FAILURES: tuple[type[BaseException], ...] = (IntegrityError, NotExistOrMultiple, NoValuesFetched)

APP_LABEL = "casebot"
MODELS_MODULE = "casebot.db.models"
MIGRATIONS_MODULE = "casebot.migrations"


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The tortoise configuration for one database URL (sqlite:// or postgres://)."""
    return {
        "connections": {"default": database_url},
        "apps": {
            APP_LABEL: {
                "models": [MODELS_MODULE],
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def migrate(database_url: str) -> None:
    """Apply every migration not yet applied; safe to run at each start."""
    async with TortoiseContext():
        await migrate_api(config=tortoise_config(database_url))


class Database:
    """The database of one casebot instance, held in its own tortoise context.

    Tortoise finds its connections through a context variable. Each casebot instance
    binds its own context around the work it does (an update, a sweep, a CLI command),
    so two instances — two Dispatchers in one process — never share connections.
    """

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self._context: TortoiseContext | None = None

    @property
    def is_open(self) -> bool:
        """Whether the database was opened (it may still fail a query if the server went away)."""
        return self._context is not None

    async def open(self, *, apply_migrations: bool = True, process_default: bool = False) -> None:
        """Migrate (when asked) and connect.

        ``process_default`` also makes this database the one used where nothing is bound
        (tests and one-shot commands); only one database in a process can be that.
        """
        _check_sqlite_folder(self.url)
        if apply_migrations:
            await migrate(self.url)
        context = TortoiseContext()
        with context:  # models are finalised against the context being initialised
            await context.init(config=tortoise_config(self.url), _enable_global_fallback=process_default)
        self._context = context

    @contextmanager
    def bound(self) -> Iterator[None]:
        """Make this database the one models use, for the code run inside the block."""
        if self._context is None:
            raise RuntimeError("the database is not open")
        token = _current_context.set(self._context)
        try:
            yield
        finally:
            _current_context.reset(token)

    def bind_for_task(self) -> None:
        """Make this database the one models use for the rest of the current task (tests)."""
        if self._context is None:
            raise RuntimeError("the database is not open")
        _current_context.set(self._context)

    async def close(self) -> None:
        """Close the connections; idempotent."""
        if self._context is not None:
            await self._context.close_connections()
            self._context = None


def _check_sqlite_folder(database_url: str) -> None:
    """A SQLite file in a folder that does not exist cannot be opened, and tortoise 1.1 then waits
    forever on its connection lock instead of failing: fail at once, saying why."""
    if not database_url.startswith("sqlite://"):
        return
    path = database_url.removeprefix("sqlite://").split("?", 1)[0]
    if path and path != ":memory:" and not Path(path).parent.is_dir():
        raise FileNotFoundError("the folder of the SQLite database file does not exist")


def is_database_failure(error: BaseException) -> bool:
    """Whether an exception means the database failed (unreachable, gone, locked, a broken
    connection) rather than a bug in casebot: such a request may succeed if tried again.

    The deepest driver error in the chain decides: tortoise wraps a refused connection and an
    integer that does not fit alike, and only the first is worth trying again.
    """
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    root = chain[-1]
    if isinstance(root, _NOT_FAILURES):
        return False
    if isinstance(root, sqlite3.Error):
        return isinstance(root, sqlite3.OperationalError) and any(
            words in str(root) for words in _SQLITE_OUTAGES
        )
    return isinstance(root, _DATABASE_FAILURES)


# For developers' `tortoise makemigrations` (named in pyproject.toml's [tool.tortoise]); the
# autodetector compares the models with the migrations, so the URL here is never written to.
TORTOISE_ORM = tortoise_config("sqlite://:memory:")
