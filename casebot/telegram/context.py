"""What surrounds casebot's handlers: the gate that keeps casebot out of the host's updates, the context
it binds for its own (database, participant, language), and the reply helpers that set their own parse mode."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message, TelegramObject, User

from casebot.db.database import Database
from casebot.db.models import Participant
from casebot.errors import Unavailable
from casebot.rendering import Renderer
from casebot.services import Actor, Services
from casebot.services.base import start_write_log
from casebot.services.participants import pick_locale

log = logging.getLogger("casebot.telegram")

INVITE_PREFIX = "cb_"
CALLBACK_PREFIX = "cb1"
ERROR_CONTEXT = "casebot_context"
"""The attribute an exception raised inside casebot carries: how to answer the person (errors.py)."""


class KnownPeople:
    """The Telegram user ids casebot knows (participants and admins), held in memory.

    The gate asks it, without touching the database, whether a private message is casebot's.
    It learns new people from the joins this instance handles at once, and from the database
    every few seconds (``refresh``), which is how it hears of joins another instance handled.
    """

    def __init__(self, admin_ids: Iterable[int]) -> None:
        self.admin_ids = frozenset(admin_ids)
        self._ids: set[int] = set()
        self._after = 0

    def __contains__(self, telegram_user_id: int) -> bool:
        return telegram_user_id in self.admin_ids or telegram_user_id in self._ids

    def add(self, participant: Participant) -> None:
        """Someone just became a participant on this instance."""
        self._ids.add(participant.telegram_user_id)

    async def refresh(self) -> int:
        """Learn the participants registered since the last look; returns how many were new."""
        rows = (
            await Participant.filter(id__gt=self._after).order_by("id").values_list("id", "telegram_user_id")
        )
        for row_id, telegram_user_id in rows:
            self._ids.add(telegram_user_id)
            self._after = max(self._after, row_id)
        return len(rows)


@dataclass(frozen=True, slots=True)
class Runtime:
    """What casebot's handlers are given, besides the update: one per casebot instance."""

    database: Database
    services: Services
    renderer: Renderer
    admin_ids: frozenset[int]
    default_locale: str
    wake_sender: Callable[[], None]
    known: KnownPeople
    standalone: bool = False
    open_database: Callable[[], None] = lambda: None

    def locale_for(self, participant: Participant | None, user: User | None) -> str:
        """The language to answer in."""
        if participant is not None:
            return participant.locale
        return pick_locale(user.language_code if user else None, self.default_locale)


@dataclass(frozen=True, slots=True)
class ErrorContext:
    """Attached to an exception raised while casebot handled an update: enough to answer the person
    in their language and say truthfully whether a change of theirs was saved first."""

    event: TelegramObject
    locale: str
    saved: bool
    handler: str


async def safe_edit(message: Message, text: str, reply_markup: Any = None) -> None:
    """Edit a message of the bot; an edit that changes nothing (a doubled press) is not an error."""
    try:
        await message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=reply_markup)
    except TelegramBadRequest as error:
        if "message is not modified" not in error.message:
            raise


async def drop_keyboard(message: Message) -> None:
    """Take the buttons off a message (they were used); already gone is fine."""
    try:
        await message.edit_reply_markup(reply_markup=None)
    except TelegramBadRequest as error:
        if "message is not modified" not in error.message:
            raise


@dataclass(frozen=True, slots=True)
class Reply:
    """Answers the person who wrote, in their language, from a template (split when long)."""

    message: Message | None
    renderer: Renderer
    locale: str

    def in_locale(self, locale: str) -> Reply:
        """The same reply in another language (right after someone changed theirs)."""
        return Reply(self.message, self.renderer, locale)

    def text(self, name: str, **context: Any) -> str:
        """A rendered template, for a notice on a button or an edit."""
        return self.renderer.render(self.locale, name, **context)

    def label(self, key: str, **context: Any) -> str:
        """A short label from labels.j2."""
        return self.renderer.label(self.locale, key, **context)

    async def __call__(self, name: str, *, reply_markup: Any = None, **context: Any) -> None:
        """Send a template as one or more messages; buttons go on the last.

        The parse mode is set on every message: the host's Bot may default to none or to MarkdownV2.
        """
        if self.message is None:
            return
        parts = self.renderer.render_parts(self.locale, name, **context)
        for part in parts[:-1]:
            await self.message.answer(part, parse_mode=ParseMode.HTML)
        await self.message.answer(parts[-1], parse_mode=ParseMode.HTML, reply_markup=reply_markup)

    async def edit(self, name: str, *, reply_markup: Any = None, **context: Any) -> None:
        """Replace the text of the message a button was on."""
        if self.message is not None:
            await safe_edit(self.message, self.text(name, **context), reply_markup)

    async def usage(self, command: str) -> None:
        """The usage line of a command that was mistyped."""
        await self("usage", usage=self.label(f"usage_{command}"))


