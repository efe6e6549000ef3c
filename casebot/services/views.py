"""Read models: what a case card, a status message or a case list shows. Reads only, never writes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from tortoise.expressions import Q
from tortoise.functions import Count

from casebot.db.models import (
    AuditEvent,
    Case,
    CaseFile,
    CaseMember,
    ChecklistItem,
    HospitalRoute,
    OutboxMessage,
    OutboxStatus,
    Participant,
    Question,
    RecordFile,
)
from casebot.domain.checklist import ItemStatus
from casebot.domain.outcomes import Outcome, fitting_outcomes, is_repeat
from casebot.domain.questions import Direction
from casebot.domain.readiness import RedFlag
from casebot.domain.refs import format_ref
from casebot.domain.states import OPEN_STATES, CaseState, allowed_targets
from casebot.services.base import Actor, ServiceBase, ServiceConfig
from casebot.services.cases import readiness
from casebot.services.outcomes import hospital_date, is_reviewing, review_expected_at


@dataclass(frozen=True, slots=True)
class CaseCard:
    """Everything about one case, as a coordinator sees it (families see a subset)."""

    case: Case
    reference: str
    items: list[ChecklistItem]
    file_counts: dict[int, int]
    questions: list[Question]
    red_flags: tuple[RedFlag, ...]
    concerns: tuple[RedFlag, ...]
    recent: list[AuditEvent]
    next_states: tuple[CaseState, ...]
    members: list[Participant]
    # The written opinion and its translation as sent to the family, oldest first.
    opinion_files: list[CaseFile] = field(default_factory=list)
    # For each of those files, how many family members it reached and how many Telegram refused.
    file_delivery: dict[int, tuple[int, int]] = field(default_factory=dict)
    # Every hospital the case went to, in order, with its outcome; the review's expected end
    # (the hospital's date, ISO) while under review; the outcomes the case can take now.
    routes: list[HospitalRoute] = field(default_factory=list)
    review_expected: str | None = None
    outcomes: tuple[Outcome, ...] = ()
    # Whether a hospital reviews the case now (not when it declined, nor while a re-route made
    # during the review waits for the new hospital to accept).
    reviewing: bool = False

    @property
    def declined(self) -> bool:
        """The current hospital declined and the packet has not gone anywhere else yet."""
        return (
            bool(self.routes)
            and self.routes[-1].outcome == Outcome.DECLINED.value
            and self.case.state in (CaseState.SENT, CaseState.UNDER_REVIEW)
        )

    @property
    def awaiting_acceptance(self) -> bool:
        """Under review, but re-routed to a hospital that has not accepted the case yet."""
        return self.case.state == CaseState.UNDER_REVIEW and not self.reviewing and not self.declined

    @property
    def missing_items(self) -> list[ChecklistItem]:
        """Items still missing."""
        return [item for item in self.items if item.status == ItemStatus.MISSING]

    @property
    def open_questions(self) -> list[Question]:
        """Questions still waiting for their answer."""
        return [q for q in self.questions if q.answered_at is None]

    @property
    def questions_for_family(self) -> list[Question]:
        """The hospital's open questions to the family."""
        return [q for q in self.open_questions if q.direction == Direction.TO_FAMILY]

    @property
    def questions_for_hospital(self) -> list[Question]:
        """Open questions to the hospital."""
        return [q for q in self.open_questions if q.direction == Direction.TO_HOSPITAL]

    @property
    def answered_questions(self) -> list[Question]:
        """Questions answered, both ways, with their answers (they stay visible)."""
        return [q for q in self.questions if q.answered_at is not None]

    @property
    def family_questions(self) -> list[Question]:
        """What a family member sees of the questions, open and answered: the hospital's to the
        family, and those the family put to the hospital; never the coordinator's own chases."""
        return [q for q in self.questions if q.direction == Direction.TO_FAMILY or q.asked_by_family]

    @property
    def member_ids(self) -> set[int]:
        """The participant ids of the case's family members."""
        return {member.id for member in self.members}


@dataclass(frozen=True, slots=True)
class CaseList:
    """A coordinator's list of cases with the counts per state."""

    cases: list[Case]
    counts: dict[CaseState, int]


