"""Limits on the free text people type, so every kept text can be shown back in one message."""

from __future__ import annotations

from casebot.errors import InvalidText

MAX_TEXT_LENGTH = 2000
MAX_LABEL_LENGTH = 120
MAX_NAME_LENGTH = 200


def clean_text(text: str | None, *, what: str, limit: int = MAX_TEXT_LENGTH) -> str:
    """Strip the text and check it is neither empty nor longer than ``limit`` characters."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise InvalidText(f"The {what} is empty. Please write it out.")
    if len(cleaned) > limit:
        raise InvalidText(
            f"The {what} is {len(cleaned):,} characters long; the limit is {limit:,}. "
            "Please shorten it or split it in two."
        )
    return cleaned
