"""Buttons: CallbackData classes with short versioned prefixes; packed data stays under 64 bytes.

Every field is validated when a press is unpacked: an id out of range, a state or an answer
that does not exist makes the press match no handler, and the unknown-button answer says so.
Ownership (whose case it is) is checked by the services on every press.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

from casebot.domain.outcomes import Outcome
from casebot.domain.reminders import ArrivalRoute
from casebot.domain.states import CaseState

# Ids fit the database's 32-bit integer columns; a forged 20-digit id never reaches a query.
Id = Annotated[int, Field(ge=0, le=2**31 - 1)]
ItemNumber = Annotated[int, Field(ge=0, le=10_000)]


class ReminderAction(StrEnum):
    """What a missing-records reminder's buttons do."""

    NOW = "now"
    SNOOZE_1D = "1d"
    SNOOZE_3D = "3d"


class CheckInAnswer(StrEnum):
    """A family's answer to a home follow-up check-in."""

    DONE = "done"
    NOT_YET = "not_yet"
    NEED_HELP = "need_help"


class AdvanceButton(CallbackData, prefix="cb1a"):
    """Move a case to ``target``; ``expected`` is the state the card showed (compare-and-set)."""

    case_id: Id
    target: CaseState
    expected: CaseState


class FileItemButton(CallbackData, prefix="cb1f"):
    """File the document this message replies to under checklist item ``item`` (0: other)."""

    case_id: Id
    item: ItemNumber


class FileCaseButton(CallbackData, prefix="cb1c"):
    """For a member of several cases: which case the file this message replies to belongs to."""

    case_id: Id


class ReminderButton(CallbackData, prefix="cb1r"):
    """On a missing-records reminder: send it now, or snooze."""

    case_id: Id
    action: ReminderAction


class CheckInButton(CallbackData, prefix="cb1k"):
    """A family's answer to a home follow-up check-in."""

    case_id: Id
    # Check-ins go on every CASEBOT_CHECK_IN_EVERY days until the case is closed: years of rounds.
    round: Annotated[int, Field(ge=1, le=100_000)]
    answer: CheckInAnswer


class ArrivalButton(CallbackData, prefix="cb1ar"):
    """For a record too large for the bot: the family says how it will come instead."""

    case_id: Id
    item: Annotated[int, Field(ge=1, le=10_000)]
    route: ArrivalRoute


class ReceiptButton(CallbackData, prefix="cb1d"):
    """On a file sent to the family (the written opinion): the family confirms they received it."""

    case_id: Id
    file_id: Id


class OutcomeButton(CallbackData, prefix="cb1o"):
    """Record the hospital's answer on route ``position`` of a case in state ``expected`` (what the
    card showed: a card from before a re-route or a move is refused, a doubled press records once)."""

    case_id: Id
    position: Annotated[int, Field(ge=1, le=1_000)]
    outcome: Outcome
    expected: CaseState


class LanguageButton(CallbackData, prefix="cb1l"):
    """The language a person chooses (on joining, or with /language)."""

    locale: Annotated[str, Field(pattern=r"^(en|ru|zh)$")]


class ZoneButton(CallbackData, prefix="cb1z"):
    """A time zone a person chooses from the ones offered (checked again when pressed)."""

    zone: Annotated[str, Field(min_length=1, max_length=50)]


class EraseAction(StrEnum):
    """The two buttons under an admin's /erase confirmation."""

    ERASE = "go"
    KEEP = "keep"


class EraseButton(CallbackData, prefix="cb1e"):
    """An admin's answer to "erase the personal data of this case?"; ``asked`` is when the question
    was put (Unix seconds), so a confirmation left lying in the chat stops working. Who pressed it,
    and whether the case is still there and not yet erased, is checked again on the press."""

    case_id: Id
    action: EraseAction
    asked: Annotated[int, Field(ge=0, le=2**40)]
