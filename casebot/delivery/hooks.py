"""What the composition root gives the sender: how a row becomes a message, and who decides the rest."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from casebot.db.models import OutboxMessage, Participant
from casebot.domain.notices import SendDecision

FILE_KINDS = ("document", "photo", "video")
"""The kinds of file an outbox row can carry, re-sent by Telegram file_id."""


@dataclass(frozen=True, slots=True)
class OutgoingFile:
    """A file sent with the row's first part as caption: one Telegram already holds, re-sent by its
    file_id, or bytes uploaded with the message (``content``, or ``make`` to draw them when the file
    is sent: the digest's picture), named ``filename``."""

    kind: str
    """document, photo or video (sendDocument, sendPhoto, sendVideo)."""
    file_id: str = ""
    content: bytes | None = None
    filename: str = "file"
    make: Callable[[], bytes] | None = None
    """Makes the bytes in a worker thread when the file is sent, so drawing them does not hold up the
    event loop; empty bytes (it could not be drawn): the text goes alone."""

    def __post_init__(self) -> None:
        if self.kind not in FILE_KINDS:
            raise ValueError(f"a file is one of {FILE_KINDS}")
        if not self.file_id and not self.content and self.make is None:
            raise ValueError("a file is a Telegram file_id or bytes to upload")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One outbox row as Telegram will show it."""

    parts: list[str]
    """The text already split into Telegram-sized HTML parts, sent in this order."""
    reply_markup: Any | None = None
    """The buttons, on the last part."""
    file: OutgoingFile | None = None
    """A file sent as the first part, that part its caption (at most 1,024 characters)."""

    def __post_init__(self) -> None:
        if not self.parts:
            raise ValueError("a message has at least one part")


Compose = Callable[[OutboxMessage, dict[str, Any], Participant], Outgoing]
"""(row, payload as of sending, recipient) -> the message. Raising makes the row dead unsent."""
SendCheck = Callable[[OutboxMessage, Participant], Awaitable[SendDecision]]
"""Asked right before a row's first part goes, with the recipient as the database has them then."""
OnBlocked = Callable[[OutboxMessage, Participant], Awaitable[None]]
"""Telegram answered 403 for the recipient of this row (they blocked the bot or are gone)."""
OnDead = Callable[[OutboxMessage, str], Awaitable[None]]
"""A row that will never be sent although it was due: Telegram refused it (400), its retries ran
out, or it could not be composed. Given the row and the reason's class (``refused``, ``gave_up``,
``unrenderable``). Not called for a recipient who blocked the bot (``OnBlocked``) nor for a row
the check dropped."""
