"""Commands and buttons for coordinators: open, inspect and move cases, log questions and answers."""

from __future__ import annotations

import re

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, MagicData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from markupsafe import Markup

from casebot.clock import Clock
from casebot.domain.questions import Direction
from casebot.domain.refs import format_ref
from casebot.domain.states import CaseState, parse_state
from casebot.errors import InvalidText, OverrideRequired, ReasonRequired, StateConflict
from casebot.rendering import Renderer
from casebot.services import Actor, Services
from casebot.telegram import keyboards
from casebot.telegram.callbacks import AdvanceButton
from casebot.telegram.context import Reply, drop_keyboard
from casebot.telegram.errors import user_error_text
from casebot.telegram.filters import Args, HospitalArgs
from casebot.telegram.routers.prompts import AwaitingReason, Pending, drop_prompt, reason_has_expired

COORDINATOR_COMMANDS = (
    "newcase", "invite", "cases", "case", "advance", "hospital", "received", "waive",
    "additem", "ask", "chase", "answer", "note",
)  # fmt: skip
CASE_SELECTORS = ("open", "mine", "overdue", *CaseState)
# /case_C0042: a case as a tappable command (Telegram links /commands in text; a dash cannot be in one).
CASE_LINK = re.compile(r"case_c0*([0-9]{1,10})\Z", re.IGNORECASE | re.ASCII)


def coordinator_router(clock: Clock) -> Router:
    """Coordinator commands; the router only matches staff (others get the refusal router).

    Each command handler is registered with the shape of its arguments; a command that does
    not fit falls through to the usage handler at the end.
    """
    router = Router(name="casebot.coordinator")
    router.message.filter(MagicData(F.is_staff))
    router.callback_query.filter(MagicData(F.is_staff))

    @router.message(Command("newcase"), Args(1))
    async def new_case(
        message: Message, args: list[str], bot: Bot, services: Services, actor: Actor, reply: Reply
    ) -> None:
        case = await services.cases.open_case(actor, args[0])
        invite = await services.invites.create(actor, case.id)
        await reply(
            "staff/case_opened", case=case, ref=format_ref(case.id), invite=invite, bot=await bot.me()
        )

    @router.message(Command("invite"), Args(1))
    async def invite(
        message: Message, args: list[str], bot: Bot, services: Services, actor: Actor, reply: Reply
    ) -> None:
        new = await services.invites.create(actor, args[0])
        await reply("staff/invite", invite=new, bot=await bot.me())

    @router.message(Command("cases"))
    async def list_cases(
        message: Message, command: CommandObject, services: Services, actor: Actor, reply: Reply
    ) -> None:
        selector = (command.args or "").strip().lower() or None
        if selector is not None and selector not in CASE_SELECTORS:
            return await reply.usage("cases")
        listing = await services.views.list_cases(actor, selector)
        await reply("staff/cases", listing=listing, selector=selector)
        return None

    @router.message(Command("case"), Args(1))
    async def show_case(
        message: Message,
        args: list[str],
        services: Services,
        actor: Actor,
        reply: Reply,
        renderer: Renderer,
        locale: str,
    ) -> None:
        await _show_card(args[0], services, actor, reply, renderer, locale)

    @router.message(Command(CASE_LINK))
    async def show_case_link(
        message: Message,
        command: CommandObject,
        services: Services,
        actor: Actor,
        reply: Reply,
        renderer: Renderer,
        locale: str,
    ) -> None:
        """A case tapped in the weekly digest: its card, as ``/case C-0042`` shows it."""
        assert command.regexp_match is not None
        await _show_card(f"C-{command.regexp_match.group(1)}", services, actor, reply, renderer, locale)

    @router.message(Command("advance"), Args(2, 3))
    async def advance(
        message: Message, args: list[str], services: Services, actor: Actor, reply: Reply
    ) -> None:
        case = await services.cases.visible_case(actor, args[0])
        target = parse_state(args[1], case.state)
        reason = args[2] if len(args) > 2 else None
        change = await services.cases.advance(actor, case.id, target, expected=case.state, reason=reason)
        await reply("staff/advanced", change=change)

    @router.callback_query(AdvanceButton.filter())
    async def advance_button(
        query: CallbackQuery, callback_data: AdvanceButton, casebot_state: FSMContext, services: Services,
        actor: Actor, reply: Reply, renderer: Renderer, locale: str,
    ) -> None:  # fmt: skip
        target, expected = callback_data.target, callback_data.expected
        try:
            change = await services.cases.advance(actor, callback_data.case_id, target, expected=expected)
        except StateConflict as conflict:
            if conflict.actual != target.value:
                raise
            # Already there: a doubled press (or the same move made meanwhile), nobody's conflict.
            await query.answer(reply.label("moved", state=target.value))
            if isinstance(query.message, Message):
                await drop_keyboard(query.message)
            return
        except (OverrideRequired, ReasonRequired) as needed:
            # Nothing moved: ask for the reason; the next text is it (a command cancels, see prompts).
            await casebot_state.set_state(AwaitingReason.advance)
            await casebot_state.set_data(
                {
                    "case_id": callback_data.case_id,
                    "target": target.value,
                    "expected": expected.value,
                    "asked_at": clock.now().isoformat(),
                }
            )
            await query.answer()
            await reply(
                "staff/ask_reason",
                ref=format_ref(callback_data.case_id),
                target=target.value,
                why=Markup(user_error_text(renderer, needed, locale)),  # rendered HTML already
            )
            return
        await query.answer(reply.label("moved", state=target.value))
        if isinstance(query.message, Message):
            await drop_keyboard(query.message)
        await reply("staff/advanced", change=change)

    @router.message(F.text, Pending(AwaitingReason.advance))
    async def reason_given(
        message: Message, casebot_state: FSMContext, services: Services, actor: Actor, reply: Reply
    ) -> None:
        pending = await casebot_state.get_data()
        if reason_has_expired(pending.get("asked_at"), clock.now()):
            await drop_prompt(casebot_state)
            await reply(
                "staff/reason_expired", ref=format_ref(int(pending["case_id"])), target=pending["target"]
            )
            return
        try:
            change = await services.cases.advance(
                actor,
                int(pending["case_id"]),
                CaseState(pending["target"]),
                expected=CaseState(pending["expected"]),
                reason=message.text,
            )
        except (InvalidText, OverrideRequired, ReasonRequired):
            # The reason itself was refused (too long, blank): the question stands, to be answered
            # again; the refusal (the error root's answer) says what to change.
            await casebot_state.update_data(asked_at=clock.now().isoformat())
            raise
        except Exception:
            await drop_prompt(casebot_state)  # the move cannot be made (changed meanwhile, closed...)
            raise
        await drop_prompt(casebot_state)
        await reply("staff/advanced", change=change)

    @router.message(Command("hospital"), HospitalArgs())
    async def hospital(
        message: Message,
        args: list[str | None],
        turnaround: int | None,
        services: Services,
        actor: Actor,
        reply: Reply,
    ) -> None:
        reference, name, department, reviewer = args
        assert reference is not None and name is not None and department is not None
        change = await services.cases.set_route(
            actor, reference, name, department, reviewer, turnaround=turnaround
        )
        case = change.case
        await reply(
            "staff/hospital_set",
            case=case,
            ref=format_ref(case.id),
            rerouted=change.rerouted,
            position=change.route.position,
        )

    @router.message(Command("received"), Args(2))
    async def received(
        message: Message, args: list[str], services: Services, actor: Actor, reply: Reply
    ) -> None:
        item = await services.checklist.mark_received(actor, args[0], args[1])
        await reply("staff/item_marked", item=item, ref=format_ref(item.case_id))

    @router.message(Command("waive"), Args(3))
    async def waive(
        message: Message, args: list[str], services: Services, actor: Actor, reply: Reply
    ) -> None:
        item = await services.checklist.waive(actor, args[0], args[1], args[2])
        await reply("staff/item_marked", item=item, ref=format_ref(item.case_id))

    @router.message(Command("additem"), Args(2))
    async def add_item(
        message: Message, args: list[str], services: Services, actor: Actor, reply: Reply
    ) -> None:
        item = await services.checklist.add_item(actor, args[0], args[1])
        await reply("staff/item_added", item=item, ref=format_ref(item.case_id))

    @router.message(Command("ask", "chase"), Args(2))
    async def ask(
        message: Message,
        command: CommandObject,
        args: list[str],
        services: Services,
        actor: Actor,
        reply: Reply,
    ) -> None:
        direction = Direction.TO_FAMILY if command.command == "ask" else Direction.TO_HOSPITAL
        question = await services.questions.ask(actor, args[0], direction, args[1])
        joined = await services.questions.family_joined(question.case_id)
        await reply(
            "staff/question_logged", question=question, ref=format_ref(question.case_id), joined=joined
        )

    @router.message(Command("answer"), Args(3))
    async def answer(
        message: Message, args: list[str], services: Services, actor: Actor, reply: Reply
    ) -> None:
        question = await services.questions.answer(actor, args[0], args[1], args[2])
        await reply("staff/answer_logged", question=question, ref=format_ref(question.case_id))

    @router.message(Command("note"), Args(2))
    async def note(message: Message, args: list[str], services: Services, actor: Actor, reply: Reply) -> None:
        saved = await services.cases.add_note(actor, args[0], args[1])
        await reply("staff/note_added", ref=format_ref(saved.case_id))

    @router.message(Command(*COORDINATOR_COMMANDS))
    async def usage(message: Message, command: CommandObject, reply: Reply) -> None:
        """Any coordinator command whose arguments did not fit its handler."""
        await reply.usage(command.command)

    return router


