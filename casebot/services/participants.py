"""The people the bot knows: registering them, their preferences, and who is a coordinator."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from casebot.db.models import Participant
from casebot.domain.quiet import parse_quiet_hours
from casebot.domain.roles import Role
from casebot.errors import InvalidInput, NotAllowed
from casebot.services.base import Actor, ServiceBase

SUPPORTED_LOCALES = ("en", "ru", "zh")


def pick_locale(language_code: str | None, default: str) -> str:
    """The supported locale closest to a Telegram language code (zh-hans → zh)."""
    base = (language_code or "").split("-")[0].lower()
    return base if base in SUPPORTED_LOCALES else default


class ParticipantService(ServiceBase):
    """Calls on participants."""

    async def ensure(self, telegram_user_id: int, chat_id: int, language_code: str | None) -> Participant:
        """The participant for a Telegram user, registered on first contact as family."""
        participant = await Participant.get_or_none(telegram_user_id=telegram_user_id)
        if participant is not None:
            return participant
        participant, _ = await Participant.get_or_create(
            telegram_user_id=telegram_user_id,
            defaults={
                "chat_id": chat_id,
                "role": Role.COORDINATOR if telegram_user_id in self.config.admin_ids else Role.FAMILY,
                "locale": pick_locale(language_code, self.config.default_locale),
                "timezone": self.config.default_timezone,
                "created_at": self.now(),
            },
        )
        return participant

    def actor_for(self, participant: Participant) -> Actor:
        """The actor a participant acts as; admins come from settings."""
        if participant.telegram_user_id in self.config.admin_ids:
            return Actor(participant.id, Role.ADMIN)
        return Actor(participant.id, participant.role)

    async def set_role(self, actor: Actor, telegram_user_id: int, role: Role) -> Participant:
        """Add or remove a coordinator (admins only)."""
        if actor.role != Role.ADMIN:
            raise NotAllowed("Only an admin can add or remove coordinators.")
        if role == Role.FAMILY and telegram_user_id in self.config.admin_ids:
            raise InvalidInput("An admin listed in CASEBOT_ADMIN_IDS stays a coordinator.")
        participant, _ = await Participant.get_or_create(
            telegram_user_id=telegram_user_id,
            defaults={
                "chat_id": telegram_user_id,
                "role": role,
                "locale": self.config.default_locale,
                "timezone": self.config.default_timezone,
                "created_at": self.now(),
            },
        )
        if participant.role != role:
            await Participant.filter(id=participant.id).update(role=role)
            participant.role = role
        return participant

    async def set_timezone(self, participant: Participant, zone: str) -> Participant:
        """Set a participant's IANA time zone."""
        try:
            ZoneInfo(zone.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(
                f"“{zone[:40]}” is not a time zone I know. Use a name like Europe/Moscow or Asia/Shanghai."
            ) from None
        await Participant.filter(id=participant.id).update(timezone=zone.strip())
        participant.timezone = zone.strip()
        return participant

    async def set_locale(self, participant: Participant, locale: str) -> Participant:
        """Set the language of a participant's messages."""
        cleaned = locale.strip().lower()
        if cleaned not in SUPPORTED_LOCALES:
            raise InvalidInput("Choose one of: " + ", ".join(SUPPORTED_LOCALES) + ".")
        await Participant.filter(id=participant.id).update(locale=cleaned)
        participant.locale = cleaned
        return participant

    async def set_quiet_hours(self, participant: Participant, text: str) -> Participant:
        """Set a participant's quiet hours ("off" for none)."""
        window = parse_quiet_hours(text)
        stored = str(window) if window else ""
        await Participant.filter(id=participant.id).update(quiet_hours=stored)
        participant.quiet_hours = stored
        return participant
