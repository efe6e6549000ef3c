"""The outbox's questions to the domain: does a queued message still apply when its turn comes, and what
follows when its recipient turns out to have blocked the bot."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from casebot.db.models import (
    Case,
    CaseFile,
    CaseMember,
    CheckIn,
    ChecklistItem,
    OutboxMessage,
    Participant,
    Question,
)
from casebot.domain.checklist import ItemStatus
from casebot.domain.notices import (
    DIGEST_KINDS,
    Deliver,
    Drop,
    Postpone,
    SendDecision,
    is_for_family,
    is_held_for_quiet_hours,
)
from casebot.domain.questions import Direction
from casebot.domain.reminders import item_is_awaited
from casebot.domain.states import CaseState
from casebot.services.base import ServiceBase, ServiceConfig
from casebot.services.digest import DigestService
from casebot.services.outcomes import is_reviewing

# Reminders speak of something still to be done; once the case is closed or withdrawn they die.
_REMINDER_KINDS = (
    "reminder_", "escalation_", "chase_hospital", "check_in", "review_overdue", "stale",
)  # fmt: skip
# Questions waiting for an answer: once it is recorded they are not put again (nor, once the case
# is closed, to the family; a family's own question still reaches the coordinator).
_QUESTION_KINDS = frozenset(
    {"question_for_family", "reminder_question", "escalation_question", "family_question"}
)
BLOCKED = "recipient has blocked the bot"
# A coordinator's file to the family (it goes while its row is kept: erasure deletes it), and the
# reminders of an opinion not yet confirmed (they die once it is, or once the case is finished).
_FILE_KINDS = frozenset({"case_file", "opinion_unconfirmed", "opinion_unconfirmed_staff"})
# Why a file did not reach a family member, as the sender's on_dead hook says it.
UNDELIVERED_REASONS = frozenset({"refused", "gave_up", "unrenderable"})
_HOME_DOCTOR_STATES = frozenset({CaseState.OPINION_RECEIVED, CaseState.HOME_FOLLOW_UP})


class OutboxRules(ServiceBase):
    """Asked by the sender right before each message goes out, with the recipient as they are now."""

    def __init__(self, config: ServiceConfig, digests: DigestService | None = None) -> None:
        super().__init__(config)
        self.digests = digests or DigestService(config)

    async def check(self, row: OutboxMessage, person: Participant) -> SendDecision:
        """Deliver (with the payload as of now), drop, or postpone to the end of quiet hours.

        A message dies unsent when its recipient no longer stands where it was meant for them:
        a family member who left the case or became staff, a coordinator who was removed or
        no longer holds the case, a person who blocked the bot; and a reminder dies when what
        it reminds of was done meanwhile. Otherwise a message that is not urgent waits for the
        end of the recipient's quiet hours in their time zone as set now.
        """
        if person.blocked:
            return Drop(BLOCKED)
        payload: dict[str, Any] = row.payload
        if row.case_id is not None:
            case = await Case.get_or_none(id=row.case_id)
            if case is None or case.erased_at is not None:
                return Drop("the case was erased")
            refusal = await self._not_for(person, case, row.kind)
            if refusal is not None:
                return Drop(refusal)
            still_due = await self._still_due(row, case)
            if still_due is None:
                return Drop("no longer applies")
            # Family texts speak to the moment the case is in when they go out (the disclaimer).
            payload = {**still_due, "state": case.state.value}
        elif row.kind in DIGEST_KINDS:
            # A weekly digest: still wanted, still to staff or to a member of its cases.
            digest = await self.digests.still_due(row, person)
            if isinstance(digest, Drop):
                return digest
            payload = digest.payload
        elif not is_for_family(row.kind) and not self._is_staff(person):
            return Drop("the recipient is no longer a coordinator")
        if is_held_for_quiet_hours(row.kind):
            now = self.now()
            allowed = self.not_in_quiet_hours(person, now)
            if allowed > now:
                return Postpone(allowed)
        return Deliver(payload)

    def _is_staff(self, person: Participant) -> bool:
        return person.role.is_staff or person.telegram_user_id in self.config.admin_ids

    async def _not_for(self, person: Participant, case: Case, kind: str) -> str | None:
        """Why this person should no longer get a message of this kind about this case, or None."""
        if is_for_family(kind):
            if self._is_staff(person) or not await CaseMember.exists(
                case_id=case.id, participant_id=person.id
            ):
                return "the recipient is no longer a member of the case"
            return None
        if not self._is_staff(person):
            return "the recipient is no longer a coordinator"
        if person.telegram_user_id in self.config.admin_ids or case.coordinator_id in (None, person.id):
            return None
        return "the case is now held by another coordinator"

    async def _still_due(self, row: OutboxMessage, case: Case) -> dict[str, Any] | None:
        """A message's payload as of now (narrowed), or None when what it says no longer holds.

        Every kind is asked, not only reminders: a question answered meanwhile is not put again,
        a block undone meanwhile is not reported, a state left meanwhile is not announced as now.
        What only reports a past event (a file arrived, an answer recorded) always holds.
        """
        payload = dict(row.payload)
        if row.kind in _QUESTION_KINDS:
            if case.state.is_final and row.kind != "family_question":
                return None  # a closed case asks the family nothing more, nor reminds of it
            question = await Question.get_or_none(case_id=case.id, number=payload.get("number"))
            return payload if question is not None and question.answered_at is None else None
        if row.kind == "ask_home_doctor":
            # Asked once the opinion is in: not again once the family has named their oncologist.
            asking = case.home_doctor is None and case.state in _HOME_DOCTOR_STATES
            return payload if asking else None
        if row.kind == "state_changed":
            return payload if payload.get("target") == case.state.value else None
        if row.kind == "recipient_blocked":
            return payload if await _still_blocked(row, case) else None
        if row.kind == "more_records_needed":
            # Only while the case is still back in gathering for it.
            return payload if case.state == CaseState.RECORDS_GATHERING else None
        if row.kind == "hospital_declined":
            return None if case.state.is_final else payload
        if row.kind in _FILE_KINDS:
            return await _file_still_due(row.kind, payload, case)
        if not row.kind.startswith(_REMINDER_KINDS):
            return payload
        if case.state.is_final:
            return None
        if row.kind in ("reminder_missing", "escalation_missing"):
            if case.state != CaseState.RECORDS_GATHERING:
                return None
            missing = await ChecklistItem.filter(case_id=case.id, status=ItemStatus.MISSING).order_by(
                "position"
            )
            before = {item["position"] for item in payload.get("items", [])}
            now = self.now()
            payload["items"] = [
                {"position": i.position, "code": i.code, "title": i.title}
                for i in missing
                # A record coming by link or courier by a date not yet past is not asked for.
                if i.position in before and not item_is_awaited(i.arrival_expected_at, now)
            ]
            return payload if payload["items"] else None
        if row.kind == "chase_hospital":
            open_numbers = set(
                await Question.filter(
                    case_id=case.id, direction=Direction.TO_HOSPITAL, answered_at__isnull=True
                ).values_list("number", flat=True)
            )
            payload["questions"] = [n for n in payload.get("questions", []) if n in open_numbers]
            return payload if payload["questions"] else None
        if row.kind == "check_in":
            answered = await CheckIn.exists(case_id=case.id, round=payload.get("round"))
            return None if answered or case.state != CaseState.HOME_FOLLOW_UP else payload
        if row.kind == "review_overdue":
            # Not for a hospital that declined, nor for a re-route its hospital has not accepted.
            return payload if case.state == CaseState.UNDER_REVIEW and await is_reviewing(case) else None
        if row.kind == "stale":
            # Anything done on the case since the notice was queued: it is no longer idle.
            return payload if case.last_activity_at <= row.created_at else None
        return payload

    async def recipient_blocked(self, row: OutboxMessage, person: Participant) -> None:
        """Telegram refused a message because the person blocked the bot: remember it, and tell the
        coordinator of the case once a day, so someone reaches the family another way."""
        async with self.transaction():
            await Participant.filter(id=person.id).update(blocked=True)
            if row.case_id is None or is_for_family(row.kind) is False:
                return
            case = await Case.get_or_none(id=row.case_id)
            if case is None or case.erased_at is not None or case.coordinator_id in (None, person.id):
                return
            await OutboxMessage.bulk_create(
                [blocked_notice(person.id, case, self.now())], ignore_conflicts=True
            )

    async def row_dead(self, row: OutboxMessage, reason: str) -> None:
        """An outbox row given up although it was due (Telegram refused it, its retries ran out):
        a coordinator's file to the family is reported to the case's coordinator (or the admins),
        so someone gets it to that family member another way. Other kinds are only logged."""
        if row.kind != "case_file" or row.case_id is None:
            return
        async with self.transaction():
            case = await Case.get_or_none(id=row.case_id)
            if case is None or case.erased_at is not None:
                return
            if case.coordinator_id is not None:
                recipients = [case.coordinator_id]
            else:
                admins = await Participant.filter(telegram_user_id__in=list(self.config.admin_ids))
                recipients = [admin.id for admin in admins]
            now = self.now()
            payload = {
                "case_id": case.id,
                "file_id": row.payload.get("file_id"),
                "purpose": row.payload.get("purpose"),
                "member_id": row.participant_id,
                "reason": reason if reason in UNDELIVERED_REASONS else "refused",
            }
            await OutboxMessage.bulk_create(
                [
                    OutboxMessage(
                        dedupe_key=f"file_undelivered:{row.id}:{recipient}",
                        participant_id=recipient,
                        case_id=case.id,
                        kind="file_undelivered",
                        payload=payload,
                        available_at=now,
                        created_at=now,
                    )
                    for recipient in recipients
                ],
                ignore_conflicts=True,
            )


async def _still_blocked(row: OutboxMessage, case: Case) -> bool:
    """Whether the family member a recipient_blocked notice is about still blocks the bot and
    still belongs to the case (a block undone overnight is not reported in the morning)."""
    member_id = row.payload.get("member_id")
    if not isinstance(member_id, int):
        # Queued before the payload named the member: the dedupe key does.
        _, _, rest = row.dedupe_key.partition(":")
        member_id = int(rest.partition(":")[0]) if rest.partition(":")[0].isdigit() else None
    if member_id is None:
        return True
    return await Participant.exists(id=member_id, blocked=True) and await CaseMember.exists(
        case_id=case.id, participant_id=member_id
    )


async def _file_still_due(kind: str, payload: dict[str, Any], case: Case) -> dict[str, Any] | None:
    """A file goes while it is kept; a reminder of its receipt, while the case is open and the
    family has not confirmed it."""
    case_file = await CaseFile.get_or_none(id=payload.get("file_id"), case_id=case.id)
    if case_file is None:
        return None
    if kind == "case_file":
        return payload
    if case.state.is_final or case_file.confirmed_at is not None:
        return None
    return payload


def blocked_notice(person_id: int, case: Case, now: datetime) -> OutboxMessage:
    """The notice to a case's coordinator that a family member blocked the bot: one a day per case,
    however the bot learnt of it (a refused send, or Telegram's my_chat_member update)."""
    return OutboxMessage(
        dedupe_key=f"recipient_blocked:{person_id}:{case.id}:{now.date().isoformat()}",
        participant_id=case.coordinator_id,
        case_id=case.id,
        kind="recipient_blocked",
        payload={"case_id": case.id, "member_id": person_id},
        available_at=now,
        created_at=now,
    )
