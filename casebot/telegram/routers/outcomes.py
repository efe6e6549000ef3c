"""The hospital's answer: /outcome and the outcome buttons on a case card (coordinators)."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, Filter, MagicData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from casebot.clock import Clock
from casebot.domain.outcomes import (
    Outcome,
    OutcomeReasonRequired,
    parse_outcome,
    parse_turnaround_part,
)
from casebot.domain.refs import format_ref
from casebot.domain.states import CaseState
from casebot.errors import InvalidInput, InvalidText
from casebot.rendering import Renderer
from casebot.services import Actor, Services
from casebot.services.outcomes import OutcomeResult, Where
from casebot.telegram import keyboards
from casebot.telegram.callbacks import OutcomeButton
from casebot.telegram.context import Reply, drop_keyboard
from casebot.telegram.routers.prompts import AwaitingReason, Pending, drop_prompt, reason_has_expired


def parse_where(text: str) -> Where | None:
    """``<hospital> | <department> [| <reviewer>] [| 7bd]`` as typed, or None when it does not fit."""
    parts = [part.strip() for part in text.split("|")]
    turnaround = parse_turnaround_part(parts[-1]) if len(parts) >= 3 else None
    if turnaround is not None:
        parts = parts[:-1]
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        return None
    reviewer = parts[2] if len(parts) == 3 and parts[2] else None
    return Where.cleaned(parts[0], parts[1], reviewer, turnaround)


def split_reason(text: str) -> tuple[str, list[str]]:
    """``<reason> [| item | item]``: the hospital's reason and the items it asks for."""
    reason, *items = (part.strip() for part in text.split("|"))
    return reason, [item for item in items if item]


class OutcomeArgs(Filter):
    """``/outcome <case> <outcome> [rest]``; hands the handler ``reference``, ``outcome``, ``rest``."""

    async def __call__(self, message: Message, command: CommandObject) -> bool | dict[str, Any]:
        parts = (command.args or "").split(maxsplit=2)
        if len(parts) < 2:
            return False
        outcome = parse_outcome(parts[1])
        if outcome is None:
            return False
        return {"reference": parts[0], "outcome": outcome, "rest": parts[2] if len(parts) > 2 else ""}


def outcomes_router(clock: Clock) -> Router:
    """/outcome, the outcome buttons, and the reason or new hospital they ask for."""
    router = Router(name="casebot.outcomes")
    staff = MagicData(F.is_staff)

    async def answer(result: OutcomeResult, reply: Reply, renderer: Renderer, locale: str) -> None:
        markup = None
        if result.outcome == Outcome.DECLINED and not result.repeat:
            markup = keyboards.after_decline(result.case_id, result.position, result.state, renderer, locale)
        await reply("staff/outcome_recorded", result=result, reply_markup=markup)

    @router.message(Command("outcome"), staff, OutcomeArgs())
    async def outcome_command(
        message: Message, reference: str, outcome: Outcome, rest: str, services: Services,
        actor: Actor, reply: Reply, renderer: Renderer, locale: str,
    ) -> None:  # fmt: skip
        if outcome == Outcome.REROUTED:
            where = parse_where(rest)
            if where is None:
                return await reply.usage("outcome")
            result = await services.outcomes.record(actor, reference, outcome, where=where)
        else:
            reason, items = split_reason(rest)
            if outcome == Outcome.ACCEPTED:
                reason, items = reason or "", []
            result = await services.outcomes.record(actor, reference, outcome, reason=reason, items=items)
        await answer(result, reply, renderer, locale)
        return None

    @router.message(Command("outcome"), staff)
    async def usage(message: Message, reply: Reply) -> None:
        await reply.usage("outcome")

    @router.callback_query(OutcomeButton.filter(), staff)
    async def outcome_button(
        query: CallbackQuery, callback_data: OutcomeButton, casebot_state: FSMContext, services: Services,
        actor: Actor, reply: Reply, renderer: Renderer, locale: str,
    ) -> None:  # fmt: skip
        data = callback_data
        if data.outcome == Outcome.ACCEPTED:
            result = await services.outcomes.record(
                actor, data.case_id, data.outcome, position=data.position, expected=data.expected
            )
            await query.answer(reply.label("outcome_already") if result.repeat else None)
            if isinstance(query.message, Message):
                await drop_keyboard(query.message)
            if not result.repeat:
                await answer(result, reply, renderer, locale)
            return
        # Ask for the reason or the new hospital: the next text is it (a command cancels).
        await casebot_state.set_state(
            AwaitingReason.reroute if data.outcome == Outcome.REROUTED else AwaitingReason.outcome
        )
        await casebot_state.set_data(
            {
                "case_id": data.case_id,
                "outcome": data.outcome.value,
                "position": data.position,
                "expected": data.expected.value,
                "asked_at": clock.now().isoformat(),
            }
        )
        await query.answer()
        await reply("staff/ask_outcome", ref=format_ref(data.case_id), outcome=data.outcome.value)

    @router.message(F.text, staff, Pending(AwaitingReason.outcome, AwaitingReason.reroute))
    async def outcome_text(
        message: Message, casebot_state: FSMContext, services: Services, actor: Actor, reply: Reply,
        renderer: Renderer, locale: str,
    ) -> None:  # fmt: skip
        pending = await casebot_state.get_data()
        case_id, outcome = int(pending["case_id"]), Outcome(pending["outcome"])
        if reason_has_expired(pending.get("asked_at"), clock.now()):
            await drop_prompt(casebot_state)
            await reply("staff/outcome_expired", ref=format_ref(case_id), outcome=outcome.value)
            return
        text = message.text or ""
        position, expected = int(pending["position"]), CaseState(pending["expected"])
        try:
            if outcome == Outcome.REROUTED:
                where = parse_where(text)
                if where is None:
                    raise InvalidInput(
                        "Write the new hospital as: hospital | department | reviewer (or /cancel).",
                        key="reroute_shape",
                    )
                result = await services.outcomes.record(
                    actor, case_id, outcome, where=where, position=position, expected=expected
                )
            else:
                reason, items = split_reason(text)
                result = await services.outcomes.record(
                    actor, case_id, outcome, reason=reason, items=items, position=position, expected=expected
                )
        except (InvalidText, InvalidInput, OutcomeReasonRequired):
            # The text itself was refused: the question stands, to be answered again.
            await casebot_state.update_data(asked_at=clock.now().isoformat())
            raise
        except Exception:
            await drop_prompt(casebot_state)  # the outcome cannot be recorded (changed meanwhile, closed...)
            raise
        await drop_prompt(casebot_state)
        await answer(result, reply, renderer, locale)

    @router.callback_query(OutcomeButton.filter(), ~staff)
    async def refuse_button(query: CallbackQuery, reply: Reply) -> None:
        """An outcome button pressed by someone who is not a coordinator (forwarded, forged)."""
        await query.answer(reply.label("refused"), show_alert=True)

    return router