class CaseViews(ServiceBase):
    """Read models for the Telegram layer."""

    def __init__(self, config: ServiceConfig, *, stale_after: timedelta = timedelta(days=14)) -> None:
        super().__init__(config)
        self.stale_after = stale_after

    async def card(self, actor: Actor, reference: str | int) -> CaseCard:
        """The case card (the actor must be allowed to see the case)."""
        case = await self.visible_case(actor, reference)
        items = list(await ChecklistItem.filter(case_id=case.id).order_by("position"))
        counts = Counter(
            item_id
            for item_id in await RecordFile.filter(case_id=case.id).values_list("item_id", flat=True)
            if isinstance(item_id, int)
        )
        questions = list(await Question.filter(case_id=case.id).order_by("number"))
        gaps = await readiness(case)
        recent = list(await AuditEvent.filter(case_id=case.id).order_by("-id").limit(5))
        members = list(await Participant.filter(memberships__case_id=case.id).order_by("id"))
        routes = list(await HospitalRoute.filter(case_id=case.id).order_by("position"))
        current = Outcome(routes[-1].outcome) if routes and routes[-1].outcome else None
        reviewing = await is_reviewing(case, routes[-1] if routes else None)
        return CaseCard(
            case=case,
            reference=format_ref(case.id),
            items=items,
            file_counts=dict(counts),
            questions=questions,
            red_flags=gaps.red_flags,
            concerns=gaps.concerns,
            recent=recent,
            next_states=allowed_targets(case.state),
            members=members,
            opinion_files=list(
                await CaseFile.filter(case_id=case.id, purpose__in=["opinion", "translation"]).order_by("id")
            ),
            file_delivery=await self._file_delivery(case.id),
            routes=routes,
            review_expected=hospital_date(await review_expected_at(case, self.config.policy, self.now()))
            if reviewing
            else None,
            reviewing=reviewing,
            outcomes=tuple(
                o
                for o in fitting_outcomes(case.state, current, routed=bool(routes))
                if not is_repeat(o, case.state, current)
            ),
        )

    @staticmethod
    async def _file_delivery(case_id: int) -> dict[int, tuple[int, int]]:
        """File id → (members it reached, members Telegram refused it to), from the outbox."""
        rows = await OutboxMessage.filter(
            case_id=case_id, kind="case_file", status__in=[OutboxStatus.SENT, OutboxStatus.DEAD]
        ).only("payload", "status")
        delivery: dict[int, tuple[int, int]] = {}
        for row in rows:
            file_id = row.payload.get("file_id")
            if isinstance(file_id, int):
                sent, dead = delivery.get(file_id, (0, 0))
                reached = row.status == OutboxStatus.SENT
                delivery[file_id] = (sent + reached, dead + (not reached))
        return delivery

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
        # A long question goes in parts; the first and last part's ids bound the few rows to look at,
        # and the row's list of part ids says whether this message is one of them (a message sent
        # between two parts, say while a failed part waited for its retry, is not).
        candidates = (
            await OutboxMessage.filter(participant_id=actor.participant_id, kind="question_for_family")
            .filter(
                Q(sent_message_id=message_id)
                | Q(sent_message_id__lte=message_id, last_message_id__gte=message_id)
            )
            .order_by("-sent_message_id")
        )
        asked = next(
            (
                row
                for row in candidates
                if message_id in (row.part_message_ids or (row.sent_message_id, row.last_message_id))
            ),
            None,
        )
        number = asked.payload.get("number") if asked is not None else None
        if asked is None or asked.case_id is None or not isinstance(number, int):
            return None  # not a question, or one of a case erased since (its payload is gone)
        return asked.case_id, number

    async def question_answered_in(self, actor: Actor, message_id: int) -> tuple[int, int] | None:
        """The case and question number whose answer this family member gave in their message
        ``message_id`` (a reply or /reply), or None."""
        question = await Question.get_or_none(
            answered_by_id=actor.participant_id, answer_message_id=message_id, direction=Direction.TO_FAMILY
        )
        return (question.case_id, question.number) if question is not None else None

    async def list_cases(self, actor: Actor, selector: str | None) -> CaseList:
        """Cases for ``/cases``: all open ones, one state, ``mine``, or ``overdue`` (no activity for
        CASEBOT_STALE_AFTER)."""
        self.require_staff(actor)
        query = Case.all()
        if selector in (None, "", "open"):
            query = query.filter(state__in=list(OPEN_STATES))
        elif selector == "mine":
            query = query.filter(coordinator_id=actor.participant_id, state__in=list(OPEN_STATES))
        elif selector == "overdue":
            query = query.filter(
                state__in=list(OPEN_STATES), last_activity_at__lt=self.now() - self.stale_after
            )
        else:
            query = query.filter(state=CaseState(selector))
        cases = list(await query.order_by("id").limit(50))
        rows = await Case.annotate(n=Count("id")).group_by("state").values("state", "n")
        return CaseList(cases, {CaseState(row["state"]): row["n"] for row in rows})
