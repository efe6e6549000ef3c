"""The weekly digest: when each person's is due, and what it tells them, from plain facts (no I/O).

A digest is due at the reader's local digest day and hour. Its dedupe key names the ISO week of
that moment's local date, so one person gets at most one digest a week whatever restarts happen;
a moment missed while the bot was down goes out when it is back within the same local week, and
is skipped once that week is over (no stale digest).

The content is built from facts a service loads in batches: the family's digest covers each of a
member's open cases, the coordinator's their caseload. Payloads are plain JSON (references as
ints, states as codes, dates as ISO strings) and never carry a name; item titles and question
texts appear only in the family's own digest. Every list is cut to ``LIST_LIMIT`` entries with
the count of the rest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from casebot.domain.calendar import HOSPITAL_ZONE
from casebot.domain.checklist import ItemStatus
from casebot.domain.outcomes import Outcome, review_due_at, review_running, review_started_at
from casebot.domain.questions import Direction, Topic
from casebot.domain.readiness import HospitalFacts, Verdict, concerns
from casebot.domain.reminders import CaseFacts, OpenQuestion, Policy, due_reminders, item_is_awaited
from casebot.domain.states import FINAL_STATES, OPEN_STATES, CaseState

WEEK = timedelta(days=7)
LIST_LIMIT = 10
"""At most this many entries of one list are shown; the rest are counted ("and 12 more")."""
TEXT_LIMIT = 200
"""A question's text or an item's title in a digest is cut to this many characters."""
_JUST_AFTER = timedelta(microseconds=1)

FAMILY_DIGEST = "digest_family"
STAFF_DIGEST = "digest_staff"

T = TypeVar("T")


# --- when -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DigestSchedule:
    """The service's digest day (ISO weekday, 1 Monday … 7 Sunday) and local time of day."""

    weekday: int = 1
    time_of_day: time = time(9, 0)

    def __post_init__(self) -> None:
        if not 1 <= self.weekday <= 7:
            raise ValueError("the digest day is an ISO weekday, 1 (Monday) to 7 (Sunday)")

    @classmethod
    def of(cls, weekday: int, time_of_day: str) -> DigestSchedule:
        """From the settings' forms: a weekday number and "HH:MM"."""
        hours, _, minutes = time_of_day.partition(":")
        return cls(weekday, time(int(hours), int(minutes or 0)))


def next_digest_moment(now: datetime, zone: str, weekday: int, time_of_day: time) -> datetime:
    """The reader's next local ``weekday`` at ``time_of_day``, at or after ``now``, in UTC.

    On a day the clocks jump forward over that hour, it is read as if they had not jumped yet
    (02:30 where 02:00 becomes 03:00 is 03:30); on a day they go back and the hour comes twice, it
    is the first of the two.
    """
    tz = ZoneInfo(zone)
    local_day = now.astimezone(tz).date()
    day = local_day + timedelta(days=(weekday - local_day.isoweekday()) % 7)
    while True:
        moment = datetime.combine(day, time_of_day, tz).astimezone(UTC)
        if moment >= now:
            return moment
        day += WEEK


def week_key(moment: datetime, zone: str) -> str:
    """The ISO week of ``moment``'s local date for the reader: ``2026-W48``."""
    year, week, _ = moment.astimezone(ZoneInfo(zone)).date().isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True, slots=True)
class DigestTurn:
    """What a due digest moment means now: whether this week's digest goes, its week, and when
    the following one is due."""

    send: bool
    week: str
    next_at: datetime


def digest_turn(due_at: datetime, now: datetime, zone: str, schedule: DigestSchedule) -> DigestTurn:
    """A digest due at ``due_at`` (at or before ``now``) goes now if that moment lies in the
    reader's current local ISO week; a moment of an earlier week (the bot was down all week) is
    skipped. Either way the next one is the reader's next digest moment after now."""
    week = week_key(due_at, zone)
    following = next_digest_moment(now + _JUST_AFTER, zone, schedule.weekday, schedule.time_of_day)
    return DigestTurn(due_at <= now and week == week_key(now, zone), week, following)


