"""The reminder sweep, and the calls that shape reminders: snooze, pause, resume, check-ins, schedule.

The sweep reads only the cases whose ``reminder_due_at`` has come (an indexed column), so
its cost grows with the work that is due, not with the number of cases. Every change to a
case sets ``reminder_due_at`` to now, so the next sweep looks at it again.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from casebot.db.models import (
    Case,
    CaseFile,
    CaseMember,
    CheckIn,
    ChecklistItem,
    OutboxMessage,
    OutboxStatus,
    Participant,
    Question,
)
from casebot.domain.calendar import HOSPITAL_ZONE, BusinessCalendar, parse_until
from casebot.domain.checklist import ItemStatus
from casebot.domain.questions import Direction
from casebot.domain.refs import format_ref
from casebot.domain.reminders import (
    Audience,
    CaseFacts,
    OpenQuestion,
    Policy,
    Reminder,
    check_in_is_open,
    due_reminders,
    is_check_in_round,
    next_due_at,
    upcoming,
)
from casebot.domain.states import OPEN_STATES
from casebot.domain.text import clean_text
from casebot.errors import CaseClosed, CaseNotFound, InvalidInput
from casebot.services.base import Actor, ServiceBase, ServiceConfig

CHECK_IN_ANSWERS = ("done", "not_yet", "need_help")
SNOOZE_ACTIONS = ("1d", "3d")
# The home oncologist as the family wrote it: name and clinic (the column holds 300 characters).
HOME_DOCTOR_LIMIT = 300
# Two presses of one snooze button land this close together; the second changes nothing.
SAME_SNOOZE = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class ReminderSettings:
    """The reminder settings, read once at the composition root.

    ``policy`` carries the rules' intervals; its calendar is replaced by China's official one
    with ``holidays`` (the hospital's business days).
    """

    policy: Policy = field(default_factory=Policy)
    quiet_hours: str = "21:00-09:00"
    holidays: frozenset[date] = frozenset()
    batch: int = 500


@dataclass(frozen=True, slots=True)
class SweepResult:
    """What one sweep did."""

    cases: int
    enqueued: int


@dataclass(slots=True)
class _Loaded:
    """The rows behind the facts of a batch of cases, read with one query per table."""

    items: dict[int, list[ChecklistItem]]
    questions: dict[int, list[Question]]
    members: dict[int, list[Participant]]
    check_ins: dict[int, set[int]]
    coordinators: dict[int, Participant]
    admins: list[Participant]
    # Written opinions sent and not yet confirmed by the family: (file id, sent at), per case.
    opinions: dict[int, list[tuple[int, datetime]]] = field(default_factory=dict)
    # Who actually received each of them (their outbox row was sent): (file id, member, at), per case.
    receipts: dict[int, list[tuple[int, int, datetime]]] = field(default_factory=dict)


class ReminderService(ServiceBase):
    """The sweep and the reminder commands."""

    def __init__(self, config: ServiceConfig, reminders: ReminderSettings | None = None) -> None:
        super().__init__(config)
        self.settings = reminders or ReminderSettings()
        hospital_days = BusinessCalendar(HOSPITAL_ZONE, self.settings.holidays, official=True)
        self._policy = replace(self.settings.policy, calendar=hospital_days)

    def policy(self) -> Policy:
        """The rules' intervals; the hospital's business days follow China's official working
        calendar (holidays and make-up working days) in China's time, less CASEBOT_HOLIDAYS."""
        return self._policy

    # --- the sweep --------------------------------------------------------------------------

    async def sweep(self) -> SweepResult:
        """Turn every due rule into outbox rows, and set each swept case's next due time."""
        now = self.now()
        cases = enqueued = 0
        while True:
            batch = list(
                await Case.filter(reminder_due_at__lte=now)
                .order_by("reminder_due_at", "id")
                .limit(self.settings.batch)
            )
            if not batch:
                return SweepResult(cases, enqueued)
            loaded = await self._load([case.id for case in batch], [c.coordinator_id for c in batch])
            rows: list[OutboxMessage] = []
            next_due: list[tuple[Case, datetime | None]] = []
            for case in batch:
                case_rows, next_at = self._plan_case(case, loaded, now)
                rows += case_rows
                next_due.append((case, next_at))
            # One transaction per batch: the rows and the new due times land together.
            async with in_transaction():
                if rows:
                    await OutboxMessage.bulk_create(rows, ignore_conflicts=True)
                for case, next_at in next_due:
                    # Compare-and-set: a change made meanwhile set reminder_due_at to now; keep that.
                    await Case.filter(id=case.id, reminder_due_at=case.reminder_due_at).update(
                        reminder_due_at=next_at
                    )
            cases += len(batch)
            enqueued += len(rows)
            if len(batch) < self.settings.batch:
                return SweepResult(cases, enqueued)

    def _plan_case(
        self, case: Case, loaded: _Loaded, now: datetime
    ) -> tuple[list[OutboxMessage], datetime | None]:
        """The outbox rows a case's due reminders make, and when the case is due next."""
        coordinator = loaded.coordinators.get(case.coordinator_id or 0)
        policy = self.policy()
        facts = self._facts(case, loaded)
        rows: list[OutboxMessage] = []
        for reminder in due_reminders(facts, policy, now):
            if reminder.audience == Audience.FAMILY:
                recipients = [p for p in loaded.members.get(case.id, []) if not p.blocked]
                if reminder.member is not None:
                    recipients = [p for p in recipients if p.id == reminder.member]
            else:
                recipients = [coordinator] if coordinator is not None else loaded.admins
            payload = self._payload(reminder, loaded.items.get(case.id, []))
            rows += [self._row(case, reminder, person, payload, now) for person in recipients]
        return rows, next_due_at(facts, policy, now)

    def _row(
        self, case: Case, reminder: Reminder, person: Participant, payload: dict[str, Any], now: datetime
    ) -> OutboxMessage:
        return OutboxMessage(
            dedupe_key=f"{reminder.key}:{person.id}"[:200],
            participant_id=person.id,
            case_id=case.id,
            kind=reminder.kind,
            payload=payload,
            available_at=self.not_in_quiet_hours(person, now),
            created_at=now,
        )

    @staticmethod
    def _payload(reminder: Reminder, items: list[ChecklistItem]) -> dict[str, Any]:
        payload = dict(reminder.payload)
        if reminder.kind in ("reminder_missing", "escalation_missing"):
            wanted = set(payload.get("items") or [])  # type: ignore[call-overload]
            payload["items"] = [
                {"position": i.position, "code": i.code, "title": i.title}
                for i in items
                if i.position in wanted
            ]
        return payload

    async def _load(self, case_ids: list[int], coordinator_ids: list[int | None]) -> _Loaded:
        items: dict[int, list[ChecklistItem]] = defaultdict(list)
        for item in await ChecklistItem.filter(case_id__in=case_ids, status=ItemStatus.MISSING).order_by(
            "position"
        ):
            items[item.case_id].append(item)
        questions: dict[int, list[Question]] = defaultdict(list)
        for question in await Question.filter(case_id__in=case_ids).order_by("number"):
            questions[question.case_id].append(question)
        members: dict[int, list[Participant]] = defaultdict(list)
        for member in await CaseMember.filter(case_id__in=case_ids).prefetch_related("participant"):
            members[member.case_id].append(member.participant)
        check_ins: dict[int, set[int]] = defaultdict(set)
        for check_in in await CheckIn.filter(case_id__in=case_ids):
            check_ins[check_in.case_id].add(check_in.round)
        ids = [cid for cid in coordinator_ids if cid is not None]
        coordinators = {p.id: p for p in await Participant.filter(id__in=ids)} if ids else {}
        admins = list(await Participant.filter(telegram_user_id__in=list(self.config.admin_ids)))
        opinions: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
        for file_id, case_id, sent_at in await CaseFile.filter(
            case_id__in=case_ids, purpose="opinion", confirmed_at__isnull=True
        ).values_list("id", "case_id", "created_at"):
            opinions[case_id].append((file_id, sent_at))
        receipts = await _opinion_receipts(opinions)
        return _Loaded(items, questions, members, check_ins, coordinators, admins, opinions, receipts)

    @staticmethod
    def _facts(case: Case, loaded: _Loaded) -> CaseFacts:
        questions = loaded.questions.get(case.id, [])
        open_family = tuple(
            OpenQuestion(q.number, q.created_at)
            for q in questions
            if q.direction == Direction.TO_FAMILY and q.answered_at is None
        )
        open_hospital = tuple(
            OpenQuestion(q.number, q.created_at)
            for q in questions
            if q.direction == Direction.TO_HOSPITAL and q.answered_at is None
        )
        waits = tuple(
            (q.created_at, q.answered_at)
            for q in questions
            if q.direction == Direction.TO_FAMILY and q.answered_at is not None
        )
        return CaseFacts(
            case_id=case.id,
            state=case.state,
            state_changed_at=case.state_changed_at,
            last_activity_at=case.last_activity_at,
            records_activity_at=case.records_activity_at,
            hospital_set_at=case.hospital_set_at,
            paused_until=case.paused_until,
            snoozed_until=case.snoozed_until,
            missing_items=tuple(i.position for i in loaded.items.get(case.id, [])),
            arrivals=tuple(
                (i.position, i.arrival_expected_at)
                for i in loaded.items.get(case.id, [])
                if i.arrival_expected_at is not None
            ),
            family_questions=open_family,
            hospital_questions=open_hospital,
            family_waits=waits,
            answered_check_ins=frozenset(loaded.check_ins.get(case.id, set())),
            unconfirmed_opinions=tuple(loaded.opinions.get(case.id, [])),
            opinion_receipts=tuple(loaded.receipts.get(case.id, [])),
            has_family=bool(loaded.members.get(case.id)),
            review_sla_days=case.review_sla_days,
        )

    # --- commands ---------------------------------------------------------------------------

    async def schedule(self, actor: Actor, reference: str | int) -> tuple[Case, list[Reminder]]:
        """What is scheduled next for a case, and why (coordinators)."""
        self.require_staff(actor)
        case = await self.visible_case(actor, reference)
        loaded = await self._load([case.id], [case.coordinator_id])
        return case, upcoming(self._facts(case, loaded), self.policy(), self.now())

    async def pause(self, actor: Actor, reference: str | int, until_text: str, zone: str) -> Case:
        """No reminders for a case until a moment (coordinators)."""
        self.require_staff(actor)
        until = parse_until(until_text, self.now(), zone)
        async with self.transaction():
            case = await self.locked_case(actor, reference)
            await Case.filter(id=case.id).update(paused_until=until)
            await self.audit(case, actor, "reminders_paused", to_value=until.isoformat(timespec="minutes"))
        case.paused_until = until
        return case

    async def resume(self, actor: Actor, reference: str | int) -> Case:
        """Reminders for a paused case start again."""
        self.require_staff(actor)
        async with self.transaction():
            case = await self.locked_case(actor, reference)
            if case.paused_until is None or case.paused_until <= self.now():
                raise InvalidInput(
                    f"{format_ref(case.id)} is not paused.", key="not_paused", reference=format_ref(case.id)
                )
            await Case.filter(id=case.id).update(paused_until=None)
            await self.audit(case, actor, "reminders_resumed")
        case.paused_until = None
        return case

    async def snooze(
        self, actor: Actor, until_text: str, zone: str, case_id: int | None = None
    ) -> list[Case]:
        """A family member puts off the missing-records reminders of their open cases.

        ``case_id`` (a button) must be one of the member's own open cases. Snoozing again to
        about the same moment (a doubled press) changes nothing and writes no audit row.
        """
        until = parse_until(until_text, self.now(), zone)
        if until > self.now() + timedelta(days=30):
            raise InvalidInput(
                "A snooze can last at most 30 days; your coordinator can pause longer.",
                key="snooze_too_long",
                days=30,
            )
        async with self.transaction():
            query = Case.filter(members__participant_id=actor.participant_id, state__in=list(OPEN_STATES))
            if case_id is not None:
                query = query.filter(id=case_id)
            cases = list(await query.select_for_update().order_by("id"))
            if case_id is not None and not cases:
                # A button on an old reminder: the member's own case that closed since is said so.
                own = await Case.get_or_none(id=case_id, members__participant_id=actor.participant_id)
                if own is not None:
                    raise CaseClosed(format_ref(own.id), own.state.value)
                raise CaseNotFound(format_ref(case_id))
            for case in cases:
                if case.snoozed_until is not None and abs(case.snoozed_until - until) < SAME_SNOOZE:
                    continue
                await Case.filter(id=case.id).update(snoozed_until=until)
                case.snoozed_until = until
                await self.audit(
                    case, actor, "reminders_snoozed", to_value=until.isoformat(timespec="minutes")
                )
        return cases

    async def answer_check_in(self, actor: Actor, case_id: int, round_: int, answer: str) -> CheckIn | None:
        """Record a family's answer to a home follow-up check-in; "need help" tells the coordinator.

        One answer per round: a second press returns None and changes nothing. A round whose
        day has not come yet is refused, so a forged early answer cannot silence the real one.
        """
        every = self.policy().check_in_every
        if answer not in CHECK_IN_ANSWERS or not is_check_in_round(round_, every):
            raise InvalidInput("That check-in answer is not one I know.", key="check_in_answer_unknown")
        async with self.transaction():
            case = await self.locked_case(actor, case_id)
            if not check_in_is_open(round_, case.state, case.state_changed_at, self.now(), every):
                raise InvalidInput(
                    f"{format_ref(case.id)} has no check-in waiting for an answer.",
                    key="no_check_in_open",
                    reference=format_ref(case.id),
                )
            if await CheckIn.exists(case_id=case.id, round=round_):
                return None
            check_in = await CheckIn.create(
                case_id=case.id,
                round=round_,
                answer=answer,
                participant_id=actor.participant_id,
                answered_at=self.now(),
            )
            event = await self.audit(
                case, actor, "check_in_answered", from_value=str(round_), to_value=answer
            )
            if answer == "need_help":
                recipients = self.coordinator_ids(case, actor) or [
                    p.id for p in await Participant.filter(telegram_user_id__in=list(self.config.admin_ids))
                ]
                await self.notify(recipients, "check_in_help", event, {"case_id": case.id, "round": round_})
        return check_in

    # --- home follow-up ---------------------------------------------------------------------

    async def set_home_doctor(self, actor: Actor, reference: str | int, text: str) -> tuple[Case, bool]:
        """Keep the family's home oncologist (name and clinic as they wrote them, both optional:
        "don't know yet" is kept as said) and tell the coordinator. Returns the case and whether
        anything changed: the same words again (a doubled message) change nothing.

        The name goes in the audit row's reason, never in its values, so erasure clears it.
        """
        cleaned = clean_text(text, what="home oncologist", limit=HOME_DOCTOR_LIMIT)
        # Name and clinic on two lines read as one: "Dr Petrova, City Oncology Centre".
        parts = (" ".join(line.split()).rstrip(",;") for line in cleaned.splitlines())
        doctor = ", ".join(part for part in parts if part)[:HOME_DOCTOR_LIMIT] or " ".join(cleaned.split())
        async with self.transaction():
            case = await self.locked_case(actor, reference)
            if case.home_doctor == doctor:
                return case, False
            await Case.filter(id=case.id).update(home_doctor=doctor)
            event = await self.audit(
                case,
                actor,
                "home_doctor_set",
                from_value="recorded" if case.home_doctor else None,
                to_value="recorded",
                reason=doctor,
            )
            payload = {"case_id": case.id, "home_doctor": doctor, "changed": case.home_doctor is not None}
            await self.notify(self.coordinator_ids(case, actor), "home_doctor_set", event, payload)
        case.home_doctor = doctor
        return case, True

    async def notice_replied_to(
        self, actor: Actor, message_id: int, kinds: tuple[str, ...]
    ) -> OutboxMessage | None:
        """The notice of one of these kinds that the bot's message ``message_id`` (or one of its
        parts) was, sent to this person about a case, or None."""
        candidates = (
            await OutboxMessage.filter(
                participant_id=actor.participant_id, kind__in=list(kinds), case_id__isnull=False
            )
            .filter(
                Q(sent_message_id=message_id)
                | Q(sent_message_id__lte=message_id, last_message_id__gte=message_id)
            )
            .order_by("-sent_message_id")
        )
        return next(
            (
                row
                for row in candidates
                if message_id in (row.part_message_ids or (row.sent_message_id, row.last_message_id))
            ),
            None,
        )


async def _opinion_receipts(
    opinions: dict[int, list[tuple[int, datetime]]],
) -> dict[int, list[tuple[int, int, datetime]]]:
    """Which family members each unconfirmed opinion reached: its outbox rows that were sent (a
    row Telegram refused, or one still waiting, is no receipt)."""
    wanted = {file_id for files in opinions.values() for file_id, _ in files}
    receipts: dict[int, list[tuple[int, int, datetime]]] = defaultdict(list)
    if not wanted:
        return receipts
    rows = await OutboxMessage.filter(
        case_id__in=list(opinions), kind="case_file", status=OutboxStatus.SENT
    ).values_list("case_id", "participant_id", "payload", "sent_at", "created_at")
    for case_id, member, payload, sent_at, created_at in rows:
        file_id = payload.get("file_id") if isinstance(payload, dict) else None
        if file_id in wanted:
            receipts[case_id].append((file_id, member, sent_at or created_at))
    return receipts
