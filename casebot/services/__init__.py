"""The only code that writes: each call is one transaction with its audit row inside it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from casebot.clock import Clock
from casebot.domain.calendar import HOSPITAL_ZONE, BusinessCalendar
from casebot.domain.quiet import parse_quiet_hours
from casebot.services.base import Actor, ServiceConfig
from casebot.services.cases import CaseService
from casebot.services.checklist import ChecklistService
from casebot.services.digest import DigestService, DigestSettings
from casebot.services.exports import ExportService
from casebot.services.invites import InviteService
from casebot.services.opinions import OpinionService
from casebot.services.outbox import OutboxRules
from casebot.services.outcomes import OutcomeService
from casebot.services.participants import ParticipantService
from casebot.services.questions import QuestionService
from casebot.services.reminders import ReminderService, ReminderSettings
from casebot.services.views import CaseViews

__all__ = ["Actor", "DigestSettings", "ReminderSettings", "ServiceConfig", "Services"]


@dataclass(frozen=True, slots=True)
class Services:
    """Every service of casebot, built once at the composition root and handed to handlers."""

    cases: CaseService
    checklist: ChecklistService
    questions: QuestionService
    invites: InviteService
    participants: ParticipantService
    views: CaseViews
    reminders: ReminderService
    outbox: OutboxRules
    outcomes: OutcomeService
    opinions: OpinionService
    digest: DigestService
    exports: ExportService

    @classmethod
    def build(
        cls,
        clock: Clock,
        *,
        admin_ids: frozenset[int] = frozenset(),
        default_locale: str = "en",
        default_timezone: str = "Asia/Shanghai",
        invite_ttl: timedelta = timedelta(days=7),
        reminders: ReminderSettings | None = None,
        digest: DigestSettings | None = None,
    ) -> Services:
        """Wire the services over one clock and configuration."""
        reminders = reminders or ReminderSettings()
        config = ServiceConfig(
            clock=clock,
            admin_ids=admin_ids,
            default_locale=default_locale,
            default_timezone=default_timezone,
            invite_ttl=invite_ttl,
            quiet_hours=parse_quiet_hours(reminders.quiet_hours) if reminders.quiet_hours else None,
            policy=replace(
                reminders.policy,
                calendar=BusinessCalendar(HOSPITAL_ZONE, reminders.holidays, official=True),
            ),
        )
        digests = DigestService(config, digest)
        return cls(
            cases=CaseService(config),
            checklist=ChecklistService(config),
            questions=QuestionService(config),
            invites=InviteService(config),
            participants=ParticipantService(config),
            views=CaseViews(config, stale_after=reminders.policy.stale_after),
            reminders=ReminderService(config, reminders),
            outbox=OutboxRules(config, digests),
            outcomes=OutcomeService(config),
            opinions=OpinionService(config),
            digest=digests,
            exports=ExportService(config),
        )
