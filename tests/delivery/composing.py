"""Compose functions for the senders in these tests: casebot's own (re-exported) and a long-text one."""

from __future__ import annotations

from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from casebot.db.models import OutboxMessage, Participant
from casebot.delivery import Compose, Outgoing
from casebot.rendering import split_message
from casebot.telegram.notices import notice_composer

__all__ = ["notice_composer", "paragraphs_composer"]


def paragraphs_composer() -> Compose:
    """Rows whose payload holds ``paragraphs``: one long text split for Telegram like casebot's own
    notices, with an "Open" button on the last part."""

    def compose(row: OutboxMessage, payload: dict[str, Any], participant: Participant) -> Outgoing:
        buttons = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Open", callback_data="open")]]
        )
        return Outgoing(split_message("\n".join(payload["paragraphs"])), buttons)

    return compose


def paragraphs(*openings: str) -> list[str]:
    """Paragraphs of about 3,000 characters, each starting with its opening: each is one part."""
    return [f"{opening} " + "lorem ipsum " * 250 for opening in openings]
