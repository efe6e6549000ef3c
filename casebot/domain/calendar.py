"""Business days (weekdays or China's official calendar), the end of quiet hours, and the dates people give."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

from casebot.domain.quiet import QuietHours
from casebot.errors import InvalidInput

#: How far ahead a snooze, a pause or any other date a person gives may reach.
MAX_AHEAD = timedelta(days=366)


@functools.lru_cache(maxsize=4096)
def official_workday(day: date) -> bool | None:
    """Whether China's official calendar makes ``day`` a working day (holidays off, make-up
    weekend days 调休 on), or None for a year the chinese-calendar package does not know yet.

    Cached: overdue checks count business days one by one for every open case, and the
    package's lookup is slow; the calendar of a day never changes within a process (about ten
    years of days fit)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


def official_calendar_gap(today: date) -> str | None:
    """A one-line warning when China's official calendar for this year or next is not known
    (the chinese-calendar package needs an update), else None."""
    missing = [year for year in (today.year, today.year + 1) if official_workday(date(year, 6, 1)) is None]
    if not missing:
        return None
    years = " and ".join(str(year) for year in missing)
    return (
        f"The chinese-calendar package does not know China's official working days for {years}: "
        "business days there count Monday to Friday less CASEBOT_HOLIDAYS, with no make-up working "
        "days. Upgrade chinese-calendar once the State Council publishes the arrangement."
    )


HOSPITAL_ZONE = "Asia/Shanghai"
"""The hospitals are in China, which keeps one time zone: their business days are counted in it."""


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """Working days in one time zone: Monday to Friday, less the holidays.

    With ``official``, China's official calendar decides instead (public holidays off,
    make-up weekend working days on), still less ``holidays``; for a year the
    chinese-calendar package does not know, it falls back to Monday to Friday.
    """

    zone: str
    holidays: frozenset[date] = field(default_factory=frozenset)
    official: bool = False

    def is_business_day(self, day: date) -> bool:
        """Whether a local date is a working day."""
        if day in self.holidays:
            return False
        workday = official_workday(day) if self.official else None
        return day.weekday() < 5 if workday is None else workday

    def _business_moments(self, start: datetime) -> Iterator[datetime]:
        """The moments 1, 2, 3... business days after ``start``, in UTC (see add_business_days)."""
        zone = ZoneInfo(self.zone)
        local = start.astimezone(zone)
        day = local.date()
        clock = local.timetz().replace(tzinfo=None)
        if not self.is_business_day(day):
            while not self.is_business_day(day):
                day += timedelta(days=1)
            clock = time(0)
        while True:
            day += timedelta(days=1)
            if self.is_business_day(day):
                yield datetime.combine(day, clock, zone).astimezone(UTC)

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """The moment ``days`` business days after ``start``: the same local time on the
        ``days``-th following working day (a start on a day off counts from the next one)."""
        if days <= 0:
            return self._start_of_count(start)
        moments = self._business_moments(start)
        for _ in range(days - 1):
            next(moments)
        return next(moments)

    def _start_of_count(self, start: datetime) -> datetime:
        """``start`` itself, or the beginning of the next working day when it falls on a day off."""
        zone = ZoneInfo(self.zone)
        day = start.astimezone(zone).date()
        if self.is_business_day(day):
            return start.astimezone(UTC)
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return datetime.combine(day, time(0), zone).astimezone(UTC)

    def business_days_between(self, start: datetime, end: datetime) -> int:
        """Whole business days from ``start`` to ``end`` (0 when end is not after start): the
        largest n with ``add_business_days(start, n) <= end``."""
        if end <= start:
            return 0
        moments = self._business_moments(start)
        count = 0
        while next(moments) <= end:
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
    """``moment`` itself, or the end of the recipient's quiet hours when it falls inside them:
    the first instant from ``moment`` on whose local time is out of the window.

    Never before ``moment``, whatever the zone's clocks do: on a night they go back, the end
    of the window may be read twice (the first still ahead counts); on a night they jump
    forward over it, or out of the window, the window ends at the jump.
    """
    if quiet is None:
        return moment
    tz = ZoneInfo(zone)
    start = moment.astimezone(UTC)

    def allowed(instant: datetime) -> bool:
        return not quiet.contains(instant.astimezone(tz).time())

    if allowed(start):
        return moment
    day = start.astimezone(tz).date()
    # Every instant the local clock reads the window's end, from the day before to days ahead.
    ends = []
    for offset in range(-1, 4):
        wall = datetime.combine(day + timedelta(days=offset), quiet.end, tz)
        for fold in (0, 1):
            instant = wall.replace(fold=fold).astimezone(UTC)
            if instant >= start and allowed(instant):
                ends.append(instant)
    end = min(ends, default=start + timedelta(days=4))
    # Between ``start`` and that end the clock runs on, unless the zone changes its offset:
    # a jump may leave the window before the clock reads its end (or skip the end altogether).
    if start.astimezone(tz).utcoffset() != end.astimezone(tz).utcoffset():
        jump = _offset_change(start, end, tz)
        if jump >= start and allowed(jump):
            return jump
    if ends:
        return end
    # A zone that skipped whole days: the first allowed minute ahead.
    probe = start
    while probe < start + timedelta(days=8):
        probe += timedelta(minutes=1)
        if allowed(probe):
            return probe
    return start