def refusal_router() -> Router:
    """Coordinator commands and buttons from anyone else: a plain refusal, nothing changes.

    Only a standalone casebot answers others' coordinator commands: inside a host bot, a
    command casebot shares a name with (a host's own /note) belongs to the host.
    """
    router = Router(name="casebot.refusal")
    router.message.filter(~MagicData(F.is_staff))

    @router.message(Command(*COORDINATOR_COMMANDS, "coordinator", "pause", "resume", "reminders", "outcome"))
    @router.message(Command(CASE_LINK))
    async def refuse(message: Message, reply: Reply) -> None:
        await reply("refused")

    return router


def staff_button_refusal_router() -> Router:
    """A coordinator's button pressed by someone else (a forwarded card, forged data): refused."""
    router = Router(name="casebot.refusal.buttons")

    @router.callback_query(AdvanceButton.filter(), ~MagicData(F.is_staff))
    async def refuse_button(query: CallbackQuery, reply: Reply) -> None:
        await query.answer(reply.label("refused"), show_alert=True)

    return router


async def _show_card(
    reference: str, services: Services, actor: Actor, reply: Reply, renderer: Renderer, locale: str
) -> None:
    """A case's card with the buttons of its next states."""
    card = await services.views.card(actor, reference)
    await reply("staff/card", card=card, reply_markup=keyboards.next_states(card, renderer, locale))