def first_digest_moment(
    now: datetime, zone: str, schedule: DigestSchedule, known_since: datetime
) -> datetime:
    """When a person not yet scheduled (new, or whose zone or the service's digest day changed)
    is first due: this week's digest moment in their zone if it is still ahead, or if it has
    passed and they were already with the service then (they would otherwise lose this week's
    digest: it goes now, once, under the week's key); else next week's."""
    this_week = next_digest_moment(_week_start(now, zone), zone, schedule.weekday, schedule.time_of_day)
    if this_week >= now or known_since <= this_week:
        return this_week
    return next_digest_moment(now, zone, schedule.weekday, schedule.time_of_day)


def _week_start(now: datetime, zone: str) -> datetime:
    """The start of the reader's local ISO week (Monday 00:00) holding ``now``, in UTC."""
    tz = ZoneInfo(zone)
    local = now.astimezone(tz).date()
    monday = local - timedelta(days=local.isoweekday() - 1)
    return datetime.combine(monday, time(0, 0), tz).astimezone(UTC)


def on_schedule(moment: datetime, zone: str, schedule: DigestSchedule) -> bool:
    """Whether a due time lies on the service's digest day and hour in the reader's zone."""
    just_before = moment - timedelta(seconds=1)
    return next_digest_moment(just_before, zone, schedule.weekday, schedule.time_of_day) == moment


def dedupe_key(participant_id: int, week: str) -> str:
    """One digest per person per ISO week."""
    return f"digest:{participant_id}:{week}"


# --- the facts ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemFact:
    """A checklist item: missing, or marked received or waived."""

    position: int
    code: str | None
    title: str
    status: ItemStatus
    status_changed_at: datetime
    arrival_expected_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class QuestionFact:
    """A question either way, open or answered."""

    number: int
    direction: Direction
    text: str
    created_at: datetime
    answered_at: datetime | None = None
    asked_by_family: bool = False
    topic: Topic | None = None
    verdict: str | None = None


@dataclass(frozen=True, slots=True)
class Move:
    """A change of state from the audit trail."""

    at: datetime
    source: CaseState
    target: CaseState


@dataclass(frozen=True, slots=True)
class OpinionFile:
    """The written opinion or its translation, as sent to the family."""

    purpose: str
    sent_at: datetime
    confirmed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CaseDigestFacts:
    """What a digest needs to know about one case. ``items`` holds the missing items and those
    marked this week; ``questions`` the open ones, those answered this week, every question to
    the family (the review's clock) and those judged by a coordinator (the concerns); ``moves``
    and ``files_sent`` (purposes) are this week's."""

    case_id: int
    state: CaseState
    created_at: datetime
    state_changed_at: datetime
    last_activity_at: datetime
    records_activity_at: datetime | None = None
    hospital_set_at: datetime | None = None
    paused_until: datetime | None = None
    snoozed_until: datetime | None = None
    review_sla_days: int | None = None
    translation_status: str | None = None
    home_doctor_known: bool = False
    # The current hospital route: its outcome, position and when it was made (None: no route).
    route_outcome: str | None = None
    route_position: int = 0
    route_created_at: datetime | None = None
    items: tuple[ItemFact, ...] = ()
    questions: tuple[QuestionFact, ...] = ()
    moves: tuple[Move, ...] = ()
    files_sent: tuple[str, ...] = ()
    opinions: tuple[OpinionFile, ...] = ()
    members: int = 0
    blocked_members: int = 0

    @property
    def missing(self) -> list[ItemFact]:
        """The items still missing, in order."""
        return sorted((i for i in self.items if i.status == ItemStatus.MISSING), key=lambda i: i.position)

    def open_questions(self, direction: Direction) -> list[QuestionFact]:
        """The questions of one direction still waiting for their answer, in order."""
        return sorted(
            (q for q in self.questions if q.direction == direction and q.answered_at is None),
            key=lambda q: q.number,
        )

    @property
    def current_outcome(self) -> Outcome | None:
        """The hospital's answer on the current route, if any."""
        return Outcome(self.route_outcome) if self.route_outcome else None

    @property
    def reviewing(self) -> bool:
        """Whether a hospital reviews the case now (see domain/outcomes.py review_running)."""
        return review_running(
            self.state,
            self.current_outcome,
            position=self.route_position,
            route_created_at=self.route_created_at,
            state_changed_at=self.state_changed_at,
        )

    @property
    def declined(self) -> bool:
        """The current hospital declined and the packet has gone nowhere else yet."""
        return self.current_outcome == Outcome.DECLINED and self.state in (
            CaseState.SENT,
            CaseState.UNDER_REVIEW,
        )


