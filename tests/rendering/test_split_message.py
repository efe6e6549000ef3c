"""Long messages are cut into parts that are each valid Telegram HTML and together say everything."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape

from casebot.rendering import split_message
from casebot.rendering.renderer import TELEGRAM_TAGS, TELEGRAM_TEXT_LIMIT

_TAG = re.compile(r'<(/?)([a-z-]+)((?:\s+[a-z-]+(?:="[^"<>]*")?)*)\s*>')
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")


def telegram_text(part: str) -> str:
    """What Telegram would show for ``part``, failing on anything its HTML parse mode refuses:
    an unknown or broken tag, tags not closed in order, a bare <, > or &, a cut entity."""
    stack: list[str] = []
    shown: list[str] = []
    at = 0
    while at < len(part):
        char = part[at]
        if char == "<":
            tag = _TAG.match(part, at)
            assert tag is not None, f"broken tag at {at}: {part[at : at + 20]!r}"
            closing, name = tag.group(1), tag.group(2)
            assert name in TELEGRAM_TAGS, f"unknown tag {name}"
            if closing:
                assert stack and stack.pop() == name, f"</{name}> closes nothing open in {part!r}"
            else:
                stack.append(name)
            at = tag.end()
        elif char == "&":
            entity = _ENTITY.match(part, at)
            assert entity is not None, f"cut entity at {at}: {part[at : at + 10]!r}"
            shown.append(html.unescape(entity.group(0)))
            at = entity.end()
        else:
            assert char != ">", f"bare > at {at}"
            shown.append(char)
            at += 1
    assert not stack, f"left open: {stack} in {part!r}"
    return "".join(shown)


def assert_split_well(text: str, limit: int) -> list[str]:
    """Every part fits, is valid alone and shows something; read one after another, the parts
    show the whole text, less at most the one line break or space at each cut."""
    parts = split_message(text, limit)
    whole = telegram_text(text)
    at = 0
    for number, part in enumerate(parts):
        assert len(part) <= limit
        shown = telegram_text(part)
        assert shown.strip(), f"part {number} shows nothing"
        if number and not whole.startswith(shown, at):
            assert whole[at] in " \n", f"part {number} does not carry on from part {number - 1}"
            at += 1
        assert whole.startswith(shown, at), f"part {number} is not the text that follows"
        at += len(shown)
    assert not whole[at:].strip(), "text lost at the end"
    return parts


HOSTILE = 'Tom & Jerry said "<b>hi</b>" & left <script>alert(1)</script> & <i>&amp; more</i> '


def message(user_text: str, repeat: int) -> str:
    """A template's output: tags of its own around user text escaped by autoescape."""
    said = escape(user_text * repeat)
    return f"<b>Case C-0042</b>: the family wrote\n<b>{said}</b> and <i>{said}</i>\nEnd."


@pytest.mark.parametrize("limit", [TELEGRAM_TEXT_LIMIT, 1000, 333, 101, 64])
def test_long_user_text_full_of_html_characters_is_split_into_valid_parts(limit: int) -> None:
    parts = assert_split_well(message(HOSTILE, 120), limit)
    assert len(parts) > 1


@pytest.mark.parametrize("limit", [64, 65, 66, 67, 68, 69, 70, 71, 97])
def test_a_cut_never_falls_inside_an_entity_even_without_spaces(limit: int) -> None:
    parts = assert_split_well("<b>" + "&amp;&lt;&quot;&#39;" * 200 + "</b>", limit)
    assert all(part.startswith("<b>") and part.endswith("</b>") for part in parts)


def test_a_bold_run_cut_in_two_is_closed_and_reopened() -> None:
    parts = split_message("<b>" + "word " * 100 + "</b>", 100)
    assert all(part.startswith("<b>") and part.endswith("</b>") for part in parts)


def test_a_tag_opened_just_before_a_cut_opens_in_the_next_part_instead() -> None:
    parts = assert_split_well("x" * 93 + "<b>" + "y" * 50 + "</b>", 100)
    assert parts[0] == "x" * 93
    assert parts[1] == "<b>" + "y" * 50 + "</b>"


def test_a_line_that_fills_a_part_exactly_is_cut_at_its_end() -> None:
    assert split_message("a" * 100 + "\n" + "b" * 100, 100) == ["a" * 100, "b" * 100]


def test_no_part_is_only_blank() -> None:
    parts = split_message("a" + " " * 300 + "b", 100)
    assert [part.strip() for part in parts] == ["a", "b"]


def test_a_link_cut_in_two_reopens_with_its_address() -> None:
    text = 'See <a href="https://example.org/?a=1&amp;b=2">' + "the hospital's page " * 20 + "</a>."
    parts = assert_split_well(text, 120)
    assert all(part.startswith('<a href="https://example.org/?a=1&amp;b=2">') for part in parts[1:])


def test_lines_are_kept_whole_when_they_fit() -> None:
    lines = [f"<b>{n:02d}</b> item with a short line of text" for n in range(40)]
    parts = assert_split_well("\n".join(lines), 200)
    for part in parts:
        assert all(line in lines for line in part.split("\n"))


def test_a_long_line_is_cut_between_words() -> None:
    words = [f"word{n}" for n in range(400)]
    parts = assert_split_well(" ".join(words), 100)
    for part in parts:
        assert all(word in words for word in part.split(" "))


def test_a_word_longer_than_a_part_is_cut_hard() -> None:
    parts = assert_split_well("x" * 250, 100)
    assert [len(part) for part in parts] == [100, 100, 50]


def test_a_message_that_fits_is_left_alone() -> None:
    text = "<b>Case</b>\n\n" + "&amp;" * 10
    assert split_message(text) == [text]


def test_tags_too_long_to_reopen_fall_back_to_plain_text() -> None:
    link = '<a href="https://example.org/' + "x" * 80 + '">'
    parts = assert_split_well(link + "text " * 60 + "</a>", 100)
    assert "<a" not in "".join(parts)


@st.composite
def telegram_html(draw: st.DrawFn) -> str:
    """A template's output: tags nested properly around text full of characters to escape."""
    pieces: list[str] = []
    open_tags: list[str] = []
    for _ in range(draw(st.integers(1, 60))):
        choice = draw(st.sampled_from(["text", "text", "text", "open", "close", "newline"]))
        if choice == "text":
            pieces.append(str(escape(draw(st.text(alphabet="ab &<>\"'д中", min_size=1, max_size=80)))))
        elif choice == "open" and len(open_tags) < 3:
            tag = draw(st.sampled_from(["b", "i", "u", "code"]))
            open_tags.append(tag)
            pieces.append(f"<{tag}>")
        elif choice == "close" and open_tags:
            pieces.append(f"</{open_tags.pop()}>")
        elif choice == "newline":
            pieces.append("\n")
    pieces.extend(f"</{tag}>" for tag in reversed(open_tags))
    return "".join(pieces)


@settings(max_examples=300, deadline=None)
@given(text=telegram_html(), limit=st.integers(64, 300))
def test_any_template_output_splits_into_valid_parts(text: str, limit: int) -> None:
    if telegram_text(text).strip():
        assert_split_well(text, limit)
