"""The Russian coordinator texts read as Russian: numbers agree with their words, dates are not
followed by a doubled full stop, genders agree, and "at home" is "по месту жительства"."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from casebot.rendering import Renderer

ROOT = Path(__file__).resolve().parents[2] / "templates" / "ru"
# Texts written alongside by others (reminders list, errors, digests): not checked here.
OTHER_HELPERS = ("staff/reminders.j2", "errors/", "notices/digest_")

BUSINESS_DAYS = [
    (1, "1 рабочий день"),
    (3, "3 рабочих дня"),
    (5, "5 рабочих дней"),
    (11, "11 рабочих дней"),
    (21, "21 рабочий день"),
    (22, "22 рабочих дня"),
]


@pytest.mark.parametrize(("days", "words"), BUSINESS_DAYS)
def test_a_coordinator_reads_business_days_in_the_right_russian_form(days: int, words: str) -> None:
    renderer = Renderer()
    chase = renderer.render("ru", "notices/chase_hospital", ref="C-0001", days=days, questions=[1, 2])
    overdue = renderer.render("ru", "notices/review_overdue", ref="C-0001", days=days)
    case = SimpleNamespace(
        hospital="Ruijin", department="Онкология", reviewer="Dr Wang", review_sla_days=days
    )
    routed = renderer.render("ru", "staff/hospital_set", ref="C-0001", case=case)
    assert f"уже {words}:" in chase
    assert f"уже {words} (" in overdue
    assert f"срок рассмотрения: {words}." in routed


@pytest.mark.parametrize(
    ("count", "words"),
    [(1, "передан 1 случай"), (3, "переданы 3 случая"), (5, "переданы 5 случаев"), (21, "передан 21 случай")],
)
def test_cases_handed_over_agree_with_their_number(count: int, words: str) -> None:
    text = Renderer().render("ru", "notices/cases_handed_over", cases=list(range(1, count + 1)))
    assert f"Вам {words} " in text


def test_a_long_date_that_ends_a_sentence_gets_one_full_stop() -> None:
    """Russian long dates end in "г.": a sentence ending on one must not add a second stop."""
    renderer = Renderer()
    item = SimpleNamespace(case_id=1, position=3, arrival_route="courier", arrival_expected_at="2026-12-03")
    arriving = renderer.render("ru", "staff/arriving", item=item)
    result = SimpleNamespace(
        reference="C-0001", outcome="accepted", position=1, state="under_review", repeat=False,
        moved_from="sent", expected="2026-12-03", family_told=1,
    )  # fmt: skip
    accepted = renderer.render("ru", "staff/outcome_recorded", result=result)
    for rendered in (arriving, accepted):
        text = rendered.replace("\u202f", " ").replace("\xa0", " ")
        assert "3 декабря 2026 г." in text
        assert "г.." not in text


@pytest.mark.parametrize(
    ("purpose", "words"),
    [
        (
            "opinion",
            "Письменное заключение сохранено в случае <b>C-0001</b> и будет отправлено 2 членам семьи",
        ),
        (
            "translation",
            "Перевод заключения сохранён в случае <b>C-0001</b> и будет отправлен 2 членам семьи",
        ),
    ],
)
def test_a_sent_file_agrees_in_gender_and_the_pending_translation_has_its_own_line(
    purpose: str, words: str
) -> None:
    sent = SimpleNamespace(
        file=SimpleNamespace(purpose=purpose), reference="C-0001", recipients=2, translation_status="pending"
    )
    lines = Renderer().render("ru", "staff/file_sent", sent=sent).split("\n")
    assert words in lines[0]
    assert lines[1].startswith("Перевод ожидается:")


def test_the_audit_trail_says_the_opinion_was_sent_in_the_right_gender() -> None:
    renderer = Renderer()
    line = renderer.env.from_string('{% import "ru/_macros.j2" as m with context %}{{ m.event(e) }}')
    event = SimpleNamespace(action="file_sent", from_value=None, to_value="opinion:12", reason=None)
    assert line.render(e=event, locale="ru") == "Письменное заключение отправлено семье"


def test_no_russian_text_says_at_home_word_for_word() -> None:
    """ "At home" (the family's own country and doctors) is "по месту жительства", never "дома"."""
    found = {
        name
        for path in ROOT.rglob("*.j2")
        if not (name := path.relative_to(ROOT).as_posix()).startswith(OTHER_HELPERS)
        and re.search(r"\bдома\b", path.read_text(encoding="utf-8"))
    }
    assert found == set()
