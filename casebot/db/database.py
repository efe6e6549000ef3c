"""Opening, migrating and closing the database behind casebot."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tortoise.context import TortoiseContext, _current_context
from tortoise.migrations.api import migrate as migrate_api

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

    async def open(self, *, apply_migrations: bool = True, process_default: bool = False) -> None:
        """Migrate (when asked) and connect.

        ``process_default`` also makes this database the one used where nothing is bound
        (tests and one-shot commands); only one database in a process can be that.
        """
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


# For developers' `tortoise makemigrations` (named in pyproject.toml's [tool.tortoise]); the
# autodetector compares the models with the migrations, so the URL here is never written to.
TORTOISE_ORM = tortoise_config("sqlite://:memory:")
