"""Limits on the text people type, so every kept text is visible, honest and fits in one message."""

from __future__ import annotations

import unicodedata

from casebot.errors import InvalidText

MAX_TEXT_LENGTH = 2000
MAX_LABEL_LENGTH = 120
MAX_NAME_LENGTH = 200
MAX_FILE_NAME_LENGTH = 255

# Zero-width joiners shape emoji sequences (👨‍👩‍👧) and Indic and Persian words, so they are kept
# between two visible characters; anywhere else they only hide or disguise text.
_JOINERS = frozenset({"\u200c", "\u200d"})
# Line and paragraph separators break lines on screen, so they count as newlines.
_LINE_BREAKS = {"\r\n": "\n", "\r": "\n", "\u2028": "\n", "\u2029": "\n", "\x85": "\n"}


def _is_hidden(char: str) -> bool:
    """Controls, formatting marks (bidi overrides, zero-width, BOM, soft hyphen) and lone surrogates.

    A lone surrogate cannot be stored as UTF-8 nor sent to Telegram, so it goes too.
    """
    return unicodedata.category(char) in {"Cc", "Cf", "Cs"}


def strip_invisible(text: str, *, keep_newlines: bool = True) -> str:
    """``text`` without the characters a reader cannot see; tabs become spaces.

    Newlines stay when ``keep_newlines``, else they become spaces too.
    """
    for old, new in _LINE_BREAKS.items():
        text = text.replace(old, new)
    kept: list[str] = []
    for index, char in enumerate(text):
        if char == "\n":
            kept.append("\n" if keep_newlines else " ")
        elif char == "\t":
            kept.append(" ")
        elif char in _JOINERS:
            before = kept[-1] if kept else ""
            after = text[index + 1] if index + 1 < len(text) else ""
            if _is_visible(before) and _is_visible(after):
                kept.append(char)
        elif not _is_hidden(char):
            kept.append(char)
    return "".join(kept)


def _is_visible(char: str) -> bool:
    return bool(char) and not char.isspace() and not _is_hidden(char)


def _checked(cleaned: str, original: str | None, what: str, limit: int) -> str:
    if not cleaned:
        if original and original.strip():
            raise InvalidText(f"The {what} has only invisible characters. Please write it out.")
        raise InvalidText(f"The {what} is empty. Please write it out.")
    if len(cleaned) > limit:
        raise InvalidText(
            f"The {what} is {len(cleaned):,} characters long; the limit is {limit:,}. "
            "Please shorten it or split it in two."
        )
    return cleaned


def clean_text(text: str | None, *, what: str, limit: int = MAX_TEXT_LENGTH) -> str:
    """Free text (a question, an answer, a note): invisible characters removed, lines kept, stripped.

    Refused with a readable InvalidText when nothing visible is left or it is longer than ``limit``.
    """
    cleaned = strip_invisible(text or "").strip()
    return _checked(cleaned, text, what, limit)


def clean_name(text: str | None, *, what: str, limit: int = MAX_NAME_LENGTH) -> str:
    """A single-line name or label (a case label, a hospital): one line, runs of spaces collapsed.

    Refused like :func:`clean_text` when empty after cleaning or longer than ``limit``.
    """
    cleaned = " ".join(strip_invisible(text or "", keep_newlines=False).split())
    return _checked(cleaned, text, what, limit)


def clean_file_name(name: str | None) -> str | None:
    """A file name a family's app reported, made safe to show: cleaned like a name, at most 255
    characters (keeping the extension), or None when nothing is left.

    A right-to-left override in ``CT-\u202efdp.exe`` would show the name as ``CT-exe.pdf``.
    """
    cleaned = " ".join(strip_invisible(name or "", keep_newlines=False).split())
    if not cleaned:
        return None
    if len(cleaned) <= MAX_FILE_NAME_LENGTH:
        return cleaned
    stem, dot, extension = cleaned.rpartition(".")
    if dot and stem and len(extension) <= 16:
        return stem[: MAX_FILE_NAME_LENGTH - len(extension) - 1].rstrip() + "." + extension
    return cleaned[:MAX_FILE_NAME_LENGTH].rstrip()
