"""Files to the family: a coordinator's document, photo or video captioned ``/send <case> [note]``,
``/opinion <case>`` (the written opinion) or ``/opinion <case> translated`` (its translation); and
the family's button confirming the opinion reached them."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, CommandObject, MagicData
from aiogram.types import CallbackQuery, Message

from casebot.services import Actor, Services
from casebot.services.checklist import IncomingFile
from casebot.telegram.callbacks import ReceiptButton
from casebot.telegram.context import Reply, Runtime, drop_keyboard
from casebot.telegram.routers.family import incoming_file

FILE_COMMANDS = ("send", "opinion")
ANY_FILE = F.document | F.photo | F.video | F.audio | F.voice | F.video_note | F.animation | F.sticker
TRANSLATED = frozenset({"translated", "translation"})


def outgoing_file(message: Message) -> IncomingFile:
    """The file of a coordinator's message, read as a family's is; a message with no file at all is
    kind "other", which the service refuses (as it does a kind the bot cannot re-send) readably."""
    return incoming_file(message) or IncomingFile("", "", None, None, None, "other")


def files_router() -> Router:
    """Coordinators send files; family members confirm the opinion (and cannot send files)."""
    router = Router(name="casebot.files")

    staff = Router(name="casebot.files.staff")
    staff.message.filter(MagicData(F.is_staff))
    router.include_router(staff)

    @staff.message(Command(*FILE_COMMANDS), ANY_FILE)
    async def send_file(
        message: Message, command: CommandObject, services: Services, actor: Actor, reply: Reply
    ) -> None:
        words = (command.args or "").split(maxsplit=1)
        if not words:
            await reply("staff/file_needs_case", command=command.command)
            return
        reference, rest = words[0], (words[1].strip() if len(words) > 1 else "")
        if command.command == "opinion":
            if rest and rest.lower() not in TRANSLATED:
                await reply.usage("opinion")
                return
            purpose, note = ("translation" if rest else "opinion"), None
        else:
            purpose, note = "send", rest or None
        sent = await services.opinions.send_file(actor, reference, purpose, outgoing_file(message), note)
        await reply("staff/file_sent", sent=sent)

    @staff.message(ANY_FILE)
    async def file_without_command(message: Message, runtime: Runtime, reply: Reply) -> None:
        """A coordinator's file with no caption, or a caption that is not /send or /opinion. Inside a
        host bot such a file is not casebot's (its gate takes no files of staff): the host gets it."""
        if not runtime.standalone:
            raise SkipHandler
        await reply("staff/file_needs_caption", captioned=bool((message.caption or "").strip()))

    @staff.message(Command(*FILE_COMMANDS))
    async def command_without_file(message: Message, command: CommandObject, reply: Reply) -> None:
        """/send or /opinion typed as text: the file must carry the command as its caption."""
        await reply("staff/file_needs_attachment", command=command.command, args=(command.args or "").strip())

    family = Router(name="casebot.files.family")
    family.message.filter(MagicData(F.participant & ~F.is_staff))
    family.callback_query.filter(MagicData(F.participant & ~F.is_staff))
    router.include_router(family)

    @family.message(Command(*FILE_COMMANDS), F.text, MagicData(F.runtime.standalone))
    async def refuse(message: Message, reply: Reply) -> None:
        """Only a coordinator sends files through the bot (a family's own files go on its checklist).
        Only the standalone bot refuses: inside a host, a /send of the family's is the host's."""
        await reply("refused")

    @family.callback_query(ReceiptButton.filter())
    async def confirm(
        query: CallbackQuery, callback_data: ReceiptButton, services: Services, actor: Actor, reply: Reply
    ) -> None:
        confirmed = await services.opinions.confirm_receipt(
            actor, callback_data.case_id, callback_data.file_id
        )
        if isinstance(query.message, Message):
            await drop_keyboard(query.message)
        if confirmed is None:
            await query.answer(reply.label("already_recorded"))
            return
        await query.answer()
        await reply("family/opinion_confirmed")

    return router
