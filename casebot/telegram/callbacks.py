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
    round: Annotated[int, Field(ge=1, le=366)]
    answer: CheckInAnswer


class LanguageButton(CallbackData, prefix="cb1l"):
    """The language a person chooses (on joining, or with /language)."""

    locale: Annotated[str, Field(pattern=r"^(en|ru|zh)$")]


class ZoneButton(CallbackData, prefix="cb1z"):
    """A time zone a person chooses from the ones offered (checked again when pressed)."""

    zone: Annotated[str, Field(min_length=1, max_length=50)]
