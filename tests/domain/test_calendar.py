"""Business days as the hospital in China keeps them, and the dates and durations people give."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casebot.domain.calendar import (
    BusinessCalendar,
    next_allowed,
    official_calendar_gap,
    official_workday,
    parse_until,
)
from casebot.domain.quiet import QuietHours, parse_quiet_hours
from casebot.errors import InvalidInput

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


def shanghai(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


OFFICIAL = BusinessCalendar("Asia/Shanghai", official=True)
WEEKDAYS = BusinessCalendar("Asia/Shanghai")


# --- China's official calendar ---------------------------------------------------------------


def test_a_three_day_sla_from_the_monday_before_national_day_skips_the_golden_week() -> None:
    # 2026: National Day holiday 1-7 October; Saturday 10 October is a make-up working day.
    start = shanghai(2026, 9, 28, 10, 0)
    assert OFFICIAL.add_business_days(start, 3) == shanghai(2026, 10, 8, 10, 0)
    assert OFFICIAL.add_business_days(start, 5) == shanghai(2026, 10, 10, 10, 0)
    # Counted Monday to Friday alone, the SLA would fall due in the middle of the holiday.
    assert WEEKDAYS.add_business_days(start, 3) == shanghai(2026, 10, 1, 10, 0)


def test_the_days_counted_across_national_day_agree_with_the_due_date() -> None:
    start = shanghai(2026, 9, 28, 10, 0)
    assert OFFICIAL.business_days_between(start, shanghai(2026, 10, 7, 23, 0)) == 2
    assert OFFICIAL.business_days_between(start, shanghai(2026, 10, 8, 10, 0)) == 3
    assert OFFICIAL.business_days_between(start, shanghai(2026, 10, 12, 10, 0)) == 6


def test_spring_festival_is_off_and_its_make_up_saturday_is_a_working_day() -> None:
    # 2026: Spring Festival holiday 15-23 February; Saturday 14 February is worked.
    start = shanghai(2026, 2, 13, 9, 30)  # a Friday
    assert OFFICIAL.add_business_days(start, 1) == shanghai(2026, 2, 14, 9, 30)
    assert OFFICIAL.add_business_days(start, 3) == shanghai(2026, 2, 25, 9, 30)
    assert WEEKDAYS.add_business_days(start, 3) == shanghai(2026, 2, 18, 9, 30)


def test_a_start_on_a_holiday_counts_from_the_next_working_day() -> None:
    start = shanghai(2026, 10, 3, 15, 0)
    assert OFFICIAL.add_business_days(start, 1) == shanghai(2026, 10, 9, 0, 0)
    assert OFFICIAL.add_business_days(start, 0) == shanghai(2026, 10, 8, 0, 0)


def test_listed_holidays_still_count_as_days_off_with_the_official_calendar() -> None:
    # The hospital closes on 8 October for its own reasons (CASEBOT_HOLIDAYS).
    calendar = BusinessCalendar("Asia/Shanghai", frozenset({date(2026, 10, 8)}), official=True)
    assert calendar.add_business_days(shanghai(2026, 9, 28, 10, 0), 3) == shanghai(2026, 10, 9, 10, 0)


def test_a_year_the_package_does_not_know_falls_back_to_weekdays_less_listed_holidays() -> None:
    assert official_workday(date(2028, 10, 2)) is None
    calendar = BusinessCalendar("Asia/Shanghai", frozenset({date(2028, 10, 3)}), official=True)
    start = shanghai(2028, 9, 29, 10, 0)  # a Friday
    # Mon 2 Oct, (Tue 3 Oct listed as a holiday), Wed 4 Oct.
    assert calendar.add_business_days(start, 2) == shanghai(2028, 10, 4, 10, 0)
    assert not calendar.is_business_day(date(2028, 9, 30))
    assert calendar.is_business_day(date(2028, 10, 2))


def test_the_official_calendar_is_opt_in() -> None:
    assert WEEKDAYS.is_business_day(date(2026, 10, 1))
    assert not WEEKDAYS.is_business_day(date(2026, 10, 10))
    assert not OFFICIAL.is_business_day(date(2026, 10, 1))
    assert OFFICIAL.is_business_day(date(2026, 10, 10))


def test_a_missing_official_calendar_for_this_year_or_next_is_announced() -> None:
    warning = official_calendar_gap(date(2026, 11, 20))
    assert warning is not None and "2027" in warning and "2026" not in warning
    assert "chinese-calendar" in warning and "\n" not in warning
    both = official_calendar_gap(date(2030, 1, 1))
    assert both is not None and "2030 and 2031" in both


def test_no_warning_when_both_years_are_known() -> None:
    assert official_calendar_gap(date(2025, 6, 1)) is None


moments = st.datetimes(
    min_value=datetime(2025, 12, 1),
    max_value=datetime(2027, 2, 1),
    timezones=st.just(SHANGHAI),
)


@settings(max_examples=200, deadline=None)
@given(start=moments, days=st.integers(min_value=0, max_value=40), official=st.booleans())
def test_counting_the_days_to_a_due_date_gives_back_the_days_added(
    start: datetime, days: int, official: bool
) -> None:
    calendar = BusinessCalendar("Asia/Shanghai", frozenset({date(2026, 5, 6)}), official=official)
    due = calendar.add_business_days(start, days)
    assert calendar.business_days_between(start, due) == days
    assert calendar.business_days_between(start, due - timedelta(seconds=1)) == max(0, days - 1)
    assert calendar.is_business_day(due.astimezone(SHANGHAI).date())


@settings(max_examples=100, deadline=None)
@given(start=moments, end=moments, official=st.booleans())
def test_days_between_is_the_largest_count_whose_due_date_has_come(
    start: datetime, end: datetime, official: bool
) -> None:
    calendar = BusinessCalendar("Asia/Shanghai", official=official)
    count = calendar.business_days_between(start, end)
    if count:
        assert calendar.add_business_days(start, count) <= end
    assert calendar.add_business_days(start, count + 1) > end


# --- the end of quiet hours, across the nights the clocks change ----------------------------------


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def first_allowed_minute(moment: datetime, zone: str, quiet: QuietHours) -> datetime:
    """The answer by brute force: minute after minute until the local clock is out of the window."""
    local_time = lambda instant: instant.astimezone(ZoneInfo(zone)).time()  # noqa: E731
    if not quiet.contains(local_time(moment)):
        return moment
    probe = moment.replace(second=0, microsecond=0)
    while quiet.contains(local_time(probe)):
        probe += timedelta(minutes=1)
    return probe


@pytest.mark.parametrize(
    ("zone", "window", "moment", "expected"),
    [
        # New York falls back (02:00 EDT -> 01:00 EST): 01:10 EST is the second 01:10; the window
        # ends at the second 01:30, not the first, which is an hour in the past.
        ("America/New_York", "23:00-01:30", utc(2026, 11, 1, 6, 10), utc(2026, 11, 1, 6, 30)),
        # The first 01:10 (EDT): the window ends at the first 01:30.
        ("America/New_York", "23:00-01:30", utc(2026, 11, 1, 5, 10), utc(2026, 11, 1, 5, 30)),
        # New York springs forward (02:00 EST -> 03:00 EDT): 02:30 never comes; the jump ends it.
        ("America/New_York", "22:00-02:30", utc(2026, 3, 8, 6, 50), utc(2026, 3, 8, 7, 0)),
        # London falls back at 02:00 BST -> 01:00 GMT; the second 01:45 ends "00:00-01:45".
        ("Europe/London", "00:00-01:45", utc(2026, 10, 25, 1, 15), utc(2026, 10, 25, 1, 45)),
        # London springs forward at 01:00 GMT -> 02:00 BST: "00:30-01:30" ends at the jump.
        ("Europe/London", "00:30-01:30", utc(2026, 3, 29, 0, 40), utc(2026, 3, 29, 1, 0)),
        # Lord Howe moves its clocks by half an hour (02:00 -> 01:30 in April).
        ("Australia/Lord_Howe", "22:00-01:45", utc(2026, 4, 4, 15, 5), utc(2026, 4, 4, 15, 15)),
        # Santiago springs forward at midnight (00:00 -> 01:00): "23:00-00:30" ends at the jump.
        ("America/Santiago", "23:00-00:30", utc(2026, 9, 6, 3, 30), utc(2026, 9, 6, 4, 0)),
        # Samoa skipped 30 December 2011 altogether.
        ("Pacific/Apia", "21:00-09:00", utc(2011, 12, 30, 9, 30), utc(2011, 12, 30, 19, 0)),
        # Moscow and Shanghai keep no daylight saving time.
        ("Europe/Moscow", "21:00-09:00", utc(2026, 3, 29, 20, 0), utc(2026, 3, 30, 6, 0)),
        ("Asia/Shanghai", "22:00-07:00", utc(2026, 11, 1, 15, 0), utc(2026, 11, 1, 23, 0)),
    ],
)
def test_quiet_hours_end_when_the_local_clock_leaves_the_window(
    zone: str, window: str, moment: datetime, expected: datetime
) -> None:
    quiet = parse_quiet_hours(window)
    assert quiet is not None and quiet.contains(moment.astimezone(ZoneInfo(zone)).time())
    assert next_allowed(moment, zone, quiet) == expected
    assert expected == first_allowed_minute(moment, zone, quiet)


def test_a_moment_out_of_quiet_hours_or_without_any_is_itself() -> None:
    moment = utc(2026, 11, 1, 6, 10)
    assert next_allowed(moment, "America/New_York", None) is moment
    assert next_allowed(moment, "America/New_York", parse_quiet_hours("09:00-17:00")) is moment


DST_ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Pacific/Chatham",
    "America/St_Johns",
    "Africa/Casablanca",
    "Antarctica/Troll",
    "Pacific/Apia",
]
quarter_hours = st.builds(
    lambda hour, quarter: time(hour, 15 * quarter),
    st.integers(min_value=0, max_value=23),
    st.integers(min_value=0, max_value=3),
)


@settings(max_examples=400, deadline=None)
@given(
    zone=st.sampled_from(DST_ZONES),
    start=quarter_hours,
    end=quarter_hours,
    moment=st.datetimes(
        min_value=datetime(2011, 12, 25), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    transition_nights=st.booleans(),
)
def test_quiet_hours_never_end_before_the_moment_nor_later_than_they_do(
    zone: str, start: time, end: time, moment: datetime, transition_nights: bool
) -> None:
    if start == end:
        return
    if transition_nights:
        # Most moments fall far from a change of the clocks: move this one next to one.
        tz = ZoneInfo(zone)
        for hours in range(0, 24 * 200):
            probe = moment + timedelta(hours=hours)
            if probe.astimezone(tz).utcoffset() != (probe + timedelta(hours=1)).astimezone(tz).utcoffset():
                moment = probe - timedelta(hours=12) + (moment - moment.replace(minute=0, second=0))
                break
    quiet = QuietHours(start, end)
    found = next_allowed(moment, zone, quiet)
    assert found >= moment
    assert found == first_allowed_minute(moment, zone, quiet)


# --- dates and durations people give ---------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "after"),
    [
        ("3d", timedelta(days=3)),
        ("12h", timedelta(hours=12)),
        ("2W", timedelta(weeks=2)),
        (" 1 d ", timedelta(days=1)),
        ("52w", timedelta(weeks=52)),
        ("366d", timedelta(days=366)),
        ("8784h", timedelta(hours=8784)),
    ],
)
def test_a_duration_within_a_year_is_read(typed: str, after: timedelta) -> None:
    assert parse_until(typed, NOW, "Asia/Shanghai") == NOW + after


@pytest.mark.parametrize(
    "typed", ["60w", "367d", "53w", "8785h", "9999999999d", "9" * 400 + "w", "00000400d"]
)
def test_a_duration_past_a_year_is_refused_like_a_date_past_a_year(typed: str) -> None:
    with pytest.raises(InvalidInput, match="more than a year away"):
        parse_until(typed, NOW, "Asia/Shanghai")


def test_a_long_run_of_leading_zeros_is_still_a_short_duration() -> None:
    assert parse_until("0000000003d", NOW, "Asia/Shanghai") == NOW + timedelta(days=3)
    # int() refuses more than 4,300 digits, leading zeros included.
    assert parse_until("0" * 5000 + "3d", NOW, "Asia/Shanghai") == NOW + timedelta(days=3)


@pytest.mark.parametrize("typed", ["0d", "0h", "000w"])
def test_a_duration_of_nothing_is_refused(typed: str) -> None:
    with pytest.raises(InvalidInput):
        parse_until(typed, NOW, "Asia/Shanghai")


@pytest.mark.parametrize(
    "typed",
    [
        "²d",  # "²".isdigit() is True
        "٣d",  # Arabic-Indic three
        "３d",  # fullwidth three
        "٢٠٢٦-١٢-٠١",  # a date in Arabic-Indic digits
        "２０２６-１２-０１",
        "-3d",
        "3.5d",
        "3m",
        "",
    ],
)
def test_only_ascii_digits_are_read(typed: str) -> None:
    with pytest.raises(InvalidInput, match="not a date I can read"):
        parse_until(typed, NOW, "Asia/Shanghai")


def test_a_date_is_the_start_of_that_local_day() -> None:
    assert parse_until("2026-12-01", NOW, "Asia/Shanghai") == shanghai(2026, 12, 1, 0, 0)
    assert parse_until("2026-12-01 14:30", NOW, "Europe/Moscow") == datetime(
        2026, 12, 1, 14, 30, tzinfo=ZoneInfo("Europe/Moscow")
    )


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("2027-11-22", "more than a year away"),
        ("9999-12-31 23:59", "more than a year away"),  # past datetime's range once in UTC
        ("0001-01-01", "already past"),  # before datetime's range once in UTC
        ("2026-11-19", "already past"),
        ("2026-02-30", "not a date I can read"),
    ],
)
def test_an_impossible_date_is_refused_readably(typed: str, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        parse_until(typed, NOW, "America/New_York" if typed.startswith("9") else "Asia/Shanghai")
