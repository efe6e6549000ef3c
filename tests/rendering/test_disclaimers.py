"""Every family-facing message about the case carries the disclaimer line that fits the case's moment."""

from __future__ import annotations

import pytest

from casebot.rendering import Renderer

TRAVEL = {"en": "do not book travel", "ru": "не бронируйте поездку", "zh": "请不要预订行程"}
NOT_ADVICE = {"en": "not medical advice", "ru": "не медицинская консультация", "zh": "不是医疗建议"}


@pytest.mark.parametrize("locale", ["en", "ru", "zh"])
@pytest.mark.parametrize("name", ["notices/question_for_family", "notices/hospital_answered"])
@pytest.mark.parametrize(
    ("state", "travel_line"),
    [
        ("records_gathering", True),
        ("under_review", True),
        ("opinion_received", False),
        ("home_follow_up", False),
    ],
)
def test_a_question_or_an_answer_carries_the_disclaimer_of_its_moment(
    locale: str, name: str, state: str, travel_line: bool
) -> None:
    text = Renderer().render(locale, name, ref="C-0001", number=11, text="Q?", answer="A.", state=state)
    assert NOT_ADVICE[locale] in text
    assert (TRAVEL[locale] in text) is travel_line


@pytest.mark.parametrize("locale", ["en", "ru", "zh"])
def test_a_notice_queued_before_the_state_was_kept_still_has_the_pre_review_line(locale: str) -> None:
    text = Renderer().render(locale, "notices/question_for_family", ref="C-0001", number=11, text="Q?")
    assert TRAVEL[locale] in text
