"""Reminder rules: pure functions of what is known about a case and the time now.

Each rule yields at most one reminder per cycle. A reminder's key names its cycle, and the
outbox refuses a key twice, so a reminder is never sent twice; only the current cycle is
produced, so after downtime an overdue reminder goes out once, not once per missed interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from casebot.domain.calendar import HOSPITAL_ZONE, BusinessCalendar
from casebot.domain.states import FINAL_STATES, CaseState

CHECK_IN_DAYS = (7, 30)
# The hospital is chased while it still has the case: not once the family has gone home with the opinion.
CHASED_STATES = frozenset(
    {CaseState.RECORDS_GATHERING, CaseState.SENT, CaseState.UNDER_REVIEW, CaseState.OPINION_RECEIVED}
)


class Audience(StrEnum):
    """Who a reminder is for."""

    FAMILY = "family"
    COORDINATOR = "coordinator"


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
    has_family: bool = True


@dataclass(frozen=True, slots=True)
class Policy:
    """The intervals and SLAs, from settings."""

    missing_items_every: timedelta = timedelta(days=3)
    escalate_after: int = 3
    question_every: timedelta = timedelta(days=2)
    hospital_answer_sla: int = 3
    review_sla: int = 10
    stale_after: timedelta = timedelta(days=14)
    calendar: BusinessCalendar = field(default_factory=lambda: BusinessCalendar(HOSPITAL_ZONE, official=True))


@dataclass(frozen=True, slots=True)
class Reminder:
    """One reminder: its kind, who gets it, its cycle key, when it is due, and what it says."""

    kind: str
    audience: Audience
    key: str
    due_at: datetime
    payload: dict[str, object]
    why: str


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
    why: str,
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
                f"{escalate_after} reminders went unanswered",
            )
        )
    found.append(Reminder(kind, Audience.FAMILY, f"{base_key}:{done + 1}", next_at, payload, why))
    if done < escalate_after + 1:
        at = anchor + every * (escalate_after + 1)
        found.append(
            Reminder(
                escalation, Audience.COORDINATOR, f"{base_key}:escalated", at, payload, "if still unanswered"
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
        anchor = facts.records_activity_at or facts.state_changed_at
        if facts.snoozed_until is not None:
            # The first reminder after a snooze comes when the snooze ends.
            anchor = max(anchor, facts.snoozed_until - policy.missing_items_every)
        found += _repeating(
            kind="reminder_missing",
            escalation="escalation_missing",
            anchor=anchor,
            every=policy.missing_items_every,
            escalate_after=policy.escalate_after,
            now=now,
            base_key=f"missing:{case}:{_stamp(anchor)}",
            payload={"case_id": case, "items": list(facts.missing_items)},
            why="records are missing",
        )
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
                why=f"the hospital's question Q{question.number} is unanswered",
            )
    found += _hospital_chase(facts, policy, now)
    if facts.state == CaseState.UNDER_REVIEW:
        found += _review_overdue(facts, policy, now)
    if facts.state == CaseState.HOME_FOLLOW_UP and facts.has_family:
        for days in CHECK_IN_DAYS:
            if days not in facts.answered_check_ins:
                at = facts.state_changed_at + timedelta(days=days)
                found.append(
                    Reminder(
                        "check_in",
                        Audience.FAMILY,
                        f"checkin:{case}:{_stamp(facts.state_changed_at)}:{days}",
                        at,
                        {"case_id": case, "round": days},
                        f"the {days}-day home follow-up check-in",
                    )
                )
    stale_at = facts.last_activity_at + policy.stale_after
    found.append(
        Reminder(
            "stale",
            Audience.COORDINATOR,
            f"stale:{case}:{_stamp(facts.last_activity_at)}",
            stale_at,
            {"case_id": case, "days": policy.stale_after.days},
            f"no activity for {policy.stale_after.days} days",
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
                f"questions to the hospital unanswered for {policy.hospital_answer_sla} business days",
            )
        )
    found.append(
        Reminder(
            "chase_hospital",
            Audience.COORDINATOR,
            f"chase:{facts.case_id}:{_stamp(first)}:{periods + 1}",
            next_at,
            {"case_id": facts.case_id, "questions": sorted(anchors), "days": policy.hospital_answer_sla},
            "questions to the hospital may go past the answer SLA",
        )
    )
    return found


def _review_overdue(facts: CaseFacts, policy: Policy, now: datetime) -> list[Reminder]:
    """Warn the coordinator when review runs past the SLA; waiting on the family does not count."""
    calendar = policy.calendar
    start = facts.state_changed_at
    waits = [(s, e) for s, e in facts.family_waits if e > start]
    open_waits = [q.asked_at for q in facts.family_questions]
    spent = calendar.business_days_excluding(start, now, [*waits, *((at, now) for at in open_waits)])
    key = f"review:{facts.case_id}:{_stamp(start)}"
    payload: dict[str, object] = {"case_id": facts.case_id, "days": policy.review_sla}
    why = f"under review for {policy.review_sla} business days"
    if spent >= policy.review_sla:
        return [Reminder("review_overdue", Audience.COORDINATOR, key, now, payload, why)]
    if open_waits:
        return []  # the clock is paused; the sweep looks again when the family answers
    remaining = policy.review_sla - spent
    return [
        Reminder(
            "review_overdue",
            Audience.COORDINATOR,
            key,
            calendar.add_business_days(now, remaining),
            payload,
            why,
        )
    ]


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
    return Reminder(reminder.kind, reminder.audience, reminder.key, moment, reminder.payload, reminder.why)


def next_due_at(facts: CaseFacts, policy: Policy, now: datetime) -> datetime | None:
    """The earliest moment a rule may fire next: what the sweep's index is ordered by."""
    soonest = upcoming(facts, policy, now)
    return soonest[0].due_at if soonest else None


def check_in_is_open(round_: int, state: CaseState, follow_up_since: datetime, now: datetime) -> bool:
    """Whether a family may answer the ``round_``-day check-in now: the case is in home follow-up
    and that day has come (an answer forged ahead of time would silence the real check-in)."""
    return (
        round_ in CHECK_IN_DAYS
        and state == CaseState.HOME_FOLLOW_UP
        and now >= follow_up_since + timedelta(days=round_)
    )
