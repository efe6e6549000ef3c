"""The weekly digests: scheduling each person's, building them in batches, and queueing them.

A pass reads only the participants whose digest is due (an indexed column) or not scheduled yet,
a batch at a time. The cases a batch needs are read in chunks of ids, with a fixed number of
queries per chunk whatever it holds: the cases, then their members, items, questions, this week's
audit events, the opinion files and the hospital routes, one query each. A batch whose cases fit in
one chunk costs ten statements with the insert of the outbox rows and the update of the next due
times, which go in one transaction, so a crash leaves either both or neither. A digest is enqueued
under a key per person and ISO week, so a second pass, a second instance or ``send_now`` enqueues
nothing new.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.expressions import Case as SqlCase
from tortoise.expressions import F, Q, Subquery, When

from casebot.db.models import (
    AuditEvent,
    Case,
    CaseFile,
    CaseMember,
    ChecklistItem,
    HospitalRoute,
    OutboxMessage,
    Participant,
    Question,
)
from casebot.domain.checklist import ItemStatus
from casebot.domain.digest import (
    FAMILY_DIGEST,
    STAFF_DIGEST,
    WEEK,
    CaseDigestFacts,
    DigestSchedule,
    ItemFact,
    Move,
    OpinionFile,
    QuestionFact,
    StaffDigestBuilder,
    dedupe_key,
    digest_turn,
    family_digest,
    first_digest_moment,
    on_schedule,
    week_key,
)
from casebot.domain.notices import Deliver, Drop
from casebot.domain.questions import Direction, Topic
from casebot.domain.states import OPEN_STATES, CaseState
from casebot.services.base import Actor, ServiceBase, ServiceConfig

log = logging.getLogger("casebot.digest")

DIGEST_PRIORITY = 1
"""Bulk: a sender takes every due message someone is waiting for first."""
# The audit actions a digest reads: changes of state, and files sent to the family. Never notes.
_MOVES = ("state_changed", "state_overridden", "case_erased")
_AUDIT_ACTIONS = (*_MOVES, "file_sent")
_OPEN = [state.value for state in OPEN_STATES]
_STATES = frozenset(state.value for state in CaseState)
# The columns of a case a digest reads (in the order DigestService._load unpacks them).
_CASE_COLUMNS = (
    "id", "state", "created_at", "state_changed_at", "last_activity_at", "records_activity_at",
    "hospital_set_at", "paused_until", "snoozed_until", "review_sla_days", "translation_status",
    "home_doctor", "coordinator_id",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class DigestSettings:
    """The digest settings, read once at the composition root."""

    enabled: bool = True
    weekday: int = 1
    time_of_day: str = "09:00"
    batch: int = 2000
    """Participants per batch: one transaction, and ten queries when its cases fit in one chunk."""
    chunk: int = 2000
    """Cases read at once (seven queries a chunk): what bounds a pass's memory, however many cases
    a coordinator holds or the whole service has."""


@dataclass(frozen=True, slots=True)
class Digest:
    """One person's digest: its kind and payload."""

    participant: Participant
    kind: str
    payload: dict[str, Any]


@dataclass(slots=True)
class _Run:
    """What one pass shares between its batches: the whole service's digest, built once."""

    now: datetime
    service: StaffDigestBuilder | None = None


@dataclass(slots=True)
class _Loaded:
    """The facts of every case a batch needs, and who holds and belongs to each."""

    facts: dict[int, CaseDigestFacts] = field(default_factory=dict)
    coordinator: dict[int, int | None] = field(default_factory=dict)
    members: dict[int, list[int]] = field(default_factory=dict)


