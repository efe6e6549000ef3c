"""Answers in the chat survive a passing Telegram failure.

A handler's answer often says that a change was made ("Case C-0001 opened", the invite link);
lost to one 502, the person would not know and would do it again. So casebot's answers are
tried again a few times on what passes (5xx, the network, a short 429). What does not pass
(a 400, a block) is raised at once, and what still fails reaches the error root, which alerts
the admins when a saved change went unsaid.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiogram.exceptions import (
    TelegramEntityTooLarge,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

T = TypeVar("T")

ATTEMPTS = 3
PAUSES = (0.5, 2.0)
"""Seconds before the second and the third attempt."""
LONGEST_WAIT = 10.0
"""A 429 asking to wait longer than this is not waited out inside a handler."""


async def with_retry(
    send: Callable[[], Awaitable[T]], *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
) -> T:
    """Call ``send`` until it succeeds, retrying what passes; raise the last failure."""
    for attempt in range(ATTEMPTS):
        try:
            return await send()
        except TelegramRetryAfter as error:
            if attempt == ATTEMPTS - 1 or error.retry_after > LONGEST_WAIT:
                raise
            await sleep(float(error.retry_after))
        except (TelegramServerError, TelegramNetworkError) as error:
            if isinstance(error, TelegramEntityTooLarge) or attempt == ATTEMPTS - 1:
                raise
            await sleep(PAUSES[attempt])
    raise AssertionError("unreachable")  # pragma: no cover
