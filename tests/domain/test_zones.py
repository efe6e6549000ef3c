"""Time zones families give: names read safely, cities found in three languages, labels for buttons."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime

import pytest

from casebot.domain.zones import (
    MAX_SUGGESTIONS,
    find_zones,
    format_offset,
    parse_timezone,
    zone_label,
    zones_for_locale,
)
from casebot.errors import InvalidInput

WINTER = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SUMMER = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Europe/Moscow", "Europe/Moscow"),
        ("europe/moscow", "Europe/Moscow"),
        (" ASIA/SHANGHAI ", "Asia/Shanghai"),
        ("America/New York", "America/New_York"),
        ("america / new york", "America/New_York"),
        ("America/Port-au-Prince", "America/Port-au-Prince"),
        ("utc", "UTC"),
    ],
)
def test_a_zone_name_is_read_in_its_canonical_spelling(typed: str, zone: str) -> None:
    assert parse_timezone(typed) == zone


@pytest.mark.parametrize(
    "typed",
    [
        "Europe",  # a directory of the tz database: ZoneInfo raises IsADirectoryError
        "America/Argentina",
        "x" * 300,  # ZoneInfo raises OSError, naming a site-packages path
        "../../etc/passwd",
        "localtime",  # the server's own zone, not one a person lives in
        "Factory",
        "",
        "new york",
    ],
)
def test_anything_but_a_zone_name_is_refused_readably(typed: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_timezone(typed)
    message = raised.value.message
    assert "Europe/Moscow" in message or "time zone" in message
    assert "x" * 41 not in message and "site-packages" not in message


def test_an_invisible_character_in_a_zone_name_is_forgiven() -> None:
    assert parse_timezone("\u200bEurope/Moscow") == "Europe/Moscow"


def test_a_city_typed_for_a_zone_name_is_answered_with_the_zone() -> None:
    with pytest.raises(InvalidInput, match="Did you mean America/New_York"):
        parse_timezone("new york")


def test_a_refused_name_is_shown_back_at_most_forty_characters_long() -> None:
    typed = "Europe/" + "Abcdefghij" * 5
    with pytest.raises(InvalidInput) as raised:
        parse_timezone(typed)
    shown = raised.value.message.split("“")[1].split("”")[0]
    assert len(shown) <= 40 and shown.startswith("Europe/Abc")


@pytest.mark.parametrize("locale", ["en", "ru", "zh"])
def test_each_language_is_offered_a_few_real_zones(locale: str) -> None:
    zones = zones_for_locale(locale)
    assert 3 <= len(zones) <= 8
    assert len(set(zones)) == len(zones)
    assert set(zones) <= zoneinfo.available_timezones()


def test_the_offered_zones_are_where_each_language_is_spoken() -> None:
    assert zones_for_locale("ru")[0] == "Europe/Moscow"
    assert "Asia/Almaty" in zones_for_locale("ru")
    assert zones_for_locale("zh")[0] == "Asia/Shanghai"
    assert "Asia/Hong_Kong" in zones_for_locale("zh-Hant")
    assert "Europe/London" in zones_for_locale("en")
    assert zones_for_locale("fr") == zones_for_locale("en")


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("moscow", "Europe/Moscow"),
        ("Москва", "Europe/Moscow"),
        ("МОСКВА", "Europe/Moscow"),
        ("北京", "Asia/Shanghai"),  # Beijing has no zone of its own
        ("Beijing", "Asia/Shanghai"),
        ("Пекин", "Asia/Shanghai"),
        ("上海", "Asia/Shanghai"),
        ("almaty", "Asia/Almaty"),
        ("Алматы", "Asia/Almaty"),
        ("New York", "America/New_York"),
        ("new-york", "America/New_York"),
        ("Нью-Йорк", "America/New_York"),
        ("纽约", "America/New_York"),
        ("Сидней", "Australia/Sydney"),
        ("悉尼", "Australia/Sydney"),
        ("Washington", "America/New_York"),
        ("Delhi", "Asia/Kolkata"),
        ("Mumbai", "Asia/Kolkata"),
        ("calcutta", "Asia/Kolkata"),  # an old name follows its link
        ("Санкт-Петербург", "Europe/Moscow"),
        ("St. Petersburg", "Europe/Moscow"),
        ("Sao Paulo", "America/Sao_Paulo"),  # accents do not matter
        ("São Paulo", "America/Sao_Paulo"),
        ("Zürich", "Europe/Zurich"),
        ("Киев", "Europe/Kyiv"),
        ("香港", "Asia/Hong_Kong"),
        ("台北", "Asia/Taipei"),
        ("Kuala Lumpur", "Asia/Kuala_Lumpur"),  # a link now, but its own country's zone
        ("Oslo", "Europe/Oslo"),
    ],
)
def test_a_city_is_found_in_any_of_the_three_languages(typed: str, zone: str) -> None:
    assert find_zones(typed, "en")[0] == zone
    assert find_zones(typed, "ru")[0] == zone


def test_an_exact_city_comes_before_cities_that_merely_start_the_same() -> None:
    assert "America/New_York" in find_zones("york", "en")
    assert find_zones("Paris", "en")[0] == "Europe/Paris"
    assert find_zones("mosc", "en")[0] == "Europe/Moscow"


def test_a_country_finds_its_zones() -> None:
    assert find_zones("Китай", "ru") == ["Asia/Shanghai", "Asia/Urumqi"]
    assert find_zones("Kazakhstan", "ru")[0] == "Asia/Almaty"
    assert len(find_zones("Russia", "ru")) == MAX_SUGGESTIONS


@pytest.mark.parametrize("typed", ["", "   ", "xyzzy", "\u200b", "q" * 500, "Europe/Nowhere"])
def test_nothing_found_is_an_empty_list(typed: str) -> None:
    assert find_zones(typed, "en") == []


def test_never_more_than_eight_zones_are_suggested() -> None:
    assert len(find_zones("am", "en")) == MAX_SUGGESTIONS
    assert len(find_zones("a", "en")) <= MAX_SUGGESTIONS


def test_the_zones_likely_for_the_language_come_first() -> None:
    # "new" starts New York, New Salem (North Dakota), New Delhi...: the likely one first.
    assert find_zones("new", "en")[:2] == ["America/New_York", "Asia/Kolkata"]
    assert find_zones("new", "ru").index("Asia/Kolkata") > 1
    assert find_zones("新加", "zh")[0] == "Asia/Singapore"


def test_every_zone_found_is_one_a_participant_can_be_given() -> None:
    for typed in ("moscow", "北京", "Russia", "san", "Сан"):
        for zone in find_zones(typed, "en"):
            assert parse_timezone(zone) == zone


@pytest.mark.parametrize(
    ("zone", "locale", "label"),
    [
        ("Europe/Moscow", "ru", "Москва (UTC+3)"),
        ("Europe/Moscow", "en", "Moscow (UTC+3)"),
        ("Asia/Shanghai", "zh", "上海（UTC+8）"),
        ("Asia/Kolkata", "en", "Kolkata (UTC+5:30)"),
        ("Asia/Kolkata", "ru", "Калькутта (UTC+5:30)"),
        ("America/New_York", "ru", "Нью-Йорк (UTC-5)"),
        ("Europe/London", "en", "London (UTC)"),
        # Not "Трук": CLDR also keys an old name that now links here.
        ("Pacific/Port_Moresby", "ru", "Порт-Морсби (UTC+10)"),
    ],
)
def test_a_button_names_the_city_in_the_family_language_with_its_offset(
    zone: str, locale: str, label: str
) -> None:
    assert zone_label(zone, locale, WINTER) == label


def test_the_offset_on_a_button_is_the_one_in_force_at_the_given_moment() -> None:
    assert zone_label("America/New_York", "en", SUMMER) == "New York (UTC-4)"
    assert zone_label("Australia/Sydney", "en", WINTER) == "Sydney (UTC+11)"
    assert zone_label("Australia/Sydney", "en", SUMMER) == "Sydney (UTC+10)"
    assert format_offset("America/St_Johns", WINTER) == "UTC-3:30"


def test_every_offered_zone_has_a_label_in_its_language() -> None:
    for locale in ("en", "ru", "zh"):
        for zone in zones_for_locale(locale):
            label = zone_label(zone, locale, WINTER)
            assert "UTC" in label and "_" not in label and "/" not in label