def _where(error: BaseException) -> str:
    """The innermost function of casebot's own code that the exception passed through."""
    found = "?"
    for frame, _ in traceback.walk_tb(error.__traceback__):
        module = frame.f_globals.get("__name__", "")
        if module.startswith("casebot.") and not module.startswith("casebot.telegram.context"):
            found = f"{module.removeprefix('casebot.')}.{frame.f_code.co_name}"
    return found


def _command_of(text: str | None) -> str | None:
    """The command a message starts with (without the bot's @name), or None."""
    if not text or not text.startswith("/"):
        return None
    return text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() if len(text) > 1 else None


class CasebotGate(BaseMiddleware):
    """The outer middleware of casebot's router: decides whether an update is casebot's, and binds
    casebot's context around those that are.

    An update that is not casebot's (a group message, a stranger's message, the host's own
    buttons) passes on to the host's routers untouched, and casebot reads nothing for it: no
    database query, so a casebot outage costs the host nothing. casebot's own are its ``cb1``
    buttons, ``/start cb_…`` invites, and the private messages of the people it knows; a
    standalone casebot is the whole bot and takes every private message.

    For its own updates it binds this instance's database, loads the participant (admins are
    registered on first contact, and a person who had blocked the bot is reachable again),
    and tags any exception with what the error root needs to answer (errors.py).
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def is_ours(self, event: TelegramObject, user: User | None) -> bool:
        """Whether casebot should look at this update at all (decided without the database)."""
        if user is None or user.is_bot:
            return False
        if isinstance(event, CallbackQuery):
            return bool(event.data and event.data.startswith(CALLBACK_PREFIX))
        if isinstance(event, ChatMemberUpdated):
            return event.chat.type == "private" and user.id in self.runtime.known
        if not isinstance(event, Message) or event.chat.type != "private":
            return False
        if self.runtime.standalone or user.id in self.runtime.known:
            return True
        text = event.text or ""
        return _command_of(text) == "start" and text.partition(" ")[2].strip().startswith(INVITE_PREFIX)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if not self.is_ours(event, user):
            return UNHANDLED
        runtime = self.runtime
        locale = runtime.locale_for(None, user)
        writes = start_write_log()
        try:
            if not runtime.database.is_open:
                runtime.open_database()
                raise Unavailable("casebot's database is not open")
            with runtime.database.bound():
                participant = await self._participant(user, event)
                locale = runtime.locale_for(participant, user)
                self._fill(data, event, participant, locale)
                return await handler(event, data)
        except Exception as exc:
            setattr(exc, ERROR_CONTEXT, ErrorContext(event, locale, writes.committed > 0, _where(exc)))
            raise
        finally:
            runtime.wake_sender()

    def _fill(
        self, data: dict[str, Any], event: TelegramObject, participant: Participant | None, locale: str
    ) -> None:
        runtime = self.runtime
        actor: Actor | None = runtime.services.participants.actor_for(participant) if participant else None
        message = event if isinstance(event, Message) else None
        if isinstance(event, CallbackQuery) and isinstance(event.message, Message):
            message = event.message
        data.update(
            runtime=runtime,
            reply=Reply(message, runtime.renderer, locale),
            services=runtime.services,
            renderer=runtime.renderer,
            participant=participant,
            actor=actor,
            is_staff=bool(actor and actor.is_staff),
            locale=locale,
        )

    async def _participant(self, user: User | None, event: TelegramObject) -> Participant | None:
        assert user is not None
        services = self.runtime.services
        participant = await services.participants.find(user.id)
        if participant is None and user.id in self.runtime.admin_ids:
            participant = await services.participants.ensure_admin(user.id, user.id, user.language_code)
        if participant is not None and participant.blocked and not isinstance(event, ChatMemberUpdated):
            # They wrote or pressed something: they can be reached again, from now on.
            await services.participants.reachable_again(participant)
        return participant
