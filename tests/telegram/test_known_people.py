"""The gate's memory of who casebot knows: learned from the database page by page, and kept up to date."""

from __future__ import annotations

from typing import Any

import pytest

from casebot.telegram import context
from casebot.telegram.context import KnownPeople

from ..conftest import register


async def test_everyone_registered_is_known_however_many_pages_they_take(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(context, "_REFRESH_PAGE", 3)
    for telegram_user_id in range(7001, 7011):
        await register(telegram_user_id)
    known = KnownPeople(admin_ids=[1000])
    assert await known.refresh() == 10
    assert all(telegram_user_id in known for telegram_user_id in range(7001, 7011))
    assert 1000 in known and 7011 not in known

    await register(7011)  # joined through another instance
    assert await known.refresh() == 1
    assert 7011 in known
    assert await known.refresh() == 0
