"""Admins: ``/erase <case>`` wipes a case's personal data, once an admin confirms it with a button.

The command only asks; the button does the erasing, and everything is checked again when it is
pressed: who pressed it (the service refuses anyone but an admin, inside its transaction), whether
the case is still there and not erased already, and whether the question is still fresh.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from aiogram import F, Router
from aiogram.filters import Command, MagicData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from casebot.clock import Clock
from casebot.domain.refs import format_ref
from casebot.domain.roles import Role
from casebot.errors import CaseAlreadyErased, CaseNotFound, NotAllowed
from casebot.rendering import Renderer
from casebot.services import Actor, Services
from casebot.services.cases import already_erased
from casebot.telegram.callbacks import EraseAction, EraseButton
from casebot.telegram.context import Reply, drop_keyboard
from casebot.telegram.filters import Args

log = logging.getLogger("casebot.telegram")

CONFIRMATION_TTL = timedelta(minutes=10)
"""How long the buttons under an erase question work: after that the admin asks again."""
CLOCK_SKEW = timedelta(minutes=1)
"""A question stamped this far in the future still counts as asked now (never further: forged)."""


def _require_admin(actor: Actor | None) -> None:
    """Erasing is for admins: anyone else is told so, in their language, and nothing happens."""
    if actor is None or actor.role != Role.ADMIN:
        raise NotAllowed("Only an admin can erase a case.", key="erase_admin_only")


def has_expired(asked: int, now: datetime) -> bool:
    """Whether an erase question asked at ``asked`` (Unix seconds) may no longer be answered."""
    asked_at = datetime.fromtimestamp(asked, now.tzinfo)
    return not (now - CONFIRMATION_TTL <= asked_at <= now + CLOCK_SKEW)


def confirmation_keyboard(case_id: int, asked: int, renderer: Renderer, locale: str) -> InlineKeyboardMarkup:
    """ "Erase" and "Cancel" under the question."""
    builder = InlineKeyboardBuilder()
    for action, key in ((EraseAction.ERASE, "erase_confirm"), (EraseAction.KEEP, "erase_keep")):
        builder.button(
            text=renderer.label(locale, key),
            callback_data=EraseButton(case_id=case_id, action=action, asked=asked),
        )
    builder.adjust(2)
    return builder.as_markup()


def erasure_router(clock: Clock, *, refuse_others: bool = False) -> Router:
    """``/erase <case>`` and its confirmation buttons. Coordinators who are not admins are refused;
    with ``refuse_others`` (a standalone bot) so is anyone else who sends /erase."""
    router = Router(name="casebot.erasure")
    staff = MagicData(F.is_staff)

    @router.message(Command("erase"), staff, Args(1))
    async def erase(
        message: Message, args: list[str], services: Services, actor: Actor, reply: Reply,
        renderer: Renderer, locale: str,
    ) -> None:  # fmt: skip
        _require_admin(actor)
        case = await services.cases.visible_case(actor, args[0])
        if case.erased_at is not None:
            raise already_erased(case.id)
        asked = int(clock.now().timestamp())
        await reply(
            "staff/erase_confirm",
            case=case,
            ref=format_ref(case.id),
            reply_markup=confirmation_keyboard(case.id, asked, renderer, locale),
        )

    @router.message(Command("erase"), staff)
    async def usage(message: Message, actor: Actor, reply: Reply) -> None:
        _require_admin(actor)  # a coordinator hears that it is not theirs, not how to type it
        await reply.usage("erase")

    if refuse_others:

        @router.message(Command("erase"), ~staff)
        async def refuse(message: Message) -> None:
            _require_admin(None)

    @router.callback_query(EraseButton.filter())
    async def pressed(
        query: CallbackQuery, callback_data: EraseButton, services: Services, actor: Actor | None,
        reply: Reply,
    ) -> None:  # fmt: skip
        case_id = callback_data.case_id
        ref = format_ref(case_id)
        _require_admin(actor)
        assert actor is not None
        message = query.message if isinstance(query.message, Message) else None
        if callback_data.action == EraseAction.KEEP:
            case = await services.cases.visible_case(actor, case_id)
            if case.erased_at is not None:
                # Erased meanwhile (the other button, another admin, the command line): "nothing
                # was erased" would be untrue.
                if message is not None:
                    await drop_keyboard(message)
                raise already_erased(case_id)
            await query.answer()
            await reply.edit("staff/erase_cancelled", ref=ref)
            return
        if has_expired(callback_data.asked, clock.now()):
            if message is not None:
                await drop_keyboard(message)
            raise NotAllowed("This confirmation has expired.", key="erase_expired", reference=ref)
        try:
            change = await services.cases.erase(actor, case_id)
        except (CaseAlreadyErased, CaseNotFound):
            # Erased already, or no such case: the buttons are of no more use; the error root says why.
            if message is not None:
                await drop_keyboard(message)
            raise
        log.info("case %s erased by participant %s", case_id, actor.participant_id)
        await query.answer()
        await reply.edit("staff/erased", ref=ref, change=change)

    return router
