"""The outbox sender against the Bot API emulator over HTTP: a real aiogram Bot, real rows, real limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiogram import Bot

from casebot.clock import Clock, ManualClock
from casebot.db.database import Database
from casebot.db.models import Case, OutboxMessage, Participant
from casebot.delivery import OutboxSender, SendLimits
from casebot.delivery.hooks import OnBlocked
from casebot.domain.roles import Role
from casebot.rendering import Renderer
from casebot.testing import BotAPIEmulator, SentMessage

from .composing import notice_composer

TOKEN = "424242:DELIVERY-TEST-TOKEN"


class VirtualTime:
    """A monotonic clock whose sleeps pass at once: the sender's pauses cost the test nothing.

    Use it only while the emulator does not enforce Telegram's limits (those run on real time).
    """

    def __init__(self) -> None:
        self.now = 1_000.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


@pytest.fixture
async def telegram() -> AsyncIterator[BotAPIEmulator]:
    """The Bot API emulator, listening on a local port."""
    async with BotAPIEmulator(TOKEN) as emulator:
        yield emulator


@pytest.fixture
async def bot(telegram: BotAPIEmulator) -> AsyncIterator[Bot]:
    """A real aiogram Bot pointed at the emulator."""
    client = telegram.create_bot()
    try:
        yield client
    finally:
        await client.session.close()


@pytest.fixture
def virtual_time() -> VirtualTime:
    """Virtual monotonic time for the sender's pacing."""
    return VirtualTime()


def mark_blocked_and_tell_coordinator(clock: Clock) -> OnBlocked:
    """An ``on_blocked`` hook doing what casebot's services do: the participant is marked blocked,
    and the case's coordinator gets one ``recipient_blocked`` notice."""

    async def on_blocked(row: OutboxMessage, participant: Participant) -> None:
        await Participant.filter(id=participant.id).update(blocked=True)
        if row.case_id is None:
            return
        case = await Case.get_or_none(id=row.case_id)
        if case is None or case.coordinator_id is None or case.coordinator_id == participant.id:
            return
        now = clock.now()
        await OutboxMessage.get_or_create(
            dedupe_key=f"recipient_blocked:{participant.id}:{case.id}",
            defaults={
                "participant_id": case.coordinator_id,
                "case_id": case.id,
                "kind": "recipient_blocked",
                "payload": {"case_id": case.id},
                "available_at": now,
                "created_at": now,
            },
        )

    return on_blocked


SenderFactory = Callable[..., OutboxSender]


@pytest.fixture
def make_sender(bot: Bot, db: Database, clock: ManualClock) -> SenderFactory:
    """Build a sender on the test database and clock; keyword arguments override the defaults
    (``compose``: casebot's notices)."""

    def build(**options: Any) -> OutboxSender:
        options.setdefault("limits", SendLimits())
        options.setdefault("compose", notice_composer(Renderer()))
        return OutboxSender(options.pop("bot", bot), db, options.pop("clock", clock), **options)

    return build


class Outbox:
    """Writes participants, cases and outbox rows straight into the database, like the services do."""

    def __init__(self, telegram: BotAPIEmulator, clock: Clock) -> None:
        self.telegram = telegram
        self.clock = clock
        self._keys = 0

    async def people(self, first_id: int, count: int = 1, *, role: Role = Role.FAMILY) -> list[Participant]:
        """``count`` participants with Telegram ids from ``first_id``, each with an opened private chat."""
        now = self.clock.now()
        await Participant.bulk_create(
            [
                Participant(
                    telegram_user_id=user_id,
                    chat_id=user_id,
                    role=role,
                    locale="en",
                    timezone="Asia/Shanghai",
                    created_at=now,
                )
                for user_id in range(first_id, first_id + count)
            ]
        )
        for user_id in range(first_id, first_id + count):
            self.telegram.user(user_id).open_chat()
        return await Participant.filter(telegram_user_id__gte=first_id, telegram_user_id__lt=first_id + count)

    async def person(self, user_id: int, *, role: Role = Role.FAMILY) -> Participant:
        """One participant with an opened private chat."""
        return (await self.people(user_id, role=role))[0]

    async def group(self, chat_id: int, *, user_id: int) -> Participant:
        """A participant reached through a group chat the bot is in."""
        self.telegram.group(chat_id)
        return await Participant.create(
            telegram_user_id=user_id,
            chat_id=chat_id,
            locale="en",
            timezone="Asia/Shanghai",
            created_at=self.clock.now(),
        )

    async def case(self, coordinator: Participant | None) -> Case:
        """A case, with its coordinator."""
        now = self.clock.now()
        return await Case.create(
            label="second opinion",
            coordinator=coordinator,
            created_at=now,
            state_changed_at=now,
            last_activity_at=now,
        )

    async def enqueue(
        self,
        participant: Participant,
        *,
        case: Case | None = None,
        marker: str | None = None,
        available_at: datetime | None = None,
        payload: dict[str, Any] | None = None,
    ) -> OutboxMessage:
        """A member_joined notice; ``marker`` (instead of the case reference) makes its text unique.
        ``payload`` replaces the whole payload."""
        self._keys += 1
        now = self.clock.now()
        if payload is None:
            payload = {"ref": marker} if marker is not None else {}
        return await OutboxMessage.create(
            dedupe_key=f"test:{self._keys}:{participant.id}",
            participant_id=participant.id,
            case_id=case.id if case is not None else None,
            kind="member_joined",
            payload=payload,
            available_at=available_at or now,
            created_at=now,
        )

    async def enqueue_many(
        self, participants: list[Participant], *, per_person: int = 1, available_at: datetime | None = None
    ) -> list[OutboxMessage]:
        """``per_person`` notices for each participant, each text marked with ``ROW-<key>``."""
        now = self.clock.now()
        rows = []
        for round_ in range(per_person):
            for participant in participants:
                self._keys += 1
                rows.append(
                    OutboxMessage(
                        dedupe_key=f"bulk:{self._keys}",
                        participant_id=participant.id,
                        kind="member_joined",
                        payload={"ref": f"ROW-{participant.id}-{round_}"},
                        available_at=available_at or now,
                        created_at=now,
                    )
                )
        await OutboxMessage.bulk_create(rows, batch_size=500)
        return await OutboxMessage.all().order_by("id")


@pytest.fixture
def outbox(telegram: BotAPIEmulator, clock: ManualClock, db: Database) -> Outbox:
    """Helpers that write outbox rows and the people they go to."""
    return Outbox(telegram, clock)


def texts(messages: list[SentMessage]) -> list[str]:
    """What a person read: the plain text of each message."""
    return [message.plain_text for message in messages]


def later(clock: ManualClock, **delta: float) -> datetime:
    """A moment after the clock's now."""
    return clock.now() + timedelta(**delta)
