"""Read models: what a case card, a status message or a case list shows. Reads only, never writes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from tortoise.functions import Count

from casebot.db.models import (
    AuditEvent,
    Case,
    CaseMember,
    ChecklistItem,
    OutboxMessage,
    Question,
    RecordFile,
)
from casebot.domain.activity import STALE_AFTER
from casebot.domain.checklist import ItemStatus
from casebot.domain.questions import Direction
from casebot.domain.readiness import RedFlag
from casebot.domain.refs import format_ref
from casebot.domain.states import OPEN_STATES, CaseState, allowed_targets
from casebot.services.base import Actor, ServiceBase
from casebot.services.cases import readiness


@dataclass(frozen=True, slots=True)
class CaseCard:
    """Everything about one case, as a coordinator sees it (families see a subset)."""

    case: Case
    reference: str
    items: list[ChecklistItem]
    file_counts: dict[int, int]
    open_questions: list[Question]
    red_flags: tuple[RedFlag, ...]
    recent: list[AuditEvent]
    next_states: tuple[CaseState, ...]

    @property
    def missing_items(self) -> list[ChecklistItem]:
        """Items still missing."""
        return [item for item in self.items if item.status == ItemStatus.MISSING]

    @property
    def questions_for_family(self) -> list[Question]:
        """The hospital's open questions to the family."""
        return [q for q in self.open_questions if q.direction == Direction.TO_FAMILY]

    @property
    def questions_for_hospital(self) -> list[Question]:
        """Open questions to the hospital."""
        return [q for q in self.open_questions if q.direction == Direction.TO_HOSPITAL]


@dataclass(frozen=True, slots=True)
class CaseList:
    """A coordinator's list of cases with the counts per state."""

    cases: list[Case]
    counts: dict[CaseState, int]


class CaseViews(ServiceBase):
    """Read models for the Telegram layer."""

    async def card(self, actor: Actor, reference: str | int) -> CaseCard:
        """The case card (the actor must be allowed to see the case)."""
        case = await self.visible_case(actor, reference)
        items = list(await ChecklistItem.filter(case_id=case.id).order_by("position"))
        counts = Counter(
            item_id
            for item_id in await RecordFile.filter(case_id=case.id).values_list("item_id", flat=True)
            if isinstance(item_id, int)
        )
        questions = list(await Question.filter(case_id=case.id, answered_at__isnull=True).order_by("number"))
        gaps = await readiness(case)
        recent = list(await AuditEvent.filter(case_id=case.id).order_by("-id").limit(5))
        return CaseCard(
            case=case,
            reference=format_ref(case.id),
            items=items,
            file_counts=dict(counts),
            open_questions=questions,
            red_flags=gaps.red_flags,
            recent=recent,
            next_states=allowed_targets(case.state),
        )

    async def cases_of_family(self, actor: Actor) -> list[CaseCard]:
        """Every case a family member belongs to, as cards."""
        case_ids = await CaseMember.filter(participant_id=actor.participant_id).order_by("case_id")
        return [await self.card(actor, member.case_id) for member in case_ids]

    async def open_cases_of_family(self, actor: Actor) -> list[Case]:
        """The open cases a family member belongs to."""
        return list(
            await Case.filter(
                members__participant_id=actor.participant_id, state__in=list(OPEN_STATES)
            ).order_by("id")
        )

    async def question_asked_in(self, actor: Actor, message_id: int) -> tuple[int, int] | None:
        """The case and question number that the bot's message ``message_id`` put to this family
        member, or None when that message asked them nothing."""
        asked = await OutboxMessage.get_or_none(
            participant_id=actor.participant_id, sent_message_id=message_id, kind="question_for_family"
        )
        if asked is None or asked.case_id is None:
            return None
        return asked.case_id, int(asked.payload["number"])

    async def list_cases(self, actor: Actor, selector: str | None) -> CaseList:
        """Cases for ``/cases``: all open ones, one state, ``mine``, or ``overdue`` (no activity for 14 days)."""
        self.require_staff(actor)
        query = Case.all()
        if selector in (None, "", "open"):
            query = query.filter(state__in=list(OPEN_STATES))
        elif selector == "mine":
            query = query.filter(coordinator_id=actor.participant_id, state__in=list(OPEN_STATES))
        elif selector == "overdue":
            query = query.filter(state__in=list(OPEN_STATES), last_activity_at__lt=self.now() - STALE_AFTER)
        else:
            query = query.filter(state=CaseState(selector))
        cases = list(await query.order_by("id").limit(50))
        rows = await Case.annotate(n=Count("id")).group_by("state").values("state", "n")
        return CaseList(cases, {CaseState(row["state"]): row["n"] for row in rows})
