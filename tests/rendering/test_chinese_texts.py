"""A reader who chose Chinese gets every text in Chinese: nothing falls back to English, and no English is left in it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from importlib.resources import files
from pathlib import Path
from types import SimpleNamespace as NS
from typing import Any

import pytest

from casebot.domain.checklist import ItemStatus
from casebot.rendering import Renderer

TEMPLATES = Path(str(files("casebot.templates")))
ENGLISH_NAMES = sorted(
    path.relative_to(TEMPLATES / "en").with_suffix("").as_posix() for path in (TEMPLATES / "en").rglob("*.j2")
)
LABELS = re.compile(r"{%-?\s*macro\s+(\w+)\s*\(")
# Latin words a Chinese text may keep: acronyms, the bot's and Telegram's names, and what the reader types.
KEPT = {"PDF", "CT", "PET", "DICOM", "MB", "ID", "Telegram", "casebot", "translated", "bd"}
WORD = re.compile(r"[A-Za-z]{2,}")

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def english_words(text: str) -> set[str]:
    """Latin words outside tags, code (what is typed, an error's kind), commands, case references, links and
    file names."""
    visible = re.sub(r"<code>.*?</code>|<[^<>]*>|https?://\S+|/\w+|C-\d{4}|\S+\.[a-z]{2,4}\b", " ", text)
    return set(WORD.findall(visible)) - KEPT


@pytest.mark.parametrize("name", [name for name in ENGLISH_NAMES if name != "_macros"])
def test_every_english_text_has_a_chinese_one(name: str) -> None:
    assert Renderer().has("zh", name), f"a Chinese reader would get zh/{name} in English"


def test_every_label_and_button_has_a_chinese_text() -> None:
    english = set(LABELS.findall((TEMPLATES / "en" / "labels.j2").read_text(encoding="utf-8")))
    chinese = set(LABELS.findall((TEMPLATES / "zh" / "labels.j2").read_text(encoding="utf-8")))
    assert english - chinese == set()


class StateValue(str):
    """A state as the card carries it: compares as its code and has ``.value``."""

    @property
    def value(self) -> str:
        return str(self)


def item(position: int, code: str | None, status: ItemStatus, **more: Any) -> NS:
    fields = dict(id=position, position=position, code=code, title="", status=status, waive_reason=None)
    return NS(**(fields | dict(arrival_route=None, arrival_expected_at=None) | more))


def card() -> NS:
    """A case far along: re-routed once, red flags open, questions both ways, the opinion sent."""
    case = NS(
        label="肺癌 王女士",
        state=StateValue("opinion_received"),
        state_changed_at=NOW,
        hospital="瑞金医院",
        department="肿瘤科",
        reviewer="王医生",
        review_sla_days=5,
        home_doctor=None,
        translation_status="pending",
    )
    return NS(
        reference="C-0001",
        case=case,
        review_expected=None,
        declined=False,
        awaiting_acceptance=False,
        routes=[
            NS(position=1, hospital="复旦", department="胸外科", reviewer=None, created_at=NOW,
               turnaround_days=7, outcome="needs_more", outcome_at=NOW, outcome_reason="切片无法判读"),
            NS(position=2, hospital="瑞金医院", department="肿瘤科", reviewer="王医生", created_at=NOW,
               turnaround_days=None, outcome=None, outcome_at=None, outcome_reason=None),
        ],
        members=[NS(display_name="小王", blocked=True)],
        member_ids={7},
        items=[
            item(2, "pathology", ItemStatus.RECEIVED),
            item(3, "imaging", ItemStatus.WAIVED, waive_reason="未做影像检查"),
            item(9, None, ItemStatus.MISSING, title="病理蜡块", arrival_route="courier"),
        ],
        file_counts={2: 2},
        red_flags=["no_named_reviewer", "eligibility_unclear"],
        concerns={"eligibility_unclear"},
        questions_for_family=[NS(number=11, topic=None, text="有蜡块吗？")],
        questions_for_hospital=[NS(number=12, topic=None, text="需要翻译哪些资料？", asked_by_id=7)],
        answered_questions=[NS(number=1, topic=None, text="由谁审阅？", verdict="ok", answer="王医生")],
        opinion_files=[NS(id=5, purpose="opinion", file_name="意见.pdf", created_at=NOW, confirmed_at=None)],
        file_delivery={5: (1, 1)},
        recent=[NS(action="state_overridden", from_value="under_review", to_value="opinion_received",
                   reason="医院按现有资料审阅", created_at=NOW)],
    )  # fmt: skip


STAFF_TEXTS: list[tuple[str, dict[str, Any]]] = [
    ("staff/card", {"card": card()}),
    (
        "staff/outcome_recorded",
        {"result": NS(repeat=False, outcome="accepted", reference="C-0001", position=2, moved_from="sent",
                      state="under_review", expected=date(2026, 12, 2), family_told=True)},
    ),
    (
        "staff/outcome_recorded",
        {"result": NS(repeat=False, outcome="needs_more", reference="C-0001", position=1, state="records_gathering",
                      reason="切片无法判读", items=[NS(position=9, title="病理蜡块")], family_told=False)},
    ),
    ("staff/ask_outcome", {"ref": "C-0001", "outcome": "needs_more"}),
    ("staff/ask_outcome", {"ref": "C-0001", "outcome": "rerouted"}),
    (
        "staff/hospital_set",
        {"ref": "C-0001", "case": NS(hospital="瑞金医院", department="肿瘤科", reviewer="待确认", review_sla_days=7),
         "rerouted": True, "position": 2},
    ),
    ("staff/answer_logged", {"ref": "C-0001", "question": NS(number=6, verdict="concern")}),
    ("staff/item_marked", {"ref": "C-0001", "item": item(2, "pathology", ItemStatus.RECEIVED)}),
    ("staff/arriving", {"item": NS(case_id=1, position=3, arrival_route="link", arrival_expected_at=date(2026, 12, 3))}),
    ("staff/paused", {"ref": "C-0001", "until": NOW}),
    ("staff/file_needs_caption", {"captioned": True}),
    ("notices/chase_hospital", {"ref": "C-0001", "days": 3, "questions": [1, 2]}),
    ("notices/escalation_missing", {"ref": "C-0001", "reminders": 3, "items": [1, 2]}),
    ("notices/file_arrived", {"ref": "C-0001", "kind": "photo", "item": 2, "file_name": None, "downloadable": False}),
    ("notices/file_undelivered", {"ref": "C-0001", "purpose": "opinion", "reason": "gave_up"}),
    ("notices/review_overdue", {"ref": "C-0001", "days": 12}),
    ("notices/state_changed_staff", {"ref": "C-0001", "source": "opinion_received", "target": "home_follow_up"}),
    ("admin/failure", {"kind": "database", "suppressed": 2}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "context"), STAFF_TEXTS, ids=[name for name, _ in STAFF_TEXTS])
def test_a_coordinator_reading_chinese_finds_no_english_left(name: str, context: dict[str, Any]) -> None:
    text = Renderer().render("zh", name, zone="Asia/Shanghai", **context)
    assert re.search(r"[\u4e00-\u9fff]", text), text
    assert english_words(text) == set(), text


def test_the_card_names_states_outcomes_and_verdicts_in_chinese() -> None:
    text = Renderer().render("zh", "staff/card", zone="Asia/Shanghai", card=card())
    for words in (
        "已收到诊疗意见",
        "需要补充资料",
        "[没有问题]",
        "已记为<b>疑虑</b>",
        "尚未提供",
        "译文待发送",
    ):
        assert words in text, words


@pytest.mark.parametrize(
    ("name", "context"),
    [
        ("notices/check_in", {"ref": "C-0001", "round": 7}),
        ("notices/ask_home_doctor", {"ref": "C-0001", "state": "opinion_received"}),
        (
            "family/status",
            {
                "card": NS(
                    reference="C-0001",
                    case=NS(state="home_follow_up", hospital=None),
                    declined=False,
                    awaiting_acceptance=False,
                    review_expected=None,
                    missing_items=[],
                    questions_for_family=[],
                )
            },
        ),
    ],
)
def test_a_family_abroad_is_sent_to_the_oncologist_in_their_own_country(
    name: str, context: dict[str, Any]
) -> None:
    """当地 ("local") would not say which country is meant: home is the country the family lives in."""
    text = Renderer().render("zh", name, **context)
    assert "所在国家" in text, text
    assert "当地" not in text, text
