"""Time zones people give: IANA names read safely, cities found in English, Russian or Chinese, button labels.

The indexes are built once, on first use, from installed data (the tz database and Babel's
CLDR city names); nothing here reads a clock or the network.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from zoneinfo import ZoneInfo

from babel import Locale

from casebot.domain.text import strip_invisible
from casebot.errors import InvalidInput

MAX_SUGGESTIONS = 8
_SHOWN = 40

# Names in the tz directory that are not zones a person lives in: "localtime" is whatever
# the server's clock says, "Factory" means "local time zone must be set".
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})
_REGIONS = (
    "Africa/",
    "America/",
    "Antarctica/",
    "Arctic/",
    "Asia/",
    "Atlantic/",
    "Australia/",
    "Europe/",
    "Indian/",
    "Pacific/",
)
# The locales whose CLDR city names are searched; zh_Hant for families from Hong Kong and Taiwan.
_SEARCH_LOCALES = ("en", "ru", "zh", "zh_Hant")

# The zones offered as buttons when a family joins, most likely first; everyone else types a
# city. The families write to us from abroad, so these are where speakers of each language
# who come to China for a second opinion mostly live:
#   ru: Russia west to east (Kaliningrad to the Far East next to China), Belarus, Kazakhstan
#       and Uzbekistan, where Russian is the common language of medical paperwork;
#   zh: mainland relatives coordinating from home, Hong Kong, Taiwan, and the large Chinese
#       communities of Singapore, Malaysia, and North America and Australia;
#   en: the UK, the US coasts and middle, Australia, and the English-speaking medical
#       travellers of South and Southeast Asia and West Africa.
_LIKELY_ZONES: dict[str, tuple[str, ...]] = {
    "en": (
        "Europe/London",
        "America/New_York",
        "America/Chicago",
        "America/Los_Angeles",
        "Australia/Sydney",
        "Asia/Singapore",
        "Asia/Kolkata",
        "Africa/Lagos",
    ),
    "ru": (
        "Europe/Moscow",
        "Europe/Kaliningrad",
        "Asia/Yekaterinburg",
        "Asia/Novosibirsk",
        "Asia/Vladivostok",
        "Asia/Almaty",
        "Europe/Minsk",
        "Asia/Tashkent",
    ),
    "zh": (
        "Asia/Shanghai",
        "Asia/Hong_Kong",
        "Asia/Taipei",
        "Asia/Singapore",
        "Asia/Kuala_Lumpur",
        "America/Los_Angeles",
        "America/New_York",
        "Australia/Sydney",
    ),
}

# Cities people name that have no zone of their own (capitals and large cities), in the three
# languages. The tz database names a zone after the most populous city, not the capital.
_ALIASES: dict[str, tuple[str, ...]] = {
    "Asia/Shanghai": (
        "Beijing",
        "Peking",
        "Guangzhou",
        "Shenzhen",
        "Chengdu",
        "Wuhan",
        "Hangzhou",
        "Tianjin",
        "Пекин",
        "Гуанчжоу",
        "Шэньчжэнь",
        "Чэнду",
        "Ухань",
        "北京",
        "广州",
        "深圳",
        "成都",
        "武汉",
        "杭州",
        "天津",
        "廣州",
        "武漢",
    ),
    "America/New_York": ("Washington", "Washington DC", "Boston", "Вашингтон", "Бостон", "华盛顿", "華盛頓"),
    "America/Los_Angeles": (
        "San Francisco",
        "Seattle",
        "Сан-Франциско",
        "Сиэтл",
        "旧金山",
        "舊金山",
        "西雅图",
    ),
    "America/Toronto": ("Ottawa", "Montreal", "Оттава", "Монреаль", "渥太华", "蒙特利尔"),
    "Asia/Kolkata": (
        "Delhi",
        "New Delhi",
        "Mumbai",
        "Bombay",
        "Bangalore",
        "Bengaluru",
        "Chennai",
        "Hyderabad",
        "Дели",
        "Нью-Дели",
        "Мумбаи",
        "Бангалор",
        "新德里",
        "德里",
        "孟买",
        "孟買",
        "班加罗尔",
    ),
    "Europe/Moscow": (
        "St Petersburg",
        "Saint Petersburg",
        "Sankt Peterburg",
        "Kazan",
        "Nizhny Novgorod",
        "Sochi",
        "Санкт-Петербург",
        "Петербург",
        "Питер",
        "Казань",
        "Нижний Новгород",
        "Сочи",
        "Ростов-на-Дону",
        "Краснодар",
        "Воронеж",
        "圣彼得堡",
        "聖彼得堡",
        "喀山",
    ),
    "Asia/Yekaterinburg": ("Chelyabinsk", "Perm", "Ufa", "Tyumen", "Челябинск", "Пермь", "Уфа", "Тюмень"),
    "Asia/Almaty": ("Astana", "Nur-Sultan", "Астана", "Нур-Султан", "Алма-Ата", "阿斯塔纳"),
    "Asia/Karachi": ("Islamabad", "Lahore", "Исламабад", "伊斯兰堡"),
    "Asia/Tokyo": ("Osaka", "Kyoto", "Осака", "Киото", "大阪", "京都"),
    "Australia/Sydney": ("Canberra", "Канберра", "堪培拉"),
    "Africa/Lagos": ("Abuja", "Абуджа", "阿布贾"),
    "Asia/Dubai": ("Abu Dhabi", "Абу-Даби", "阿布扎比"),
    "Asia/Hong_Kong": ("Kowloon", "九龙", "九龍"),
    "Asia/Taipei": ("臺北", "Taibei"),
}


@dataclass(frozen=True, slots=True)
class _Indexes:
    """Every lookup, built once."""

    by_lower_name: dict[str, str]  # "america/new_york" -> "America/New_York", every known zone
    cities: dict[str, dict[str, str]]  # locale -> zone -> the city CLDR names it after
    by_place: dict[str, list[str]]  # a folded city or alias -> zones, best first
    by_country: dict[str, list[str]]  # a folded country name -> its zones, in zone.tab order


def _fold(text: str) -> str:
    """A form for matching: case and accents gone (ё is е), punctuation and underscores as spaces."""
    decomposed = unicodedata.normalize("NFKD", strip_invisible(text, keep_newlines=False))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()
    return " ".join(re.sub(r"[\s_\-.,'’()/]+", " ", bare).split())


def _tz_text(name: str) -> str | None:
    """A text file of the tz database as installed with the tzdata package, if it is there."""
    try:
        return resources.files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        return None


def _zone_tab() -> list[tuple[str, str]]:
    """(country code, zone) for every zone a person lives in, one country's zones together."""
    text = _tz_text("zone.tab") or ""
    rows = [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]
    return [(row[0], row[2]) for row in rows if len(row) >= 3]


