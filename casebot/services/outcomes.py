"""The hospital's answer to a sent packet, the hospitals a case went to, and the review's own clock.

Every hospital a case goes to is a HospitalRoute, in order; the case's hospital, department and
reviewer mirror the current (last) route. The hospital's outcome is recorded on that route.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from casebot.db.models import Case, ChecklistItem, HospitalRoute, Question
from casebot.domain.calendar import HOSPITAL_ZONE
from casebot.domain.outcomes import (
    Outcome,
    OutcomeReasonRequired,
    check_outcome,
    is_repeat,
    needs_reason,
    review_due_at,
    review_running,
    review_started_at,
    target_state,
)
from casebot.domain.questions import Direction
from casebot.domain.refs import format_ref
from casebot.domain.reminders import Policy
from casebot.domain.states import CaseState, transition_for
from casebot.domain.text import MAX_NAME_LENGTH, clean_name, clean_text
from casebot.errors import InvalidInput, StateConflict
from casebot.services.base import Actor, ServiceBase

# Items the hospital asks for at once: more than this is a list to add one by one.
MAX_ITEMS = 10


@dataclass(frozen=True, slots=True)
class Where:
    """Where a case goes: hospital, department, reviewer (may be None), stated turnaround."""

    hospital: str
    department: str
    reviewer: str | None = None
    turnaround: int | None = None

    @classmethod
    def cleaned(
        cls, hospital: str, department: str, reviewer: str | None, turnaround: int | None = None
    ) -> Where:
        """Names as a coordinator typed them, cleaned (refused when blank or too long)."""
        return cls(
            clean_name(hospital, what="hospital", limit=MAX_NAME_LENGTH),
            clean_name(department, what="department", limit=MAX_NAME_LENGTH),
            clean_name(reviewer, what="reviewer", limit=MAX_NAME_LENGTH) if reviewer else None,
            turnaround,
        )


@dataclass(frozen=True, slots=True)
class RouteChange:
    """What a /hospital or a re-route did: the current route, and whether it is a new hospital
    after sending (a re-route) and whether anything changed at all."""

    case: Case
    route: HospitalRoute
    rerouted: bool
    changed: bool


@dataclass(frozen=True, slots=True)
class OutcomeResult:
    """An outcome recorded (or, ``repeat``, found already recorded)."""

    reference: str
    case_id: int
    outcome: Outcome
    position: int
    state: CaseState
    repeat: bool = False
    reason: str | None = None
    items: tuple[ChecklistItem, ...] = ()
    route: HospitalRoute | None = None
    expected: str | None = None
    moved_from: CaseState | None = None
    # How many of the family the notice about it went to (0: nobody of the family has joined).
    family_told: int = 0


async def current_route(case_id: int) -> HospitalRoute | None:
    """The hospital the case goes to now: its last route."""
    return await HospitalRoute.filter(case_id=case_id).order_by("-position").first()


def _where(hospital: str | None, department: str | None, reviewer: str | None) -> str | None:
    """Where a case goes, as an audit row keeps it (cut to the column's 64 characters)."""
    if not hospital and not department and not reviewer:
        return None
    return " | ".join(part or "-" for part in (hospital, department, reviewer))[:64]


async def review_expected_at(case: Case, policy: Policy, now: datetime) -> datetime:
    """When the review of ``case`` (under review) is expected to end: the hospital's stated
    turnaround (else the service's review SLA) in China's business days from the start of the
    review or the last re-route, the days spent waiting on the family not counted."""
    questions = await Question.filter(case_id=case.id, direction=Direction.TO_FAMILY).only(
        "created_at", "answered_at"
    )
    return review_due_at(
        review_started_at(case.state_changed_at, case.hospital_set_at),
        case.review_sla_days or policy.review_sla,
        policy.calendar,
        family_waits=[(q.created_at, q.answered_at) for q in questions if q.answered_at is not None],
        open_since=[q.created_at for q in questions if q.answered_at is None],
        now=now,
    )


async def is_reviewing(case: Case, route: HospitalRoute | None = None) -> bool:
    """Whether a hospital reviews ``case`` now (see domain/outcomes.py review_running): not when
    the current hospital declined, nor while a re-route made during the review awaits acceptance."""
    route = route or await current_route(case.id)
    return review_running(
        case.state,
        Outcome(route.outcome) if route is not None and route.outcome else None,
        position=route.position if route is not None else 0,
        route_created_at=route.created_at if route is not None else None,
        state_changed_at=case.state_changed_at,
    )


def hospital_date(moment: datetime) -> str:
    """The hospital's calendar date of a moment, as a notice payload carries it (ISO)."""
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(HOSPITAL_ZONE)).date().isoformat()


