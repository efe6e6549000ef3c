"""What an outbox row looks like in Telegram: its template in the recipient's language, and its buttons.

The composition root hands this to the outbox sender, so delivery knows nothing of templates or keyboards.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import Any

from casebot.db.models import OutboxMessage, Participant
from casebot.delivery import Compose, Outgoing, OutgoingFile
from casebot.delivery.hooks import FILE_KINDS
from casebot.domain.digest import STAFF_DIGEST, chart_data
from casebot.domain.refs import format_ref
from casebot.rendering import Renderer
from casebot.rendering.renderer import split_message
from casebot.telegram.keyboards import for_notice

CAPTION_LIMIT = 1024
"""Telegram's limit on a media caption; a longer text goes on in messages after the file."""

log = logging.getLogger("casebot.telegram")


def attachment(payload: dict[str, Any]) -> OutgoingFile | None:
    """The file a notice carries (a coordinator's file to the family), from its payload."""
    file_id, kind = payload.get("telegram_file_id"), payload.get("file_kind")
    if isinstance(file_id, str) and file_id and kind in FILE_KINDS:
        return OutgoingFile(str(kind), file_id)
    return None


def notice_composer(renderer: Renderer) -> Compose:
    """The ``compose`` function of casebot's outbox sender."""

    def compose(row: OutboxMessage, payload: dict[str, Any], person: Participant) -> Outgoing:
        context = dict(payload)
        if row.case_id is not None:
            context.setdefault("ref", format_ref(row.case_id))
        file = (
            digest_picture(renderer, person.locale, payload)
            if row.kind == STAFF_DIGEST
            else attachment(payload)
        )
        markup = for_notice(row.kind, payload, renderer, person.locale)
        if file is None:
            parts = renderer.render_parts(
                person.locale, f"notices/{row.kind}", zone=person.timezone, **context
            )
            return Outgoing(parts, markup)
        text = renderer.render(person.locale, f"notices/{row.kind}", zone=person.timezone, **context)
        first, *rest = split_message(text, CAPTION_LIMIT)
        rest = split_message("\n".join(rest)) if rest else []
        return Outgoing([first, *rest], markup, file)

    return compose


def digest_picture(renderer: Renderer, locale: str, payload: dict[str, Any]) -> OutgoingFile | None:
    """The pipeline picture of a coordinator's digest (cases per state, this week against last,
    with the overdue ones), labelled in the reader's language. Its texts are rendered here; the
    drawing (tens of milliseconds) is left to the sender, which does it off the event loop. None
    when its texts cannot be made; a drawing that fails sends the digest without the picture."""
    try:
        from casebot.rendering.pipeline_chart import ChartRow, pipeline_png

        data = chart_data(payload)
        name = _state_name(renderer, locale)
        rows = [
            ChartRow(name(state), this_week, last_week, overdue)
            for state, this_week, last_week, overdue in zip(
                data.states, data.this_week, data.last_week, data.overdue, strict=True
            )
        ]
        late = {count: renderer.label(locale, "chart_overdue", count=count) for count in set(data.overdue)}
        title = renderer.label(locale, "chart_title")
        this_week = renderer.label(locale, "chart_this_week")
        last_week = renderer.label(locale, "chart_last_week")
    except Exception as error:
        log.error("the digest picture has no texts (%s); the digest goes without it", type(error).__name__)
        return None

    def draw() -> bytes:
        try:
            return pipeline_png(
                rows, title=title, this_week=this_week, last_week=last_week, overdue=late.__getitem__
            )
        except Exception as error:
            log.error(
                "the digest picture could not be drawn (%s); the digest goes without it", type(error).__name__
            )
            return b""

    return OutgoingFile("photo", filename=f"pipeline-{payload.get('week', 'week')}.png", make=draw)


def _state_name(renderer: Renderer, locale: str) -> Callable[[str], str]:
    """The state names of the reader's macros (``m.state``), as plain text with a capital."""
    macros = (
        renderer.env.get_template(f"{locale}/_macros.j2").module
        if renderer.has(locale, "_macros")
        else renderer.env.get_template("en/_macros.j2").module
    )

    def name(state: str) -> str:
        text = html.unescape(str(macros.state(state))).strip()  # type: ignore[attr-defined]
        return text[:1].upper() + text[1:]

    return name
