"""Command menus per role: the default scope for families, a chat scope for each coordinator."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault

from casebot.db.models import Participant
from casebot.domain.roles import Role
from casebot.rendering import Renderer

log = logging.getLogger("casebot.telegram")

FAMILY_MENU = (
    "status", "questions", "reply", "ask", "homedoctor", "snooze", "language", "timezone", "quiet", "digest",
    "help",
)  # fmt: skip
COORDINATOR_MENU = (
    "cases", "case", "newcase", "invite", "advance", "hospital", "outcome", "received", "waive",
    "additem", "arriving", "ask", "chase", "answer", "note", "pause", "resume", "reminders", "export",
    "digest", "language", "timezone", "quiet", "help",
)  # fmt: skip
ADMIN_MENU = (*COORDINATOR_MENU, "coordinator", "erase")


# A command both audiences have, meaning something else to a family: its family description.
_FAMILY_DESCRIPTIONS = {"ask": "menu_ask_family"}


def _commands(
    renderer: Renderer, locale: str, names: tuple[str, ...], descriptions: dict[str, str] | None = None
) -> list[BotCommand]:
    keys = descriptions or {}
    return [
        BotCommand(command=name, description=renderer.label(locale, keys.get(name, f"menu_{name}")))
        for name in names
    ]


async def set_family_menu(bot: Bot, renderer: Renderer) -> None:
    """The default menu, in each supported language."""
    for locale in ("en", "ru", "zh"):
        await bot.set_my_commands(
            _commands(renderer, locale, FAMILY_MENU, _FAMILY_DESCRIPTIONS),
            scope=BotCommandScopeDefault(),
            language_code=None if locale == "en" else locale,
        )


async def set_coordinator_menu(
    bot: Bot, renderer: Renderer, participant: Participant, *, admin: bool = False
) -> None:
    """A person's own menu in the language they chose: a coordinator's (an admin's), or the
    family's once the role was removed or when a family member chose their language.

    The default menu follows the language of the Telegram app; this one follows casebot's
    /language, so it is set for the chat whenever either changes.
    """
    scope = BotCommandScopeChat(chat_id=participant.chat_id)
    if participant.role == Role.FAMILY and not admin:
        commands = _commands(renderer, participant.locale, FAMILY_MENU, _FAMILY_DESCRIPTIONS)
    else:
        commands = _commands(renderer, participant.locale, ADMIN_MENU if admin else COORDINATOR_MENU)
    try:
        await bot.set_my_commands(commands, scope=scope)
    except TelegramAPIError as error:
        # A coordinator who never opened the bot has no chat yet; the menu is set at the next
        # start of the bot (startup sets every coordinator's menu).
        log.warning("could not set the menu of participant %s: %s", participant.id, error.message)
