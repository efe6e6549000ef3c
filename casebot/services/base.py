"""What every service shares: who is acting, the clock, finding a case the actor may see, the audit row."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise.transactions import in_transaction

from casebot.clock import Clock
from casebot.db.models import AuditEvent, Case, CaseMember, OutboxMessage, Participant
from casebot.domain.calendar import next_allowed
from casebot.domain.notices import is_held_for_quiet_hours
from casebot.domain.quiet import QuietHours, parse_quiet_hours
from casebot.domain.refs import format_ref, parse_ref
from casebot.domain.reminders import Policy
from casebot.domain.roles import Role
from casebot.errors import CaseClosed, CaseNotFound, NotAllowed


@dataclass(slots=True)
class WriteLog:
    """What the service calls of one request committed: the error root says from it whether a
    change was saved before something else failed."""

    committed: int = 0


_write_log: ContextVar[WriteLog | None] = ContextVar("casebot_write_log", default=None)


def start_write_log() -> WriteLog:
    """Count the writes committed from here on in this task (one request)."""
    log = WriteLog()
    _write_log.set(log)
    return log


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: a participant with a role, or the system itself (participant_id None)."""

    participant_id: int | None
    role: Role

    @property
    def is_staff(self) -> bool:
        """Coordinators and admins."""
        return self.role.is_staff


SYSTEM = Actor(participant_id=None, role=Role.SYSTEM)


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """The settings services need, read once at the composition root."""

    clock: Clock
    admin_ids: frozenset[int]
    default_locale: str
    default_timezone: str
    invite_ttl: timedelta
    quiet_hours: QuietHours | None = field(default=None)
    # The reminder rules' intervals over the hospital's business days (the review's clock).
    policy: Policy = field(default_factory=Policy)


class ServiceBase:
    """Shared helpers; subclasses add the calls of one area of the domain."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config

    def now(self) -> datetime:
        """The service clock's time."""
        return self.config.clock.now()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """One write: everything inside commits together or not at all."""
        async with in_transaction():
            yield
        log = _write_log.get()
        if log is not None:
            log.committed += 1

    @staticmethod
    def require_staff(actor: Actor) -> None:
        """Coordinator-only calls refuse everyone else before reading anything."""
        if not actor.is_staff:
            raise NotAllowed("Only a coordinator can do that.", key="staff_only")

    @staticmethod
    async def visible_case(actor: Actor, reference: str | int) -> Case:
        """The case behind a reference, if the actor may see it.

        A family member asking for a case that is not theirs gets the same answer as for
        a case that does not exist, so references cannot be probed.
        """
        case_id = reference if isinstance(reference, int) else parse_ref(reference)
        shown = format_ref(case_id)
        case = await Case.get_or_none(id=case_id)
        if case is None:
            raise CaseNotFound(shown)
        if actor.role in (Role.FAMILY,) and not await CaseMember.exists(
            case_id=case_id, participant_id=actor.participant_id
        ):
            raise CaseNotFound(shown)
        return case

    async def writable_case(self, actor: Actor, reference: str | int) -> Case:
        """A visible case that is still open (closed and withdrawn cases are read-only)."""
        case = await self.visible_case(actor, reference)
        if case.state.is_final:
            raise CaseClosed(format_ref(case.id), case.state.value)
        return case

    @staticmethod
    async def lock_case(case: Case) -> None:
        """Serialise writers of one case inside a transaction (a no-op on SQLite, whose
        transactions already hold the single connection)."""
        await Case.select_for_update().filter(id=case.id).only("id").first()

    async def locked_case(self, actor: Actor, reference: str | int, *, writable: bool = True) -> Case:
        """Inside a transaction: lock the case row, then read it and check the actor may act on it.

        Every check that gates a write runs on what this returns, after the lock, so a
        withdrawal or another change committed meanwhile cannot slip between check and write.
        """
        case = await self.visible_case(actor, reference)
        locked = await Case.select_for_update().get(id=case.id)
        if writable and locked.state.is_final:
            raise CaseClosed(format_ref(locked.id), locked.state.value)
        return locked

    async def audit(
        self,
        case: Case,
        actor: Actor,
        action: str,
        *,
        from_value: str | None = None,
        to_value: str | None = None,
        reason: str | None = None,
        touch: bool = True,
    ) -> AuditEvent:
        """Write the one audit row of a change, and mark the case active."""
        now = self.now()
        if touch:
            # Any change may move a reminder: the next sweep looks at the case again.
            await Case.filter(id=case.id).update(last_activity_at=now, reminder_due_at=now)
        return await AuditEvent.create(
            case_id=case.id,
            actor_id=actor.participant_id,
            actor_role=actor.role.value,
            action=action,
            from_value=from_value,
            to_value=to_value,
            reason=reason,
            created_at=now,
        )

    async def notify(
        self,
        recipient_ids: list[int],
        kind: str,
        event: AuditEvent,
        payload: dict[str, Any],
    ) -> None:
        """Queue a notice of a change for each recipient, inside the change's transaction.

        The dedupe key ties the notice to its audit row, so one change never notifies one
        person twice, whatever retries happen.
        """
        wanted = [recipient for recipient in dict.fromkeys(recipient_ids) if recipient is not None]
        if not wanted:
            return
        now = self.now()
        held = is_held_for_quiet_hours(kind)
        recipients = await Participant.filter(id__in=wanted) if held else []
        not_before = {person.id: self.not_in_quiet_hours(person, now) for person in recipients}
        await OutboxMessage.bulk_create(
            [
                OutboxMessage(
                    dedupe_key=f"{kind}:{event.id}:{recipient}",
                    participant_id=recipient,
                    case_id=event.case_id,
                    kind=kind,
                    payload=payload,
                    available_at=not_before.get(recipient, now),
                    created_at=now,
                )
                for recipient in wanted
            ]
        )

    def quiet_hours_of(self, person: Participant) -> QuietHours | None:
        """A person's own quiet hours, or the service default when they set none."""
        if person.quiet_hours is None:
            return self.config.quiet_hours
        return parse_quiet_hours(person.quiet_hours or "off")

    def not_in_quiet_hours(self, person: Participant, moment: datetime) -> datetime:
        """``moment``, or the end of the person's quiet hours when it falls inside them (in the
        service's default zone when theirs is not one this machine knows)."""
        return next_allowed(moment, self.zone_of(person), self.quiet_hours_of(person))

    def zone_of(self, person: Participant) -> str:
        """The person's time zone, or the service's default when theirs is unknown here (a zone
        removed from the tz database, a row edited by hand): one such person must not stop a
        pass over everyone."""
        try:
            ZoneInfo(person.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return self.config.default_timezone
        return person.timezone

    @staticmethod
    async def family_ids(case: Case) -> list[int]:
        """The participants of the family of a case."""
        members = await CaseMember.filter(case_id=case.id).only("participant_id")
        return [member.participant_id for member in members]

    @staticmethod
    def coordinator_ids(case: Case, actor: Actor) -> list[int]:
        """The coordinator of a case, unless they made the change themselves (they see the reply)."""
        if case.coordinator_id is None or case.coordinator_id == actor.participant_id:
            return []
        return [case.coordinator_id]
