"""Temporary PostgreSQL databases for the benchmarks: created on the server named, then dropped."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg


def _admin_dsn(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


async def create_database(server_url: str, prefix: str) -> tuple[str, str]:
    """Create an empty database on the server of ``server_url``; return its URL and name."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(_admin_dsn(server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}")), name


async def drop_database(server_url: str, name: str) -> None:
    """Drop a database made by :func:`create_database`, closing whatever still uses it."""
    admin = await asyncpg.connect(_admin_dsn(server_url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
