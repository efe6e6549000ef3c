"""Russian needs three plural forms of "day"; a check-in reads right whatever CHECK_IN_DAYS holds."""

from __future__ import annotations

import pytest
from babel import Locale

from casebot.domain.reminders import CHECK_IN_DAYS
from casebot.rendering import Renderer


@pytest.mark.parametrize(
    ("days", "words"),
    [
        (1, "1 день"),
        (2, "2 дня"),
        (4, "4 дня"),
        (5, "5 дней"),
        (7, "7 дней"),
        (11, "11 дней"),
        (12, "12 дней"),
        (21, "21 день"),
        (22, "22 дня"),
        (30, "30 дней"),
        (111, "111 дней"),
    ],
)
def test_a_russian_check_in_names_the_days_in_the_right_form(days: int, words: str) -> None:
    text = Renderer().render("ru", "notices/check_in", ref="C-0001", round=days)
    assert f"уже {words}." in text


def test_the_russian_check_in_agrees_with_cldr_for_every_number_up_to_200() -> None:
    renderer = Renderer()
    cldr = renderer.env.from_string('{{ n }} {{ n|plural(one="день", few="дня", many="дней", other="дня") }}')
    for days in range(1, 201):
        text = renderer.render("ru", "notices/check_in", ref="C-0001", round=days)
        assert f"уже {cldr.render(n=days, locale='ru')}." in text


WORDS = {
    "en": {"one": "{days} day into home follow-up", "other": "{days} days into home follow-up"},
    "ru": {
        "one": "наблюдение по месту жительства идёт уже {days} день.",
        "few": "наблюдение по месту жительства идёт уже {days} дня.",
        "many": "наблюдение по месту жительства идёт уже {days} дней.",
    },
    "zh": {"other": "随访阶段已进行 {days} 天"},
}


@pytest.mark.parametrize("locale", sorted(WORDS))
def test_every_check_in_round_names_its_days_in_each_language(locale: str) -> None:
    renderer = Renderer()
    for days in CHECK_IN_DAYS:
        text = renderer.render(locale, "notices/check_in", ref="C-0001", round=days)
        assert WORDS[locale][Locale.parse(locale).plural_form(days)].format(days=days) in text
