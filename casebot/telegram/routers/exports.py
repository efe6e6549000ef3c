"""/export: a coordinator's cases (every case, for an admin) as a CSV document."""

from __future__ import annotations

import io
import logging
from datetime import UTC
from functools import partial

from aiogram import F, Router
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramEntityTooLarge
from aiogram.filters import Command, MagicData
from aiogram.types import BufferedInputFile, Message

from casebot.services import Actor, Services
from casebot.telegram.context import Reply
from casebot.telegram.retry import with_retry

log = logging.getLogger("casebot.telegram")

UPLOAD_LIMIT = 50 * 1024 * 1024
"""The largest file a bot may send (Bot API): a larger export is for `casebot export --csv`."""
CAPTION_LIMIT = 1024


def exports_router(*, refuse_others: bool = False) -> Router:
    """``/export`` for staff; with ``refuse_others`` (a standalone bot, as the refusal router of
    coordinator.py) anyone else is told that only a coordinator can do that."""
    router = Router(name="casebot.exports")

    @router.message(Command("export"), MagicData(F.is_staff))
    async def export(message: Message, services: Services, actor: Actor, reply: Reply) -> None:
        exports = services.exports
        out = io.StringIO()
        count = await exports.write_csv(actor, out)
        log.info("export of %d cases for participant %s", count, actor.participant_id)
        if count == 0:
            await reply("staff/exported", count=0)
            return
        data = out.getvalue().encode("utf-8")
        if len(data) > UPLOAD_LIMIT:
            await reply("staff/export_too_large", count=count)
            return
        name = f"casebot-cases-{exports.now().astimezone(UTC).date().isoformat()}.csv"
        document = BufferedInputFile(data, filename=name)
        caption = reply.text("staff/exported", count=count)
        # A caption has room for 1,024 characters (an operator's wording may be longer): then the
        # words follow the file instead of riding on it.
        riding = caption if len(caption) <= CAPTION_LIMIT else None
        try:
            await with_retry(
                partial(message.answer_document, document, caption=riding, parse_mode=ParseMode.HTML)
            )
        except TelegramEntityTooLarge:
            await reply("staff/export_too_large", count=count)
            return
        if riding is None:
            await reply("staff/exported", count=count)

    if refuse_others:

        @router.message(Command("export"), ~MagicData(F.is_staff))
        async def refuse(message: Message, reply: Reply) -> None:
            await reply("refused")

    return router
