"""The jinja2 environment over templates/<locale>/ (autoescape, CLDR plurals), and splitting Telegram HTML safely."""

from __future__ import annotations

import functools
import html
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, format_timedelta
from babel.numbers import format_decimal
from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    TemplateSyntaxError,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context

from casebot.domain.readiness import is_placeholder_name
from casebot.domain.refs import format_ref
from casebot.errors import CasebotError

log = logging.getLogger("casebot.rendering")

TELEGRAM_TEXT_LIMIT = 4096
FALLBACK_LOCALE = "en"
#: The tags Telegram's HTML parse mode knows; any other is passed through as text.
TELEGRAM_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
        "a", "code", "pre", "blockquote", "tg-emoji",
    }
)  # fmt: skip
_SMALLEST_LIMIT = 64

# One token of Telegram HTML: a tag, an entity (bounded, so a token always fits a part), or one character.
_TOKEN = re.compile(
    r"(?P<tag></?(?P<name>[A-Za-z][A-Za-z0-9-]*)(?:\s[^<>]*)?>)"
    r"|(?P<entity>&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});)"
    r"|(?P<char>.)",
    re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class _Token:
    raw: str
    opens: str | None = None  # the tag name, for an opening tag Telegram knows
    closes: str | None = None  # the tag name, for a closing tag Telegram knows


def _tokens(text: str) -> list[_Token]:
    tokens = []
    for match in _TOKEN.finditer(text):
        raw, name = match.group(0), (match.group("name") or "").lower()
        if match.group("tag") and name in TELEGRAM_TAGS:
            tokens.append(_Token(raw, closes=name) if raw.startswith("</") else _Token(raw, opens=name))
        else:
            tokens.append(_Token(raw))
    return tokens


class _TooDeep(Exception):
    """The tags open at a cut, reopened, leave no room for text."""


@dataclass(frozen=True, slots=True)
class _Cut:
    pieces: int  # how many pieces of the part stay in it
    stack: tuple[_Token, ...]  # the tags open at the cut
    resume: int  # the token the next part starts with


def _closers(stack: tuple[_Token, ...] | list[_Token]) -> str:
    return "".join(f"</{tag.opens}>" for tag in reversed(stack))


def _one_part(tokens: list[_Token], start: int, stack: tuple[_Token, ...], limit: int) -> tuple[str, _Cut]:
    """The longest part from ``tokens[start:]`` that fits ``limit`` with its tags closed, cut at
    the last line break, else the last space, else at the last token that fits."""
    pieces = [tag.raw for tag in stack]
    open_tags = list(stack)
    length = sum(len(piece) for piece in pieces)
    closing = len(_closers(open_tags))
    line_cut: _Cut | None = None
    space_cut: _Cut | None = None
    has_text = False
    index = start
    while index < len(tokens):
        token = tokens[index]
        if token.opens:
            after_closing = closing + len(token.opens) + 3
        elif token.closes and any(tag.opens == token.closes for tag in open_tags):
            after_closing = len(_closers(open_tags[: _last_open(open_tags, token.closes)]))
        else:
            after_closing = closing
        if has_text and token.raw in ("\n", " "):
            # Cutting here drops the line break or space, so it need not fit itself.
            cut = _Cut(len(pieces), tuple(open_tags), index + 1)
            line_cut, space_cut = (cut, space_cut) if token.raw == "\n" else (line_cut, cut)
        if length + len(token.raw) + after_closing > limit:
            break
        pieces.append(token.raw)
        length += len(token.raw)
        if token.opens:
            open_tags.append(token)
        elif token.closes and any(tag.opens == token.closes for tag in open_tags):
            del open_tags[_last_open(open_tags, token.closes) :]
        has_text = has_text or not (token.opens or token.closes or token.raw.isspace())
        closing = after_closing
        index += 1
    else:
        return "".join(pieces) + _closers(open_tags), _Cut(len(pieces), tuple(open_tags), index)
    cut = line_cut or space_cut or _Cut(len(pieces), tuple(open_tags), index)
    kept, part_stack = pieces[: cut.pieces], list(cut.stack)
    # A tag opened just before the cut is reopened in the next part instead of left empty here.
    while len(kept) > len(stack) and part_stack and kept[-1] == part_stack[-1].raw:
        kept.pop()
        part_stack.pop()
    if len(kept) <= len(stack):
        raise _TooDeep
    return "".join(kept) + _closers(part_stack), cut


def _last_open(open_tags: list[_Token], name: str) -> int:
    return max(i for i, tag in enumerate(open_tags) if tag.opens == name)


def _visible(part: str) -> str:
    return html.unescape(re.sub(r"<[^<>]*>", "", part))


def split_message(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Cut a message of Telegram HTML into parts of at most ``limit`` characters, each valid on
    its own: never inside a tag or an entity, the tags open at a cut closed at the end of one
    part and reopened at the start of the next. Cuts fall at line breaks where possible, else
    at spaces, else anywhere between characters; the line break or space cut at is dropped.
    """
    if len(text) <= limit:
        return [text]
    if limit < _SMALLEST_LIMIT:
        raise ValueError(f"A part needs room for at least {_SMALLEST_LIMIT} characters.")
    try:
        return _split(_tokens(text), limit) or [text[:limit]]
    except _TooDeep:
        # Tags nested so deep (or so long) that reopening them fills a part: send the text plain.
        return _split(_tokens(re.sub(r"<[^<>]*>", "", text)), limit) or [text[:limit]]


def _split(tokens: list[_Token], limit: int) -> list[str]:
    parts: list[str] = []
    stack: tuple[_Token, ...] = ()
    start = 0
    while start < len(tokens):
        part, cut = _one_part(tokens, start, stack, limit)
        if _visible(part).strip():
            parts.append(part)
        start, stack = cut.resume, cut.stack
    return parts


def _babel_locale(context: Context) -> str:
    return str(context.get("locale", FALLBACK_LOCALE)).replace("-", "_")


def _moment(value: str | datetime) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@pass_context
def _local_time(context: Context, moment: str | datetime | None, zone: str | None = None) -> str:
    """``{{ moment|local_time }}``: a date and time of day in the reader's time zone (the render's
    ``zone``, or the one given) and their locale's form: Dec 3, 2026, 9:00 AM / 3 дек. 2026 г.,
    09:00 / 2026年12月3日 09:00."""
    if moment is None or moment == "":
        return "—"
    local = _moment(moment).astimezone(ZoneInfo(zone or str(context.get("zone") or "UTC")))
    return _format_moment(local, _babel_locale(context))


@functools.cache
def _datetime_pattern(locale: str) -> tuple[str, str]:
    """The locale Babel knows (English for another), and its pattern joining a date and a time."""
    try:
        known = Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        known = Locale.parse(FALLBACK_LOCALE)
    joiner = str(known.datetime_formats.get("medium", "{1} {0}"))
    return str(known), joiner


def _format_moment(local: datetime, locale: str) -> str:
    name, joiner = _datetime_pattern(locale)
    day = format_date(local.date(), format="medium", locale=name)
    time_of_day = format_time(local.timetz(), format="short", locale=name)
    return joiner.replace("{1}", day).replace("{0}", time_of_day)


@pass_context
def _duration(context: Context, value: timedelta | float) -> str:
    """``{{ delta|duration }}``: a rounded span of time in words (3 days / 3 дня / 3天)."""
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    name, _ = _datetime_pattern(_babel_locale(context))
    return format_timedelta(timedelta(seconds=seconds), threshold=1.0, locale=name)


@pass_context
def _number(context: Context, value: float) -> str:
    """``{{ n|number }}``: a number with the locale's grouping (12,345 / 12 345 / 12,345)."""
    name, _ = _datetime_pattern(_babel_locale(context))
    return format_decimal(value, locale=name)


@pass_context
def _long_date(context: Context, value: str | date | datetime | None, *, in_zone: bool = True) -> str:
    """``{{ "2026-12-03"|long_date }}``: a calendar date in the template's locale (CLDR's long
    format: December 3, 2026 / 3 декабря 2026 г. / 2026年12月3日). A moment (a datetime, or an
    ISO string with a time) is dated in the reader's zone: late evening in Los Angeles is not
    tomorrow's date. ``in_zone=False`` takes a stored calendar date as it is (a date kept as
    midnight UTC, such as the day a record is expected by)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = _moment(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime) and in_zone:
        zone = str(context.get("zone") or "UTC")
        value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(ZoneInfo(zone))
    day = value.date() if isinstance(value, datetime) else value
    locale = _babel_locale(context)
    try:
        return format_date(day, format="long", locale=locale)
    except (UnknownLocaleError, ValueError):
        return format_date(day, format="long", locale=FALLBACK_LOCALE)


_PLURAL_FORMS = frozenset({"zero", "one", "two", "few", "many", "other"})


@functools.cache
def _plural_rule(locale: str) -> Callable[[float], str]:
    """CLDR's plural rule of a locale (English's for a locale Babel does not know)."""
    try:
        return Locale.parse(locale.replace("-", "_")).plural_form
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse(FALLBACK_LOCALE).plural_form


@pass_context
def _plural(context: Context, number: float, *, other: str, **forms: str) -> str:
    """``{{ n|plural(one="day", other="days") }}``: the word form CLDR's rules pick for ``n`` in
    the template's locale (ru: one, few, many, other); ``other`` when that form is not given."""
    unknown = set(forms) - _PLURAL_FORMS
    if unknown:
        raise TypeError(f"plural() knows the forms {sorted(_PLURAL_FORMS)}, not {sorted(unknown)}")
    form = _plural_rule(str(context.get("locale", FALLBACK_LOCALE)))(number)
    return forms.get(form, other)


