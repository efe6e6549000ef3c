"""Writing new migrations into the repository's top-level migrations/ folder (for developers).

tortoise's own `makemigrations` creates a `migrations` folder inside the parent package
(casebot/migrations/) when the migrations package is mapped from elsewhere, as ours is; this
writes through the package's real location instead.
"""

from __future__ import annotations

from pathlib import Path

from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector
from tortoise.migrations.writer import format_migration_name

from casebot.db.database import APP_LABEL, tortoise_config


async def make_migrations(name: str | None = None) -> list[Path]:
    """Compare the models with the migrations and write what changed; return the new files."""
    config = tortoise_config("sqlite://:memory:")
    async with TortoiseContext() as context:
        await context.init(config=config)
        assert context.apps is not None
        writers = await MigrationAutodetector(context.apps, config["apps"]).changes()
    written = []
    for writer in writers:
        if writer.app_label != APP_LABEL:
            continue
        if name:
            writer.name = format_migration_name(int(writer.name.split("_", 1)[0]), name)
        written.append(writer.write())
    return written
