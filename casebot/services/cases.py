"""Opening cases, setting where they go, moving them through their states, and erasing them."""

from __future__ import annotations

from dataclasses import dataclass

from casebot.db.models import (
    AuditEvent,
    Case,
    CaseFile,
    CaseMember,
    ChecklistItem,
    HospitalRoute,
    Invite,
    Note,
    OutboxMessage,
    OutboxStatus,
    Participant,
    Question,
    RecordFile,
)
from casebot.domain.checklist import DEFAULT_CHECKLIST, ItemStatus
from casebot.domain.digest import FAMILY_DIGEST, without_case
from casebot.domain.questions import STANDARD_HOSPITAL_QUESTIONS, Direction
from casebot.domain.readiness import (
    HospitalFacts,
    RedFlag,
    Verdict,
    check_move,
    concerns,
    red_flags,
)
from casebot.domain.refs import format_ref
from casebot.domain.roles import Role
from casebot.domain.states import CaseState, transition_for
from casebot.domain.text import MAX_LABEL_LENGTH, clean_name, clean_text
from casebot.errors import CaseAlreadyErased, InvalidInput, ItemRef, NotAllowed, StateConflict
from casebot.services.base import Actor, ServiceBase
from casebot.services.outcomes import (
    RouteChange,
    Where,
    hospital_date,
    review_expected_at,
    write_route,
)

ERASED = ""


@dataclass(frozen=True, slots=True)
class StateChange:
    """A move that went through: from, to, and whether it overrode open red flags or gaps."""

    reference: str
    case_id: int
    source: CaseState
    target: CaseState
    overridden: bool
    reason: str | None


@dataclass(frozen=True, slots=True)
class Readiness:
    """What stands between a case and sending it: open red flags (with the concerns among them)
    and the items still missing."""

    red_flags: tuple[RedFlag, ...]
    concerns: tuple[RedFlag, ...]
    missing_items: tuple[ChecklistItem, ...]

    @property
    def missing_refs(self) -> tuple[ItemRef, ...]:
        """The missing items as an error names them."""
        return tuple(ItemRef(i.position, i.code, i.title) for i in self.missing_items)


async def readiness(case: Case) -> Readiness:
    """The red flags still open and the items still missing."""
    answered = await Question.filter(
        case_id=case.id, direction=Direction.TO_HOSPITAL, answered_at__isnull=False, topic__isnull=False
    ).values_list("topic", "verdict")
    facts = HospitalFacts(
        hospital=case.hospital,
        department=case.department,
        reviewer=case.reviewer,
        verdicts={topic: Verdict(verdict) for topic, verdict in answered if verdict},
    )
    missing = await ChecklistItem.filter(case_id=case.id, status=ItemStatus.MISSING).order_by("position")
    return Readiness(red_flags(facts), concerns(facts), tuple(missing))


def already_erased(case_id: int) -> CaseAlreadyErased:
    """The refusal of a second erasure of a case (a doubled request, a stale button)."""
    shown = format_ref(case_id)
    return CaseAlreadyErased(
        f"{shown} was already erased; nothing was done.", key="case_already_erased", reference=shown
    )


