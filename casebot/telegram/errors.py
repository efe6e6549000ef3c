"""casebot's one error root: an ``errors`` observer that answers the person, alerts the admins once per
kind of failure, and logs the traceback without anything a person wrote."""

from __future__ import annotations

import html
import logging
import re
import time
import traceback
from collections.abc import Callable
from typing import Any

from aiogram import Bot, Router
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.types import CallbackQuery, ErrorEvent, Message

from casebot.db.database import Database, is_database_failure
from casebot.db.models import Participant
from casebot.errors import CasebotError, Unavailable
from casebot.rendering import Renderer
from casebot.rendering.renderer import FALLBACK_LOCALE
from casebot.telegram.context import ERROR_CONTEXT, ErrorContext

log = logging.getLogger("casebot.telegram")

ALERT_EVERY = 15 * 60.0
"""Seconds between two admin alerts of the same kind of failure."""
_TAGS = re.compile(r"<[^>]+>")
ALERT_LIMIT = 200
"""A callback answer (the notice on a button) holds this many characters; longer goes as a message."""


def describe_failure(error: BaseException) -> str:
    """The traceback of a failure with its exceptions named by class only.

    An exception's message may quote what a person typed (``'FORGED' is not a valid
    CaseState``) or what the driver saw; the frames and class names are enough to debug.
    """
    lines: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = "".join(traceback.format_tb(current.__traceback__))
        lines.append(f"{type(current).__module__}.{type(current).__qualname__}\n{frames}")
        current = current.__cause__ or current.__context__
    return "caused by ".join(reversed(lines)).rstrip()


class AdminAlerts:
    """Tells the admins of a failure in their chat, once per kind in ALERT_EVERY seconds."""

    def __init__(
        self,
        admin_ids: frozenset[int],
        renderer: Renderer,
        locale: str,
        monotonic: Callable[[], float] = time.monotonic,
        database: Database | None = None,
    ) -> None:
        self.admin_ids = admin_ids
        self.database = database
        self.renderer = renderer
        self.locale = locale
        self.monotonic = monotonic
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    async def alert(self, bot: Bot, kind: str) -> None:
        """Send one alert of ``kind`` unless one went out recently (then count it for the next).
        Each admin reads it in their own language, when the database can say which."""
        now = self.monotonic()
        last = self._last.get(kind)
        if last is not None and now - last < ALERT_EVERY:
            self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
            return
        self._last[kind] = now
        suppressed = self._suppressed.pop(kind, 0)
        locales = await self._locales()
        for admin_id in sorted(self.admin_ids):
            text = self.renderer.render(
                locales.get(admin_id, self.locale), "admin/failure", kind=kind, suppressed=suppressed
            )
            try:
                await bot.send_message(admin_id, text, parse_mode=ParseMode.HTML)
            except TelegramAPIError as error:
                log.warning("could not alert an admin of a failure (%s)", type(error).__name__)

    async def _locales(self) -> dict[int, str]:
        """The admins' chosen languages; none when the database is what failed."""
        if self.database is None or not self.database.is_open:
            return {}
        try:
            with self.database.bound():
                admins = await Participant.filter(telegram_user_id__in=list(self.admin_ids)).only(
                    "telegram_user_id", "locale"
                )
        except Exception:  # the failure being reported may be the database's own
            return {}
        return {admin.telegram_user_id: admin.locale for admin in admins}


def errors_router(renderer: Renderer, alerts: AdminAlerts) -> Router:
    """The ``errors`` observer for every update casebot handled (tagged by its gate).

    - A person's mistake (CasebotError): the readable answer, in their language; nothing changed.
    - The database failing: "nothing was saved, try again"; the admins are alerted; the
      update is raised again so a webhook answers 500 and Telegram delivers it once more.
    - Anything else (a bug): an apology that says whether their change was saved, the
      admins alerted, the traceback logged; the update is acknowledged, because delivering
      the same input again would only fail again.
    """
    router = Router(name="casebot.errors")

    @router.errors(lambda event: isinstance(getattr(event.exception, ERROR_CONTEXT, None), ErrorContext))
    async def on_error(event: ErrorEvent, bot: Bot) -> None:
        error = event.exception
        context: ErrorContext = getattr(error, ERROR_CONTEXT)
        if isinstance(error, CasebotError):
            await answer(context, user_error_text(renderer, error, context.locale))
            return
        if isinstance(error, TelegramAPIError):
            await telegram_refused(bot, context, error)
            return
        outage = isinstance(error, Unavailable) or is_database_failure(error)
        kind = "database" if outage else f"{type(error).__name__} in {context.handler}"
        log.error("casebot failed on an update (%s)\n%s", kind, describe_failure(error))
        # A change committed before the failure is kept and said to be kept, whatever failed after it.
        await answer(context, renderer.render(context.locale, "failure", saved=context.saved, outage=outage))
        await alerts.alert(bot, kind)
        if outage and not context.saved:
            # Nothing was written: the update may safely come again (a webhook answers 500 and
            # Telegram delivers it once more). Once something was written, delivering it again
            # would repeat that write, so the update is acknowledged instead.
            raise Unavailable("casebot's database failed; the update is left for Telegram to deliver again")

    async def telegram_refused(bot: Bot, context: ErrorContext, error: TelegramAPIError) -> None:
        """Telegram refused casebot's own answer (after the sender's own retries).

        A blocked chat is nobody's fault. Anything else after a saved change means the person
        does not know it was made: the admins are told, so someone can tell them.
        """
        name = type(error).__name__
        if isinstance(error, TelegramForbiddenError):
            log.info("Telegram refused an answer from %s (%s)", context.handler, name)
            return
        if not context.saved:
            log.warning("Telegram refused an answer from %s (%s)", context.handler, name)
            return
        log.error("a change was saved but its answer was lost (%s in %s)", name, context.handler)
        await alerts.alert(bot, f"answer lost after a saved change ({name} in {context.handler})")

    return router


def user_error_text(renderer: Renderer, error: CasebotError, locale: str) -> str:
    """A person's mistake in their language: the error's template (errors/<template>) in ``locale``.

    A locale that lacks it gets the English template (the renderer logs that once, and
    tests/rendering/test_error_texts.py fails on it); only an error with no template at all
    (the operator's own, raised before the bot runs) is shown in its English ``message``.
    """
    if error.template is not None and renderer.has(FALLBACK_LOCALE, f"errors/{error.template}"):
        return renderer.render(locale, f"errors/{error.template}", **error.context())
    return renderer.render(locale, "error", message=error.message)


async def answer(context: ErrorContext, text: str) -> None:
    """Answer the person where they spoke: a notice on the button, or a message."""
    event: Any = context.event
    try:
        if isinstance(event, CallbackQuery):
            if len(text) <= ALERT_LIMIT:
                await event.answer(_plain(text), show_alert=True)
                return
            await event.answer()
            if isinstance(event.message, Message):
                await event.message.answer(text, parse_mode=ParseMode.HTML)
        elif isinstance(event, Message):
            await event.answer(text, parse_mode=ParseMode.HTML)
    except TelegramAPIError as error:
        log.warning("could not answer a person after a failure (%s)", type(error).__name__)


def _plain(text: str) -> str:
    """A notice on a button shows no HTML."""
    return html.unescape(_TAGS.sub("", text))
