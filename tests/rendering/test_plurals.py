"""The plural filter: the word form CLDR's rules pick for a number in the template's language."""

from __future__ import annotations

import pytest

from casebot.rendering import Renderer

DAYS = {
    "en": '{{ n }} {{ n|plural(one="day", other="days") }}',
    "ru": '{{ n }} {{ n|plural(one="день", few="дня", many="дней", other="дня") }}',
    "zh": '{{ n }} {{ n|plural(other="天") }}',
}


def days(locale: str, n: float, template: str | None = None) -> str:
    return Renderer().env.from_string(template or DAYS[locale]).render(n=n, locale=locale)


@pytest.mark.parametrize(("n", "words"), [(1, "1 day"), (2, "2 days"), (0, "0 days"), (21, "21 days")])
def test_english_has_one_day_and_many_days(n: int, words: str) -> None:
    assert days("en", n) == words


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (1, "1 день"),
        (21, "21 день"),
        (101, "101 день"),
        (2, "2 дня"),
        (3, "3 дня"),
        (4, "4 дня"),
        (22, "22 дня"),
        (5, "5 дней"),
        (11, "11 дней"),
        (12, "12 дней"),
        (14, "14 дней"),
        (25, "25 дней"),
        (111, "111 дней"),
        (0, "0 дней"),
        (1.5, "1.5 дня"),
    ],
)
def test_russian_picks_one_few_or_many(n: float, words: str) -> None:
    assert days("ru", n) == words


@pytest.mark.parametrize("n", [1, 2, 5, 21])
def test_chinese_has_one_form(n: int) -> None:
    assert days("zh", n) == f"{n} 天"
    assert days("zh", n, '{{ n|plural(one="ONE", few="FEW", other="天") }}') == "天"


def test_a_form_not_given_falls_back_to_other() -> None:
    template = '{{ n|plural(one="день", other="дн.") }}'
    assert days("ru", 1, template) == "день"
    assert days("ru", 5, template) == "дн."
    assert days("ru", 3, template) == "дн."


def test_a_locale_babel_does_not_know_follows_english_rules() -> None:
    assert days("xx", 1, DAYS["en"]) == "1 day"
    assert days("xx", 3, DAYS["en"]) == "3 days"


def test_a_misspelt_form_is_a_template_error_not_a_silent_other() -> None:
    with pytest.raises(TypeError, match="fw"):
        days("ru", 3, '{{ n|plural(one="день", fw="дня", other="дней") }}')


def test_the_word_is_escaped_like_any_other_output() -> None:
    assert days("en", 2, '{{ n|plural(one="<b>", other="a & b") }}') == "a &amp; b"