async def record_turnaround(
    service: ServiceBase, actor: Actor, case: Case, days: int, route: HospitalRoute | None = None
) -> bool:
    """Keep the hospital's stated turnaround on the current route and the case (inside the
    caller's transaction, the case locked). False when it was already that."""
    route = route or await current_route(case.id)
    if case.review_sla_days == days and (route is None or route.turnaround_days == days):
        return False
    if route is not None:
        await HospitalRoute.filter(id=route.id).update(turnaround_days=days)
        route.turnaround_days = days
    await Case.filter(id=case.id).update(review_sla_days=days)
    await service.audit(
        case,
        actor,
        "review_sla_set",
        from_value=str(case.review_sla_days) if case.review_sla_days else None,
        to_value=str(days),
    )
    case.review_sla_days = days
    return True


async def write_route(service: ServiceBase, actor: Actor, case: Case, where: Where) -> RouteChange:
    """Set where a locked case goes (inside the caller's transaction).

    The first hospital is route 1. Before any packet went to the current hospital, a change
    updates that route (the audit row keeps before and after). Once it was sent (the case is
    past gathering, or the hospital already answered), another hospital or department is a
    re-route: a new route, the case mirroring it, the chase clock started again. The same
    hospital and department with a reviewer named or corrected (hospitals name the reviewer once
    they have the packet) is no re-route: it updates the current route, the turnaround kept.
    """
    now = service.now()
    route = await current_route(case.id)
    before = _where(case.hospital, case.department, case.reviewer)
    after = _where(where.hospital, where.department, where.reviewer)
    same_place = route is not None and (route.hospital, route.department) == (
        where.hospital,
        where.department,
    )
    same = same_place and route is not None and route.reviewer == where.reviewer
    sent = route is not None and (route.outcome is not None or case.state != CaseState.RECORDS_GATHERING)
    rerouted = False
    if same and route is not None:
        changed = False
    elif route is None or not sent or same_place:
        if route is None:
            route = await HospitalRoute.create(
                case_id=case.id,
                position=1,
                hospital=where.hospital,
                department=where.department,
                reviewer=where.reviewer,
                created_at=now,
            )
        else:
            await HospitalRoute.filter(id=route.id).update(
                hospital=where.hospital, department=where.department, reviewer=where.reviewer
            )
            route.hospital, route.department, route.reviewer = (
                where.hospital,
                where.department,
                where.reviewer,
            )
        await Case.filter(id=case.id).update(
            hospital=where.hospital,
            department=where.department,
            reviewer=where.reviewer,
            hospital_set_at=case.hospital_set_at or now,
        )
        await service.audit(case, actor, "hospital_set", from_value=before, to_value=after)
        changed = True
    else:
        if route.outcome is None:
            await HospitalRoute.filter(id=route.id, outcome__isnull=True).update(
                outcome=Outcome.REROUTED.value, outcome_at=now
            )
        route = await HospitalRoute.create(
            case_id=case.id,
            position=route.position + 1,
            hospital=where.hospital,
            department=where.department,
            reviewer=where.reviewer,
            created_at=now,
        )
        # The new hospital's turnaround is its own: until it says, the service's SLA applies.
        await Case.filter(id=case.id).update(
            hospital=where.hospital,
            department=where.department,
            reviewer=where.reviewer,
            hospital_set_at=now,
            review_sla_days=None,
        )
        case.review_sla_days = None
        await service.audit(
            case, actor, "hospital_rerouted", from_value=before, to_value=f"{route.position}:{after}"[:64]
        )
        rerouted = changed = True
    case.hospital, case.department, case.reviewer = where.hospital, where.department, where.reviewer
    if where.turnaround is not None:
        changed = await record_turnaround(service, actor, case, where.turnaround, route) or changed
    return RouteChange(case, route, rerouted, changed)


