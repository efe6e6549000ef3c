"""The people the bot knows: registering them, their preferences, who is a coordinator, and reachability."""

from __future__ import annotations

from dataclasses import dataclass

from casebot.db.models import Case, OutboxMessage, OutboxStatus, Participant
from casebot.domain.quiet import parse_quiet_hours
from casebot.domain.roles import Role
from casebot.domain.states import OPEN_STATES
from casebot.domain.text import MAX_NAME_LENGTH, clean_name
from casebot.domain.zones import parse_timezone
from casebot.errors import InvalidInput, InvalidText, NotAllowed
from casebot.services.base import Actor, ServiceBase
from casebot.services.outbox import blocked_notice

SUPPORTED_LOCALES = ("en", "ru", "zh")


def pick_locale(language_code: str | None, default: str) -> str:
    """The supported locale closest to a Telegram language code (zh-hans → zh)."""
    base = (language_code or "").split("-")[0].lower()
    return base if base in SUPPORTED_LOCALES else default


def display_name_of(full_name: str | None) -> str:
    """The name a person shows on Telegram, cleaned for keeping (empty when nothing is left)."""
    try:
        return clean_name(full_name, what="name", limit=MAX_NAME_LENGTH)
    except InvalidText:
        return ""


@dataclass(frozen=True, slots=True)
class RoleChange:
    """A coordinator added or removed; on removal, the open cases handed over and to whom."""

    participant: Participant
    handed_over: tuple[int, ...] = ()
    new_holder: Participant | None = None


