"""Invites that let a family member join a case: created with a random token, stored hashed, used once."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from casebot.db.models import Case, CaseFile, CaseMember, Invite, OutboxMessage, Participant, Question
from casebot.domain.questions import Direction
from casebot.domain.refs import format_ref
from casebot.domain.roles import Role
from casebot.errors import InviteInvalid, NotAllowed
from casebot.services.base import SYSTEM, Actor, ServiceBase
from casebot.services.opinions import file_payload
from casebot.services.participants import display_name_of, pick_locale

# 24 random bytes: 192 bits, 32 URL-safe characters, inside Telegram's 64-character start parameter.
TOKEN_BYTES = 24
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def hash_token(token: str) -> str:
    """The stored form of a token: its SHA-256, so a database leak does not leak invites."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


@dataclass(frozen=True, slots=True)
class NewInvite:
    """An invite just made; ``token`` is shown once and never stored."""

    case_id: int
    reference: str
    token: str
    invite: Invite


@dataclass(frozen=True, slots=True)
class Joined:
    """A redeemed invite: the case joined, and whether the person was already in it."""

    case: Case
    reference: str
    already_member: bool
    participant: Participant


class InviteService(ServiceBase):
    """Creating and redeeming invites."""

    async def create(self, actor: Actor, reference: str | int) -> NewInvite:
        """A fresh single-use invite for a case, valid for the configured time."""
        self.require_staff(actor)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self.now()
        async with self.transaction():
            case = await self.locked_case(actor, reference)
            invite = await Invite.create(
                case_id=case.id,
                token_hash=hash_token(token),
                created_by_id=actor.participant_id,
                created_at=now,
                expires_at=now + self.config.invite_ttl,
            )
            await self.audit(case, actor, "invite_created", touch=False)
        return NewInvite(case.id, format_ref(case.id), token, invite)

    async def redeem(
        self,
        telegram_user_id: int,
        chat_id: int,
        token: str,
        *,
        language_code: str | None = None,
        full_name: str | None = None,
    ) -> Joined:
        """Join the case of an invite and spend it. Used, expired and unknown tokens are refused.

        The person is registered only here, with a valid token: a refused invite leaves no
        trace of them. They start in the service's time zone until they choose theirs.
        """
        if telegram_user_id in self.config.admin_ids:
            raise NotAllowed(
                "Coordinators see every case already; invites are for families.", key="invite_for_families"
            )
        if not _TOKEN_SHAPE.match(token or ""):
            raise InviteInvalid("unknown")
        now = self.now()
        async with self.transaction():
            invite = await Invite.select_for_update().get_or_none(token_hash=hash_token(token))
            if invite is None:
                raise InviteInvalid("unknown")
            if invite.used_at is not None:
                raise InviteInvalid("used")
            if invite.expires_at <= now:
                raise InviteInvalid("expired")
            participant = await Participant.get_or_none(telegram_user_id=telegram_user_id)
            if participant is not None and participant.role.is_staff:
                raise NotAllowed(
                    "Coordinators see every case already; invites are for families.",
                    key="invite_for_families",
                )
            if participant is None:
                participant = await Participant.create(
                    telegram_user_id=telegram_user_id,
                    chat_id=chat_id,
                    role=Role.FAMILY,
                    display_name=display_name_of(full_name),
                    locale=pick_locale(language_code, self.config.default_locale),
                    timezone=self.config.default_timezone,
                    created_at=now,
                )
            joiner = Actor(participant.id, participant.role)
            case = await self.locked_case(SYSTEM, invite.case_id)
            if await CaseMember.exists(case_id=case.id, participant_id=participant.id):
                # Nobody joined: the invite stays for whom it was meant, and nobody is told.
                return Joined(case, format_ref(case.id), True, participant)
            await Invite.filter(id=invite.id).update(used_at=now, used_by_id=participant.id)
            await CaseMember.create(case_id=case.id, participant_id=participant.id, joined_at=now)
            event = await self.audit(case, joiner, "member_joined")
            await self.notify(
                self.coordinator_ids(case, joiner), "member_joined", event, {"case_id": case.id}
            )
            await self._open_questions_to(participant, case)
            await self._opinion_files_to(participant, case)
        return Joined(case, format_ref(case.id), False, participant)

    async def _open_questions_to(self, participant: Participant, case: Case) -> None:
        """The hospital's questions still waiting for the family reach whoever joins, as if they
        had been there when they were asked (a question asked before anyone joined included)."""
        questions = await Question.filter(
            case_id=case.id, direction=Direction.TO_FAMILY, answered_at__isnull=True
        ).order_by("number")
        if not questions:
            return
        now = self.now()
        available = self.not_in_quiet_hours(participant, now)
        await OutboxMessage.bulk_create(
            [
                OutboxMessage(
                    dedupe_key=f"question_for_family:joined:{question.id}:{participant.id}",
                    participant_id=participant.id,
                    case_id=case.id,
                    kind="question_for_family",
                    payload={
                        "case_id": case.id,
                        "question_id": question.id,
                        "number": question.number,
                        "text": question.text,
                    },
                    available_at=available,
                    created_at=now,
                )
                for question in questions
            ],
            ignore_conflicts=True,
        )

    async def _opinion_files_to(self, participant: Participant, case: Case) -> None:
        """The written opinion and its translation, already sent to the family, reach whoever joins
        later too (so a receipt reminder only ever asks about a file the person was sent)."""
        files = await CaseFile.filter(case_id=case.id, purpose__in=["opinion", "translation"]).order_by("id")
        if not files:
            return
        now = self.now()
        available = self.not_in_quiet_hours(participant, now)
        await OutboxMessage.bulk_create(
            [
                OutboxMessage(
                    dedupe_key=f"case_file:joined:{case_file.id}:{participant.id}",
                    participant_id=participant.id,
                    case_id=case.id,
                    kind="case_file",
                    payload=file_payload(case_file),
                    available_at=available,
                    created_at=now,
                )
                for case_file in files
            ],
            ignore_conflicts=True,
        )
