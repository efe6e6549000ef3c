"""What surrounds casebot's handlers: the gate that keeps casebot out of the host's updates, the context
it binds for its own (database, participant, language), and the reply helpers that set their own parse mode."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.dispatcher.middlewares.user_context import EVENT_CONTEXT_KEY, EventContext
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import BaseStorage, KeyBuilder, StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message, TelegramObject, User

from casebot.db.database import Database, is_database_failure
from casebot.db.models import Participant
from casebot.errors import Unavailable
from casebot.rendering import Renderer
from casebot.services import Actor, Services
from casebot.services.base import start_write_log
from casebot.services.participants import pick_locale
from casebot.telegram.menus import set_coordinator_menu
from casebot.telegram.retry import with_retry

log = logging.getLogger("casebot.telegram")

INVITE_PREFIX = "cb_"
CALLBACK_PREFIX = "cb1"
ERROR_CONTEXT = "casebot_context"
"""The attribute an exception raised inside casebot carries: how to answer the person (errors.py)."""
PROMPT_DESTINY = "casebot"
"""The FSM destiny of casebot's own prompts: never the host's conversation (its default destiny)."""
PROMPT_STATE = "casebot_state"
"""The name casebot's handlers take their FSMContext by (``state`` stays the host's)."""


_REFRESH_PAGE = 5000


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
        """Learn the participants registered since the last look; returns how many were new. Read
        in pages, so that starting on a database of a hundred thousand people does not hold all
        their rows at once besides the ids."""
        learned = 0
        while True:
            rows = (
                await Participant.filter(id__gt=self._after)
                .order_by("id")
                .limit(_REFRESH_PAGE)
                .values_list("id", "telegram_user_id")
            )
            for row_id, telegram_user_id in rows:
                self._ids.add(telegram_user_id)
                self._after = max(self._after, row_id)
            learned += len(rows)
            if len(rows) < _REFRESH_PAGE:
                return learned


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


async def safe_edit(message: Message, text: str, reply_markup: Any = None) -> bool:
    """Edit a message of the bot; an edit that changes nothing (a doubled press) is not an error.

    Returns whether the message changed: False means an identical edit came first.
    """
    try:
        await message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=reply_markup)
    except TelegramBadRequest as error:
        if "message is not modified" not in error.message:
            raise
        return False
    return True


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
    zone: str = "UTC"  # the reader's time zone: times in the text are shown in it

    def in_locale(self, locale: str) -> Reply:
        """The same reply in another language (right after someone changed theirs)."""
        return Reply(self.message, self.renderer, locale, self.zone)

    def in_zone(self, zone: str) -> Reply:
        """The same reply for another time zone (right after someone changed theirs)."""
        return Reply(self.message, self.renderer, self.locale, zone)

    def text(self, name: str, **context: Any) -> str:
        """A rendered template, for a notice on a button or an edit."""
        zone = context.pop("zone", None) or self.zone
        return self.renderer.render(self.locale, name, zone=zone, **context)

    def label(self, key: str, **context: Any) -> str:
        """A short label from labels.j2."""
        return self.renderer.label(self.locale, key, **context)

    async def __call__(self, name: str, *, reply_markup: Any = None, **context: Any) -> None:
        """Send a template as one or more messages; buttons go on the last.

        The parse mode is set on every message: the host's Bot may default to none or to MarkdownV2.
        """
        if self.message is None:
            return
        message = self.message
        zone = context.pop("zone", None) or self.zone
        parts = self.renderer.render_parts(self.locale, name, zone=zone, **context)
        for index, part in enumerate(parts):
            markup = reply_markup if index == len(parts) - 1 else None
            await with_retry(partial(message.answer, part, parse_mode=ParseMode.HTML, reply_markup=markup))

    async def edit(self, name: str, *, reply_markup: Any = None, **context: Any) -> bool:
        """Replace the text of the message a button was on; False if it already read so (a doubled
        press: the first one edited it)."""
        if self.message is None:
            return False
        return await safe_edit(self.message, self.text(name, **context), reply_markup)

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


_RECORD_KINDS = ("document", "photo", "video", "audio", "voice", "video_note")
"""The kinds of message a family sends records as (see routers/family.py)."""


def _is_invite(text: str | None) -> bool:
    """``/start cb_…``: an invite to casebot."""
    text = text or ""
    return _command_of(text) == "start" and text.partition(" ")[2].strip().startswith(INVITE_PREFIX)


def _holds_destiny(storage: BaseStorage, key: StorageKey) -> bool:
    """Whether a storage keeps a key of another destiny apart (its key builder may refuse one)."""
    builder = getattr(storage, "key_builder", None) or getattr(storage, "_key_builder", None)
    if not isinstance(builder, KeyBuilder):
        return True  # memory storage keys by StorageKey itself, destiny included
    try:
        builder.build(key)
    except ValueError:
        return False
    return True


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

    While casebot's database is down it cannot tell what a known person's plain message is for,
    so inside a host it keeps only what is unmistakably its own (``unmistakably_ours``) and
    answers those "unavailable"; the rest (small talk, the host's /menu) goes on to the host.

    For its own updates it binds this instance's database, loads the participant (admins are
    registered on first contact, and a person who had blocked the bot is reachable again),
    gives casebot's handlers their own FSM context (``PROMPT_STATE``, apart from the host's
    conversation), and tags any exception with what the error root needs to answer (errors.py).
    """

    def __init__(self, runtime: Runtime, commands: Iterable[str] = ()) -> None:
        self.runtime = runtime
        self.commands = frozenset(commands)
        """The commands casebot's handlers take (without the slash): claimed even while it is down."""
        self._own_prompts: BaseStorage = MemoryStorage()
        self._warned_storage = False

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
        return _is_invite(event.text)

    def unmistakably_ours(self, message: Message, user: User, bot: Bot | None) -> bool:
        """A known person's private message that is casebot's whoever they are, told without the
        database: one of its commands, an invite, or (from a person who is not an admin, so most
        likely a family) a record file or a reply to one of the bot's messages."""
        command = _command_of(message.text or message.caption)
        if command is not None:
            return command in self.commands or _is_invite(message.text)
        if user.id in self.runtime.admin_ids:
            return False  # staff: casebot takes no files or replies of theirs, only commands
        if any(getattr(message, kind, None) for kind in _RECORD_KINDS):
            return True
        replied = message.reply_to_message
        return bool(
            message.text
            and replied is not None
            and replied.from_user is not None
            and replied.from_user.is_bot
            and (bot is None or replied.from_user.id == bot.id)
        )

    async def claims_without_database(self, event: TelegramObject, user: User, data: dict[str, Any]) -> bool:
        """Whether an update of ours stays casebot's when its database cannot say who the person is:
        inside a host, a known person's message only if it is unmistakably casebot's, or answers a
        question casebot asked them (its prompts are kept in the FSM storage, not the database)."""
        if self.runtime.standalone or not isinstance(event, Message) or user.id not in self.runtime.known:
            return True
        if self.unmistakably_ours(event, user, data.get("bot")):
            return True
        prompt = self._prompt_state(data)
        return prompt is not None and await prompt.get_state() is not None

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if not self.is_ours(event, user):
            return UNHANDLED
        assert user is not None
        runtime = self.runtime
        locale = runtime.locale_for(None, user)
        writes = start_write_log()
        try:
            if not runtime.database.is_open:
                if not await self.claims_without_database(event, user, data):
                    return UNHANDLED  # the host's, for all casebot can tell
                runtime.open_database()
                raise Unavailable("casebot's database is not open")
            with runtime.database.bound():
                try:
                    participant = await self._participant(user, event, data.get("bot"))
                except Exception as exc:
                    if is_database_failure(exc) and not await self.claims_without_database(event, user, data):
                        log.warning("casebot's database failed; an update it cannot place goes to the host")
                        return UNHANDLED
                    raise
                locale = runtime.locale_for(participant, user)
                self._fill(data, event, participant, locale)
                return await handler(event, data)
        except Exception as exc:
            setattr(exc, ERROR_CONTEXT, ErrorContext(event, locale, writes.committed > 0, _where(exc)))
            raise
        finally:
            runtime.wake_sender()

    def _prompt_state(self, data: dict[str, Any]) -> FSMContext | None:
        """casebot's own FSM context: the host's storage and key (so its strategy and instances
        are shared), under casebot's destiny; casebot's own memory if the host keeps no FSM or its
        storage cannot hold another destiny (a key builder without ``with_destiny``)."""
        host = data.get("state")
        if isinstance(host, FSMContext):
            key = replace(host.key, destiny=PROMPT_DESTINY)
            if _holds_destiny(host.storage, key):
                return FSMContext(host.storage, key)
            if not self._warned_storage:
                self._warned_storage = True
                log.warning(
                    "the dispatcher's FSM storage cannot keep another destiny (set with_destiny=True "
                    "on its key builder); casebot keeps its pending questions in memory"
                )
            return FSMContext(self._own_prompts, key)
        context: EventContext | None = data.get(EVENT_CONTEXT_KEY)
        bot: Bot | None = data.get("bot")
        if context is None or context.user_id is None or bot is None:
            return None
        key = StorageKey(
            bot_id=bot.id,
            chat_id=context.chat_id if context.chat_id is not None else context.user_id,
            user_id=context.user_id,
            thread_id=context.thread_id,
            business_connection_id=context.business_connection_id,
            destiny=PROMPT_DESTINY,
        )
        return FSMContext(self._own_prompts, key)

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
            reply=Reply(message, runtime.renderer, locale, participant.timezone if participant else "UTC"),
            services=runtime.services,
            renderer=runtime.renderer,
            participant=participant,
            actor=actor,
            is_staff=bool(actor and actor.is_staff),
            locale=locale,
        )
        data[PROMPT_STATE] = self._prompt_state(data)

    async def _participant(
        self, user: User | None, event: TelegramObject, bot: Bot | None
    ) -> Participant | None:
        assert user is not None
        services = self.runtime.services
        participant = await services.participants.find(user.id)
        if participant is None and user.id in self.runtime.admin_ids:
            participant = await services.participants.ensure_admin(user.id, user.id, user.language_code)
            if bot is not None:  # an admin's first contact after start-up: their own menu now
                await set_coordinator_menu(bot, self.runtime.renderer, participant, admin=True)
        if participant is not None and participant.blocked and not isinstance(event, ChatMemberUpdated):
            # They wrote or pressed something: they can be reached again, from now on.
            await services.participants.reachable_again(participant)
        return participant
