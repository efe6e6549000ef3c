"""Families: join by invite, see the status, send records, answer the hospital's questions."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart, MagicData
from aiogram.types import CallbackQuery, Message, User

from casebot.rendering import Renderer
from casebot.services import Actor, Services
from casebot.services.checklist import IncomingFile
from casebot.telegram import keyboards
from casebot.telegram.callbacks import FileCaseButton, FileItemButton
from casebot.telegram.context import Reply
from casebot.telegram.filters import Args

INVITE_PREFIX = "cb_"


def incoming_file(message: Message) -> IncomingFile | None:
    """The file of a message, as Telegram described it (the largest size of a photo)."""
    if message.document is not None:
        d = message.document
        return IncomingFile(d.file_id, d.file_unique_id, d.file_name, d.file_size, d.mime_type)
    if message.photo:
        p = message.photo[-1]
        return IncomingFile(p.file_id, p.file_unique_id, None, p.file_size, "image/jpeg")
    return None


def family_router() -> Router:
    """Joining is open to anyone with an invite; the rest needs a family participant."""
    router = Router(name="casebot.family")

    @router.message(CommandStart(deep_link=True, magic=F.args.startswith(INVITE_PREFIX)))
    async def join(
        message: Message, command: CommandObject, event_from_user: User, services: Services, reply: Reply
    ) -> None:
        participant = await services.participants.ensure(
            event_from_user.id, message.chat.id, event_from_user.language_code
        )
        joined = await services.invites.redeem(participant, (command.args or "")[len(INVITE_PREFIX) :])
        card = await services.views.card(services.participants.actor_for(participant), joined.case.id)
        await reply.in_locale(participant.locale)("family/joined", card=card, already=joined.already_member)

    members = Router(name="casebot.family.members")
    members.message.filter(MagicData(F.participant & ~F.is_staff))
    members.callback_query.filter(MagicData(F.participant & ~F.is_staff))
    router.include_router(members)

    @members.message(Command("status"))
    async def status(message: Message, services: Services, actor: Actor, reply: Reply) -> None:
        cards = await services.views.cases_of_family(actor)
        if not cards:
            await reply("family/no_case")
        for card in cards:
            await reply("family/status", card=card)

    @members.message(Command("questions"))
    async def questions(message: Message, services: Services, actor: Actor, reply: Reply) -> None:
        await reply("family/questions", cards=await services.views.cases_of_family(actor))

    @members.message(Command("reply"), Args(2))
    async def reply_command(
        message: Message, args: list[str], services: Services, actor: Actor, reply: Reply
    ) -> None:
        # "12 text" answers question 12 of the member's first open case; with several, "C-0001/12 text".
        case_part, _, number = args[0].rpartition("/")
        cases = await services.views.open_cases_of_family(actor)
        if not cases:
            await reply("family/no_case")
            return
        question = await services.questions.answer(actor, case_part or cases[0].id, number, args[1])
        await reply("family/answered", question=question)

    @members.message(Command("reply"))
    async def reply_usage(message: Message, reply: Reply) -> None:
        await reply.usage("reply")

    @members.message(F.reply_to_message & F.text & ~F.text.startswith("/"))
    async def reply_to_question(message: Message, services: Services, actor: Actor, reply: Reply) -> None:
        replied = message.reply_to_message
        assert replied is not None
        asked = await services.views.question_asked_in(actor, replied.message_id)
        if asked is None:
            await reply("family/not_a_question")
            return
        case_id, number = asked
        question = await services.questions.answer(actor, case_id, number, message.text or "")
        await reply("family/answered", question=question)

    @members.message(F.document | F.photo)
    async def record_file(
        message: Message, services: Services, actor: Actor, renderer: Renderer, locale: str, reply: Reply
    ) -> None:
        cases = await services.views.open_cases_of_family(actor)
        if not cases:
            await reply("family/no_case")
        elif len(cases) > 1:
            await message.reply(reply.text("family/which_case"), reply_markup=keyboards.cases(cases))
        else:
            card = await services.views.card(actor, cases[0].id)
            await message.reply(
                reply.text("family/which_item", ref=card.case.id),
                reply_markup=keyboards.checklist_items(card.case, card.items, renderer, locale),
            )

    @members.callback_query(FileCaseButton.filter())
    async def file_case_chosen(
        query: CallbackQuery, callback_data: FileCaseButton, services: Services, actor: Actor,
        renderer: Renderer, locale: str, reply: Reply,
    ) -> None:  # fmt: skip
        card = await services.views.card(actor, callback_data.case_id)
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.edit_text(
                reply.text("family/which_item", ref=card.case.id),
                reply_markup=keyboards.checklist_items(card.case, card.items, renderer, locale),
            )

    @members.callback_query(FileItemButton.filter())
    async def file_item_chosen(
        query: CallbackQuery, callback_data: FileItemButton, services: Services, actor: Actor, reply: Reply
    ) -> None:
        original = query.message.reply_to_message if isinstance(query.message, Message) else None
        incoming = incoming_file(original) if original else None
        if incoming is None or not isinstance(query.message, Message):
            await query.answer(reply.label("send_again"), show_alert=True)
            return
        record = await services.checklist.attach_file(
            actor, callback_data.case_id, callback_data.item or None, incoming
        )
        await query.answer()
        await query.message.edit_text(reply.text("family/file_kept", record=record))

    return router
