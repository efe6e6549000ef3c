"""References people type, and the limits on the text they write."""

from __future__ import annotations

import pytest

from casebot.domain.numbers import MAX_INT32
from casebot.domain.refs import case_and_text, format_ref, parse_ref
from casebot.domain.text import (
    MAX_NAME_LENGTH,
    MAX_TEXT_LENGTH,
    clean_file_name,
    clean_name,
    clean_text,
)
from casebot.errors import InvalidReference, InvalidText


@pytest.mark.parametrize("typed", ["C-0042", "c-42", "C42", "#C-0042", " C-042 "])
def test_a_reference_is_read_however_it_is_typed(typed: str) -> None:
    assert parse_ref(typed) == 42


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "42x",
        "D-0042",
        "C-",
        "C-0",
        "C-0042; drop",
        "C-٤٢",  # Arabic-Indic digits: \d matches them, int() reads them as 42
        "C-４２",  # fullwidth digits
        "C-4²",
        f"C-{MAX_INT32 + 1}",  # past the 32-bit id column: the lookup would fail in the database
        "C-99999999999999999999",
    ],
)
def test_a_malformed_reference_is_refused_readably(typed: str) -> None:
    with pytest.raises(InvalidReference) as raised:
        parse_ref(typed)
    assert "C-0042" in raised.value.message


def test_the_largest_case_number_the_database_holds_is_a_reference() -> None:
    assert parse_ref(f"C-{MAX_INT32}") == MAX_INT32
    assert parse_ref("C-000000000000042") == 42


def test_references_are_zero_padded() -> None:
    assert format_ref(7) == "C-0007"
    assert format_ref(12345) == "C-12345"


@pytest.mark.parametrize("text", ["", "   ", None])
def test_empty_text_is_refused(text: str | None) -> None:
    with pytest.raises(InvalidText, match="empty"):
        clean_text(text, what="question")


def test_overlong_text_is_refused_with_its_length() -> None:
    with pytest.raises(InvalidText) as raised:
        clean_text("x" * 5000, what="question")
    assert "5,000" in raised.value.message and f"{MAX_TEXT_LENGTH:,}" in raised.value.message


INVISIBLE = [
    "\u200b\u200b\u200b",  # zero-width spaces
    "\u200d\u200c",  # joiners with nothing to join
    "\ufeff",  # byte order mark
    "\u202e\u202c",  # right-to-left override and its pop
    "\u2066\u2069",  # an isolate and its pop
    "\u00ad",  # soft hyphen
    "\x00\x07\x1b",  # NUL, bell, escape
    "\u2060 \t \u200b",  # word joiner, spaces, a tab
    "\u3164",  # Hangul filler (a letter drawn as nothing)
    "\uffa0\u115f\u1160",  # the halfwidth, leading and vowel Hangul fillers
    "\u2800\u2800",  # blank Braille patterns
    "\u034f",  # a combining grapheme joiner with nothing to join
    "\ufe0f\U000e0100",  # variation selectors with nothing to vary
    "\u180e\u17b4",  # Mongolian vowel separator, Khmer inherent vowel
    "\u2065\ufff0",  # unassigned, reserved to be drawn as nothing
    "\u3164\u2800 \ufe0f",  # a mix of them
]
BLANK_SPACES = ["\u2000\u2001\u2002\u200a", "\u3000", "\u00a0\u202f\u205f", "\u1680"]


@pytest.mark.parametrize("text", INVISIBLE)
def test_text_of_invisible_characters_is_refused_as_empty(text: str) -> None:
    with pytest.raises(InvalidText, match="invisible") as raised:
        clean_text(text, what="case label")
    assert "case label" in raised.value.message
    with pytest.raises(InvalidText, match="invisible"):
        clean_name(text, what="case label")


@pytest.mark.parametrize("text", BLANK_SPACES)
def test_text_of_unusual_spaces_is_refused_as_empty(text: str) -> None:
    with pytest.raises(InvalidText, match="empty"):
        clean_name(text, what="case label")
    with pytest.raises(InvalidText, match="empty"):
        clean_text(text, what="case label")