class TemplateOverrideError(CasebotError):
    """An operator's template (CASEBOT_TEMPLATES_DIR) that cannot be used; names the file and line."""


class Renderer:
    """Renders ``<locale>/<name>.j2``, falling back to English when a locale lacks a template.

    ``overrides`` is an operator's folder with the same layout (CASEBOT_TEMPLATES_DIR): a template
    there replaces the packaged one of the same path. Every template is compiled when the renderer
    is built and kept, so a syntax error in an override stops start-up with its file and line, and
    an override edited or added later takes effect at the next start, never half-way. An override
    that fails while rendering (a variable that text is not given), or whose result is not HTML
    Telegram accepts, is logged and the packaged text is sent instead.
    """

    def __init__(self, overrides: str | Path | None = None) -> None:
        packaged = FileSystemLoader(str(files("casebot.templates")))
        self.packaged_env = self._environment(packaged)
        self.overrides = Path(overrides) if overrides is not None else None
        self._modules: dict[tuple[int, str], Any] = {}
        if self.overrides is None:
            self.env = self.packaged_env
        else:
            if not self.overrides.is_dir():
                raise TemplateOverrideError(f"CASEBOT_TEMPLATES_DIR: {self.overrides} is not a folder.")
            loader = ChoiceLoader([FileSystemLoader(str(self.overrides), followlinks=True), packaged])
            # Compiled once and kept: no reloading of files edited while the bot runs.
            self.env = self._environment(loader, auto_reload=False, cache_size=-1)
            self._check_overrides()

    @staticmethod
    def _environment(loader: BaseLoader, **options: Any) -> Environment:
        env = Environment(
            loader=loader,
            autoescape=select_autoescape(default=True, default_for_string=True, enabled_extensions=("j2",)),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            **options,
        )
        env.filters["ref"] = format_ref
        env.filters["local_time"] = _local_time
        env.filters["plural"] = _plural
        env.filters["long_date"] = _long_date
        env.filters["duration"] = _duration
        env.filters["number"] = _number
        env.filters["plain"] = _plain
        env.tests["placeholder_name"] = is_placeholder_name
        return env

    def _check_overrides(self) -> None:
        """Compile every template, the operator's first: one that cannot be compiled stops start-up."""
        assert self.overrides is not None
        own = []
        for folder, _, names in os.walk(self.overrides, followlinks=True):
            own += [Path(folder) / name for name in names if name.endswith(".j2")]
        for path in sorted(own):
            try:
                self.env.get_template(path.relative_to(self.overrides).as_posix())
            except TemplateSyntaxError as error:
                raise TemplateOverrideError(
                    f"CASEBOT_TEMPLATES_DIR: {path}, line {error.lineno}: {error.message}"
                ) from None
            except UnicodeDecodeError:
                raise TemplateOverrideError(f"CASEBOT_TEMPLATES_DIR: {path} is not UTF-8 text.") from None
        for name in self.packaged_env.list_templates(extensions=["j2"]):
            self.env.get_template(name)

    def _template_name(self, locale: str, name: str) -> str:
        for candidate in (locale, FALLBACK_LOCALE):
            path = f"{candidate}/{name}.j2"
            try:
                self.env.get_template(path)
            except TemplateNotFound:
                continue
            if candidate != locale:
                _warn_missing(locale, name)
            return path
        raise TemplateNotFound(name)

    def has(self, locale: str, name: str) -> bool:
        """Whether the locale has its own template of that name."""
        try:
            self.env.get_template(f"{locale}/{name}.j2")
        except TemplateNotFound:
            return False
        return True

    def render(self, locale: str, name: str, *, zone: str | None = None, **context: Any) -> str:
        """One message as Telegram HTML (user text escaped), blank lines squeezed. Times are shown
        in ``zone`` (the reader's time zone; UTC when not given)."""
        context.setdefault("zone", zone or "UTC")
        path = self._template_name(locale, name)
        if self.env is self.packaged_env:
            return _squeeze(self.env.get_template(path).render(locale=locale, **context))
        try:
            text = _squeeze(self.env.get_template(path).render(locale=locale, **context))
            problem = _telegram_html_problem(text)
        except Exception as error:
            problem = type(error).__name__
        if problem is None:
            return text
        # An override (the text's own or a macro library it imports) let the reader down.
        log.error("an override failed for %s (%s); the packaged text is sent instead", path, problem)
        return _squeeze(self.packaged_env.get_template(path).render(locale=locale, **context))

    def render_parts(self, locale: str, name: str, *, zone: str | None = None, **context: Any) -> list[str]:
        """A message split into Telegram-sized parts."""
        return split_message(self.render(locale, name, zone=zone, **context))

    def label(self, locale: str, key: str, **context: Any) -> str:
        """A short plain label (a button, a command description) from ``labels.j2``'s macros: the
        locale's own (an override's, else the packaged one), else the English one."""
        for env, candidate in (
            (self.env, locale),
            (self.packaged_env, locale),
            (self.env, FALLBACK_LOCALE),
            (self.packaged_env, FALLBACK_LOCALE),
        ):
            macro = getattr(self._labels(env, candidate), key, None)
            if macro is None:
                continue
            if candidate != locale:
                _warn_missing(locale, f"labels.{key}")
            try:
                return html.unescape(str(macro(**context)).strip())
            except Exception as error:
                if env is self.packaged_env:
                    raise
                log.error("an overridden label %s failed (%s)", key, type(error).__name__)
        raise KeyError(key)

    def _labels(self, env: Environment, locale: str) -> Any:
        """The macros of a locale's labels.j2, made with the locale in their context (for plural)."""
        cached = self._modules.get((id(env), locale))
        if cached is None:
            try:
                template = env.get_template(f"{locale}/labels.j2")
            except TemplateNotFound:
                return None
            cached = template.make_module({"locale": locale, "zone": "UTC"})
            self._modules[(id(env), locale)] = cached
        return cached


