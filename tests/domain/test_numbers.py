"""Item and question numbers people type: ASCII digits only, positive, and small enough to store."""

from __future__ import annotations

import pytest

from casebot.domain.numbers import MAX_INT32, parse_count


@pytest.mark.parametrize(
    ("typed", "number"),
    [("3", 3), (" 3 ", 3), ("#3", 3), ("007", 7), ("Q3", 3), ("q3", 3), ("#Q3", 3), (12, 12)],
)
def test_a_number_is_read_however_it_is_typed(typed: str | int, number: int) -> None:
    assert parse_count(typed) == number


@pytest.mark.parametrize(
    "typed",
    [
        "²",  # "²".isdigit() is True, yet int("²") raises
        "3²",
        "٣",  # Arabic-Indic three: int() would read it
        "３",  # fullwidth three
        "0",
        "Q0",
        "-3",
        "+3",
        "3.0",
        "3 4",
        "",
        "#",
        "Q",
        "QQ3",
        "Q#3",
        "99999999999999999999",  # would overflow the database's integer column
        "1" * 5000,  # int() refuses strings this long
        0,
        -1,
        True,
    ],
)
def test_anything_but_a_plain_positive_number_is_no_number(typed: str | int) -> None:
    assert parse_count(typed) is None


def test_numbers_above_the_limit_are_no_number() -> None:
    assert parse_count("1000000") == 1_000_000
    assert parse_count("1000001") is None
    assert parse_count(1_000_001) is None
    assert parse_count("50", limit=49) is None
    assert parse_count(50, limit=49) is None


def test_no_limit_lets_a_number_past_a_32_bit_column() -> None:
    assert parse_count(str(MAX_INT32), limit=10**12) == MAX_INT32
    assert parse_count(str(MAX_INT32 + 1), limit=10**12) is None
    assert parse_count(MAX_INT32 + 1, limit=10**12) is None
