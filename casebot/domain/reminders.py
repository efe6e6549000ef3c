"""Reminder rules: pure functions of what is known about a case and the time now.

Each rule yields at most one reminder per cycle. A reminder's key names its cycle, and the
outbox refuses a key twice, so a reminder is never sent twice; only the current cycle is
produced, so after downtime an overdue reminder goes out once, not once per missed interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Literal, get_args

from casebot.domain.calendar import HOSPITAL_ZONE, BusinessCalendar
from casebot.domain.outcomes import review_due_at, review_started_at
from casebot.domain.states import FINAL_STATES, CaseState
from casebot.errors import InvalidInput

CHECK_IN_DAYS = (7, 30)
"""The first home follow-up check-ins, in days; after the last they go on every ``check_in_every`` days."""
# A record coming another way (a link, a courier) is awaited through the whole of its expected date.
ARRIVAL_GRACE = timedelta(days=1)


class ArrivalRoute(StrEnum):
    """How a record too large for the bot reaches the service instead."""

    LINK = "link"
    COURIER = "courier"


# The hospital is chased while it still has the case: not once the family has gone home with the opinion.
CHASED_STATES = frozenset(
    {CaseState.RECORDS_GATHERING, CaseState.SENT, CaseState.UNDER_REVIEW, CaseState.OPINION_RECEIVED}
)


class Audience(StrEnum):
    """Who a reminder is for."""

    FAMILY = "family"
    COORDINATOR = "coordinator"


Why = Literal[
    "records_missing",
    "records_awaited",
    "question_unanswered",
    "reminders_unanswered",
    "if_still_unanswered",
    "hospital_unanswered",
    "hospital_may_be_late",
    "review_overdue",
    "check_in_round",
    "opinion_unconfirmed",
    "opinion_still_unconfirmed",
    "no_activity",
]
"""Why a reminder is scheduled, as a code; /reminders puts it in the reader's words."""
WHY: frozenset[str] = frozenset(get_args(Why))


@dataclass(frozen=True, slots=True)
class OpenQuestion:
    """A question still waiting for its answer."""

    number: int
    asked_at: datetime


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What the rules need to know about one case."""

    case_id: int
    state: CaseState
    state_changed_at: datetime
    last_activity_at: datetime
    records_activity_at: datetime | None = None
    hospital_set_at: datetime | None = None
    paused_until: datetime | None = None
    snoozed_until: datetime | None = None
    missing_items: tuple[int, ...] = ()
    family_questions: tuple[OpenQuestion, ...] = ()
    hospital_questions: tuple[OpenQuestion, ...] = ()
    # Spans during which the case waited on the family (a question to them was open).
    family_waits: tuple[tuple[datetime, datetime], ...] = ()
    answered_check_ins: frozenset[int] = frozenset()
    # Missing items coming another way: (position, expected date as midnight UTC of that date).
    arrivals: tuple[tuple[int, datetime], ...] = ()
    # Written opinions sent to the family and not yet confirmed by them: (file id, sent at).
    unconfirmed_opinions: tuple[tuple[int, datetime], ...] = ()
    # Which family members each of those actually received, and when: (file id, member id, at).
    # A file Telegram refused, or one sent before the member joined and not yet re-sent, is not here.
    opinion_receipts: tuple[tuple[int, int, datetime], ...] = ()
    has_family: bool = True
    # The hospital's stated turnaround in business days (None: the policy's review SLA).
    review_sla_days: int | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """The intervals and SLAs, from settings."""

    missing_items_every: timedelta = timedelta(days=3)
    escalate_after: int = 3
    question_every: timedelta = timedelta(days=2)
    hospital_answer_sla: int = 3
    review_sla: int = 10
    stale_after: timedelta = timedelta(days=14)
    check_in_every: int = 30
    calendar: BusinessCalendar = field(default_factory=lambda: BusinessCalendar(HOSPITAL_ZONE, official=True))


@dataclass(frozen=True, slots=True)
class Reminder:
    """One reminder: its kind, who gets it, its cycle key, when it is due, and why.

    ``why`` is one of :data:`WHY`, a code that templates/<locale>/staff/reminders.j2 puts in words
    with the values of ``payload`` (the question's number, the days, the check-in's round).
    """

    kind: str
    audience: Audience
    key: str
    due_at: datetime
    payload: dict[str, object]
    why: Why
    member: int | None = None
    """A family reminder for this one member only (the participant id), not the whole family."""


def _stamp(moment: datetime) -> str:
    return str(int(moment.timestamp()))


def _cycles(anchor: datetime, every: timedelta, now: datetime) -> tuple[int, datetime]:
    """The last completed cycle number (0: none yet) and when the next one is due."""
    elapsed = now - anchor
    done = max(0, int(elapsed / every)) if elapsed >= every else 0
    return done, anchor + every * (done + 1)


def _repeating(
    *,
    kind: str,
    escalation: str,
    anchor: datetime,
    every: timedelta,
    escalate_after: int,
    now: datetime,
    base_key: str,
    payload: dict[str, object],
    why: Why,
) -> list[Reminder]:
    """A family reminder every ``every`` from ``anchor``, and one escalation to the coordinator
    once ``escalate_after`` reminders have gone unanswered. Returns the due one(s) and the next."""
    done, next_at = _cycles(anchor, every, now)
    found: list[Reminder] = []
    if done >= 1:
        found.append(
            Reminder(kind, Audience.FAMILY, f"{base_key}:{done}", anchor + every * done, payload, why)
        )
    if done >= escalate_after + 1:
        found.append(
            Reminder(
                escalation,
                Audience.COORDINATOR,
                f"{base_key}:escalated",
                anchor + every * (escalate_after + 1),
                {**payload, "reminders": escalate_after},
                "reminders_unanswered",
            )
        )
    found.append(Reminder(kind, Audience.FAMILY, f"{base_key}:{done + 1}", next_at, payload, why))
    if done < escalate_after + 1:
        at = anchor + every * (escalate_after + 1)
        found.append(
            Reminder(
                escalation, Audience.COORDINATOR, f"{base_key}:escalated", at, payload, "if_still_unanswered"
            )
        )
    return found


def _candidates(facts: CaseFacts, policy: Policy, now: datetime) -> list[Reminder]:
    """Every reminder of the case's rules, due ones and the next of each."""
    if facts.state in FINAL_STATES:
        return []
    found: list[Reminder] = []
    case = facts.case_id
    if facts.state == CaseState.RECORDS_GATHERING and facts.missing_items and facts.has_family:
        found += _missing_records(facts, policy, now)
    if facts.has_family:
        for question in facts.family_questions:
            found += _repeating(
                kind="reminder_question",
                escalation="escalation_question",
                anchor=question.asked_at,
                every=policy.question_every,
                escalate_after=policy.escalate_after,
                now=now,
                base_key=f"question:{case}:{question.number}",
                payload={"case_id": case, "number": question.number},
                why="question_unanswered",
            )
    found += _hospital_chase(facts, policy, now)
    if facts.state == CaseState.UNDER_REVIEW:
        found += _review_overdue(facts, policy, now)
    if facts.state == CaseState.HOME_FOLLOW_UP and facts.has_family:
        found += _check_ins(facts, policy, now)
    found += _opinion_receipt(facts)
    stale_at = facts.last_activity_at + policy.stale_after
    found.append(
        Reminder(
            "stale",
            Audience.COORDINATOR,
            f"stale:{case}:{_stamp(facts.last_activity_at)}",
            stale_at,
            {"case_id": case, "days": policy.stale_after.days},
            "no_activity",
        )
    )
    return found


