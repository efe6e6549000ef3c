"""Families: join by invite, see the status, send records, ask and answer questions."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, CommandObject, CommandStart, MagicData
from aiogram.types import CallbackQuery, Message, User

from casebot.db.models import Participant
from casebot.domain.questions import Direction
from casebot.domain.refs import case_and_text
from casebot.errors import InviteInvalid
from casebot.rendering import Renderer
from casebot.services import Actor, Services
from casebot.services.checklist import IncomingFile
from casebot.services.questions import parse_question_number
from casebot.telegram import keyboards
from casebot.telegram.callbacks import FileCaseButton, FileItemButton
from casebot.telegram.context import INVITE_PREFIX, Reply, Runtime
from casebot.telegram.filters import Args
from casebot.telegram.routers.onboarding import ask_language

RECORD_CONTENT = F.document | F.photo | F.video | F.audio | F.voice | F.video_note


def incoming_file(message: Message) -> IncomingFile | None:
    """The file of a message as Telegram described it (the largest size of a photo), with its kind."""
    if message.document is not None:
        d = message.document
        return IncomingFile(d.file_id, d.file_unique_id, d.file_name, d.file_size, d.mime_type, "document")
    if message.photo:
        p = message.photo[-1]
        return IncomingFile(p.file_id, p.file_unique_id, None, p.file_size, "image/jpeg", "photo")
    if message.video is not None:
        v = message.video
        return IncomingFile(v.file_id, v.file_unique_id, v.file_name, v.file_size, v.mime_type, "video")
    if message.video_note is not None:
        n = message.video_note
        return IncomingFile(n.file_id, n.file_unique_id, None, n.file_size, "video/mp4", "video")
    if message.audio is not None:
        a = message.audio
        return IncomingFile(a.file_id, a.file_unique_id, a.file_name, a.file_size, a.mime_type, "audio")
    if message.voice is not None:
        o = message.voice
        return IncomingFile(o.file_id, o.file_unique_id, None, o.file_size, o.mime_type, "voice")
    return None


def family_router() -> Router:
    """Joining is open to anyone with a valid invite; the rest needs a family participant."""
    router = Router(name="casebot.family")

    @router.message(CommandStart(deep_link=True, magic=F.args.startswith(INVITE_PREFIX)))
    async def join(
        message: Message, command: CommandObject, event_from_user: User, participant: Participant | None,
        services: Services, runtime: Runtime, reply: Reply,
    ) -> None:  # fmt: skip
        try:
            joined = await services.invites.redeem(
                event_from_user.id,
                message.chat.id,
                (command.args or "")[len(INVITE_PREFIX) :],
                language_code=event_from_user.language_code,
                full_name=event_from_user.full_name,
            )
        except InviteInvalid:
            if participant is None and not runtime.standalone:
                # A stranger's /start with a link that is not casebot's: the host's to answer.
                raise SkipHandler from None
            raise
        runtime.known.add(joined.participant)
        card = await services.views.card(services.participants.actor_for(joined.participant), joined.case.id)
        answer = reply.in_locale(joined.participant.locale)
        await answer("family/joined", card=card, already=joined.already_member)
        if participant is None:
            await ask_language(answer)

    members = Router(name="casebot.family.members")
    members.message.filter(MagicData(F.participant & ~F.is_staff))
    members.callback_query.filter(MagicData(F.participant & ~F.is_staff))
    members.edited_message.filter(MagicData(F.participant & ~F.is_staff))
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
        # "C-0001/12 text" answers question 12 of C-0001; "12 text" the one open case waiting for an
        # answer to Q12. Numbers repeat across cases: when several (or none of several) wait, ask which.
        case_part, _, number = args[0].rpartition("/")
        cases = await services.views.open_cases_of_family(actor)
        if not cases:
            await reply("family/no_case")
            return
        case_id: str | int = case_part or cases[0].id
        parsed = parse_question_number(number)
        if not case_part and parsed is not None and len(cases) > 1:
            asking = await services.questions.cases_asking([case.id for case in cases], parsed)
            if len(asking) != 1:
                shown = asking or [case.id for case in cases]
                await reply("family/reply_which_case", cases=shown, number=parsed, open=bool(asking))
                return
            case_id = asking[0]
        question = await services.questions.answer(
            actor, case_id, number, args[1], message_id=message.message_id
        )
        await reply(
            "family/answered", question=question, state=await state_of(services, actor, question.case_id)
        )

    @members.message(Command("ask"), Args(1))
    async def ask_hospital(
        message: Message, args: list[str], services: Services, actor: Actor, reply: Reply
    ) -> None:
        """A family's own question to the hospital; with several open cases it starts with the case."""
        cases = await services.views.open_cases_of_family(actor)
        if not cases:
            await reply("family/no_case")
            return
        case_id, text = case_and_text(args[0], [case.id for case in cases])
        if case_id is None:
            await reply("family/ask_which_case", cases=cases)
            return
        question = await services.questions.ask(actor, case_id, Direction.TO_HOSPITAL, text)
        await reply("family/asked", question=question, state=await state_of(services, actor, case_id))

    @members.message(Command("reply", "ask"))
    async def family_usage(message: Message, command: CommandObject, reply: Reply) -> None:
        await reply.usage("reply" if command.command == "reply" else "family_ask")

    @members.message(F.reply_to_message & F.text & ~F.text.startswith("/"))
    async def reply_to_question(
        message: Message, services: Services, actor: Actor, runtime: Runtime, reply: Reply
    ) -> None:
        replied = message.reply_to_message
        assert replied is not None
        asked = await services.views.question_asked_in(actor, replied.message_id)
        if asked is None:
            if not runtime.standalone:
                raise SkipHandler  # inside a host, a reply to anything else may be the host's
            await reply("family/not_a_question")
            return
        case_id, number = asked
        question = await services.questions.answer(
            actor, case_id, number, message.text or "", message_id=message.message_id
        )
        await reply("family/answered", question=question, state=await state_of(services, actor, case_id))

    @members.edited_message(F.text)
    async def answer_edited(message: Message, services: Services, actor: Actor, reply: Reply) -> None:
        """The message that gave an answer to the hospital's question (a reply or /reply), edited:
        the correction replaces the answer and reaches the coordinator (Telegram shows an edit only
        in this chat, so unsaid it would go nowhere). Any other edit is not casebot's business."""
        text = message.text or ""
        if text.startswith("/"):
            text = " ".join(text.split()[2:])  # "/reply [C-0001/]12 the answer"
        question = await services.questions.correct_answer(actor, message.message_id, text)
        if question is None:
            raise SkipHandler
        await reply("family/answer_corrected", question=question)

    @members.message(RECORD_CONTENT)
    async def record_file(
        message: Message, services: Services, actor: Actor, renderer: Renderer, locale: str, reply: Reply
    ) -> None:
        cases = await services.views.open_cases_of_family(actor)
        incoming = incoming_file(message)
        # A file over the 20 MB a bot can download is said so at once, before anything is chosen.
        large = incoming is not None and not incoming.downloadable
        if not cases:
            await reply("family/no_case")
        elif len(cases) > 1:
            text = reply.text("family/which_item", ref=cases[0].id, large=True) + "\n\n" if large else ""
            await message.reply(
                text + reply.text("family/which_case"), parse_mode="HTML", reply_markup=keyboards.cases(cases)
            )
        else:
            card = await services.views.card(actor, cases[0].id)
            await message.reply(
                reply.text("family/which_item", ref=card.case.id, large=large),
                parse_mode="HTML",
                reply_markup=keyboards.checklist_items(card.case, card.items, renderer, locale),
            )

    @members.message(~F.text)
    async def other_content(message: Message, reply: Reply) -> None:
        """A location, a contact, a sticker, a poll: nothing is kept; say what can be."""
        await reply("family/unsupported")

    @members.callback_query(FileCaseButton.filter())
    async def file_case_chosen(
        query: CallbackQuery, callback_data: FileCaseButton, services: Services, actor: Actor,
        renderer: Renderer, locale: str, reply: Reply,
    ) -> None:  # fmt: skip
        card = await services.views.card(actor, callback_data.case_id)
        original = query.message.reply_to_message if isinstance(query.message, Message) else None
        incoming = incoming_file(original) if original else None
        await query.answer()
        await reply.edit(
            "family/which_item",
            ref=card.case.id,
            large=incoming is not None and not incoming.downloadable,
            reply_markup=keyboards.checklist_items(card.case, card.items, renderer, locale),
        )

    @members.callback_query(FileItemButton.filter())
    async def file_item_chosen(
        query: CallbackQuery, callback_data: FileItemButton, services: Services, actor: Actor, reply: Reply
    ) -> None:
        original = query.message.reply_to_message if isinstance(query.message, Message) else None
        incoming = incoming_file(original) if original else None
        if (
            incoming is None
            or original is None
            or original.from_user is None
            or (original.from_user.id != query.from_user.id)
        ):
            await query.answer(reply.label("send_again"), show_alert=True)
            return
        filed = await services.checklist.attach_file(
            actor, callback_data.case_id, callback_data.item or None, incoming
        )
        await query.answer()
        # A file too large for the bot: the record still has to come, by link or courier.
        routes = filed.new and not filed.record.downloadable and bool(callback_data.item)
        markup = (
            keyboards.arrival_routes(callback_data.case_id, callback_data.item, reply.renderer, reply.locale)
            if routes
            else None
        )
        await reply.edit(
            "family/file_kept", record=filed.record, again=not filed.new, routes=routes, reply_markup=markup
        )

    return router


async def state_of(services: Services, actor: Actor, case_id: int) -> str | None:
    """The state of one of the member's cases, for the disclaimer that fits its moment."""
    cases = await services.views.open_cases_of_family(actor)
    return next((case.state.value for case in cases if case.id == case_id), None)