def test_a_blank_letter_between_words_is_a_space() -> None:
    assert clean_name("\u3164Lung,\u3164\u3164Mrs\u2800Ivanova\uffa0", what="case label") == (
        "Lung, Mrs Ivanova"
    )


def test_a_variation_selector_stays_on_its_emoji_but_not_alone() -> None:
    heart, eye = "\u2764\ufe0f", "\U0001f441\ufe0f\u200d\U0001f5e8\ufe0f"
    assert clean_text(f"Thanks {heart} {eye}", what="note") == f"Thanks {heart} {eye}"
    assert clean_text("ok \ufe0f\ufe0f x\ufe0f\ufe0e\ufe0f", what="note") == "ok  x\ufe0f"


def test_a_right_to_left_override_cannot_disguise_a_file_extension() -> None:
    # Shown as "CT-exe.pdf" to the coordinator if kept; really an .exe.
    assert clean_file_name("CT-\u202efdp.exe") == "CT-fdp.exe"


@pytest.mark.parametrize("name", [None, "", "   ", "\u200b\u202e", "\x00"])
def test_a_file_name_with_nothing_visible_is_none(name: str | None) -> None:
    assert clean_file_name(name) is None


def test_a_long_file_name_is_cut_to_255_characters_keeping_its_extension() -> None:
    name = clean_file_name("scan " * 100 + "final.pdf")
    assert name is not None and len(name) <= 255 and name.endswith(".pdf")
    assert clean_file_name("x" * 300) == "x" * 255


def test_a_file_name_is_one_line() -> None:
    assert clean_file_name("CT\nreport\t2026.pdf") == "CT report 2026.pdf"


def test_free_text_keeps_its_lines_but_loses_hidden_characters() -> None:
    typed = "\ufeffBlocks\u200b are\u00ad available.\r\nSlides:\tno.\u2028Ask\x1b[31m again\x00"
    assert clean_text(typed, what="answer") == "Blocks are available.\nSlides: no.\nAsk[31m again"


def test_a_lone_surrogate_that_could_not_be_stored_is_dropped() -> None:
    assert clean_text("ok\ud800", what="answer") == "ok"


def test_joiners_inside_an_emoji_or_a_word_are_kept() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert clean_text(f"Thanks {family}", what="note") == f"Thanks {family}"
    assert clean_text("\u200dhi\u200d", what="note") == "hi"


def test_a_name_is_one_line_with_spaces_collapsed() -> None:
    assert clean_name("  Peking\u3000Union \n Medical\tCollege\u202e ", what="hospital") == (
        "Peking Union Medical College"
    )


def test_a_name_longer_than_its_limit_is_refused() -> None:
    assert clean_name("x" * MAX_NAME_LENGTH, what="hospital") == "x" * MAX_NAME_LENGTH
    with pytest.raises(InvalidText, match="hospital"):
        clean_name("x" * (MAX_NAME_LENGTH + 1), what="hospital")


def test_the_limit_counts_only_what_is_kept() -> None:
    assert clean_name("\u200b" * 500 + "Ward 3", what="department", limit=10) == "Ward 3"


@pytest.mark.parametrize(
    ("text", "cases", "expected"),
    [
        ("Can we bring slides?", [4], (4, "Can we bring slides?")),
        ("C-0007 Can we bring slides?", [4, 7], (7, "Can we bring slides?")),
        ("c7 Dr Chen, Northside", [4, 7], (7, "Dr Chen, Northside")),
        ("Can we bring slides?", [4, 7], (None, "Can we bring slides?")),
        # A reference alone is the whole text, not a case with nothing to say.
        ("C-0007", [7], (7, "C-0007")),
        ("C-0007", [4, 7], (None, "C-0007")),
    ],
)
def test_a_family_names_the_case_first_or_has_only_one(
    text: str, cases: list[int], expected: tuple[int | None, str]
) -> None:
    assert case_and_text(text, cases) == expected