def _missing_records(facts: CaseFacts, policy: Policy, now: datetime) -> list[Reminder]:
    """The family is reminded of the missing items, less those coming another way by a date not
    yet past; when every missing item comes another way, the first reminder waits for the earliest
    of their dates (and resumes then if the item is still missing)."""
    case = facts.case_id
    every = policy.missing_items_every
    anchor = facts.records_activity_at or facts.state_changed_at
    if facts.snoozed_until is not None:
        # The first reminder after a snooze comes when the snooze ends.
        anchor = max(anchor, facts.snoozed_until - every)
    expected = dict(facts.arrivals)
    if all(position in expected for position in facts.missing_items):
        anchor = max(anchor, min(arrival_ends(expected[p]) for p in facts.missing_items) - every)
    due_items = [p for p in facts.missing_items if not item_is_awaited(expected.get(p), now)]
    if not due_items:
        # Everything missing is on its way: nothing is due until the first date has passed.
        ends = min(arrival_ends(expected[p]) for p in facts.missing_items)
        return [
            Reminder(
                "reminder_missing",
                Audience.FAMILY,
                f"missing:{case}:{_stamp(anchor)}:awaited",
                ends,
                {"case_id": case, "items": list(facts.missing_items)},
                "records_awaited",
            )
        ]
    return _repeating(
        kind="reminder_missing",
        escalation="escalation_missing",
        anchor=anchor,
        every=every,
        escalate_after=policy.escalate_after,
        now=now,
        base_key=f"missing:{case}:{_stamp(anchor)}",
        payload={"case_id": case, "items": due_items},
        why="records_missing",
    )


def arrival_ends(expected_at: datetime) -> datetime:
    """When the wait for a record coming another way ends: after the whole of its expected date."""
    return expected_at + ARRIVAL_GRACE


def item_is_awaited(expected_at: datetime | None, now: datetime) -> bool:
    """Whether a missing item's reminders wait: it comes by link or courier by a date not yet past.
    The sweep and the send-time check both ask this, so they agree."""
    return expected_at is not None and now < arrival_ends(expected_at)