class DigestService(ServiceBase):
    """Weekly digests for families and coordinators."""

    def __init__(self, config: ServiceConfig, settings: DigestSettings | None = None) -> None:
        super().__init__(config)
        self.settings = settings or DigestSettings()
        self.schedule = DigestSchedule.of(self.settings.weekday, self.settings.time_of_day)
        self._schedule_checked = False

    async def _follow_schedule_change(self, due: list[Participant]) -> bool:
        """After CASEBOT_DIGEST_DAY or CASEBOT_DIGEST_TIME changed, due times are of the old
        schedule: everyone is scheduled afresh (this week's digest, if not yet sent, on the new
        day). Every due time comes from the same setting, so the first due person's tells; checked
        once per process, on the people the pass reads anyway. Returns whether all were reset."""
        scheduled = [person for person in due if person.next_digest_at is not None]
        if not scheduled:
            return False
        self._schedule_checked = True
        first = scheduled[0]
        assert first.next_digest_at is not None
        if on_schedule(first.next_digest_at, self._zone(first), self.schedule):
            return False
        changed = await Participant.filter(next_digest_at__isnull=False).update(next_digest_at=None)
        log.info("the digest day or hour changed: %s participant(s) scheduled afresh", changed)
        return True

    @property
    def enabled(self) -> bool:
        """Whether digests are on service-wide (CASEBOT_DIGEST)."""
        return self.settings.enabled

    # --- the weekly pass ------------------------------------------------------------------------

    async def run_due(self) -> int:
        """Queue the digests that are due, schedule those not scheduled yet; returns how many
        digests were queued (one already queued under its week's key, by another instance or the
        command line, is counted but not queued again). Each batch is one transaction: its rows
        and its new due times."""
        if not self.settings.enabled:
            return 0
        run = _Run(self.now())
        queued = 0
        # Whoever was looked at as due in this pass: seen again, their new due time did not land.
        handled: set[int] = set()
        while True:
            # One more than a batch: whether another batch follows is known without another look.
            people = list(
                await Participant.filter(
                    Q(next_digest_at__lte=run.now) | Q(next_digest_at__isnull=True),
                    digest_enabled=True,
                    blocked=False,
                )
                .order_by("id")
                .limit(self.settings.batch + 1)
            )
            more, people = len(people) > self.settings.batch, people[: self.settings.batch]
            if not self._schedule_checked and await self._follow_schedule_change(people):
                continue  # everyone was scheduled afresh: look again
            if all(person.id in handled for person in people):
                return queued
            handled.update(person.id for person in people if person.next_digest_at is not None)
            done, due_again = await self._due_batch(people, run)
            queued += done
            # Someone in the batch may just have been scheduled for now: they are due at once.
            if not more and not due_again:
                return queued

    async def _due_batch(self, people: list[Participant], run: _Run) -> tuple[int, bool]:
        """One batch in one transaction: its digests queued, everyone's next due time set.
        Returns how many were queued, and whether someone was just scheduled for now."""
        now = run.now
        weeks: dict[int, str] = {}
        next_at: dict[int, datetime] = {}
        for person in people:
            zone = self._zone(person)
            if person.next_digest_at is None:
                next_at[person.id] = first_digest_moment(now, zone, self.schedule, person.created_at)
                continue
            turn = digest_turn(person.next_digest_at, now, zone, self.schedule)
            next_at[person.id] = turn.next_at
            if turn.send:
                weeks[person.id] = turn.week
        sending = [person for person in people if person.id in weeks]
        digests = await self.build(sending, run, weeks) if sending else []
        rows = [self._row(digest, weeks[digest.participant.id], now) for digest in digests]
        async with self.transaction():
            if rows:
                await OutboxMessage.bulk_create(rows, ignore_conflicts=True)
            await _reschedule(next_at)
        if people:
            log.info(
                "digests: %s participant(s) looked at, %s digest(s) queued, %s skipped",
                len(people),
                len(rows),
                len(weeks) - len(rows),
            )
        return len(rows), any(moment <= now for moment in next_at.values())

    async def send_now(self, progress: Callable[[int], None] | None = None) -> int:
        """Queue this week's digest for everyone who takes one, now, whatever their schedule
        (the command line). The same keys as the weekly pass: running it twice, or the pass after
        it, queues nothing new. ``progress`` is told how many participants each batch covered.
        Returns how many digests were queued: none while digests are off service-wide."""
        if not self.settings.enabled:
            return 0
        run = _Run(self.now())
        queued = 0
        after = 0
        while True:
            people = list(
                await Participant.filter(id__gt=after, digest_enabled=True, blocked=False)
                .order_by("id")
                .limit(self.settings.batch)
            )
            if not people:
                return queued
            after = people[-1].id
            weeks = {person.id: week_key(run.now, self._zone(person)) for person in people}
            rows = [
                self._row(d, weeks[d.participant.id], run.now) for d in await self.build(people, run, weeks)
            ]
            if rows:
                keys = [row.dedupe_key for row in rows]
                taken = {
                    str(key)
                    for key in await OutboxMessage.filter(dedupe_key__in=keys).values_list(
                        "dedupe_key", flat=True
                    )
                }
                rows = [row for row in rows if row.dedupe_key not in taken]
            if rows:
                async with self.transaction():
                    await OutboxMessage.bulk_create(rows, ignore_conflicts=True)
            queued += len(rows)
            if progress is not None:
                progress(len(people))

    async def eligible(self) -> int:
        """How many participants take a digest (for a progress bar)."""
        return await Participant.filter(digest_enabled=True, blocked=False).count()

    async def preview(self, telegram_user_id: int) -> tuple[str, str, dict[str, Any]] | None:
        """The digest this person would get now (locale, kind, payload), whether or not they
        opted out; None when they are unknown or would get none (no open case)."""
        person = await Participant.get_or_none(telegram_user_id=telegram_user_id)
        if person is None:
            return None
        run = _Run(self.now())
        digests = await self.build([person], run, {person.id: week_key(run.now, self._zone(person))})
        if not digests:
            return None
        return person.locale, digests[0].kind, digests[0].payload

    async def set_enabled(self, actor: Actor, enabled: bool) -> bool:
        """/digest on|off: a person's own digest; turning it on schedules it afresh from now.
        Returns whether anything changed."""
        if actor.participant_id is None:
            return False
        async with self.transaction():
            changed = await Participant.filter(id=actor.participant_id, digest_enabled=not enabled).update(
                digest_enabled=enabled, **({"next_digest_at": None} if enabled else {})
            )
        return bool(changed)

    # --- building digests -----------------------------------------------------------------------

    def is_staff(self, person: Participant) -> bool:
        """Coordinators and admins get the coordinator's digest; everyone else the family's."""
        return person.role.is_staff or person.telegram_user_id in self.config.admin_ids

    def _is_admin(self, person: Participant) -> bool:
        return person.telegram_user_id in self.config.admin_ids

    def _zone(self, person: Participant) -> str:
        return self.zone_of(person)

    async def build(self, people: Sequence[Participant], run: _Run, weeks: dict[int, str]) -> list[Digest]:
        """The digests of these people (those who get one). Every case the batch needs (the family
        members' open cases, the coordinators' cases) is read once, in chunks of ids: a family's
        facts are kept until its digest is written, a coordinator's cases are added to their digest
        chunk by chunk and let go, so a coordinator holding thousands of cases costs one chunk of
        memory, not all of them at once."""
        family = {person.id for person in people if not self.is_staff(person)}
        staff = [person.id for person in people if self.is_staff(person)]
        policy = self.config.policy
        builders = {person_id: StaffDigestBuilder(policy, run.now) for person_id in staff}
        belongs: dict[int, list[CaseDigestFacts]] = defaultdict(list)
        async for loaded in self._chunks(self._cases_of(sorted(family), staff, run.now), run.now):
            for case_id in sorted(loaded.facts):
                facts = loaded.facts[case_id]
                builder = builders.get(loaded.coordinator.get(case_id) or 0)
                if builder is not None:
                    builder.add(facts)
                if facts.state in OPEN_STATES:
                    for member in loaded.members.get(case_id, ()):
                        if member in family:
                            belongs[member].append(facts)
        digests: list[Digest] = []
        for person in people:
            week = weeks[person.id]
            payload: dict[str, Any] | None
            if person.id in family:
                kind, payload = (
                    FAMILY_DIGEST,
                    family_digest(belongs.get(person.id, []), policy, run.now, week),
                )
            else:
                kind, builder = STAFF_DIGEST, builders[person.id]
                if self._is_admin(person) and not builder.open_cases:
                    builder = await self._service_digest(run)
                payload = builder.payload(week)
            if payload is not None:
                digests.append(Digest(person, kind, payload))
        return digests

    async def _service_digest(self, run: _Run) -> StaffDigestBuilder:
        """Every case of the service, read in chunks (built once per pass): the digest of an admin
        who holds no case of their own."""
        if run.service is not None:
            return run.service
        builder = StaffDigestBuilder(self.config.policy, run.now, scope="service")
        async for loaded in self._chunks(
            Q(state__in=_OPEN) | Q(state_changed_at__gte=run.now - WEEK), run.now
        ):
            for case_id in sorted(loaded.facts):
                builder.add(loaded.facts[case_id])
        run.service = builder
        return builder

    @staticmethod
    def _cases_of(family: list[int], staff: list[int], now: datetime) -> Q:
        """The cases a batch needs: the family members' open cases, and the coordinators' cases
        open now or closed this week."""
        wanted = Q(id=0)  # nothing, when the batch has neither
        if family:
            joined = Subquery(CaseMember.filter(participant_id__in=family).values("case_id"))
            wanted |= Q(id__in=joined, state__in=_OPEN)
        if staff:
            wanted |= Q(coordinator_id__in=staff) & (Q(state__in=_OPEN) | Q(state_changed_at__gte=now - WEEK))
        return wanted

    async def _chunks(self, cases: Q, now: datetime) -> AsyncIterator[_Loaded]:
        """The facts of the cases ``cases`` selects, in chunks of at most ``settings.chunk`` cases by
        id: one query per table a chunk. One case more than a chunk is read to know whether another
        chunk follows (it is read again at the head of that chunk)."""
        size = self.settings.chunk
        after = 0
        while True:
            rows = list(
                await Case.filter(cases, id__gt=after)
                .order_by("id")
                .limit(size + 1)
                .values_list(*_CASE_COLUMNS)
            )
            more, rows = len(rows) > size, rows[:size]
            if rows:
                yield await self._load(rows, now)
            if not more:
                return
            after = rows[-1][0]

    async def _load(self, rows: list[tuple[Any, ...]], now: datetime) -> _Loaded:
        """Every fact of these cases (their rows of ``_CASE_COLUMNS``): one query per table."""
        since = now - WEEK
        inside = [row[0] for row in rows]
        loaded = _Loaded()
        members: dict[int, list[int]] = defaultdict(list)
        blocked: dict[int, int] = defaultdict(int)
        for case_id, participant_id, is_blocked in await CaseMember.filter(case_id__in=inside).values_list(
            "case_id", "participant_id", "participant__blocked"
        ):
            members[case_id].append(participant_id)
            blocked[case_id] += bool(is_blocked)
        items: dict[int, list[ItemFact]] = defaultdict(list)
        for case_id, position, code, title, status, changed, arriving in await ChecklistItem.filter(
            Q(status=ItemStatus.MISSING) | Q(status_changed_at__gte=since), case_id__in=inside
        ).values_list(
            "case_id", "position", "code", "title", "status", "status_changed_at", "arrival_expected_at"
        ):
            items[case_id].append(
                ItemFact(position, code, title or "", ItemStatus(status), changed, arriving)
            )
        questions: dict[int, list[QuestionFact]] = defaultdict(list)
        # A question's text is read only where a family sees it: the hospital's to them, their own.
        shown = SqlCase(
            When(Q(direction=Direction.TO_FAMILY) | Q(asked_by_family=True), then=F("text")), default=""
        )
        for row in (
            await Question.filter(
                Q(answered_at__isnull=True)
                | Q(answered_at__gte=since)
                | Q(direction=Direction.TO_FAMILY)
                | Q(topic__isnull=False, verdict__isnull=False),
                case_id__in=inside,
            )
            .annotate(shown=shown)
            .values_list(
                "case_id",
                "number",
                "direction",
                "shown",
                "created_at",
                "answered_at",
                "asked_by_family",
                "topic",
                "verdict",
            )
        ):
            case_id, number, direction, text, asked, answered, by_family, topic, verdict = row
            questions[case_id].append(
                QuestionFact(
                    number,
                    Direction(direction),
                    str(text or ""),
                    asked,
                    answered,
                    bool(by_family),
                    Topic(topic) if topic else None,
                    verdict,
                )
            )
        moves: dict[int, list[Move]] = defaultdict(list)
        files_sent: dict[int, list[str]] = defaultdict(list)
        for case_id, action, source, target, at in (
            await AuditEvent.filter(case_id__in=inside, created_at__gte=since, action__in=_AUDIT_ACTIONS)
            .order_by("id")
            .values_list("case_id", "action", "from_value", "to_value", "created_at")
        ):
            if action == "file_sent":
                files_sent[case_id].append(str(target or "").partition(":")[0] or "send")
            elif source != target and source in _STATES and target in _STATES:
                moves[case_id].append(Move(at, CaseState(source), CaseState(target)))
        opinions: dict[int, list[OpinionFile]] = defaultdict(list)
        for case_id, purpose, sent_at, confirmed_at in await CaseFile.filter(
            case_id__in=inside, purpose__in=["opinion", "translation"]
        ).values_list("case_id", "purpose", "created_at", "confirmed_at"):
            opinions[case_id].append(OpinionFile(purpose, sent_at, confirmed_at))
        routes: dict[int, tuple[int, str | None, datetime]] = {}
        for case_id, position, outcome, created in await HospitalRoute.filter(case_id__in=inside).values_list(
            "case_id", "position", "outcome", "created_at"
        ):
            if case_id not in routes or position > routes[case_id][0]:
                routes[case_id] = (position, outcome, created)
        for row in rows:
            (
                case_id, state, created_at, state_changed_at, last_activity_at, records_activity_at,
                hospital_set_at, paused_until, snoozed_until, review_sla_days, translation_status,
                home_doctor, coordinator_id,
            ) = row  # fmt: skip
            route = routes.get(case_id)
            loaded.facts[case_id] = CaseDigestFacts(
                case_id=case_id,
                state=CaseState(state),
                created_at=created_at,
                state_changed_at=state_changed_at,
                last_activity_at=last_activity_at,
                records_activity_at=records_activity_at,
                hospital_set_at=hospital_set_at,
                paused_until=paused_until,
                snoozed_until=snoozed_until,
                review_sla_days=review_sla_days,
                translation_status=translation_status,
                home_doctor_known=home_doctor is not None,
                route_outcome=route[1] if route else None,
                route_position=route[0] if route else 0,
                route_created_at=route[2] if route else None,
                items=tuple(items.get(case_id, ())),
                questions=tuple(questions.get(case_id, ())),
                moves=tuple(moves.get(case_id, ())),
                files_sent=tuple(files_sent.get(case_id, ())),
                opinions=tuple(opinions.get(case_id, ())),
                members=len(members.get(case_id, ())),
                blocked_members=blocked.get(case_id, 0),
            )
            loaded.coordinator[case_id] = coordinator_id
            loaded.members[case_id] = members.get(case_id, [])
        return loaded

    def _row(self, digest: Digest, week: str, now: datetime) -> OutboxMessage:
        person = digest.participant
        return OutboxMessage(
            dedupe_key=dedupe_key(person.id, week),
            participant_id=person.id,
            case_id=None,
            kind=digest.kind,
            priority=DIGEST_PRIORITY,
            payload=digest.payload,
            available_at=self.not_in_quiet_hours(person, now),
            created_at=now,
        )

    # --- at send time ---------------------------------------------------------------------------

    async def still_due(self, row: OutboxMessage, person: Participant) -> Deliver | Drop:
        """Whether a queued digest still goes, as its recipient stands now: they still want it, a
        coordinator's still goes to staff, and a family's to a member of at least one of its cases
        still open (the cases they left, or closed, withdrawn or erased since, are taken out); and
        only in its own week (a newer one is due after it)."""
        if not self.settings.enabled:
            return Drop("digests are off service-wide")
        if not person.digest_enabled:
            return Drop("the recipient turned their digest off")
        if row.payload.get("week") != week_key(self.now(), self._zone(person)):
            # Held back past its week (quiet hours on Sunday night, an outage): a newer one is due.
            return Drop("the digest's week is over")
        if row.kind == STAFF_DIGEST:
            return Deliver(row.payload) if self.is_staff(person) else Drop("the recipient is no longer staff")
        if self.is_staff(person):
            return Drop("the recipient is now staff")
        cases = [c for c in row.payload.get("cases", []) if isinstance(c, dict)]
        wanted = [int(c["case_id"]) for c in cases if isinstance(c.get("case_id"), int)]
        still = set(
            await CaseMember.filter(
                participant_id=person.id,
                case_id__in=wanted,
                case__state__in=_OPEN,
                case__erased_at__isnull=True,
            ).values_list("case_id", flat=True)
        )
        kept = [c for c in cases if c.get("case_id") in still]
        if not kept:
            return Drop("the recipient left the digest's cases")
        return Deliver({**row.payload, "cases": kept})


async def _reschedule(next_at: dict[int, datetime]) -> None:
    """Every person's next due time in one statement (people in one zone share a moment)."""
    if not next_at:
        return
    by_moment: dict[datetime, list[int]] = defaultdict(list)
    for person_id, moment in next_at.items():
        by_moment[moment].append(person_id)
    await Participant.filter(id__in=list(next_at)).update(
        next_digest_at=SqlCase(
            # A moment is a parameter like any value (the stub only lists expressions).
            *(When(id__in=ids, then=moment) for moment, ids in by_moment.items()),  # type: ignore[arg-type]
            default=F("next_digest_at"),
        )
    )