# --- shared rules ---------------------------------------------------------------------------------


def summarise(entries: Sequence[T], limit: int = LIST_LIMIT) -> tuple[list[T], int]:
    """The first ``limit`` entries and how many more there are."""
    return list(entries[:limit]), max(0, len(entries) - limit)


def _listing(entries: Sequence[dict[str, Any]], limit: int = LIST_LIMIT) -> dict[str, Any]:
    shown, more = summarise(entries, limit)
    return {"shown": shown, "more": more}


def _cut(text: str, limit: int = TEXT_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def state_at(moment: datetime, facts: CaseDigestFacts) -> CaseState | None:
    """The state a case was in at ``moment`` (None: it did not exist yet), from its moves since.

    The first move after the moment starts from the state the case was in then; with no move
    since, it is the state the case is in now.
    """
    if facts.created_at > moment:
        return None
    later = sorted((m for m in facts.moves if m.at > moment), key=lambda m: m.at)
    return later[0].source if later else facts.state


def review_expected(facts: CaseDigestFacts, policy: Policy, now: datetime) -> str | None:
    """The hospital's calendar date (ISO) the review is expected to end by, while one runs."""
    if not facts.reviewing:
        return None
    to_family = [q for q in facts.questions if q.direction == Direction.TO_FAMILY]
    due = review_due_at(
        review_started_at(facts.state_changed_at, facts.hospital_set_at),
        facts.review_sla_days or policy.review_sla,
        policy.calendar,
        family_waits=[(q.created_at, q.answered_at) for q in to_family if q.answered_at is not None],
        open_since=[q.created_at for q in to_family if q.answered_at is None],
        now=now,
    )
    return due.astimezone(ZoneInfo(HOSPITAL_ZONE)).date().isoformat()


class Holder(StrEnum):
    """Who holds a case's next step."""

    FAMILY = "family"
    COORDINATOR = "coordinator"
    HOSPITAL = "hospital"


@dataclass(frozen=True, slots=True)
class NextStep:
    """What happens next in a case, and who has to do it."""

    step: str
    holder: Holder


def opinion_status(facts: CaseDigestFacts) -> str | None:
    """``sent`` while a written opinion waits for the family's confirmation, ``confirmed`` once
    every one is confirmed, None before any was sent."""
    opinions = [o for o in facts.opinions if o.purpose == "opinion"]
    if not opinions:
        return None
    return "sent" if any(o.confirmed_at is None for o in opinions) else "confirmed"


def next_step(facts: CaseDigestFacts, now: datetime) -> NextStep:
    """The next step of a case and its holder, from its state and what is known.

    A question of the hospital to the family comes first whatever the state: the family holds
    the case until they answer it.
    """
    if facts.state in FINAL_STATES:
        return NextStep("none", Holder.COORDINATOR)
    if facts.open_questions(Direction.TO_FAMILY):
        return NextStep("answer_questions", Holder.FAMILY)
    if facts.state == CaseState.RECORDS_GATHERING:
        missing = facts.missing
        if any(not item_is_awaited(i.arrival_expected_at, now) for i in missing):
            return NextStep("send_records", Holder.FAMILY)
        if missing:
            return NextStep("records_on_their_way", Holder.FAMILY)
        return NextStep("send_to_hospital", Holder.COORDINATOR)
    if facts.declined:
        return NextStep("find_another_hospital", Holder.COORDINATOR)
    if facts.state == CaseState.SENT:
        return NextStep("hospital_accepts", Holder.HOSPITAL)
    if facts.state == CaseState.UNDER_REVIEW:
        return NextStep("hospital_reviews" if facts.reviewing else "hospital_accepts", Holder.HOSPITAL)
    if facts.state == CaseState.OPINION_RECEIVED:
        if opinion_status(facts) == "sent":
            return NextStep("confirm_opinion", Holder.FAMILY)
        if facts.translation_status == "pending":
            return NextStep("translate_summary", Holder.COORDINATOR)
        return NextStep("go_through_opinion", Holder.COORDINATOR)
    # home follow-up
    if not facts.home_doctor_known:
        return NextStep("name_home_doctor", Holder.FAMILY)
    return NextStep("see_home_doctor", Holder.FAMILY)


# --- the family's digest --------------------------------------------------------------------------


def _item(item: ItemFact) -> dict[str, Any]:
    entry: dict[str, Any] = {"position": item.position, "code": item.code, "title": _cut(item.title)}
    if item.code:
        entry["title"] = ""
    if item.arrival_expected_at is not None:
        entry["arriving"] = item.arrival_expected_at.date().isoformat()
    return entry


def _question(question: QuestionFact) -> dict[str, Any]:
    return {"number": question.number, "text": _cut(question.text)}


def family_case(facts: CaseDigestFacts, policy: Policy, now: datetime) -> dict[str, Any]:
    """One case of a family digest, as its payload says it."""
    since = now - WEEK
    step = next_step(facts, now)
    marked = sorted(
        (i for i in facts.items if i.status != ItemStatus.MISSING and i.status_changed_at >= since),
        key=lambda i: i.position,
    )
    answered = sorted(
        (
            q
            for q in facts.questions
            if q.answered_at is not None
            and q.answered_at >= since
            and (q.direction == Direction.TO_FAMILY or q.asked_by_family)
        ),
        key=lambda q: q.number,
    )
    own = [q for q in facts.open_questions(Direction.TO_HOSPITAL) if q.asked_by_family]
    files = Counter(facts.files_sent)
    return {
        "case_id": facts.case_id,
        "state": facts.state.value,
        "moves": _listing(
            [{"from": m.source.value, "to": m.target.value} for m in sorted(facts.moves, key=lambda m: m.at)]
        ),
        "marked": _listing([{**_item(i), "status": i.status.value} for i in marked]),
        "answered": _listing([{**_question(q), "direction": q.direction.value} for q in answered]),
        "files": [{"purpose": purpose, "count": files[purpose]} for purpose in sorted(files)],
        "missing": _listing([_item(i) for i in facts.missing]),
        "to_family": _listing([_question(q) for q in facts.open_questions(Direction.TO_FAMILY)]),
        "to_hospital": _listing([_question(q) for q in own]),
        "next_step": step.step,
        "holder": step.holder.value,
        "review_expected": review_expected(facts, policy, now),
        "opinion": opinion_status(facts),
        "translation": facts.translation_status,
    }


def without_case(payload: dict[str, Any], case_id: int) -> dict[str, Any]:
    """A family digest with one case taken out (it was erased); empty when it held only that one."""
    cases = [c for c in payload.get("cases", []) if isinstance(c, dict) and c.get("case_id") != case_id]
    return {**payload, "cases": cases} if cases else {}


def family_digest(
    cases: Iterable[CaseDigestFacts], policy: Policy, now: datetime, week: str
) -> dict[str, Any] | None:
    """A family member's digest over their open cases, or None when they have none open."""
    open_cases = sorted((c for c in cases if c.state not in FINAL_STATES), key=lambda c: c.case_id)
    if not open_cases:
        return None
    return {"week": week, "cases": [family_case(c, policy, now) for c in open_cases]}


# --- the coordinator's digest ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseWarnings:
    """What is overdue or wrong in one case, for the coordinator."""

    overdue_items: tuple[int, ...] = ()
    overdue_questions: tuple[int, ...] = ()
    hospital_late: tuple[int, ...] = ()
    review_overdue: str | None = None
    stale_since: str | None = None

    @property
    def any_overdue(self) -> bool:
        """Whether anything in the case is overdue (what the picture counts per state)."""
        return bool(
            self.overdue_items
            or self.overdue_questions
            or self.hospital_late
            or self.review_overdue
            or self.stale_since
        )


def reminder_facts(facts: CaseDigestFacts) -> CaseFacts:
    """The reminder rules' view of a case (opinion receipts and check-ins aside)."""
    missing = facts.missing
    return CaseFacts(
        case_id=facts.case_id,
        state=facts.state,
        state_changed_at=facts.state_changed_at,
        last_activity_at=facts.last_activity_at,
        records_activity_at=facts.records_activity_at,
        hospital_set_at=facts.hospital_set_at,
        paused_until=facts.paused_until,
        snoozed_until=facts.snoozed_until,
        missing_items=tuple(i.position for i in missing),
        arrivals=tuple(
            (i.position, i.arrival_expected_at) for i in missing if i.arrival_expected_at is not None
        ),
        family_questions=tuple(
            OpenQuestion(q.number, q.created_at) for q in facts.open_questions(Direction.TO_FAMILY)
        ),
        hospital_questions=tuple(
            OpenQuestion(q.number, q.created_at) for q in facts.open_questions(Direction.TO_HOSPITAL)
        ),
        family_waits=tuple(
            (q.created_at, q.answered_at)
            for q in facts.questions
            if q.direction == Direction.TO_FAMILY and q.answered_at is not None
        ),
        has_family=facts.members > 0,
        review_sla_days=facts.review_sla_days,
    )


def case_warnings(facts: CaseDigestFacts, policy: Policy, now: datetime) -> CaseWarnings:
    """What the reminder policy says is overdue in a case now: missing items past the escalation
    point, questions to the family unanswered past their escalation, questions to the hospital past
    its answer SLA, a review past its expected end, no activity for ``stale_after``. A paused case
    has none (the coordinator paused it on purpose)."""
    if facts.state in FINAL_STATES:
        return CaseWarnings()
    items: list[int] = []
    questions: list[int] = []
    hospital: list[int] = []
    review: str | None = None
    stale: str | None = None
    for reminder in due_reminders(reminder_facts(facts), policy, now):
        payload = reminder.payload
        if reminder.kind == "escalation_missing":
            items += _ints(payload.get("items"))
        elif reminder.kind == "escalation_question":
            questions += _ints([payload.get("number")])
        elif reminder.kind == "chase_hospital":
            hospital += _ints(payload.get("questions"))
        elif reminder.kind == "review_overdue" and facts.reviewing:
            review = review_expected(facts, policy, now)
        elif reminder.kind == "stale":
            stale = facts.last_activity_at.isoformat()  # a moment: dated in the reader's zone
    return CaseWarnings(
        tuple(sorted(set(items))), tuple(sorted(set(questions))), tuple(sorted(set(hospital))), review, stale
    )


def _ints(value: object) -> list[int]:
    return [v for v in value if isinstance(v, int)] if isinstance(value, list) else []


def case_concerns(facts: CaseDigestFacts) -> tuple[str, ...]:
    """The red flags a coordinator judged a concern in the hospital's answers."""
    verdicts: dict[Topic, Verdict] = {}
    for q in sorted(facts.questions, key=lambda q: q.number):
        if q.topic is not None and q.verdict in (Verdict.OK.value, Verdict.CONCERN.value):
            verdicts[q.topic] = Verdict(q.verdict)
    return tuple(flag.value for flag in concerns(HospitalFacts(None, None, None, verdicts)))


def _numbers(numbers: Sequence[int]) -> dict[str, Any]:
    shown, more = summarise(numbers)
    return {"numbers": shown, "more": more}


@dataclass(slots=True)
class StaffDigestBuilder:
    """A coordinator's digest, built case by case (a whole service's cases may come in chunks)."""

    policy: Policy
    now: datetime
    scope: str = "own"
    counts: Counter[str] = field(default_factory=Counter)
    last_week: Counter[str] = field(default_factory=Counter)
    overdue: Counter[str] = field(default_factory=Counter)
    lists: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    dropped: Counter[str] = field(default_factory=Counter)
    """Per list, the entries let go past the first LIST_LIMIT (by case id): only counted."""
    cases: int = 0

    @property
    def open_cases(self) -> int:
        """How many of the cases taken in are open."""
        return sum(self.counts.values())

    def _add(self, name: str, entry: dict[str, Any]) -> None:
        entries = self.lists.setdefault(name, [])
        entries.append(entry)
        # A digest shows the first LIST_LIMIT entries of a list and counts the rest: the rest need
        # not be held (a coordinator or a whole service may have thousands).
        if len(entries) >= 4 * LIST_LIMIT:
            entries.sort(key=_case_order)
            self.dropped[name] += len(entries) - LIST_LIMIT
            del entries[LIST_LIMIT:]

    def add(self, facts: CaseDigestFacts) -> None:
        """Take in one case: open now, or closed or withdrawn this week."""
        self.cases += 1
        week_ago = self.now - WEEK
        before = state_at(week_ago, facts)
        if before is not None and before in OPEN_STATES:
            self.last_week[before.value] += 1
        if facts.moves or before is None:  # moved, or opened this week
            self._add(
                "moved",
                {"case_id": facts.case_id, "from": before.value if before else None, "to": facts.state.value},
            )
        if facts.state in FINAL_STATES:
            return
        state = facts.state.value
        self.counts[state] += 1
        case = facts.case_id
        warnings = case_warnings(facts, self.policy, self.now)
        if warnings.any_overdue:
            self.overdue[state] += 1
        if warnings.overdue_items:
            self._add("overdue_items", {"case_id": case, "count": len(warnings.overdue_items)})
        if warnings.overdue_questions:
            self._add("overdue_questions", {"case_id": case, **_numbers(warnings.overdue_questions)})
        if warnings.hospital_late:
            self._add("hospital_late", {"case_id": case, **_numbers(warnings.hospital_late)})
        if warnings.review_overdue:
            self._add("review_overdue", {"case_id": case, "due": warnings.review_overdue})
        if warnings.stale_since:
            self._add("stale", {"case_id": case, "since": warnings.stale_since})
        if facts.blocked_members:
            self._add("blocked", {"case_id": case, "members": facts.blocked_members})
        flags = case_concerns(facts)
        if flags:
            self._add("concerns", {"case_id": case, "flags": list(flags)})
        if opinion_status(facts) == "sent":
            self._add("unconfirmed", {"case_id": case})
        if facts.translation_status == "pending":
            self._add("untranslated", {"case_id": case})

    def payload(self, week: str) -> dict[str, Any] | None:
        """The digest's payload, or None when there is nothing to tell (no case at all)."""
        if not self.cases:
            return None
        states = [s.value for s in OPEN_STATES]
        names = (
            "moved", "overdue_items", "overdue_questions", "hospital_late", "review_overdue", "stale",
            "blocked", "concerns", "unconfirmed", "untranslated",
        )  # fmt: skip
        return {
            "week": week,
            "scope": self.scope,
            "total": self.open_cases,
            "counts": {s: self.counts[s] for s in states},
            "last_week": {s: self.last_week[s] for s in states},
            "overdue": {s: self.overdue[s] for s in states},
            **{name: self._listing(name) for name in names},
        }

    def _listing(self, name: str) -> dict[str, Any]:
        listing = _listing(sorted(self.lists.get(name, []), key=_case_order))
        listing["more"] += self.dropped[name]
        return listing


def _case_order(entry: dict[str, Any]) -> int:
    return int(entry["case_id"])


def staff_digest(
    cases: Iterable[CaseDigestFacts], policy: Policy, now: datetime, week: str, scope: str = "own"
) -> dict[str, Any] | None:
    """A coordinator's digest over the cases they hold (``scope`` "service": every case)."""
    builder = StaffDigestBuilder(policy, now, scope)
    for facts in cases:
        builder.add(facts)
    return builder.payload(week)


@dataclass(frozen=True, slots=True)
class ChartData:
    """The picture's numbers: per open state, cases this week, last week, and overdue now."""

    states: tuple[str, ...]
    this_week: tuple[int, ...]
    last_week: tuple[int, ...]
    overdue: tuple[int, ...]


def chart_data(payload: dict[str, Any]) -> ChartData:
    """The picture's numbers from a coordinator's digest payload."""
    states = tuple(s.value for s in OPEN_STATES)

    def counts(name: str) -> tuple[int, ...]:
        values = payload.get(name) or {}
        return tuple(int(values.get(s, 0)) for s in states)

    return ChartData(states, counts("counts"), counts("last_week"), counts("overdue"))