def parse_arrival_route(text: str) -> ArrivalRoute:
    """``link`` or ``courier``, as a coordinator types it; anything else is a readable error."""
    try:
        return ArrivalRoute(text.strip().lower())
    except ValueError:
        shown = text.strip()[:20]
        raise InvalidInput(
            f"“{shown}” is not a way a record arrives. Use link or courier.",
            key="arrival_route_unknown",
            shown=shown,
        ) from None


def parse_arrival_date(text: str, today: date) -> datetime:
    """The date a record is expected by (YYYY-MM-DD, today or later, within a year), as midnight UTC
    of that date: the date itself, whatever the reader's zone."""
    shown = text.strip()[:20]
    try:
        day = datetime.strptime(text.strip(), "%Y-%m-%d").date()  # noqa: DTZ007 - a date, no time
    except ValueError:
        raise InvalidInput(
            f"“{shown}” is not a date I can read. Use a date like 2026-12-03.",
            key="date_unreadable",
            shown=shown,
        ) from None
    if day < today:
        raise InvalidInput(f"{shown} is already past. Give today or a later date.", key="day_past", day=day)
    if day > today + timedelta(days=366):
        raise InvalidInput(
            "That is more than a year away. Give a date within the next year.", key="date_too_far"
        )
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def is_check_in_round(days: int, every: int) -> bool:
    """Whether a check-in comes ``days`` into home follow-up: at 7 and 30 days, then every
    ``every`` days until the case is closed."""
    last = CHECK_IN_DAYS[-1]
    return days in CHECK_IN_DAYS or (days > last and (days - last) % max(every, 1) == 0)


def check_in_rounds(elapsed_days: int, every: int) -> tuple[int | None, int]:
    """The latest check-in round whose day has come ``elapsed_days`` into home follow-up (None:
    none yet), and the next one."""
    every = max(every, 1)
    last = CHECK_IN_DAYS[-1]
    if elapsed_days < last:
        came = [d for d in CHECK_IN_DAYS if d <= elapsed_days]
        upcoming_round = next(d for d in CHECK_IN_DAYS if d > elapsed_days)
        return (came[-1] if came else None), upcoming_round
    latest = last + (elapsed_days - last) // every * every
    return latest, latest + every


