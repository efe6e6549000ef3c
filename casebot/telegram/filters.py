"""Filters of casebot's handlers: the shapes of command arguments."""

from __future__ import annotations

import re
from typing import Any

from aiogram.filters import CommandObject, Filter
from aiogram.types import Message

from casebot.domain.outcomes import parse_turnaround_part


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


class HospitalArgs(Filter):
    """``/hospital <case> <hospital> | <department> [| <reviewer>] [| 7bd]``, bars with or without spaces.

    Hands the handler ``args`` as [case, hospital, department, reviewer or None]; anything
    else (no bar, no hospital after the case, four parts) falls through to the usage answer.
    """

    async def __call__(self, message: Message, command: CommandObject) -> bool | dict[str, Any]:
        parts = [part.strip() for part in (command.args or "").split("|")]
        # A last part like "7bd" is the hospital's stated turnaround in business days.
        turnaround = parse_turnaround_part(parts[-1]) if len(parts) >= 3 else None
        if turnaround is not None:
            parts = parts[:-1]
        if len(parts) not in (2, 3):
            return False
        case_and_hospital = parts[0].split(maxsplit=1)
        if len(case_and_hospital) != 2 or not parts[1]:
            return False
        reviewer = parts[2] if len(parts) == 3 and parts[2] else None
        return {"args": [*case_and_hospital, parts[1], reviewer], "turnaround": turnaround}


_COORDINATOR_CHANGE = re.compile(
    r"^\s*(add|remove)\s+([0-9]{1,15})(?:\s+(?:to\s+)?([0-9]{1,15}))?\s*$", re.IGNORECASE | re.ASCII
)


class CoordinatorChange(Filter):
    """``/coordinator add <id>`` or ``/coordinator remove <id> [to <id>]`` (ASCII digits only)."""

    async def __call__(self, message: Message, command: CommandObject) -> bool | dict[str, Any]:
        match = _COORDINATOR_CHANGE.match(command.args or "")
        if match is None:
            return False
        action, user_id, hand_to = match.groups()
        if action.lower() == "add" and hand_to is not None:
            return False
        return {
            "action": action.lower(),
            "user_id": int(user_id),
            "hand_to": int(hand_to) if hand_to else None,
        }
