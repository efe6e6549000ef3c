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
# Letters and symbols drawn as nothing at all: the Hangul fillers (ㅤ), the blank Braille pattern,
# the null notehead, the Khitan filler. They stand for a space, so they become one (and a text
# made only of them is empty, like one of spaces).
_BLANKS = frozenset({"\u115f", "\u1160", "\u2800", "\u3164", "\uffa0", "\U0001d159", "\U00016fe4"})
# Marks that change how the character before them is drawn (an emoji's variation selector ❤️, a
# Mongolian free variation selector, the combining grapheme joiner). One is kept right after a
# visible character; alone, in a run, or after a space they draw nothing (or hide data), so they go.
_MODIFIERS = frozenset(
    {"\u034f", "\u180b", "\u180c", "\u180d", "\u180f"}
    | {chr(code) for code in range(0xFE00, 0xFE10)}
    | {chr(code) for code in range(0xE0100, 0xE01F0)}
)
# The rest of Unicode's default-ignorable code points that are not formatting marks already:
# the Khmer inherent vowels (deprecated, drawn as nothing) and the unassigned ones reserved to
# be drawn as nothing.
_IGNORABLE_RANGES = ((0x17B4, 0x17B5), (0x2065, 0x2065), (0xFFF0, 0xFFF8), (0xE0000, 0xE0FFF))


def _is_hidden(char: str) -> bool:
    """Controls, formatting marks (bidi overrides, zero-width, BOM, soft hyphen), lone surrogates
    and the other default-ignorable code points (drawn as nothing).

    A lone surrogate cannot be stored as UTF-8 nor sent to Telegram, so it goes too.
    """
    if unicodedata.category(char) in {"Cc", "Cf", "Cs"}:
        return True
    code = ord(char)
    return char not in _MODIFIERS and any(lo <= code <= hi for lo, hi in _IGNORABLE_RANGES)


def strip_invisible(text: str, *, keep_newlines: bool = True) -> str:
    """``text`` without the characters a reader cannot see; tabs and blank letters (ㅤ, ⠀) become
    spaces.

    Newlines stay when ``keep_newlines``, else they become spaces too. A text left with only
    spaces is blank, so the callers' ``strip`` / ``split`` make it empty.
    """
    for old, new in _LINE_BREAKS.items():
        text = text.replace(old, new)
    kept: list[str] = []
    for index, char in enumerate(text):
        if char == "\n":
            kept.append("\n" if keep_newlines else " ")
        elif char == "\t" or char in _BLANKS:
            kept.append(" ")
        elif char in _JOINERS:
            before = kept[-1] if kept else ""
            after = text[index + 1] if index + 1 < len(text) else ""
            if _is_visible(before) and _is_visible(after):
                kept.append(char)
        elif char in _MODIFIERS:
            before = kept[-1] if kept else ""
            if _is_visible(before) and before not in _MODIFIERS:
                kept.append(char)
        elif not _is_hidden(char):
            kept.append(char)
    return "".join(kept)


def _is_visible(char: str) -> bool:
    return bool(char) and not char.isspace() and char not in _BLANKS and not _is_hidden(char)


def _checked(cleaned: str, original: str | None, what: str, limit: int) -> str:
    if not cleaned:
        if original and original.strip():
            raise InvalidText(
                f"The {what} has only invisible characters. Please write it out.",
                key="text_invisible",
                what=what,
            )
        raise InvalidText(f"The {what} is empty. Please write it out.", key="text_empty", what=what)
    if len(cleaned) > limit:
        raise InvalidText(
            f"The {what} is {len(cleaned):,} characters long; the limit is {limit:,}. "
            "Please shorten it or split it in two.",
            key="text_too_long",
            what=what,
            length=len(cleaned),
            limit=limit,
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
