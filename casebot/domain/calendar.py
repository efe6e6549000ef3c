"""Business days in a time zone (weekends and listed holidays off), and the next moment outside quiet hours."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from casebot.domain.quiet import QuietHours


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """Working days in one time zone: Monday to Friday, less the holidays."""

    zone: str
    holidays: frozenset[date] = field(default_factory=frozenset)

    def is_business_day(self, day: date) -> bool:
        """Whether a local date is a working day."""
        return day.weekday() < 5 and day not in self.holidays

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """The moment ``days`` business days after ``start``: the same local time on the
        ``days``-th following working day (a start on a day off counts from the next one)."""
        local = start.astimezone(ZoneInfo(self.zone))
        day = local.date()
        if not self.is_business_day(day):
            while not self.is_business_day(day):
                day += timedelta(days=1)
            local = datetime.combine(day, time(0), local.tzinfo)
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_business_day(day):
                counted += 1
        moment = datetime.combine(day, local.timetz().replace(tzinfo=None), ZoneInfo(self.zone))
        return moment.astimezone(UTC)

    def business_days_between(self, start: datetime, end: datetime) -> int:
        """Whole business days from ``start`` to ``end`` (0 when end is not after start)."""
        if end <= start:
            return 0
        count = 0
        while self.add_business_days(start, count + 1) <= end:
            count += 1
        return count

    def business_days_excluding(
        self, start: datetime, end: datetime, pauses: Collection[tuple[datetime, datetime]]
    ) -> int:
        """Business days from ``start`` to ``end`` with the paused spans taken out."""
        total = self.business_days_between(start, end)
        paused = 0
        for pause_start, pause_end in pauses:
            lo, hi = max(pause_start, start), min(pause_end, end)
            paused += self.business_days_between(lo, hi)
        return max(0, total - paused)


def next_allowed(moment: datetime, zone: str, quiet: QuietHours | None) -> datetime:
    """``moment`` itself, or the end of the recipient's quiet hours when it falls inside them."""
    if quiet is None:
        return moment
    local = moment.astimezone(ZoneInfo(zone))
    if not quiet.contains(local.time()):
        return moment
    end = datetime.combine(local.date(), quiet.end, local.tzinfo)
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(UTC)


_RELATIVE = {"h": 3600, "d": 86400, "w": 604800}


def parse_until(text: str, now: datetime, zone: str) -> datetime:
    """Read "3d", "12h", "2w", "2026-12-01" (start of that local day) or "2026-12-01 14:30" (local).

    A date that does not exist, or a moment not in the future, is a readable error.
    """
    from casebot.errors import InvalidInput

    cleaned = text.strip().lower()
    if cleaned[:-1].isdigit() and cleaned[-1:] in _RELATIVE and int(cleaned[:-1]) > 0:
        return now + timedelta(seconds=int(cleaned[:-1]) * _RELATIVE[cleaned[-1]])
    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            local = datetime.strptime(cleaned, pattern)  # noqa: DTZ007 - the local zone is attached below
        except ValueError:
            continue
        moment = local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
        if moment <= now:
            raise InvalidInput(f"{text.strip()} is already past. Give a later date.")
        if moment > now + timedelta(days=366):
            raise InvalidInput("That is more than a year away. Give a date within the next year.")
        return moment
    raise InvalidInput(
        f"“{text.strip()[:30]}” is not a date I can read. Use 1d, 3d, 2w, or a date like 2026-12-01."
    )
