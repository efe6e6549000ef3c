"""Reminder commands and buttons: families snooze and answer check-ins; coordinators pause, resume, inspect."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, MagicData
from aiogram.types import CallbackQuery, Message

from casebot.db.models import Participant
from casebot.domain.refs import format_ref
from casebot.services import Actor, Services
from casebot.telegram.callbacks import CheckInButton, ReminderAction, ReminderButton
from casebot.telegram.context import Reply, drop_keyboard
from casebot.telegram.filters import Args

STAFF_COMMANDS = ("pause", "resume", "reminders")


def staff_reminders_router() -> Router:
    """``/pause``, ``/resume``, ``/reminders`` for coordinators."""
    router = Router(name="casebot.reminders.staff")
    router.message.filter(MagicData(F.is_staff))

    @router.message(Command("pause"), Args(2))
    async def pause(
        message: Message,
        args: list[str],
        participant: Participant,
        services: Services,
        actor: Actor,
        reply: Reply,
    ) -> None:
        case = await services.reminders.pause(actor, args[0], args[1], participant.timezone)
        await reply(
            "staff/paused", ref=format_ref(case.id), until=case.paused_until, zone=participant.timezone
        )

    @router.message(Command("resume"), Args(1))
    async def resume(
        message: Message, args: list[str], services: Services, actor: Actor, reply: Reply
    ) -> None:
        case = await services.reminders.resume(actor, args[0])
        await reply("staff/resumed", ref=format_ref(case.id))

    @router.message(Command("reminders"), Args(1))
    async def reminders(
        message: Message,
        args: list[str],
        participant: Participant,
        services: Services,
        actor: Actor,
        reply: Reply,
    ) -> None:
        case, upcoming = await services.reminders.schedule(actor, args[0])
        await reply(
            "staff/reminders",
            ref=format_ref(case.id),
            upcoming=upcoming,
            paused_until=case.paused_until,
            zone=participant.timezone,
        )

    @router.message(Command(*STAFF_COMMANDS))
    async def usage(message: Message, reply: Reply) -> None:
        command = (message.text or "/").split()[0].lstrip("/").split("@")[0]
        await reply.usage(command)

    return router


def family_reminders_router() -> Router:
    """``/snooze`` and the buttons on reminders and check-ins, for family members."""
    router = Router(name="casebot.reminders.family")
    router.message.filter(MagicData(F.participant & ~F.is_staff))
    router.callback_query.filter(MagicData(F.participant & ~F.is_staff))

    @router.message(Command("snooze"), Args(1))
    async def snooze(
        message: Message,
        args: list[str],
        participant: Participant,
        services: Services,
        actor: Actor,
        reply: Reply,
    ) -> None:
        cases = await services.reminders.snooze(actor, args[0], participant.timezone)
        if not cases:
            await reply("family/no_case")
            return
        await reply("family/snoozed", until=cases[0].snoozed_until, zone=participant.timezone)

    @router.message(Command("snooze"))
    async def snooze_usage(message: Message, reply: Reply) -> None:
        await reply.usage("snooze")

    @router.callback_query(ReminderButton.filter())
    async def reminder_button(
        query: CallbackQuery, callback_data: ReminderButton, participant: Participant, services: Services,
        actor: Actor, reply: Reply,
    ) -> None:  # fmt: skip
        if callback_data.action == ReminderAction.NOW:
            await query.answer()
            await reply("family/send_now")
            return
        cases = await services.reminders.snooze(
            actor, callback_data.action.value, participant.timezone, case_id=callback_data.case_id
        )
        await query.answer()
        if isinstance(query.message, Message):
            await drop_keyboard(query.message)
        await reply("family/snoozed", until=cases[0].snoozed_until, zone=participant.timezone)

    @router.callback_query(CheckInButton.filter())
    async def check_in(
        query: CallbackQuery, callback_data: CheckInButton, services: Services, actor: Actor, reply: Reply
    ) -> None:
        recorded = await services.reminders.answer_check_in(
            actor, callback_data.case_id, callback_data.round, callback_data.answer.value
        )
        if recorded is None:
            await query.answer(reply.label("already_recorded"))
            return
        await query.answer()
        if isinstance(query.message, Message):
            await drop_keyboard(query.message)
        await reply("family/check_in_thanks", answer=callback_data.answer.value)

    return router
