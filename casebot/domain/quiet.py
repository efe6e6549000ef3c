"""Quiet hours: a local time window in which nobody is sent a reminder."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from casebot.errors import InvalidInput

# ASCII digits only: \d would also read Arabic-Indic and other scripts' digits.
_WINDOW = re.compile(r"^\s*([0-9]{1,2})(?::([0-9]{2}))?\s*-\s*([0-9]{1,2})(?::([0-9]{2}))?\s*$")
NO_QUIET_HOURS = ("", "off", "none", "-")


@dataclass(frozen=True, slots=True)
class QuietHours:
    """From ``start`` to ``end`` local time; it may wrap past midnight (21:00-09:00)."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        """Whether a local time of day falls in the window."""
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_quiet_hours(text: str) -> QuietHours | None:
    """Read "21:00-09:00" or "21-9"; "off" means none. Anything else is a readable error."""
    if text.strip().lower() in NO_QUIET_HOURS:
        return None
    match = _WINDOW.match(text)
    if match is None:
        raise InvalidInput("Quiet hours look like 21:00-09:00 (or “off” for none).", key="quiet_hours_shape")
    h1, m1, h2, m2 = (int(group or 0) for group in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise InvalidInput("Quiet hours need real times of day, like 21:00-09:00.", key="quiet_hours_times")
    window = QuietHours(time(h1, m1), time(h2, m2))
    if window.start == window.end:
        raise InvalidInput("Quiet hours must start and end at different times.", key="quiet_hours_same")
    return window
