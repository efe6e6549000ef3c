"""Buttons: CallbackData classes with short versioned prefixes; packed data stays under 64 bytes."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class AdvanceButton(CallbackData, prefix="cb1a"):
    """Move a case to ``target``; ``expected`` is the state the card showed (compare-and-set)."""

    case_id: int
    target: str
    expected: str


class FileItemButton(CallbackData, prefix="cb1f"):
    """File the document this message replies to under checklist item ``item`` (0: other)."""

    case_id: int
    item: int


class FileCaseButton(CallbackData, prefix="cb1c"):
    """For a member of several cases: which case the file this message replies to belongs to."""

    case_id: int


class ReminderButton(CallbackData, prefix="cb1r"):
    """On a missing-records reminder: ``now`` (send it now), ``1d`` or ``3d`` (snooze)."""

    case_id: int
    action: str


class CheckInButton(CallbackData, prefix="cb1k"):
    """A family's answer to a home follow-up check-in."""

    case_id: int
    round: int
    answer: str