class CaseService(ServiceBase):
    """Calls that act on a case as a whole."""

    async def open_case(self, actor: Actor, label: str) -> Case:
        """Open a case with the default checklist and the standard questions to the hospital."""
        self.require_staff(actor)
        label = clean_name(label, what="case label", limit=MAX_LABEL_LENGTH)
        now = self.now()
        async with self.transaction():
            case = await Case.create(
                label=label,
                coordinator_id=actor.participant_id,
                state=CaseState.RECORDS_GATHERING,
                created_at=now,
                state_changed_at=now,
                last_activity_at=now,
                reminder_due_at=now,
            )
            await ChecklistItem.bulk_create(
                [
                    ChecklistItem(case_id=case.id, position=n, code=code, status_changed_at=now)
                    for n, code in enumerate(DEFAULT_CHECKLIST, start=1)
                ]
            )
            await Question.bulk_create(
                [
                    Question(
                        case_id=case.id,
                        number=n,
                        direction=Direction.TO_HOSPITAL,
                        topic=question.topic,
                        text=question.text,
                        created_at=now,
                    )
                    for n, question in enumerate(STANDARD_HOSPITAL_QUESTIONS, start=1)
                ]
            )
            await self.audit(case, actor, "case_opened", to_value=CaseState.RECORDS_GATHERING.value)
        return case

    async def set_hospital(
        self,
        actor: Actor,
        reference: str | int,
        hospital: str,
        department: str,
        reviewer: str | None,
        *,
        turnaround: int | None = None,
    ) -> Case:
        """Set where the case goes: hospital, department, the named reviewer (may be blank) and
        the hospital's stated turnaround in business days (may be None).

        Never without a trace: the first hospital is route 1; a change before the packet went
        out updates that route; after sending, another hospital is a re-route (a new route).
        """
        return (
            await self.set_route(actor, reference, hospital, department, reviewer, turnaround=turnaround)
        ).case

    async def set_route(
        self,
        actor: Actor,
        reference: str | int,
        hospital: str,
        department: str,
        reviewer: str | None,
        *,
        turnaround: int | None = None,
    ) -> RouteChange:
        """As set_hospital, saying also whether it was a re-route and whether anything changed."""
        self.require_staff(actor)
        where = Where.cleaned(hospital, department, reviewer, turnaround)
        async with self.transaction():
            case = await self.locked_case(actor, reference)
            return await write_route(self, actor, case, where)

    async def assign_coordinator(self, actor: Actor, reference: str | int, telegram_user_id: int) -> Case:
        """Hand the case to another coordinator."""
        self.require_staff(actor)
        coordinator = await Participant.get_or_none(telegram_user_id=telegram_user_id)
        if coordinator is None or not (
            coordinator.role.is_staff or telegram_user_id in self.config.admin_ids
        ):
            raise InvalidInput(
                f"{telegram_user_id} is not a coordinator.", key="not_a_coordinator", user_id=telegram_user_id
            )
        async with self.transaction():
            case = await self.locked_case(actor, reference)
            await Case.filter(id=case.id).update(coordinator_id=coordinator.id)
            await self.audit(
                case,
                actor,
                "coordinator_assigned",
                from_value=str(case.coordinator_id) if case.coordinator_id else None,
                to_value=str(coordinator.id),
            )
        case.coordinator_id = coordinator.id
        return case

    async def advance(
        self,
        actor: Actor,
        reference: str | int,
        target: CaseState,
        *,
        expected: CaseState | None = None,
        reason: str | None = None,
    ) -> StateChange:
        """Move the case to ``target`` by compare-and-set on the state the actor saw.

        ``expected`` is the state the actor was looking at (a button carries it); when two
        coordinators move one case at once, exactly one wins and the other gets StateConflict.
        """
        self.require_staff(actor)
        if reason is not None:
            reason = clean_text(reason, what="reason") if reason.strip() else None
        now = self.now()
        async with self.transaction():
            # Lock first, then check: a withdrawal or an item marked missing committed meanwhile
            # is seen here, so the move is judged on the case as it now stands.
            case = await self.locked_case(actor, reference, writable=False)
            shown = format_ref(case.id)
            source = expected or case.state
            if case.state != source:
                raise StateConflict(shown, source.value, case.state.value)
            transition = transition_for(source, target)
            gaps = (
                await readiness(case)
                if target in (CaseState.SENT, CaseState.OPINION_RECEIVED)
                else Readiness((), (), ())
            )
            overridden = check_move(
                transition,
                open_flags=gaps.red_flags,
                missing_items=gaps.missing_refs,
                reason=reason,
                opinion_file=target != CaseState.OPINION_RECEIVED
                or await CaseFile.exists(case_id=case.id, purpose="opinion"),
            )
            changed = await Case.filter(id=case.id, state=source).update(
                state=target,
                state_changed_at=now,
                last_activity_at=now,
                reminder_due_at=now,
                # Back to gathering: the missing-records reminders count from now.
                records_activity_at=now
                if target == CaseState.RECORDS_GATHERING
                else case.records_activity_at,
            )
            if changed == 0:
                actual = (await Case.get(id=case.id)).state
                raise StateConflict(shown, source.value, actual.value)
            event = await self.audit(
                case,
                actor,
                "state_overridden" if overridden else "state_changed",
                from_value=source.value,
                to_value=target.value,
                reason=reason,
                touch=False,
            )
            payload = {"case_id": case.id, "source": source.value, "target": target.value}
            if target == CaseState.UNDER_REVIEW:
                case.state, case.state_changed_at = target, now
                payload["expected"] = hospital_date(await review_expected_at(case, self.config.policy, now))
            await self.notify(await self.family_ids(case), "state_changed", event, payload)
            await self.notify(self.coordinator_ids(case, actor), "state_changed_staff", event, payload)
            if target == CaseState.OPINION_RECEIVED and case.home_doctor is None:
                # Home follow-up: who takes the opinion on at home (the family answers by reply).
                await self.notify(await self.family_ids(case), "ask_home_doctor", event, {"case_id": case.id})
        return StateChange(shown, case.id, source, target, overridden, reason)

    async def erase(self, actor: Actor, reference: str | int) -> StateChange | None:
        """Erase a case's personal data on request: names, texts, files and memberships.

        An anonymous skeleton stays: the case row, its items' marks and the audit trail
        without reasons, so the service can still count what happened. An open case is
        withdrawn in the same change.

        Only an admin (or the system: `casebot erase`) may; a case erased already is refused
        with CaseAlreadyErased, so a doubled request erases and audits once.
        """
        now = self.now()
        async with self.transaction():
            # Checked here, at the moment of the write: a button pressed by someone else (a
            # forwarded confirmation, forged data) reaches this and nothing further.
            await self._require_admin_or_system(actor)
            case = await self.locked_case(actor, reference, writable=False)
            if case.erased_at is not None:
                raise already_erased(case.id)
            source = case.state
            target = source if source.is_final else CaseState.WITHDRAWN
            member_ids = await CaseMember.filter(case_id=case.id).values_list("participant_id", flat=True)
            await Case.filter(id=case.id).update(
                label=ERASED,
                reviewer=None,
                state=target,
                state_changed_at=now if target != source else case.state_changed_at,
                erased_at=now,
                home_doctor=None,
            )
            await ChecklistItem.filter(case_id=case.id).update(title=ERASED, waive_reason=None)
            await AuditEvent.filter(case_id=case.id, action__in=("hospital_set", "hospital_rerouted")).update(
                from_value=None, to_value=None
            )
            await HospitalRoute.filter(case_id=case.id).update(reviewer=None, outcome_reason=None)
            await RecordFile.filter(case_id=case.id).delete()
            await CaseFile.filter(case_id=case.id).delete()
            await Question.filter(case_id=case.id).update(text=ERASED, answer=None)
            await AuditEvent.filter(case_id=case.id).update(reason=None)
            await Invite.filter(case_id=case.id).delete()
            await OutboxMessage.filter(case_id=case.id, status=OutboxStatus.PENDING).delete()
            await OutboxMessage.filter(case_id=case.id).update(payload={})
            # The members' weekly digests quote the case's items and questions: the case is taken
            # out of each (a digest of this case alone is left empty, and dropped if still waiting).
            for row in await OutboxMessage.filter(kind=FAMILY_DIGEST, participant_id__in=list(member_ids)):
                await OutboxMessage.filter(id=row.id).update(payload=without_case(row.payload, case.id))
            await Note.filter(case_id=case.id).update(text=ERASED)
            await CaseMember.filter(case_id=case.id).delete()
            # A family member with no other case is forgotten by name too.
            still_members = await CaseMember.filter(participant_id__in=list(member_ids)).values_list(
                "participant_id", flat=True
            )
            await Participant.filter(
                id__in=[pid for pid in member_ids if pid not in set(still_members)], role=Role.FAMILY
            ).update(display_name=ERASED)
            await self.audit(case, actor, "case_erased", from_value=source.value, to_value=target.value)
        if target == source:
            return None
        return StateChange(format_ref(case.id), case.id, source, target, False, None)

    async def _require_admin_or_system(self, actor: Actor) -> None:
        """Erasure is the admins' (and the system's): an admin is an actor whose participant's
        Telegram id is in the settings' admin list, read again now."""
        if actor.role == Role.SYSTEM and actor.participant_id is None:
            return
        if actor.role == Role.ADMIN and actor.participant_id is not None:
            person = await Participant.filter(id=actor.participant_id).only("id", "telegram_user_id").first()
            if person is not None and person.telegram_user_id in self.config.admin_ids:
                return
        raise NotAllowed("Only an admin can erase a case.", key="erase_admin_only")

    async def add_note(self, actor: Actor, reference: str | int, text: str) -> Note:
        """An internal note on the case, for coordinators only."""
        self.require_staff(actor)
        text = clean_text(text, what="note")
        async with self.transaction():
            case = await self.locked_case(actor, reference, writable=False)
            note = await Note.create(
                case_id=case.id, author_id=actor.participant_id, text=text, created_at=self.now()
            )
            await self.audit(case, actor, "note_added")
        return note
