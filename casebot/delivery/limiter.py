"""Telegram's sending limits, kept on the client so Telegram never has to answer 429.

Telegram allows a bot about 30 messages a second overall, one message a second to one chat and
20 messages a minute to one group, counted when each request reaches Telegram. The client cannot
see that moment, only that it lies between sending the request and reading the answer. So a
message counts against a window from the moment it is sent until one window length after its
answer came back (while it is in flight it counts in full). With that rule the client never
exceeds a limit whatever the network's latency or reordering; the price is one round trip per
window: 30 messages take 1 s + one round trip rather than 1 s.

Besides the windows, sends overall are spaced ``1 / rate`` apart, so a backlog goes out as a steady
stream rather than as bursts of 30 at the start of each second.

Times come from a monotonic clock (seconds, a float) that tests may replace.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from casebot.config import Settings

Monotonic = Callable[[], float]

OVERALL_WINDOW = 1.0
GROUP_WINDOW = 60.0


@dataclass(frozen=True)
class SendLimits:
    """How fast the outbox may send: Telegram's limits and how many requests may be in flight."""

    rate: float = 30.0
    """Messages a second overall."""
    per_chat_interval: float = 1.0
    """Seconds between two messages to one chat."""
    group_per_minute: int = 20
    """Messages a minute to one group (a chat with a negative id)."""
    concurrency: int = 8
    """Requests in flight at once (never two to one chat)."""

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.per_chat_interval < 0 or self.group_per_minute < 1 or self.concurrency < 1:
            raise ValueError(f"impossible send limits: {self}")

    @classmethod
    def from_settings(cls, settings: Settings) -> SendLimits:
        """The limits configured by CASEBOT_SEND_* settings."""
        return cls(
            rate=settings.send_rate,
            per_chat_interval=_seconds(settings.send_per_chat_interval),
            group_per_minute=settings.send_group_per_minute,
            concurrency=settings.send_concurrency,
        )


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


@dataclass(eq=False)
class Permit:
    """One request allowed to go: hand it back to :meth:`SendLimiter.release` when its answer arrives."""

    chat_id: int
    issued_at: float
    released: bool = False


@dataclass
class _Window:
    """Requests to one scope: the answer times of recent ones (oldest first) and how many are in flight."""

    limit: int
    span: float
    finished: deque[float] = field(default_factory=deque)
    in_flight: int = 0

    def prune(self, now: float) -> None:
        while self.finished and self.finished[0] <= now - self.span:
            self.finished.popleft()

    def delay(self, now: float) -> float | None:
        """0 when one more request may go now; else seconds to wait, or None: wait for an answer."""
        self.prune(now)
        excess = len(self.finished) + self.in_flight - self.limit + 1
        if excess <= 0:
            return 0.0
        if excess > len(self.finished):
            return None
        return max(0.0, self.finished[excess - 1] + self.span - now)

    @property
    def idle(self) -> bool:
        return not self.finished and not self.in_flight


class SendLimiter:
    """Decides when the next message to a chat may be sent; not thread-safe, one per event loop."""

    def __init__(self, limits: SendLimits | None = None, *, monotonic: Monotonic = time.monotonic) -> None:
        self.limits = limits or SendLimits()
        self.monotonic = monotonic
        self._interval = 1.0 / self.limits.rate
        self._overall = _Window(max(1, int(self.limits.rate * OVERALL_WINDOW)), OVERALL_WINDOW)
        self._chats: dict[int, _Window] = {}
        self._groups: dict[int, _Window] = {}
        self._next_issue = float("-inf")
        self._paused_until = float("-inf")

    # --- asking -----------------------------------------------------------------------------

    def overall_delay(self, now: float | None = None) -> float | None:
        """Seconds until any message may go (0: now), or None: only after an answer arrives."""
        now = self.monotonic() if now is None else now
        spacing = max(self._next_issue, self._paused_until) - now
        window = self._overall.delay(now)
        if window is None:
            return None
        return max(0.0, spacing, window)

    def delay(self, chat_id: int, now: float | None = None) -> float | None:
        """Seconds until a message to ``chat_id`` may go (0: now), or None: only after an answer arrives."""
        now = self.monotonic() if now is None else now
        waits = [self.overall_delay(now), self._chat(chat_id).delay(now)]
        if chat_id < 0:
            waits.append(self._group(chat_id).delay(now))
        if any(wait is None for wait in waits):
            return None
        return max(wait for wait in waits if wait is not None)

    def paused_for(self, now: float | None = None) -> float:
        """Seconds left of a pause that Telegram asked for (0 when not paused)."""
        now = self.monotonic() if now is None else now
        return max(0.0, self._paused_until - now)

    # --- telling ----------------------------------------------------------------------------

    def acquire(self, chat_id: int) -> Permit:
        """Take the slot of one message to ``chat_id``; call only when :meth:`delay` answered 0."""
        now = self.monotonic()
        # A send that is a little late (the event loop woke late) does not push the next ones
        # back, so the stream keeps its rate; after an idle spell the schedule restarts from now.
        self._next_issue = max(self._next_issue, now - self._interval) + self._interval
        for window in self._windows(chat_id):
            window.in_flight += 1
        return Permit(chat_id, now)

    def try_acquire(self, chat_id: int) -> Permit | float | None:
        """A permit when a message to ``chat_id`` may go now, else what :meth:`delay` says."""
        wait = self.delay(chat_id)
        if wait == 0.0:
            return self.acquire(chat_id)
        return wait

    def release(self, permit: Permit, *, reached_telegram: bool = True) -> None:
        """The answer to the permit's request arrived (or it failed; ``reached_telegram=False``
        when the request was certainly never sent, so it does not count)."""
        if permit.released:
            return
        permit.released = True
        now = self.monotonic()
        for window in self._windows(permit.chat_id):
            window.in_flight -= 1
            if reached_telegram:
                window.finished.append(now)
        self._forget_idle(now)

    def pause(self, seconds: float) -> None:
        """Telegram answered 429: send nothing, to any chat, for ``seconds``."""
        self._paused_until = max(self._paused_until, self.monotonic() + max(0.0, seconds))

    # --- internals --------------------------------------------------------------------------

    def _chat(self, chat_id: int) -> _Window:
        window = self._chats.get(chat_id)
        if window is None:
            window = self._chats[chat_id] = _Window(1, self.limits.per_chat_interval)
        return window

    def _group(self, chat_id: int) -> _Window:
        window = self._groups.get(chat_id)
        if window is None:
            window = self._groups[chat_id] = _Window(self.limits.group_per_minute, GROUP_WINDOW)
        return window

    def _windows(self, chat_id: int) -> list[_Window]:
        windows = [self._overall, self._chat(chat_id)]
        if chat_id < 0:
            windows.append(self._group(chat_id))
        return windows

    def _forget_idle(self, now: float) -> None:
        """Drop the state of chats that no longer limit anything, so memory stays bounded."""
        if len(self._chats) <= 4096:
            return
        for scope in (self._chats, self._groups):
            idle = []
            for key, window in scope.items():
                window.prune(now)
                if window.idle:
                    idle.append(key)
            for key in idle:
                del scope[key]
