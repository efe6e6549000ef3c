"""What an outbox row looks like in Telegram: its template in the recipient's language, and its buttons.

The composition root hands this to the outbox sender, so delivery knows nothing of templates or keyboards.
"""

from __future__ import annotations

from typing import Any

from casebot.db.models import OutboxMessage, Participant
from casebot.delivery import Compose, Outgoing, OutgoingFile
from casebot.delivery.hooks import FILE_KINDS
from casebot.domain.refs import format_ref
from casebot.rendering import Renderer
from casebot.rendering.renderer import split_message
from casebot.telegram.keyboards import for_notice

CAPTION_LIMIT = 1024
"""Telegram's limit on a media caption; a longer text goes on in messages after the file."""


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
        file = attachment(payload)
        markup = for_notice(row.kind, payload, renderer, person.locale)
        if file is None:
            parts = renderer.render_parts(person.locale, f"notices/{row.kind}", zone=person.timezone, **context)
            return Outgoing(parts, markup)
        text = renderer.render(person.locale, f"notices/{row.kind}", zone=person.timezone, **context)
        first, *rest = split_message(text, CAPTION_LIMIT)
        rest = split_message("\n".join(rest)) if rest else []
        return Outgoing([first, *rest], markup, file)

    return compose
