"""The jinja2 environment over templates/<locale>/, with autoescape on and English as the fallback."""

from __future__ import annotations

import html
from datetime import datetime
from importlib.resources import files
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, select_autoescape

from casebot.domain.refs import format_ref

TELEGRAM_TEXT_LIMIT = 4096
FALLBACK_LOCALE = "en"


def split_message(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Cut a message into parts of at most ``limit`` characters, at line boundaries.

    Templates keep every HTML tag within one line, so a cut between lines never splits
    a tag. A single line longer than the limit (only possible with very long user text)
    is cut hard at the limit.
    """
    parts: list[str] = []
    current = ""
    for whole_line in text.split("\n"):
        line = whole_line
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        parts.append(current)
    return [part for part in parts if part.strip()] or [text[:limit]]


def _local_time(moment: datetime | None, zone: str = "UTC") -> str:
    if moment is None:
        return "—"
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


class Renderer:
    """Renders ``<locale>/<name>.j2``, falling back to English when a locale lacks a template."""

    def __init__(self) -> None:
        root = files("casebot.templates")
        self.env = Environment(
            loader=FileSystemLoader(str(root)),
            autoescape=select_autoescape(default=True, default_for_string=True, enabled_extensions=("j2",)),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.env.filters["ref"] = format_ref
        self.env.filters["local_time"] = _local_time

    def _template_name(self, locale: str, name: str) -> str:
        for candidate in (locale, FALLBACK_LOCALE):
            path = f"{candidate}/{name}.j2"
            try:
                self.env.get_template(path)
            except TemplateNotFound:
                continue
            return path
        raise TemplateNotFound(name)

    def has(self, locale: str, name: str) -> bool:
        """Whether the locale has its own template of that name."""
        try:
            self.env.get_template(f"{locale}/{name}.j2")
        except TemplateNotFound:
            return False
        return True

    def render(self, locale: str, name: str, **context: Any) -> str:
        """One message as Telegram HTML (user text escaped), blank lines squeezed."""
        text = self.env.get_template(self._template_name(locale, name)).render(locale=locale, **context)
        lines = [line.rstrip() for line in text.strip().split("\n")]
        squeezed: list[str] = []
        for line in lines:
            if line or (squeezed and squeezed[-1]):
                squeezed.append(line)
        return "\n".join(squeezed)

    def render_parts(self, locale: str, name: str, **context: Any) -> list[str]:
        """A message split into Telegram-sized parts."""
        return split_message(self.render(locale, name, **context))

    def label(self, locale: str, key: str, **context: Any) -> str:
        """A short plain label (a button, a command description) from ``labels.j2``'s macros."""
        module = self.env.get_template(self._template_name(locale, "labels")).module
        macro = getattr(module, key, None)
        if macro is None:
            module = self.env.get_template(f"{FALLBACK_LOCALE}/labels.j2").module
            macro = getattr(module, key)
        return html.unescape(str(macro(**context)).strip())
