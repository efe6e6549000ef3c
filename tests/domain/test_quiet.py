"""Quiet hours people set: a window of local time, typed in ASCII digits."""

from __future__ import annotations

from datetime import time

import pytest

from casebot.domain.quiet import QuietHours, parse_quiet_hours
from casebot.errors import InvalidInput


@pytest.mark.parametrize(
    ("typed", "window"),
    [
        ("21:00-09:00", QuietHours(time(21), time(9))),
        ("21-9", QuietHours(time(21), time(9))),
        (" 22:30 - 07:15 ", QuietHours(time(22, 30), time(7, 15))),
    ],
)
def test_quiet_hours_are_read_however_they_are_typed(typed: str, window: QuietHours) -> None:
    assert parse_quiet_hours(typed) == window


@pytest.mark.parametrize("typed", ["off", "OFF", "none", "-", ""])
def test_off_means_no_quiet_hours(typed: str) -> None:
    assert parse_quiet_hours(typed) is None


@pytest.mark.parametrize("typed", ["٢١-٩", "２１-９", "²¹-⁹", "21-9x", "9", "24-7", "21:60-9"])
def test_anything_but_a_window_of_ascii_times_is_refused(typed: str) -> None:
    with pytest.raises(InvalidInput, match="21:00-09:00"):
        parse_quiet_hours(typed)


def test_a_window_that_starts_where_it_ends_is_refused() -> None:
    with pytest.raises(InvalidInput, match="different times"):
        parse_quiet_hours("9-9")


def test_a_window_past_midnight_covers_the_night_and_not_the_day() -> None:
    night = QuietHours(time(21), time(9))
    assert night.contains(time(23)) and night.contains(time(3)) and not night.contains(time(12))
    assert not night.contains(time(9)) and night.contains(time(21))
