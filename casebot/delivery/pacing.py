"""When the sender may send at all: the pause after an outage, the stop on a refused token, and waiting.

Telegram's own limits (30 a second, one a second per chat, 20 a minute per group) are kept by
``limiter.py``; this module holds what stops all sending for a while. Times are monotonic
seconds from an injected clock, and waits run on an injected sleep, so tests may use virtual time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from casebot.delivery.limiter import Monotonic

Sleep = Callable[[float], Awaitable[Any]]

OUTAGE_PAUSE_MIN = 1.0
OUTAGE_PAUSE_MAX = 60.0
TOKEN_PROBE_INTERVAL = 30.0
"""Seconds between two getMe calls while Telegram refuses the bot token."""


class OutageBreaker:
    """After a 5xx or network failure nothing is sent until a pause is over, then one row at a time
    until a send succeeds. Each failure after a pause doubles the next pause, up to a minute, so an
    outage of Telegram costs one attempt per pause instead of one per queued message."""

    def __init__(
        self, monotonic: Monotonic, *, minimum: float = OUTAGE_PAUSE_MIN, maximum: float = OUTAGE_PAUSE_MAX
    ):
        self.monotonic = monotonic
        self.minimum = minimum
        self.maximum = maximum
        self.opened = False
        """A failure opened the breaker during the current drain (the drain stops early)."""
        self.probing = False
        """Send one row at a time: the last send failed and none has succeeded since."""
        self._pause = 0.0
        self._resume_at = float("-inf")

    def trip(self) -> None:
        """A transient failure: pause all sending (longer each time while the outage lasts)."""
        if not self.opened:
            self._pause = min(max(self.minimum, 2 * self._pause), self.maximum)
            self._resume_at = self.monotonic() + self._pause
            self.opened = True
        self.probing = True

    def healthy(self) -> None:
        """A send succeeded."""
        self._pause = 0.0
        self.probing = False

    def remaining(self) -> float:
        """Seconds left of the pause (0 or less: sending may go on)."""
        return self._resume_at - self.monotonic()


class TokenGate:
    """A token Telegram refuses (401) stops all sending until a getMe with it succeeds."""

    def __init__(self, monotonic: Monotonic, *, probe_interval: float = TOKEN_PROBE_INTERVAL) -> None:
        self.monotonic = monotonic
        self.probe_interval = probe_interval
        self.refused = False
        self._probe_at = float("-inf")

    def refuse(self) -> bool:
        """Telegram answered 401; True the first time (until the token works again)."""
        if self.refused:
            return False
        self.refused = True
        self._probe_at = self.monotonic() + self.probe_interval
        return True

    def remaining(self) -> float:
        """Seconds until the next probe is due (0 or less: probe now)."""
        return self._probe_at - self.monotonic()

    def probe_failed(self) -> None:
        self._probe_at = self.monotonic() + self.probe_interval

    def accepted(self) -> None:
        self.refused = False


class Changes:
    """Wakes whoever waits for a change: an answer, a finished row, a stop.

    Take :meth:`watch` before looking at the state, then wait on it: a change that happens in
    between is not missed.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def watch(self) -> asyncio.Event:
        return self._event

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()


async def wait(event: asyncio.Event, seconds: float | None, sleep: Sleep) -> None:
    """Wait until ``event`` is set or ``seconds`` pass on ``sleep`` (None: no time limit)."""
    if event.is_set():
        return
    if seconds is None:
        await event.wait()
        return
    if seconds <= 0:
        await asyncio.sleep(0)
        return
    waiter = asyncio.ensure_future(event.wait())
    sleeper = asyncio.ensure_future(sleep(seconds))
    try:
        await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for future in (waiter, sleeper):
            future.cancel()
        await asyncio.gather(waiter, sleeper, return_exceptions=True)
