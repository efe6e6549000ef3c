"""The audit trail and a state conflict read as words, in the reader's language, never as stored codes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from casebot.domain.states import CaseState
from casebot.errors import StateConflict
from casebot.rendering import Renderer
from casebot.telegram.errors import user_error_text

CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")
LOCALES = ["en", "ru", "zh"]


def event(
    action: str, before: str | None = None, after: str | None = None, reason: str | None = None
) -> object:
    return SimpleNamespace(
        action=action,
        from_value=before,
        to_value=after,
        reason=reason,
        created_at=datetime(2026, 11, 20, tzinfo=UTC),
    )


# Every action casebot's services write, with the values they keep.
EVENTS = [
    event("case_opened", None, "records_gathering"),
    event("state_changed", "records_gathering", "sent"),
    event("state_overridden", "records_gathering", "sent", "the family asked us to go ahead"),
    event("state_changed", "under_review", "records_gathering", "the hospital wants the blocks"),
    event("state_changed", "opinion_received", "home_follow_up"),
    event("case_erased", "under_review", "withdrawn"),
    event("case_erased", "closed", "closed"),
    event("question_to_family", None, "11"),
    event("question_to_hospital", None, "12"),
    event("question_answered", "1:open", "1:ok"),
    event("question_answered", "2:ok", "2:concern", "records are reviewed remotely"),
    event("question_answered", "11:open", "11:answered"),
    event("item_received", "2:missing", "2:received"),
    event("item_waived", "3:missing", "3:waived", "no imaging was done"),
    event("item_missing", "2:received", "2:missing"),
    event("item_added", None, "9"),
    event("file_received", "2:missing", "2:received"),
    event("file_received", None, "other"),
    event("invite_created"),
    event("member_joined"),
    event("hospital_set", None, "Fudan | Thoracic oncology | Dr Li"),
    event("coordinator_assigned", "3", "4", "coordinator removed"),
    event("note_added"),
    event("reminders_paused", None, "2026-12-01T10:00+00:00"),
    event("reminders_snoozed", None, "2026-12-01T10:00+00:00"),
    event("reminders_resumed"),
    event("check_in_answered", "7", "need_help"),
    event("file_sent", None, "opinion:3"),
    event("file_sent", None, "translation:4"),
    event("file_sent", None, "send:5"),
    event("translation_status", None, "pending"),
    event("translation_status", "pending", "sent"),
    event("opinion_confirmed", None, "3"),
    event("check_in_answered", "30", "not_yet"),
    # An action this template does not know yet still reads as words.
    event("something_new_happened", "old_value", "new_value"),
]


def render_event(locale: str, audited: object) -> str:
    macros = Renderer().env.get_template(f"{locale}/_macros.j2").module
    return str(macros.event(audited)).strip()  # type: ignore[attr-defined]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("audited", EVENTS, ids=lambda e: f"{e.action}:{e.to_value}")
def test_every_audit_event_reads_as_words(locale: str, audited: object) -> None:
    line = render_event(locale, audited)
    assert line
    assert CODE.findall(line) == [], line
    assert "\n" not in line


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("en", ["Q2 answered again: concern (was ok)", "Earlier answer: records are reviewed remotely"]),
        (
            "ru",
            ["Ответ на Q2 записан заново", "было: в порядке", "Прежний ответ: records are reviewed remotely"],
        ),
        ("zh", ["已重新记录 Q2 的答复", "原为：没有问题", "原答复：records are reviewed remotely"]),
    ],
)
def test_an_answer_given_again_keeps_the_earlier_one_in_the_trail(locale: str, words: list[str]) -> None:
    line = render_event(
        locale, event("question_answered", "2:ok", "2:concern", "records are reviewed remotely")
    )
    for word in words:
        assert word in line, line


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("actual", [state.value for state in CaseState])
def test_a_state_conflict_names_the_states_in_words(locale: str, actual: str) -> None:
    error = StateConflict("C-0001", "records_gathering", actual)
    text = user_error_text(Renderer(), error, locale)
    assert "C-0001" in text
    assert CODE.findall(text) == [], text