def _check_ins(facts: CaseFacts, policy: Policy, now: datetime) -> list[Reminder]:
    """The current check-in (once its day has come, if unanswered) and the next one. After downtime
    only the latest round goes out, not every one missed."""
    since = facts.state_changed_at
    elapsed = max(0, (now - since) // timedelta(days=1))
    latest, following = check_in_rounds(elapsed, policy.check_in_every)
    found = []
    for days in (latest, following):
        if days is None or days in facts.answered_check_ins:
            continue
        found.append(
            Reminder(
                "check_in",
                Audience.FAMILY,
                f"checkin:{facts.case_id}:{_stamp(since)}:{days}",
                since + timedelta(days=days),
                {"case_id": facts.case_id, "round": days},
                "check_in_round",
            )
        )
    return found


def _hospital_chase(facts: CaseFacts, policy: Policy, now: datetime) -> list[Reminder]:
    """Chase the hospital when questions to it stay unanswered past the SLA (counted from when
    the hospital was chosen): one reminder per SLA period listing every overdue question."""
    if facts.hospital_set_at is None or not facts.hospital_questions or facts.state not in CHASED_STATES:
        return []
    calendar = policy.calendar
    anchors = {q.number: max(q.asked_at, facts.hospital_set_at) for q in facts.hospital_questions}
    first = min(anchors.values())
    periods = calendar.business_days_between(first, now) // policy.hospital_answer_sla
    next_at = calendar.add_business_days(first, policy.hospital_answer_sla * (periods + 1))
    found = []
    if periods >= 1:
        overdue = sorted(
            n
            for n, at in anchors.items()
            if calendar.business_days_between(at, now) >= policy.hospital_answer_sla
        )
        found.append(
            Reminder(
                "chase_hospital",
                Audience.COORDINATOR,
                f"chase:{facts.case_id}:{_stamp(first)}:{periods}",
                calendar.add_business_days(first, policy.hospital_answer_sla * periods),
                {"case_id": facts.case_id, "questions": overdue, "days": policy.hospital_answer_sla},
                "hospital_unanswered",
            )
        )
    found.append(
        Reminder(
            "chase_hospital",
            Audience.COORDINATOR,
            f"chase:{facts.case_id}:{_stamp(first)}:{periods + 1}",
            next_at,
            {"case_id": facts.case_id, "questions": sorted(anchors), "days": policy.hospital_answer_sla},
            "hospital_may_be_late",
        )
    )
    return found


def _review_overdue(facts: CaseFacts, policy: Policy, now: datetime) -> list[Reminder]:
    """Warn the coordinator when review runs past the SLA (the hospital's stated turnaround, else
    the policy's): the same expected date the family was told, so waiting on the family does not
    count, and a re-route starts the clock again."""
    start = review_started_at(facts.state_changed_at, facts.hospital_set_at)
    sla = facts.review_sla_days or policy.review_sla
    open_waits = [q.asked_at for q in facts.family_questions]
    due = review_due_at(
        start, sla, policy.calendar, family_waits=facts.family_waits, open_since=open_waits, now=now
    )
    key = f"review:{facts.case_id}:{_stamp(start)}"
    payload: dict[str, object] = {"case_id": facts.case_id, "days": sla}
    why: Why = "review_overdue"
    if due <= now:
        return [Reminder("review_overdue", Audience.COORDINATOR, key, now, payload, why)]
    if open_waits:
        return []  # the clock is paused; the sweep looks again when the family answers
    return [Reminder("review_overdue", Audience.COORDINATOR, key, due, payload, why)]


OPINION_REMIND_AFTER = timedelta(days=3)
"""An opinion not confirmed this long after it was sent reminds the family, once."""
OPINION_TELL_COORDINATOR_AFTER = timedelta(days=6)
"""Still not confirmed this long after it was sent (3 days after the family's reminder): the
coordinator is told, once."""


def _opinion_receipt(facts: CaseFacts) -> list[Reminder]:
    """Each written opinion the family has not confirmed: one reminder to each member it reached,
    3 days after it reached them, then one word to the coordinator 3 days after the first.

    A member the file never reached (Telegram refused it, or they joined later and their copy has
    not gone yet) is not asked whether it arrived; an opinion that reached nobody asks nobody
    (the coordinator was told at once that it could not be delivered)."""
    found = []
    case = facts.case_id
    for file_id, _sent_at in facts.unconfirmed_opinions:
        receipts = sorted((at, member) for fid, member, at in facts.opinion_receipts if fid == file_id)
        if not receipts:
            continue
        for received_at, member in receipts if facts.has_family else ():
            found.append(
                Reminder(
                    "opinion_unconfirmed",
                    Audience.FAMILY,
                    f"opinion:{case}:{file_id}:family:{member}",
                    received_at + OPINION_REMIND_AFTER,
                    {
                        "case_id": case,
                        "file_id": file_id,
                        "purpose": "opinion",
                        "days": OPINION_REMIND_AFTER.days,
                    },
                    "opinion_unconfirmed",
                    member=member,
                )
            )
        found.append(
            Reminder(
                "opinion_unconfirmed_staff",
                Audience.COORDINATOR,
                f"opinion:{case}:{file_id}:coordinator",
                receipts[0][0] + OPINION_TELL_COORDINATOR_AFTER,
                {"case_id": case, "file_id": file_id, "days": OPINION_TELL_COORDINATOR_AFTER.days},
                "opinion_still_unconfirmed",
            )
        )
    return found


def due_reminders(facts: CaseFacts, policy: Policy, now: datetime) -> list[Reminder]:
    """The reminders due now (none while the case is paused), one per key."""
    if facts.paused_until is not None and facts.paused_until > now:
        return []
    due: dict[str, Reminder] = {}
    for reminder in _candidates(facts, policy, now):
        if reminder.due_at <= now:
            due.setdefault(reminder.key, reminder)
    return list(due.values())


def upcoming(facts: CaseFacts, policy: Policy, now: datetime) -> list[Reminder]:
    """What is scheduled next and why, soonest first (shown by /reminders)."""
    later = {r.key: r for r in _candidates(facts, policy, now) if r.due_at > now}
    pause = facts.paused_until if facts.paused_until and facts.paused_until > now else None
    return sorted(
        (r if pause is None or r.due_at >= pause else _at(r, pause) for r in later.values()),
        key=lambda r: r.due_at,
    )


def _at(reminder: Reminder, moment: datetime) -> Reminder:
    return replace(reminder, due_at=moment)


def next_due_at(facts: CaseFacts, policy: Policy, now: datetime) -> datetime | None:
    """The earliest moment a rule may fire next: what the sweep's index is ordered by."""
    soonest = upcoming(facts, policy, now)
    return soonest[0].due_at if soonest else None


def check_in_is_open(
    round_: int, state: CaseState, follow_up_since: datetime, now: datetime, every: int = 30
) -> bool:
    """Whether a family may answer the ``round_``-day check-in now: it is a round (7, 30, then every
    ``every`` days), the case is in home follow-up and that day has come (an answer forged ahead
    of time would silence the real check-in)."""
    return (
        is_check_in_round(round_, every)
        and state == CaseState.HOME_FOLLOW_UP
        and now >= follow_up_since + timedelta(days=round_)
    )
