"""Home follow-up and records that come another way.

Families name their home oncologist (``/homedoctor``, or a reply to the bot's question when the
opinion arrives), put a follow-up question by replying to a check-in, and say how a record too
large for the bot will come (a link, a courier). Coordinators mark such a record as arriving by a
date with ``/arriving``, which holds its reminders until then.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, MagicData
from aiogram.types import CallbackQuery, Message

from casebot.db.models import Participant
from casebot.domain.questions import Direction
from casebot.domain.refs import case_and_text
from casebot.services import Actor, Services
from casebot.telegram.callbacks import ArrivalButton
from casebot.telegram.context import Reply, drop_keyboard
from casebot.telegram.filters import Args
from casebot.telegram.routers.family import state_of

# The bot's messages a family member answers by replying to them.
_ANSWERED_BY_REPLY = ("ask_home_doctor", "check_in")


def follow_up_router() -> Router:
    """``/homedoctor``, replies to the home-oncologist question and to check-ins, the arrival
    buttons (families), and ``/arriving`` (coordinators)."""
    router = Router(name="casebot.followup")

    staff = Router(name="casebot.followup.staff")
    staff.message.filter(MagicData(F.is_staff))
    router.include_router(staff)

    @staff.message(Command("arriving"), Args(4))
    async def arriving(
        message: Message, args: list[str], participant: Participant, services: Services, actor: Actor,
        reply: Reply,
    ) -> None:  # fmt: skip
        item = await services.checklist.mark_arriving(
            actor, args[0], args[1], args[2], args[3], zone=participant.timezone
        )
        await reply("staff/arriving", item=item)

    @staff.message(Command("arriving"))
    async def arriving_usage(message: Message, reply: Reply) -> None:
        await reply.usage("arriving")

    members = Router(name="casebot.followup.members")
    members.message.filter(MagicData(F.participant & ~F.is_staff))
    members.callback_query.filter(MagicData(F.participant & ~F.is_staff))
    router.include_router(members)

    @members.message(Command("arriving"), MagicData(F.runtime.standalone))
    async def arriving_refused(message: Message, reply: Reply) -> None:
        """A coordinator's command: refused by the standalone bot only (inside a host it is the host's)."""
        await reply("refused")

    @members.message(Command("homedoctor"), Args(1))
    async def home_doctor(
        message: Message, args: list[str], services: Services, actor: Actor, reply: Reply
    ) -> None:
        """The family's home oncologist; with several open cases it starts with the case."""
        cases = await services.views.open_cases_of_family(actor)
        if not cases:
            await reply("family/no_case")
            return
        case_id, text = case_and_text(args[0], [case.id for case in cases])
        if case_id is None:
            await reply("family/home_doctor_which_case", cases=cases)
            return
        case, changed = await services.reminders.set_home_doctor(actor, case_id, text)
        await reply("family/home_doctor_saved", case=case, changed=changed)

    @members.message(Command("homedoctor"))
    async def home_doctor_usage(message: Message, reply: Reply) -> None:
        await reply.usage("homedoctor")

    @members.message(F.reply_to_message & F.text & ~F.text.startswith("/"))
    async def reply_to_follow_up(message: Message, services: Services, actor: Actor, reply: Reply) -> None:
        """A reply to the home-oncologist question names the oncologist; a reply to a check-in is a
        follow-up question to the hospital. A reply to anything else is for the next handler."""
        replied = message.reply_to_message
        assert replied is not None
        notice = await services.reminders.notice_replied_to(actor, replied.message_id, _ANSWERED_BY_REPLY)
        if notice is None or notice.case_id is None:
            raise SkipHandler
        text = message.text or ""
        if notice.kind == "ask_home_doctor":
            case, changed = await services.reminders.set_home_doctor(actor, notice.case_id, text)
            await reply("family/home_doctor_saved", case=case, changed=changed)
            return
        question = await services.questions.ask(actor, notice.case_id, Direction.TO_HOSPITAL, text)
        await reply("family/asked", question=question, state=await state_of(services, actor, notice.case_id))

    @members.callback_query(ArrivalButton.filter())
    async def arrival_chosen(
        query: CallbackQuery, callback_data: ArrivalButton, services: Services, actor: Actor, reply: Reply
    ) -> None:
        item, changed = await services.checklist.choose_arrival_route(
            actor, callback_data.case_id, callback_data.item, callback_data.route.value
        )
        if not changed:
            await query.answer(reply.label("already_recorded"))
            return
        await query.answer()
        if isinstance(query.message, Message):
            await drop_keyboard(query.message)
        await reply("family/arrival_chosen", item=item, changed=changed)

    return router
