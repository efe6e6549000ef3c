"""Checks of a text as its reader gets it: no English left in a ru or zh text, valid Telegram HTML."""

from __future__ import annotations

import html
import re

from casebot.rendering.renderer import TELEGRAM_TAGS

# Words that stay in Latin letters in every language: product names and medical acronyms.
ALLOWED_WORDS = frozenset(
    {"telegram", "pdf", "dicom", "her2", "pd", "l1", "mri", "ct", "pet", "ngs", "csv", "png", "id", "ok",
     "utc", "casebot", "dr", "tbd", "yyyy-mm-dd",
     "concern"}  # with "ok": the verdicts a coordinator types literally (/answer C-0001 11 concern …)
)  # fmt: skip
# Names in examples ("Dr Petrova, City Oncology Centre"): a name is written as its owner writes it.
EXAMPLE_NAMES = frozenset({"petrova", "li", "wang"})


def english_words(text: str, allowed: frozenset[str] = frozenset()) -> list[str]:
    """Latin words of three letters or more left in a text, besides commands, references and allowed words."""
    # What stands in <code> is typed literally (a command line, a word to type): not a translation.
    visible = re.sub(r"<code>.*?</code>", " ", text, flags=re.DOTALL)
    visible = html.unescape(re.sub(r"<[^<>]*>", " ", visible))
    visible = re.sub(r"https?://\S+|\bCASEBOT_[A-Z_]+", " ", visible)  # links, settings
    visible = re.sub(r"\b[A-Z][a-z]+/[A-Za-z_]+\b", " ", visible)  # time zones: Europe/Moscow
    visible = re.sub(r"(?<![\w])/[A-Za-z_]+\w*", " ", visible)  # commands
    visible = re.sub(r"\bC-?\d+\b|\b\d\w*", " ", visible)  # references, 2w, 7bd
    words = re.findall(r"[A-Za-z][A-Za-z_-]*[A-Za-z]", visible)
    return [w for w in words if len(w) >= 3 and w.lower() not in ALLOWED_WORDS | EXAMPLE_NAMES | allowed]


def assert_telegram_html(text: str) -> None:
    """Only tags Telegram knows, balanced; every & starts an entity; < and > only in tags."""
    stack: list[str] = []
    for match in re.finditer(r"<(/?)([A-Za-z][A-Za-z0-9-]*)(?:\s[^<>]*)?>", text):
        closing, tag = match.group(1), match.group(2).lower()
        assert tag in TELEGRAM_TAGS, f"<{tag}> is not a tag Telegram knows"
        if closing:
            assert stack and stack[-1] == tag, f"</{tag}> closes nothing open"
            stack.pop()
        else:
            stack.append(tag)
    assert not stack, f"left open: {stack}"
    outside = re.sub(r"<[^<>]*>", "", text)
    assert "<" not in outside and ">" not in outside, "an unescaped < or > outside a tag"
    for amp in re.finditer(r"&", outside):
        assert re.match(r"&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);", outside[amp.start() :]), "a bare &"
