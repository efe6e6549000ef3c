"""Russian needs three plural forms of "day"; a check-in reads right whatever CHECK_IN_DAYS holds."""

from __future__ import annotations

import pytest

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


def test_every_check_in_round_renders_in_every_language() -> None:
    renderer = Renderer()
    for locale in ("en", "ru", "zh"):
        for days in CHECK_IN_DAYS:
            assert str(days) in renderer.render(locale, "notices/check_in", ref="C-0001", round=days)
