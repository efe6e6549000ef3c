"""References people type, and the limits on the text they write."""

from __future__ import annotations

import pytest

from casebot.domain.refs import format_ref, parse_ref
from casebot.domain.text import MAX_TEXT_LENGTH, clean_text
from casebot.errors import InvalidReference, InvalidText


@pytest.mark.parametrize("typed", ["C-0042", "c-42", "C42", "#C-0042", " C-042 "])
def test_a_reference_is_read_however_it_is_typed(typed: str) -> None:
    assert parse_ref(typed) == 42


@pytest.mark.parametrize("typed", ["", "42x", "D-0042", "C-", "C-0", "C-0042; drop"])
def test_a_malformed_reference_is_refused_readably(typed: str) -> None:
    with pytest.raises(InvalidReference) as raised:
        parse_ref(typed)
    assert "C-0042" in raised.value.message


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
