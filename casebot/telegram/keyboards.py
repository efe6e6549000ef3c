"""Inline keyboards: next states on a case card, checklist items for a file, cases to choose from."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from casebot.db.models import Case, ChecklistItem
from casebot.domain.outcomes import Outcome
from casebot.domain.refs import format_ref
from casebot.domain.reminders import ArrivalRoute
from casebot.domain.states import CaseState
from casebot.rendering import Renderer
from casebot.services.views import CaseCard
from casebot.telegram.callbacks import (
    AdvanceButton,
    ArrivalButton,
    CheckInAnswer,
    CheckInButton,
    FileCaseButton,
    FileItemButton,
    OutcomeButton,
    ReceiptButton,
    ReminderAction,
    ReminderButton,
)


def next_states(card: CaseCard, renderer: Renderer, locale: str) -> InlineKeyboardMarkup | None:
    """One button per state the case may move to, then one per hospital answer that fits."""
    if not card.next_states and not card.outcomes:
        return None
    builder = InlineKeyboardBuilder()
    for target in card.next_states:
        builder.button(
            text=renderer.label(locale, "move_to", state=target.value),
            callback_data=AdvanceButton(case_id=card.case.id, target=target, expected=card.case.state),
        )
    if card.routes:
        for outcome in card.outcomes:
            builder.button(
                text=renderer.label(locale, f"outcome_{outcome.value}"),
                callback_data=OutcomeButton(
                    case_id=card.case.id,
                    position=card.routes[-1].position,
                    outcome=outcome,
                    expected=card.case.state,
                ),
            )
    builder.adjust(1)
    return builder.as_markup()


def after_decline(
    case_id: int, position: int, state: CaseState, renderer: Renderer, locale: str
) -> InlineKeyboardMarkup:
    """A declined case is not a dead end: re-route it, or close it with a reason."""
    builder = InlineKeyboardBuilder()
    builder.button(
        text=renderer.label(locale, "outcome_rerouted"),
        callback_data=OutcomeButton(
            case_id=case_id, position=position, outcome=Outcome.REROUTED, expected=state
        ),
    )
    builder.button(
        text=renderer.label(locale, "close_with_reason"),
        callback_data=AdvanceButton(case_id=case_id, target=CaseState.WITHDRAWN, expected=state),
    )
    builder.adjust(1)
    return builder.as_markup()


def checklist_items(
    case: Case, items: list[ChecklistItem], renderer: Renderer, locale: str
) -> InlineKeyboardMarkup:
    """One button per checklist item, missing ones first, plus "other"."""
    builder = InlineKeyboardBuilder()
    for item in sorted(items, key=lambda i: (i.status != "missing", i.position)):
        builder.button(
            text=renderer.label(locale, "item_button", item=item),
            callback_data=FileItemButton(case_id=case.id, item=item.position),
        )
    builder.button(
        text=renderer.label(locale, "other"), callback_data=FileItemButton(case_id=case.id, item=0)
    )
    builder.adjust(1)
    return builder.as_markup()


def arrival_routes(case_id: int, item: int, renderer: Renderer, locale: str) -> InlineKeyboardMarkup:
    """How a record too large for the bot will come instead: a link, or by courier."""
    builder = InlineKeyboardBuilder()
    for route in ArrivalRoute:
        builder.button(
            text=renderer.label(locale, f"arrival_{route.value}"),
            callback_data=ArrivalButton(case_id=case_id, item=item, route=route),
        )
    builder.adjust(1)
    return builder.as_markup()


def cases(choices: list[Case]) -> InlineKeyboardMarkup:
    """One button per case (for a member of several)."""
    builder = InlineKeyboardBuilder()
    for case in choices:
        builder.button(text=format_ref(case.id), callback_data=FileCaseButton(case_id=case.id))
    builder.adjust(2)
    return builder.as_markup()


def for_notice(
    kind: str, payload: dict[str, object], renderer: Renderer, locale: str
) -> InlineKeyboardMarkup | None:
    """The buttons an outbox notice carries, by its kind (most carry none)."""
    case_id = int(str(payload.get("case_id", 0)))
    builder = InlineKeyboardBuilder()
    if kind == "reminder_missing":
        for action, key in (
            (ReminderAction.NOW, "send_now"),
            (ReminderAction.SNOOZE_1D, "snooze_1d"),
            (ReminderAction.SNOOZE_3D, "snooze_3d"),
        ):
            builder.button(
                text=renderer.label(locale, key), callback_data=ReminderButton(case_id=case_id, action=action)
            )
    elif kind == "check_in":
        round_ = int(str(payload.get("round", 0)))
        for answer in CheckInAnswer:
            builder.button(
                text=renderer.label(locale, f"check_in_{answer.value}"),
                callback_data=CheckInButton(case_id=case_id, round=round_, answer=answer),
            )
    elif kind in ("case_file", "opinion_unconfirmed") and payload.get("purpose") == "opinion":
        builder.button(
            text=renderer.label(locale, "confirm_receipt"),
            callback_data=ReceiptButton(case_id=case_id, file_id=int(str(payload.get("file_id", 0)))),
        )
    else:
        return None
    builder.adjust(1)
    return builder.as_markup()
