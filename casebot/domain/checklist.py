"""The record packet: the default checklist of every new case and the marks an item can carry."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ItemStatus(StrEnum):
    """An item is missing until it is received (with files) or waived (with a reason)."""

    MISSING = "missing"
    RECEIVED = "received"
    WAIVED = "waived"


@dataclass(frozen=True, slots=True)
class ChecklistTemplate:
    """An item every new case starts with; ``code`` names it in templates and translations."""

    code: str
    title: str


DEFAULT_CHECKLIST: tuple[ChecklistTemplate, ...] = (
    ChecklistTemplate("diagnosis_summary", "Diagnosis summary: date, stage, current treatment goal"),
    ChecklistTemplate("pathology", "Pathology reports, and whether slides or blocks are available"),
    ChecklistTemplate("imaging", "Imaging reports, plus original image files (DICOM) where possible"),
    ChecklistTemplate("operative_discharge", "Operative notes and hospital discharge summaries"),
    ChecklistTemplate(
        "treatment_history", "Treatment history: chemotherapy, targeted therapy, immunotherapy, radiation"
    ),
    ChecklistTemplate("medications_labs", "Medication list, allergies, and key lab trends"),
    ChecklistTemplate("questions_for_team", "A short list of questions for the reviewing team"),
    ChecklistTemplate(
        "translated_summary",
        "One-page clinical summary translated (translate this and key pathology first, not the whole chart)",
    ),
)
