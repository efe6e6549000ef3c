"""Cases as a CSV file for spreadsheets: the structure of each case, never its medical text or names.

A row says where a case stands and how it has moved: its reference, state, when it last entered
each state (from the audit trail), how many records and questions are still open, whether its
review and the hospital's answers are inside their SLAs, and where it went. Labels, names,
question and answer texts, reviewers and notes are never read, so they cannot leak into the file.

The cases are read in chunks by id, with a fixed handful of queries per chunk, and the rows are
streamed: an export of 100,000 cases never holds them all in memory.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Protocol

from tortoise.functions import Count
from tortoise.queryset import QuerySet

from casebot.db.models import AuditEvent, Case, ChecklistItem, HospitalRoute, Question
from casebot.domain.calendar import BusinessCalendar
from casebot.domain.checklist import ItemStatus
from casebot.domain.outcomes import Outcome, review_due_at, review_running, review_started_at
from casebot.domain.questions import Direction
from casebot.domain.refs import format_ref
from casebot.domain.reminders import CHASED_STATES, Policy
from casebot.domain.roles import Role
from casebot.domain.states import CaseState
from casebot.services.base import Actor, ServiceBase

CHUNK = 1000
"""Cases read per chunk: each chunk costs the same few queries, whatever its cases hold."""

STATE_ACTIONS = ("case_opened", "state_changed", "state_overridden", "case_erased")
"""The audit actions that put a case in a state (``to_value``); see services/cases.py and outcomes.py."""

COLUMNS: tuple[str, ...] = (
    "reference",
    "state",
    "created_at",
    *(f"{state.value}_at" for state in CaseState),
    "missing_items",
    "open_questions_to_family",
    "open_questions_to_hospital",
    "review_sla",
    "hospital_answers_overdue",
    "hospital",
    "department",
)
"""The header row: English snake_case, for machines."""

# What a spreadsheet reads as the start of a formula (OWASP's list: the four signs, tab and CR).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ReviewSla(StrEnum):
    """Where the review stands against its SLA (the hospital's turnaround, else CASEBOT_REVIEW_SLA)."""

    ON_TIME = "on_time"
    OVERDUE = "overdue"
    NOT_APPLICABLE = "n/a"


def neutralise(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula: one that starts like one gets a quote."""
    return f"'{cell}" if cell.startswith(_FORMULA_STARTS) else cell


def iso(moment: datetime | None) -> str:
    """A moment as ISO 8601 in UTC (blank when there is none)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment is not None else ""


class Writable(Protocol):
    """Where the CSV goes: a text file opened with ``newline=""``, or a StringIO."""

    def write(self, text: str, /) -> int: ...


class _RememberingCalendar(BusinessCalendar):
    """The policy's business calendar, remembering each date's answer for one export: China's
    official calendar is slow to ask, and an export asks about the same few hundred dates again
    and again (the answers cannot change while it runs)."""

    __slots__ = ("_days",)
    _days: dict[date, bool]

    def __init__(self, calendar: BusinessCalendar) -> None:
        super().__init__(calendar.zone, calendar.holidays, calendar.official)
        object.__setattr__(self, "_days", {})

    def is_business_day(self, day: date) -> bool:
        """As the policy's calendar says, asked once per date."""
        known = self._days.get(day)
        if known is None:
            known = self._days[day] = super().is_business_day(day)
        return known


@dataclass(slots=True)
class _Chunk:
    """What one chunk's queries found, by case id."""

    entered: dict[int, dict[str, datetime]] = field(default_factory=lambda: defaultdict(dict))
    missing: dict[int, int] = field(default_factory=dict)
    open_to_family: dict[int, list[datetime]] = field(default_factory=lambda: defaultdict(list))
    open_to_hospital: dict[int, list[datetime]] = field(default_factory=lambda: defaultdict(list))
    family_waits: dict[int, list[tuple[datetime, datetime]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    routes: dict[int, tuple[int, str | None, datetime]] = field(default_factory=dict)


class ExportService(ServiceBase):
    """Reads only: the cases an actor may export, as CSV rows."""

    def scope(self, actor: Actor) -> QuerySet[Case]:
        """The cases of the export: a coordinator's own, every case for an admin or the system
        (the command line); anyone else is refused before anything is read."""
        if actor.role == Role.SYSTEM:
            return Case.all()
        self.require_staff(actor)
        if actor.role == Role.ADMIN:
            return Case.all()
        return Case.filter(coordinator_id=actor.participant_id)

    async def count(self, actor: Actor) -> int:
        """How many cases the export holds (the progress bar's total)."""
        return await self.scope(actor).count()

    def rows(self, actor: Actor, *, chunk: int = CHUNK) -> AsyncIterator[list[tuple[str, ...]]]:
        """The rows of the export, chunk by chunk, in the order of the cases' ids (no header).
        The actor is checked here, at the call, not at the first chunk."""
        return self._chunks(self.scope(actor), chunk)

    async def _chunks(self, scope: QuerySet[Case], chunk: int) -> AsyncIterator[list[tuple[str, ...]]]:
        now = self.now()
        policy = replace(self.config.policy, calendar=_RememberingCalendar(self.config.policy.calendar))
        after = 0
        while True:
            cases = list(
                await scope.filter(id__gt=after)
                .order_by("id")
                .limit(chunk)
                .only(
                    "id",
                    "state",
                    "created_at",
                    "state_changed_at",
                    "hospital_set_at",
                    "hospital",
                    "department",
                    "review_sla_days",
                    "erased_at",
                )
            )
            if not cases:
                return
            found = await _read_chunk(cases)
            # The ends of the hospital's answer SLA by their start, for this chunk only.
            answers_due: dict[datetime, datetime] = {}
            yield [_row(case, found, policy, now, answers_due) for case in cases]
            after = cases[-1].id

    async def write_csv(
        self,
        actor: Actor,
        out: Writable,
        *,
        chunk: int = CHUNK,
        progress: Callable[[int], object] | None = None,
    ) -> int:
        """Write the header and every row as RFC 4180 CSV; returns how many cases were written.
        ``progress`` is told how many rows each chunk added."""
        chunks = self.rows(actor, chunk=chunk)
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        written = 0
        async for rows in chunks:
            writer.writerows(rows)
            written += len(rows)
            if progress is not None:
                progress(len(rows))
        return written


async def _read_chunk(cases: Sequence[Case]) -> _Chunk:
    """The few queries of one chunk: state entries, missing items, open questions, and for the
    cases under review the family's answered waits and the current hospital route."""
    ids = [case.id for case in cases]
    found = _Chunk()
    events = (
        await AuditEvent.filter(case_id__in=ids, action__in=STATE_ACTIONS)
        .order_by("id")
        .values_list("case_id", "action", "from_value", "to_value", "created_at")
    )
    for case_id, action, source, target, at in events:
        # Erasing a case already closed or withdrawn leaves it where it was: no state entered.
        if target and not (action == "case_erased" and source == target):
            found.entered[case_id][target] = at
    missing = (
        await ChecklistItem.filter(case_id__in=ids, status=ItemStatus.MISSING)
        .annotate(n=Count("id"))
        .group_by("case_id")
        .values_list("case_id", "n")
    )
    found.missing = {case_id: n for case_id, n in missing}
    open_questions = await Question.filter(case_id__in=ids, answered_at__isnull=True).values_list(
        "case_id", "direction", "created_at"
    )
    for case_id, direction, asked_at in open_questions:
        wanted = found.open_to_family if direction == Direction.TO_FAMILY else found.open_to_hospital
        wanted[case_id].append(asked_at)
    reviewed = [case.id for case in cases if case.state == CaseState.UNDER_REVIEW]
    if reviewed:
        waits = await Question.filter(
            case_id__in=reviewed, direction=Direction.TO_FAMILY, answered_at__isnull=False
        ).values_list("case_id", "created_at", "answered_at")
        for case_id, asked_at, answered_at in waits:
            found.family_waits[case_id].append((asked_at, answered_at))
        routes = (
            await HospitalRoute.filter(case_id__in=reviewed)
            .order_by("position")
            .values_list("case_id", "position", "outcome", "created_at")
        )
        for case_id, position, outcome, created_at in routes:
            found.routes[case_id] = (position, outcome, created_at)  # the last route is the current one
    return found


def _row(
    case: Case, found: _Chunk, policy: Policy, now: datetime, answers_due: dict[datetime, datetime]
) -> tuple[str, ...]:
    """One case as the cells of its row."""
    entered = found.entered.get(case.id, {})
    erased = case.erased_at is not None
    cells = (
        format_ref(case.id),
        case.state.value,
        iso(case.created_at),
        *(iso(entered.get(state.value)) for state in CaseState),
        str(found.missing.get(case.id, 0)),
        str(len(found.open_to_family.get(case.id, ()))),
        str(len(found.open_to_hospital.get(case.id, ()))),
        _review_sla(case, found, policy, now),
        str(_hospital_answers_overdue(case, found, policy, now, answers_due)),
        # An erased case keeps its structure only: nothing a coordinator typed about it.
        "" if erased else case.hospital or "",
        "" if erased else case.department or "",
    )
    return tuple(neutralise(cell) for cell in cells)


def _review_sla(case: Case, found: _Chunk, policy: Policy, now: datetime) -> str:
    """on_time or overdue while a hospital reviews the case (the same expected end the family was
    told, the days waiting on the family not counted), else n/a."""
    route = found.routes.get(case.id)
    position, outcome, route_created_at = route if route is not None else (0, None, None)
    if not review_running(
        case.state,
        Outcome(outcome) if outcome else None,
        position=position,
        route_created_at=route_created_at,
        state_changed_at=case.state_changed_at,
    ):
        return ReviewSla.NOT_APPLICABLE.value
    due = review_due_at(
        review_started_at(case.state_changed_at, case.hospital_set_at),
        case.review_sla_days or policy.review_sla,
        policy.calendar,
        family_waits=found.family_waits.get(case.id, ()),
        open_since=found.open_to_family.get(case.id, ()),
        now=now,
    )
    return (ReviewSla.OVERDUE if due <= now else ReviewSla.ON_TIME).value


def _hospital_answers_overdue(
    case: Case, found: _Chunk, policy: Policy, now: datetime, answers_due: dict[datetime, datetime]
) -> int:
    """Open questions to the hospital unanswered for CASEBOT_HOSPITAL_ANSWER_SLA business days,
    counted as the hospital is chased: from when it was chosen, while it still has the case.

    "SLA business days have passed since" is "the SLA's end is not after now" (see
    BusinessCalendar.business_days_between), and the end is kept by its start: the standard
    questions of a case all count from the moment its hospital was chosen.
    """
    if case.hospital_set_at is None or case.state not in CHASED_STATES:
        return 0
    overdue = 0
    for asked_at in found.open_to_hospital.get(case.id, ()):
        start = max(asked_at, case.hospital_set_at)
        due = answers_due.get(start)
        if due is None:
            due = answers_due[start] = policy.calendar.add_business_days(start, policy.hospital_answer_sla)
        overdue += due <= now
    return overdue