def _links() -> dict[str, str]:
    """Old and merged names to the zone they now point at: Asia/Calcutta -> Asia/Kolkata."""
    links: dict[str, str] = {}
    for line in (_tz_text("tzdata.zi") or "").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "L":
            links[parts[2]] = parts[1]
    return links


@functools.cache
def _indexes() -> _Indexes:
    known = {zone for zone in zoneinfo.available_timezones() if zone not in _NOT_ZONES}
    tab = [(country, zone) for country, zone in _zone_tab() if zone in known]
    # Zones a person lives in: the per-country list of zone.tab, which keeps Europe/Oslo and
    # Asia/Kuala_Lumpur though they are now links. Without that file, every regional zone.
    lived_in = {zone for _, zone in tab} or {zone for zone in known if zone.startswith(_REGIONS)}
    links = _links()

    def lived(zone: str) -> str | None:
        target = zone if zone in lived_in else links.get(zone)
        return target if target in lived_in else None

    cities: dict[str, dict[str, str]] = {locale: {} for locale in _SEARCH_LOCALES}
    places: dict[str, list[str]] = {}

    def index(name: str, zone: str) -> None:
        zones = places.setdefault(_fold(name), [])
        if zone not in zones:
            zones.append(zone)

    for zone in sorted(known):
        target = lived(zone)
        if target is not None and zone.startswith(_REGIONS):
            index(zone.rsplit("/", 1)[-1], target)
            index(zone, target)
    for locale in _SEARCH_LOCALES:
        # CLDR keys some zones by their old names (Asia/Calcutta); the entry under the current
        # name comes first, so an old name that now links to another city cannot relabel it.
        entries = sorted(Locale.parse(locale).time_zones.items(), key=lambda item: lived(item[0]) != item[0])
        for cldr_zone, names in entries:
            city = names.get("city")
            target = lived(cldr_zone)
            if isinstance(city, str) and target is not None:
                cities[locale].setdefault(target, city)
                index(city, target)
    for zone, aliases in _ALIASES.items():
        for alias in aliases:
            index(alias, zone)

    countries: dict[str, list[str]] = {}
    for locale in _SEARCH_LOCALES:
        territories = Locale.parse(locale).territories
        for country, zone in tab:
            name = territories.get(country)
            if isinstance(name, str):
                zones = countries.setdefault(_fold(name), [])
                if zone not in zones:
                    zones.append(zone)
    return _Indexes(
        by_lower_name={zone.lower(): zone for zone in known},
        cities=cities,
        by_place=places,
        by_country=countries,
    )