class OutcomeService(ServiceBase):
    """Recording the hospital's answer on the current route."""

    async def record(
        self,
        actor: Actor,
        reference: str | int,
        outcome: Outcome,
        *,
        reason: str | None = None,
        items: tuple[str, ...] | list[str] = (),
        where: Where | None = None,
        position: int | None = None,
        expected: CaseState | None = None,
    ) -> OutcomeResult:
        """Record the hospital's outcome on the case's current route.

        ``position`` and ``expected`` come from a button: the route and state the card showed.
        The same outcome again (a doubled press) records nothing and returns ``repeat``.
        """
        self.require_staff(actor)
        reason = clean_text(reason, what="reason") if reason and reason.strip() else None
        if needs_reason(outcome) and reason is None:
            raise OutcomeReasonRequired(outcome)
        asked = [clean_text(item, what="item") for item in items if item and item.strip()]
        if len(asked) > MAX_ITEMS:
            raise InvalidInput(
                f"At most {MAX_ITEMS} items at once; add the others with /additem.",
                key="too_many_items",
                limit=MAX_ITEMS,
            )
        if outcome == Outcome.REROUTED and where is None:
            raise InvalidInput(
                "A re-route needs the new hospital: reroute <hospital> | <department> | <reviewer>",
                key="reroute_needs_hospital",
            )
        now = self.now()
        async with self.transaction():
            case = await self.locked_case(actor, reference)
            shown = format_ref(case.id)
            route = await current_route(case.id)
            current = Outcome(route.outcome) if route is not None and route.outcome else None
            if position is not None and (route is None or route.position != position):
                raise InvalidInput(
                    f"{shown} has gone to another hospital since that card was shown; see /case {shown}.",
                    key="route_changed",
                    reference=shown,
                )
            if route is not None and is_repeat(outcome, case.state, current):
                return OutcomeResult(
                    shown, case.id, outcome, route.position, case.state, repeat=True, route=route
                )
            if expected is not None and case.state != expected:
                raise StateConflict(shown, expected.value, case.state.value)
            check_outcome(shown, outcome, case.state, current, routed=route is not None)
            assert route is not None
            if outcome == Outcome.REROUTED:
                assert where is not None
                change = await write_route(self, actor, case, where)
                if not change.rerouted:
                    raise InvalidInput(
                        f"{shown} already goes to {where.hospital}, {where.department}.",
                        key="already_routed",
                        reference=shown,
                        hospital=where.hospital,
                        department=where.department,
                    )
                return OutcomeResult(
                    shown,
                    case.id,
                    outcome,
                    change.route.position,
                    case.state,
                    reason=reason,
                    route=change.route,
                )
            await HospitalRoute.filter(id=route.id).update(
                outcome=outcome.value, outcome_reason=reason, outcome_at=now
            )
            event = await self.audit(
                case,
                actor,
                "hospital_outcome",
                from_value=f"{route.position}:{current.value if current else 'open'}",
                to_value=f"{route.position}:{outcome.value}",
                reason=reason,
            )
            added: list[ChecklistItem] = []
            if outcome == Outcome.NEEDS_MORE:
                last = await ChecklistItem.filter(case_id=case.id).order_by("-position").first()
                start = last.position if last else 0
                for n, title in enumerate(asked or [reason or ""], start=start + 1):
                    added.append(
                        await ChecklistItem.create(
                            case_id=case.id, position=n, title=title, status_changed_at=now
                        )
                    )
                    await self.audit(case, actor, "item_added", to_value=str(n), touch=False)
            source = case.state
            target = target_state(outcome, source)
            expected_on = None
            family = await self.family_ids(case)
            if target is not None:
                expected_on = await self._move(actor, case, target, reason)
            elif (
                outcome == Outcome.ACCEPTED
                and source == CaseState.UNDER_REVIEW
                and not await is_reviewing(case, route)
            ):
                # A new hospital (after a re-route, or a decline taken back) accepts during the
                # review: its review starts now, and the family is told its date. (``route`` is
                # as it was before this outcome: the update above went to the database only.)
                expected_on = await self._restart_review(actor, case)
            payload: dict[str, object] = {"case_id": case.id, "reason": reason}
            if outcome == Outcome.NEEDS_MORE:
                payload["items"] = [{"position": i.position, "title": i.title} for i in added]
                await self.notify(family, "more_records_needed", event, payload)
            elif outcome == Outcome.DECLINED:
                await self.notify(family, "hospital_declined", event, {"case_id": case.id})
            return OutcomeResult(
                shown,
                case.id,
                outcome,
                route.position,
                target or source,
                reason=reason,
                items=tuple(added),
                route=route,
                expected=expected_on,
                moved_from=source if target else None,
                family_told=len(family),
            )

    async def _restart_review(self, actor: Actor, case: Case) -> str:
        """Start the review of the case (under review) again from now, for the hospital that just
        accepted it, and tell the family its expected date; returns that date."""
        now = self.now()
        changed = await Case.filter(id=case.id, state=CaseState.UNDER_REVIEW).update(
            state_changed_at=now, last_activity_at=now, reminder_due_at=now
        )
        if changed == 0:
            actual = (await Case.get(id=case.id)).state
            raise StateConflict(format_ref(case.id), CaseState.UNDER_REVIEW.value, actual.value)
        case.state_changed_at = now
        expected = hospital_date(await review_expected_at(case, self.config.policy, now))
        event = await self.audit(
            case, actor, "review_restarted", from_value=None, to_value=expected, touch=False
        )
        payload: dict[str, object] = {
            "case_id": case.id,
            "source": CaseState.UNDER_REVIEW.value,
            "target": CaseState.UNDER_REVIEW.value,
            "expected": expected,
            "restarted": True,
        }
        await self.notify(await self.family_ids(case), "state_changed", event, payload)
        await self.notify(self.coordinator_ids(case, actor), "state_changed_staff", event, payload)
        return expected

    async def _move(self, actor: Actor, case: Case, target: CaseState, reason: str | None) -> str | None:
        """Move the locked case as the outcome says (compare-and-set on its state); returns the
        expected end of review when it moves to under review."""
        now = self.now()
        source = case.state
        transition_for(source, target)
        changed = await Case.filter(id=case.id, state=source).update(
            state=target,
            state_changed_at=now,
            last_activity_at=now,
            reminder_due_at=now,
            records_activity_at=now if target == CaseState.RECORDS_GATHERING else case.records_activity_at,
        )
        if changed == 0:
            actual = (await Case.get(id=case.id)).state
            raise StateConflict(format_ref(case.id), source.value, actual.value)
        case.state, case.state_changed_at = target, now
        event = await self.audit(
            case,
            actor,
            "state_changed",
            from_value=source.value,
            to_value=target.value,
            reason=reason,
            touch=False,
        )
        payload: dict[str, object] = {"case_id": case.id, "source": source.value, "target": target.value}
        expected = None
        if target == CaseState.UNDER_REVIEW:
            expected = hospital_date(await review_expected_at(case, self.config.policy, now))
            payload["expected"] = expected
            # Asking for more records tells the family in its own notice, which says why.
            await self.notify(await self.family_ids(case), "state_changed", event, payload)
        await self.notify(self.coordinator_ids(case, actor), "state_changed_staff", event, payload)
        return expected

    async def routes(self, actor: Actor, reference: str | int) -> list[HospitalRoute]:
        """Every hospital the case went to, in order (coordinators)."""
        self.require_staff(actor)
        case = await self.visible_case(actor, reference)
        return list(await HospitalRoute.filter(case_id=case.id).order_by("position"))
