"""The outer middleware of casebot's routers: binds the database, resolves who is writing, answers errors."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message, TelegramObject, User
from tortoise.exceptions import BaseORMException

from casebot.db.database import Database
from casebot.db.models import Participant
from casebot.errors import CasebotError
from casebot.rendering import Renderer
from casebot.services import Actor, Services
from casebot.services.participants import pick_locale

log = logging.getLogger("casebot.telegram")


@dataclass(frozen=True, slots=True)
class Runtime:
    """What casebot's handlers are given, besides the update: one per casebot instance."""

    database: Database
    services: Services
    renderer: Renderer
    admin_ids: frozenset[int]
    default_locale: str
    wake_sender: Callable[[], None]

    def locale_for(self, participant: Participant | None, user: User | None) -> str:
        """The language to answer in."""
        if participant is not None:
            return participant.locale
        return pick_locale(user.language_code if user else None, self.default_locale)


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
        """Send a template as one or more messages; buttons go on the last."""
        if self.message is None:
            return
        parts = self.renderer.render_parts(self.locale, name, **context)
        for part in parts[:-1]:
            await self.message.answer(part)
        await self.message.answer(parts[-1], reply_markup=reply_markup)

    async def usage(self, command: str) -> None:
        """The usage line of a command that was mistyped."""
        await self("usage", usage=self.label(f"usage_{command}"))


async def reply(event: TelegramObject, text: str, *, alert: bool = False) -> None:
    """Answer a message with a message, a button press with a notice on the button."""
    if isinstance(event, CallbackQuery):
        await event.answer(text[:200], show_alert=alert)
    elif isinstance(event, Message):
        await event.answer(text)


class CasebotContext(BaseMiddleware):
    """Runs around every update that reaches casebot's routers.

    It binds this instance's database, loads the participant (admins are registered on
    first contact), and turns a CasebotError into a readable reply. Host handlers never
    see any of this: the data it adds lives only inside casebot's routers.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        runtime = self.runtime
        user: User | None = data.get("event_from_user")
        with runtime.database.bound():
            participant = await self._participant(user)
            actor: Actor | None = (
                runtime.services.participants.actor_for(participant) if participant else None
            )
            locale = runtime.locale_for(participant, user)
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
            try:
                return await handler(event, data)
            except CasebotError as error:
                await reply(event, self._error_text(error, data["locale"]), alert=True)
                return None
            except BaseORMException:
                log.exception("database failure while handling an update")
                await reply(event, runtime.renderer.render(data["locale"], "failure"), alert=True)
                return None
            except TelegramAPIError:
                log.exception("Telegram refused a reply")
                return None
            finally:
                runtime.wake_sender()

    def _error_text(self, error: CasebotError, locale: str) -> str:
        """The error in the person's language where a template says it, else its own message."""
        renderer = self.runtime.renderer
        if error.template is not None and renderer.has(locale, f"errors/{error.template}"):
            return renderer.render(locale, f"errors/{error.template}")
        return renderer.render(locale, "error", message=error.message)

    async def _participant(self, user: User | None) -> Participant | None:
        if user is None or user.is_bot:
            return None
        participant = await Participant.get_or_none(telegram_user_id=user.id)
        if participant is None and user.id in self.runtime.admin_ids:
            participant = await self.runtime.services.participants.ensure(
                user.id, user.id, user.language_code
            )
        return participant