def _plain(value: Any) -> str:
    """``{{ markup|plain }}``: the text as the reader sees it (entities back to characters), so
    that a cut counts characters, not escapes; autoescape escapes it again on output."""
    return html.unescape(str(value))


def _telegram_html_problem(text: str) -> str | None:
    """Why Telegram would refuse this HTML (a tag it does not know, one left open or closed twice),
    or None."""
    stack: list[str] = []
    for token in _tokens(text):
        if token.opens:
            stack.append(token.opens)
        elif token.closes:
            if not stack or stack[-1] != token.closes:
                return f"</{token.closes}> closes nothing open"
            stack.pop()
        elif token.raw.startswith("<") and len(token.raw) > 1:
            return "a tag Telegram does not know"
    return f"<{stack[-1]}> left open" if stack else None


def _squeeze(text: str) -> str:
    """Trailing spaces off, blank lines squeezed to one, none at either end."""
    lines = [line.rstrip() for line in text.strip().split("\n")]
    squeezed: list[str] = []
    for line in lines:
        if line or (squeezed and squeezed[-1]):
            squeezed.append(line)
    return "\n".join(squeezed)


@functools.cache
def _warn_missing(locale: str, name: str) -> None:
    """Say once per text that a locale lacks it (the reader gets English)."""
    log.warning("no %s text for %s: English is sent instead", locale, name)
