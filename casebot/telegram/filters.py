"""Filters of casebot's handlers."""

from __future__ import annotations

from typing import Any

from aiogram.filters import CommandObject, Filter
from aiogram.types import Message


class Args(Filter):
    """A command with ``least`` to ``most`` arguments, the last taking the rest of the line.

    It hands them to the handler as ``args``; a command with too few falls through to the
    router's usage handler.
    """

    def __init__(self, least: int, most: int | None = None) -> None:
        self.least = least
        self.most = most or least

    async def __call__(self, message: Message, command: CommandObject) -> bool | dict[str, Any]:
        parts = (command.args or "").split(maxsplit=self.most - 1)
        if len(parts) < self.least:
            return False
        return {"args": parts}