def _shown(text: str) -> str:
    cleaned = " ".join(strip_invisible(text, keep_newlines=False).split())
    return cleaned if len(cleaned) <= _SHOWN else cleaned[: _SHOWN - 1] + "…"


def parse_timezone(text: str) -> str:
    """An IANA zone name in its canonical spelling, forgiving case and spaces for underscores
    (``america/new york`` is ``America/New_York``); anything else is a readable InvalidInput.

    Only names the tz database lists are accepted, so a directory (``Europe``) or an
    overlong name never reaches ``ZoneInfo``.
    """
    cleaned = " ".join(strip_invisible(text, keep_newlines=False).split())
    key = re.sub(r"\s*/\s*", "/", cleaned).replace(" ", "_").lower()
    zone = _indexes().by_lower_name.get(key)
    if zone is not None:
        return zone
    # A city typed where a zone name was asked for ("new york") gets the zone it names.
    guesses = _indexes().by_place.get(_fold(cleaned), [])[:3]
    hint = " Did you mean " + " or ".join(guesses) + "?" if guesses else ""
    shown = _shown(text)
    raise InvalidInput(
        f"“{shown}” is not a time zone I know. Use a name like Europe/Moscow or Asia/Shanghai.{hint}",
        key="timezone_unknown",
        shown=shown,
        guesses=tuple(guesses),
    )


def _language(locale: str) -> str:
    """en, ru or zh for a locale such as ``ru``, ``zh-Hans`` or ``en_GB``; English otherwise."""
    base = re.split(r"[-_]", locale.strip().lower(), maxsplit=1)[0]
    return base if base in _LIKELY_ZONES else "en"


def zones_for_locale(locale: str) -> list[str]:
    """The few zones (at most eight) to offer as buttons to someone writing in ``locale``."""
    return list(_LIKELY_ZONES[_language(locale)])


def _ranked(zones: Iterable[str], locale: str) -> list[str]:
    likely = _LIKELY_ZONES[_language(locale)]
    unique = list(dict.fromkeys(zones))
    return sorted(unique, key=lambda zone: likely.index(zone) if zone in likely else len(likely))


def find_zones(text: str, locale: str) -> list[str]:
    """Zones for a place a person typed, in English, Russian or Chinese: "moscow", "Москва",
    "北京", "New York", "Сидней", or a country ("Казахстан"). Case and accents do not matter.

    Exact names come first, then countries, then names that start with what was typed;
    at most eight, the zones likely for ``locale`` first within each group. Nothing found
    is an empty list.
    """
    query = _fold(text)
    if not query:
        return []
    found = _indexes()
    exact = _ranked(found.by_place.get(query, ()), locale)
    country = found.by_country.get(query, [])
    starting: list[str] = []
    if len(query) >= 2:
        starting = _ranked(
            (
                zone
                for place, zones in sorted(found.by_place.items())
                if place != query and any(word.startswith(query) for word in _word_starts(place))
                for zone in zones
            ),
            locale,
        )
    return list(dict.fromkeys([*exact, *country, *starting]))[:MAX_SUGGESTIONS]


def _word_starts(place: str) -> list[str]:
    """``new york`` can be found by "new" and by "york"."""
    words = place.split(" ")
    return [" ".join(words[i:]) for i in range(len(words))]


def _city(zone: str, locale: str) -> str:
    language = _language(locale)
    cities = _indexes().cities
    return cities[language].get(zone) or cities["en"].get(zone) or zone.rsplit("/", 1)[-1].replace("_", " ")


def format_offset(zone: str, now: datetime) -> str:
    """The zone's offset from UTC at ``now``: "UTC+3", "UTC+5:30", "UTC-4", or "UTC"."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    offset = now.astimezone(ZoneInfo(parse_timezone(zone))).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_label(zone: str, locale: str, now: datetime) -> str:
    """A short label for a button: "Москва (UTC+3)", "上海（UTC+8）", "New York (UTC-5)".

    The offset is the one in force at ``now``, so a label shows summer or winter time.
    """
    city = _city(zone, locale)
    offset = format_offset(zone, now)
    return f"{city}（{offset}）" if _language(locale) == "zh" else f"{city} ({offset})"
