"""The record packet: the default checklist of every new case and the marks an item can carry."""

from __future__ import annotations

from enum import StrEnum


class ItemStatus(StrEnum):
    """An item is missing until it is received (with files) or waived (with a reason)."""

    MISSING = "missing"
    RECEIVED = "received"
    WAIVED = "waived"


# The items every new case starts with, by code. Their titles live in one place, the templates
# (templates/<locale>/_macros.j2, item_title), so every reader sees them in their own language.
DEFAULT_CHECKLIST: tuple[str, ...] = (
    "diagnosis_summary",
    "pathology",
    "imaging",
    "operative_discharge",
    "treatment_history",
    "medications_labs",
    "questions_for_team",
    "translated_summary",
)
