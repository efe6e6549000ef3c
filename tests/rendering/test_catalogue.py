"""Every text the bot sends exists in en, ru and zh, renders to valid Telegram HTML, fits a message
(or is split), and a ru or zh text holds no English besides references, commands and names.

Each template is rendered with a sample that stands for any value (a number, a word, a list of one, a
date), so no template escapes the check for want of sample data; the conversations in tests/telegram
render the same templates with real data.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment, meta

from casebot.rendering import Renderer
from casebot.rendering.renderer import TELEGRAM_TEXT_LIMIT, split_message

from ..language_checks import assert_telegram_html, english_words

ROOT = Path(__file__).resolve().parents[2] / "templates"
LOCALES = ("en", "ru", "zh")
OTHER_LOCALES = ("ru", "zh")
SAMPLE_NUMBER = 17


class Sample:
    """Stands for any value a template may be given: 17 as a number or a word, itself for any
    attribute, key or call, a list of two, true in a test, unequal to every constant."""

    def __str__(self) -> str:
        return str(SAMPLE_NUMBER)

    def __html__(self) -> str:
        return str(SAMPLE_NUMBER)

    def __format__(self, spec: str) -> str:
        return format(SAMPLE_NUMBER, spec)

    def __int__(self) -> int:
        return SAMPLE_NUMBER

    __index__ = __int__

    def __float__(self) -> float:
        return float(SAMPLE_NUMBER)

    def __getattr__(self, name: str) -> Sample:
        if name.startswith("__"):
            raise AttributeError(name)
        return Sample()

    def __getitem__(self, key: Any) -> Sample:
        return Sample()

    def __call__(self, *args: Any, **kwargs: Any) -> Sample:
        return Sample()

    def __iter__(self) -> Iterator[Sample]:
        return iter([Sample(), Sample()])  # two: a list of two, or a pair to unpack

    def __len__(self) -> int:
        return 2

    def __bool__(self) -> bool:
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sample)

    def __hash__(self) -> int:
        return SAMPLE_NUMBER

    def __lt__(self, other: object) -> bool:
        return False

    __gt__ = __le__ = __ge__ = __lt__

    def __contains__(self, item: object) -> bool:
        return False

    def __add__(self, other: Any) -> Any:
        return SAMPLE_NUMBER + other if isinstance(other, int | float) else Sample()

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        return SAMPLE_NUMBER - other if isinstance(other, int | float) else SAMPLE_NUMBER

    def __rsub__(self, other: Any) -> Any:
        return other - SAMPLE_NUMBER if isinstance(other, int | float) else SAMPLE_NUMBER


SAMPLE_MOMENT = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
# What a Sample becomes when a filter needs a value of its own kind.
_AS_KIND: dict[str, Any] = {
    "ref": SAMPLE_NUMBER,
    "local_time": SAMPLE_MOMENT,
    "long_date": date(2026, 12, 3),
    "duration": timedelta(days=3),
    "plural": SAMPLE_NUMBER,
    "number": SAMPLE_NUMBER,
}


def _with_samples(filter_: Callable[..., Any], stand_in: Any) -> Callable[..., Any]:
    @functools.wraps(filter_)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        # A pass_context filter gets the context first; the value is the first argument after it.
        index = 1 if getattr(filter_, "jinja_pass_arg", None) is not None else 0
        values = list(args)
        if len(values) > index and isinstance(values[index], Sample):
            values[index] = stand_in
        return filter_(*values, **kwargs)

    return wrapped


@functools.cache
def sample_environment() -> Environment:
    env = Renderer().env.overlay()
    for name, stand_in in _AS_KIND.items():
        env.filters[name] = _with_samples(env.filters[name], stand_in)
    placeholder = env.tests["placeholder_name"]
    env.tests["placeholder_name"] = lambda name: placeholder("Dr Li" if isinstance(name, Sample) else name)
    getitem = env.getitem

    def sample_getitem(obj: Any, key: Any) -> Any:
        # A table looked up by a Sample (the words of a state, a kind) gives its first entry.
        if isinstance(key, Sample) and isinstance(obj, dict) and obj:
            return next(iter(obj.values()))
        return getitem(obj, key)

    env.getitem = sample_getitem  # type: ignore[method-assign]
    return env


def template_names() -> list[str]:
    """Every message template (not the macro and label libraries), by its name under a locale."""
    names = []
    for path in sorted((ROOT / "en").rglob("*.j2")):
        name = path.relative_to(ROOT / "en").as_posix().removesuffix(".j2")
        if not any(part.startswith("_") for part in name.split("/")) and name != "labels":
            names.append(name)
    return names


def label_keys() -> list[str]:
    return re.findall(r"\{%-?\s*macro\s+(\w+)\(", (ROOT / "en" / "labels.j2").read_text(encoding="utf-8"))


def render_sample(locale: str, name: str) -> str:
    env = sample_environment()
    source = (ROOT / locale / f"{name}.j2").read_text(encoding="utf-8")
    # Every variable the template names is a Sample.
    context: dict[str, Any] = {key: Sample() for key in meta.find_undeclared_variables(env.parse(source))}
    context.update(locale=locale, zone="Europe/Moscow")
    text = env.get_template(f"{locale}/{name}.j2").render(context)
    lines = [line.rstrip() for line in text.strip().split("\n")]
    return "\n".join(line for line in lines if line)


@pytest.mark.parametrize("locale", OTHER_LOCALES)
def test_every_template_has_its_own_text_in_each_language(locale: str) -> None:
    missing = [name for name in template_names() if not (ROOT / locale / f"{name}.j2").is_file()]
    assert missing == [], f"{locale} lacks {missing}: its readers would get English"


@pytest.mark.parametrize("locale", OTHER_LOCALES)
def test_every_label_has_its_own_text_in_each_language(locale: str) -> None:
    own = set(re.findall(r"macro\s+(\w+)\(", (ROOT / locale / "labels.j2").read_text(encoding="utf-8")))
    assert [key for key in label_keys() if key not in own] == []


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("name", template_names())
def test_a_template_renders_to_valid_telegram_html_that_fits_or_is_split(locale: str, name: str) -> None:
    if not (ROOT / locale / f"{name}.j2").is_file():
        pytest.fail(f"{locale}/{name} is missing")
    text = render_sample(locale, name)
    assert text.strip(), "renders to nothing"
    assert_telegram_html(text)
    for part in split_message(text):
        assert len(part) <= TELEGRAM_TEXT_LIMIT
        assert_telegram_html(part)


@functools.cache
def _usage_words() -> frozenset[str]:
    """The words a person types literally in a usage line (outside <placeholders>): they stay as they are."""
    renderer = Renderer()
    words: set[str] = set()
    for key in label_keys():
        if key.startswith("usage_"):
            literal = re.sub(r"<[^<>]*>", " ", renderer.label("en", key))
            words |= {w.lower() for w in re.findall(r"[A-Za-z_]+", literal)}
    return frozenset(words)


@pytest.mark.parametrize("locale", OTHER_LOCALES)
@pytest.mark.parametrize("name", template_names())
def test_a_russian_or_chinese_text_holds_no_english(locale: str, name: str) -> None:
    if not (ROOT / locale / f"{name}.j2").is_file():
        pytest.fail(f"{locale}/{name} is missing")
    assert english_words(render_sample(locale, name), _usage_words()) == []


@pytest.mark.parametrize("locale", OTHER_LOCALES)
def test_labels_hold_no_english_beyond_what_is_typed_literally(locale: str) -> None:
    module = sample_environment().get_template(f"{locale}/labels.j2").module
    leftovers = {}
    for key in label_keys():
        if key.startswith("language_"):
            continue  # each language is named in itself
        macro = getattr(module, key)
        text = html.unescape(str(macro(**{name: Sample() for name in macro.arguments})))
        words = english_words(text, _usage_words())
        if words:
            leftovers[key] = words
    assert leftovers == {}


def test_the_checks_catch_english_and_broken_html() -> None:
    """The detectors themselves: an English word in a Russian text, a tag Telegram refuses, a bare &."""
    assert english_words("Дело <b>C-0042</b>: /case C-0042, waiting") == ["waiting"]
    assert english_words("Дело C-0042 ждёт, 7bd, Telegram, PDF") == []
    for broken in ("<div>x</div>", "<b>x", "a & b", "x </i>"):
        with pytest.raises(AssertionError):
            assert_telegram_html(broken)
