"""What an outbox row looks like in Telegram: its template in the recipient's language, and its buttons.

The composition root hands this to the outbox sender, so delivery knows nothing of templates or keyboards.
"""

from __future__ import annotations

from typing import Any

from casebot.db.models import OutboxMessage, Participant
from casebot.delivery import Compose, Outgoing
from casebot.domain.refs import format_ref
from casebot.rendering import Renderer
from casebot.telegram.keyboards import for_notice


def notice_composer(renderer: Renderer) -> Compose:
    """The ``compose`` function of casebot's outbox sender."""

    def compose(row: OutboxMessage, payload: dict[str, Any], person: Participant) -> Outgoing:
        context = dict(payload)
        if row.case_id is not None:
            context.setdefault("ref", format_ref(row.case_id))
        parts = renderer.render_parts(person.locale, f"notices/{row.kind}", **context)
        return Outgoing(parts, for_notice(row.kind, payload, renderer, person.locale))

    return compose
