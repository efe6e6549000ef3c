"""Invites that let a family member join a case: created with a random token, stored hashed, used once."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from casebot.db.models import Case, CaseMember, Invite, Participant
from casebot.domain.refs import format_ref
from casebot.errors import InviteInvalid, NotAllowed
from casebot.services.base import SYSTEM, Actor, ServiceBase

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


class InviteService(ServiceBase):
    """Creating and redeeming invites."""

    async def create(self, actor: Actor, reference: str | int) -> NewInvite:
        """A fresh single-use invite for a case, valid for the configured time."""
        self.require_staff(actor)
        case = await self.writable_case(actor, reference)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self.now()
        async with in_transaction():
            invite = await Invite.create(
                case_id=case.id,
                token_hash=hash_token(token),
                created_by_id=actor.participant_id,
                created_at=now,
                expires_at=now + self.config.invite_ttl,
            )
            await self.audit(case, actor, "invite_created", touch=False)
        return NewInvite(case.id, format_ref(case.id), token, invite)

    async def redeem(self, participant: Participant, token: str) -> Joined:
        """Join the case of an invite and spend it. Used, expired and unknown tokens are refused."""
        if participant.role.is_staff or participant.telegram_user_id in self.config.admin_ids:
            raise NotAllowed("Coordinators see every case already; invites are for families.")
        if not _TOKEN_SHAPE.match(token or ""):
            raise InviteInvalid("unknown")
        invite = await Invite.get_or_none(token_hash=hash_token(token))
        if invite is None:
            raise InviteInvalid("unknown")
        if invite.used_at is not None:
            raise InviteInvalid("used")
        now = self.now()
        if invite.expires_at <= now:
            raise InviteInvalid("expired")
        case = await self.writable_case(SYSTEM, invite.case_id)
        async with in_transaction():
            spent = await Invite.filter(id=invite.id, used_at__isnull=True).update(
                used_at=now, used_by_id=participant.id
            )
            if spent == 0:
                raise InviteInvalid("used")
            already = await CaseMember.exists(case_id=case.id, participant_id=participant.id)
            if not already:
                await CaseMember.create(case_id=case.id, participant_id=participant.id, joined_at=now)
            joiner = Actor(participant.id, participant.role)
            event = await self.audit(case, joiner, "member_joined")
            await self.notify(
                self.coordinator_ids(case, joiner), "member_joined", event, {"case_id": case.id}
            )
        return Joined(case, format_ref(case.id), already)