def _offset_change(lo: datetime, hi: datetime, tz: ZoneInfo) -> datetime:
    """The first whole second after ``lo`` (and at most ``hi``) at which ``tz`` has the UTC offset
    it has at ``hi``: the moment its clocks jumped (one of them, should there be several)."""
    target = hi.astimezone(tz).utcoffset()
    low, high = math.floor(lo.timestamp()), math.ceil(hi.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(tz).utcoffset() == target:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


_RELATIVE = re.compile(r"([0-9]+)\s*([hdw])")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
# More digits than this is always past MAX_AHEAD, and would make int() and timedelta slow or overflow.
_MAX_DIGITS = 6


def parse_until(text: str, now: datetime, zone: str) -> datetime:
    """Read "3d", "12h", "2w", "2026-12-01" (start of that local day) or "2026-12-01 14:30" (local).

    A date that does not exist, a moment not in the future, or one more than a year away
    (a date or a duration alike) is a readable error. Only ASCII digits are read.
    """
    cleaned = text.strip().lower()
    shown = text.strip()[:30]
    relative = _RELATIVE.fullmatch(cleaned)
    if relative is not None:
        digits, unit = relative.group(1).lstrip("0"), relative.group(2)
        if len(digits) > _MAX_DIGITS or int(digits or 0) * _UNITS[unit] > MAX_AHEAD:
            raise InvalidInput(
                "That is more than a year away. Give a time within the next year.", key="time_too_far"
            )
        if not digits:
            raise InvalidInput(
                f"{shown} is no time at all. Give at least 1h or 1d.", key="no_time", shown=shown
            )
        return now + int(digits) * _UNITS[unit]
    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            local = datetime.strptime(cleaned, pattern)  # noqa: DTZ007 - the local zone is attached below
        except ValueError:
            continue
        if local.date() < now.date() - timedelta(days=2):
            raise InvalidInput(
                f"{shown} is already past. Give a later date.", key="date_past", day=local.date()
            )
        if local.date() > now.date() + MAX_AHEAD + timedelta(days=2):
            raise InvalidInput(
                "That is more than a year away. Give a date within the next year.", key="date_too_far"
            )
        moment = local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
        if moment <= now:
            raise InvalidInput(f"{shown} is already past. Give a later date.", key="moment_past", shown=shown)
        if moment > now + MAX_AHEAD:
            raise InvalidInput(
                "That is more than a year away. Give a date within the next year.", key="date_too_far"
            )
        return moment
    raise InvalidInput(
        f"“{shown}” is not a date I can read. Use 1d, 3d, 2w, or a date like 2026-12-01.",
        key="until_unreadable",
        shown=shown,
    )
