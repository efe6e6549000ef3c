"""What every service shares: who is acting, the clock, finding a case the actor may see, the audit row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from casebot.clock import Clock
from casebot.db.models import AuditEvent, Case, CaseMember, OutboxMessage
from casebot.domain.refs import format_ref, parse_ref
from casebot.domain.roles import Role
from casebot.errors import CaseClosed, CaseNotFound, NotAllowed


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


class ServiceBase:
    """Shared helpers; subclasses add the calls of one area of the domain."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config

    def now(self) -> datetime:
        """The service clock's time."""
        return self.config.clock.now()

    @staticmethod
    def require_staff(actor: Actor) -> None:
        """Coordinator-only calls refuse everyone else before reading anything."""
        if not actor.is_staff:
            raise NotAllowed("Only a coordinator can do that.")

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
        now = self.now()
        rows = [
            OutboxMessage(
                dedupe_key=f"{kind}:{event.id}:{recipient}",
                participant_id=recipient,
                case_id=event.case_id,
                kind=kind,
                payload=payload,
                available_at=now,
                created_at=now,
            )
            for recipient in dict.fromkeys(recipient_ids)
            if recipient is not None
        ]
        if rows:
            await OutboxMessage.bulk_create(rows)

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