class ParticipantService(ServiceBase):
    """Calls on participants."""

    async def find(self, telegram_user_id: int) -> Participant | None:
        """The participant of a Telegram user, if the bot knows them."""
        return await Participant.get_or_none(telegram_user_id=telegram_user_id)

    async def ensure_admin(
        self, telegram_user_id: int, chat_id: int, language_code: str | None
    ) -> Participant:
        """An admin listed in settings is registered on first contact (as staff)."""
        if telegram_user_id not in self.config.admin_ids:
            raise NotAllowed(
                "Only an admin listed in CASEBOT_ADMIN_IDS is registered on first contact.",
                key="admin_not_listed",
            )
        participant, _ = await Participant.get_or_create(
            telegram_user_id=telegram_user_id,
            defaults=self._new_person(chat_id, Role.COORDINATOR, pick_locale(language_code, "")),
        )
        return participant

    def _new_person(self, chat_id: int, role: Role, locale: str) -> dict[str, object]:
        return {
            "chat_id": chat_id,
            "role": role,
            "locale": locale or self.config.default_locale,
            "timezone": self.config.default_timezone,
            "created_at": self.now(),
        }

    def actor_for(self, participant: Participant) -> Actor:
        """The actor a participant acts as; admins come from settings."""
        if participant.telegram_user_id in self.config.admin_ids:
            return Actor(participant.id, Role.ADMIN)
        return Actor(participant.id, participant.role)

    async def add_coordinator(self, actor: Actor, telegram_user_id: int) -> RoleChange:
        """Make someone a coordinator (admins only); they need not have opened the bot yet."""
        self._require_admin(actor)
        async with self.transaction():
            participant, _ = await Participant.get_or_create(
                telegram_user_id=telegram_user_id,
                defaults=self._new_person(telegram_user_id, Role.COORDINATOR, ""),
            )
            if participant.role != Role.COORDINATOR:
                await Participant.filter(id=participant.id).update(role=Role.COORDINATOR)
                participant.role = Role.COORDINATOR
        return RoleChange(participant)

    async def remove_coordinator(
        self, actor: Actor, telegram_user_id: int, hand_to: int | None = None
    ) -> RoleChange:
        """Take away someone's coordinator role (admins only) and hand their open cases to another
        coordinator (``hand_to``, a Telegram user id) or to the admin doing it.

        Notices still waiting for the removed coordinator about those cases go to the new
        holder instead, who is told which cases they now hold; nothing about a family reaches
        the person who left.
        """
        self._require_admin(actor)
        if telegram_user_id in self.config.admin_ids:
            raise InvalidInput(
                "An admin listed in CASEBOT_ADMIN_IDS stays a coordinator.", key="admin_stays_coordinator"
            )
        async with self.transaction():
            leaving = await Participant.select_for_update().get_or_none(telegram_user_id=telegram_user_id)
            if leaving is None or leaving.role != Role.COORDINATOR:
                raise InvalidInput(
                    f"{telegram_user_id} is not a coordinator; nothing was changed.",
                    key="not_a_coordinator",
                    user_id=telegram_user_id,
                )
            holder = await self._new_holder(actor, hand_to, leaving)
            cases = list(
                await Case.select_for_update()
                .filter(coordinator_id=leaving.id, state__in=list(OPEN_STATES))
                .order_by("id")
            )
            await Participant.filter(id=leaving.id).update(role=Role.FAMILY)
            leaving.role = Role.FAMILY
            handed = tuple(case.id for case in cases)
            if handed:
                await Case.filter(id__in=list(handed)).update(coordinator_id=holder.id)
                await self._hand_over_notices(leaving, holder, list(handed))
                events = [
                    await self.audit(
                        case,
                        actor,
                        "coordinator_assigned",
                        from_value=str(leaving.id),
                        to_value=str(holder.id),
                        reason="coordinator removed",
                    )
                    for case in cases
                ]
                if holder.id != actor.participant_id:
                    await self.notify([holder.id], "cases_handed_over", events[0], {"cases": list(handed)})
        return RoleChange(leaving, handed, holder)

    async def _hand_over_notices(
        self, leaving: Participant, holder: Participant, case_ids: list[int]
    ) -> None:
        """The notices still waiting for the leaving coordinator about these cases become the new
        holder's, whole and under the key they would have had as the holder's own: a rule that
        queues the same notice for the holder later (the sweep, after the hand-over made the case
        due) meets that key and adds nothing, and one the holder has already is not doubled.

        A message partly sent to the leaving coordinator starts again from its first part: the
        new holder never saw the parts that went out."""
        rows = list(
            await OutboxMessage.select_for_update().filter(
                participant_id=leaving.id, case_id__in=case_ids, status=OutboxStatus.PENDING
            )
        )
        if not rows:
            return
        suffix = f":{leaving.id}"
        renamed = {
            row.id: f"{row.dedupe_key[: -len(suffix)]}:{holder.id}"
            if row.dedupe_key.endswith(suffix)
            else row.dedupe_key
            for row in rows
        }
        others = await OutboxMessage.filter(dedupe_key__in=list(set(renamed.values()))).exclude(
            id__in=[row.id for row in rows]
        )
        taken = {other.dedupe_key for other in others}
        claimed: set[str] = set()
        for row in rows:
            key = renamed[row.id]
            if key in taken or key in claimed:
                await OutboxMessage.filter(id=row.id).update(
                    status=OutboxStatus.DEAD, last_error="handed over: the new holder has it already"
                )
                continue
            claimed.add(key)
            await OutboxMessage.filter(id=row.id).update(
                participant_id=holder.id,
                dedupe_key=key[:200],
                parts_sent=0,
                part_message_ids=None,
                sent_message_id=None,
                last_message_id=None,
            )

    async def _new_holder(self, actor: Actor, hand_to: int | None, leaving: Participant) -> Participant:
        if hand_to is None:
            holder = await Participant.get_or_none(id=actor.participant_id)
        else:
            holder = await Participant.get_or_none(telegram_user_id=hand_to)
            if holder is None or not (holder.role.is_staff or hand_to in self.config.admin_ids):
                raise InvalidInput(
                    f"{hand_to} is not a coordinator; nothing was changed.",
                    key="not_a_coordinator",
                    user_id=hand_to,
                )
        if holder is None or holder.id == leaving.id:
            raise InvalidInput(
                "Hand the cases to another coordinator; nothing was changed.", key="hand_to_another"
            )
        return holder

    @staticmethod
    def _require_admin(actor: Actor) -> None:
        if actor.role != Role.ADMIN:
            raise NotAllowed("Only an admin can add or remove coordinators.", key="admin_only")

    async def reachable_again(self, participant: Participant) -> bool:
        """Someone who had blocked the bot wrote, pressed a button or unblocked it: they can be
        reached again, and their reminders resume from now (the ones that died are not replayed).
        Returns whether anything changed."""
        if not participant.blocked:
            return False
        async with self.transaction():
            changed = await Participant.filter(id=participant.id, blocked=True).update(blocked=False)
            if changed:
                await Case.filter(members__participant_id=participant.id, state__in=list(OPEN_STATES)).update(
                    reminder_due_at=self.now()
                )
        participant.blocked = False
        return bool(changed)

    async def unreachable(self, participant_id: int) -> bool:
        """Telegram says the person blocked the bot; returns whether that is news. The coordinator of
        each of their open cases is told, as when a send is refused: no send will be tried now."""
        async with self.transaction():
            changed = await Participant.filter(id=participant_id, blocked=False).update(blocked=True)
            if changed:
                cases = await Case.filter(
                    members__participant_id=participant_id,
                    state__in=list(OPEN_STATES),
                    erased_at__isnull=True,
                    coordinator_id__isnull=False,
                ).exclude(coordinator_id=participant_id)
                now = self.now()
                await OutboxMessage.bulk_create(
                    [blocked_notice(participant_id, case, now) for case in cases], ignore_conflicts=True
                )
        return bool(changed)

    async def set_timezone(self, participant: Participant, zone: str) -> Participant:
        """Set a participant's IANA time zone."""
        canonical = parse_timezone(zone)
        async with self.transaction():
            # The weekly digest comes at their local day and hour: the next pass schedules it anew.
            await Participant.filter(id=participant.id).update(timezone=canonical, next_digest_at=None)
        participant.timezone = canonical
        participant.next_digest_at = None
        return participant

    async def set_locale(self, participant: Participant, locale: str) -> Participant:
        """Set the language of a participant's messages."""
        cleaned = locale.strip().lower()
        if cleaned not in SUPPORTED_LOCALES:
            raise InvalidInput(
                "Choose one of: " + ", ".join(SUPPORTED_LOCALES) + ".",
                key="locale_unknown",
                locales=SUPPORTED_LOCALES,
            )
        async with self.transaction():
            await Participant.filter(id=participant.id).update(locale=cleaned)
        participant.locale = cleaned
        return participant

    async def set_quiet_hours(self, participant: Participant, text: str) -> Participant:
        """Set a participant's quiet hours ("off" for none)."""
        window = parse_quiet_hours(text)
        stored = str(window) if window else ""
        async with self.transaction():
            await Participant.filter(id=participant.id).update(quiet_hours=stored)
        participant.quiet_hours = stored
        return participant
