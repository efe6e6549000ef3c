"""Files to the family, the written opinion, its receipt and its translation, through the services."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from casebot.clock import ManualClock
from casebot.db.models import AuditEvent, Case, CaseFile, OutboxMessage, OutboxStatus, Participant
from casebot.domain.notices import Deliver, Drop
from casebot.domain.reminders import CaseFacts, Policy, due_reminders
from casebot.domain.states import CaseState
from casebot.errors import CaseClosed, CaseNotFound, InvalidInput, NotAllowed, OverrideRequired
from casebot.services import Actor, Services
from casebot.services.base import SYSTEM
from casebot.services.checklist import IncomingFile

from ..conftest import START, redeem, register
from .test_cases import make_ready

MB = 1024 * 1024
PDF = IncomingFile("BQAC-opinion", "AgAD-1", "opinion.pdf", 300_000, "application/pdf", "document")


def a_file(kind: str = "document", size: int = 300_000, name: str = "opinion.pdf") -> IncomingFile:
    return IncomingFile(f"id-{kind}-{size}", f"u-{kind}-{size}", name, size, None, kind)


@pytest.fixture
async def case_with_family(services: Services, coordinator: Actor) -> tuple[int, Actor]:
    """C-0001 with one family member (quiet hours off for them)."""
    case = await services.cases.open_case(coordinator, "Lung")
    invite = await services.invites.create(coordinator, case.id)
    person = await register(3001)
    await Participant.filter(id=person.id).update(quiet_hours="")
    await redeem(services, await Participant.get(id=person.id), invite.token)
    return case.id, services.participants.actor_for(person)


async def opinion_rows(participant_id: int | None = None) -> list[str]:
    query = OutboxMessage.filter(kind__startswith="opinion_unconfirmed").order_by("id")
    if participant_id is not None:
        query = query.filter(participant_id=participant_id)
    return [row.kind for row in await query]


async def delivered(clock: ManualClock) -> None:
    """The sender's part: every file row still waiting reaches Telegram now."""
    await OutboxMessage.filter(kind="case_file", status=OutboxStatus.PENDING).update(
        status=OutboxStatus.SENT, sent_at=clock.now()
    )


async def test_a_file_is_kept_audited_and_queued_for_every_family_member(
    services: Services, coordinator: Actor, case_with_family: tuple[int, Actor]
) -> None:
    _, family = case_with_family
    sent = await services.opinions.send_file(coordinator, "C-0001", "send", PDF, "  Bring this  ")
    assert (sent.reference, sent.recipients, sent.file.note) == ("C-0001", 1, "Bring this")
    assert sent.translation_status is None  # a plain file says nothing of the translation
    row = await OutboxMessage.get(kind="case_file")
    assert row.participant_id == family.participant_id
    assert row.payload["telegram_file_id"] == "BQAC-opinion" and row.payload["file_kind"] == "document"
    event = await AuditEvent.get(action="file_sent")
    assert (event.from_value, event.to_value) == (None, f"send:{sent.file.id}")


async def test_the_opinion_makes_the_translation_pending_and_the_translation_sends_it(
    services: Services, coordinator: Actor, case_with_family: tuple[int, Actor]
) -> None:
    case_id, _ = case_with_family
    assert (await services.opinions.send_file(coordinator, case_id, "opinion", PDF)).translation_status == (
        "pending"
    )
    assert (await Case.get(id=case_id)).translation_status == "pending"
    translated = await services.opinions.send_file(coordinator, case_id, "translation", a_file("photo"))
    assert translated.translation_status == "sent"
    # A corrected opinion after the translation does not make it pending again.
    await services.opinions.send_file(coordinator, case_id, "opinion", a_file(size=5))
    assert (await Case.get(id=case_id)).translation_status == "sent"
    changes = await AuditEvent.filter(action="translation_status").order_by("id")
    assert [(e.from_value, e.to_value) for e in changes] == [(None, "pending"), ("pending", "sent")]


@pytest.mark.parametrize(
    ("kind", "size", "limit"),
    [
        ("document", 50 * MB + 1, "at most 50 MB"),
        ("video", 80 * MB, "at most 50 MB"),
        ("photo", 11 * MB, "10 MB"),
    ],
)
async def test_a_file_over_telegrams_upload_limit_is_refused_naming_it_and_nothing_is_queued(
    services: Services,
    coordinator: Actor,
    case_with_family: tuple[int, Actor],
    kind: str,
    size: int,
    limit: str,
) -> None:
    with pytest.raises(InvalidInput, match=limit):
        await services.opinions.send_file(coordinator, "C-0001", "opinion", a_file(kind, size))
    assert await CaseFile.all().count() == 0 and await OutboxMessage.filter(kind="case_file").count() == 0
    # Exactly at the limit goes.
    at_limit = {"document": 50 * MB, "video": 50 * MB, "photo": 10 * MB}[kind]
    await services.opinions.send_file(coordinator, "C-0001", "opinion", a_file(kind, at_limit))


async def test_who_and_where_a_file_may_go(
    services: Services, coordinator: Actor, case_with_family: tuple[int, Actor]
) -> None:
    case_id, family = case_with_family
    with pytest.raises(NotAllowed):
        await services.opinions.send_file(family, case_id, "send", PDF)
    with pytest.raises(CaseNotFound):
        await services.opinions.send_file(coordinator, "C-0042", "send", PDF)
    with pytest.raises(InvalidInput, match="document, a photo or a video"):
        await services.opinions.send_file(coordinator, case_id, "send", a_file("voice"))
    lonely = await services.cases.open_case(coordinator, "nobody joined")
    with pytest.raises(InvalidInput, match="Nobody of the family has joined C-0002"):
        await services.opinions.send_file(coordinator, lonely.id, "opinion", PDF)
    await services.cases.advance(coordinator, case_id, CaseState.WITHDRAWN, reason="they stopped")
    with pytest.raises(CaseClosed):
        await services.opinions.send_file(coordinator, case_id, "opinion", PDF)
    assert await CaseFile.all().count() == 0


async def test_moving_to_opinion_received_needs_the_opinion_file_or_a_reason(
    services: Services, coordinator: Actor, case_with_family: tuple[int, Actor]
) -> None:
    case_id, _ = case_with_family
    await make_ready(services, coordinator, "C-0001")
    await services.cases.advance(coordinator, case_id, CaseState.SENT)
    await services.cases.advance(coordinator, case_id, CaseState.UNDER_REVIEW)
    with pytest.raises(OverrideRequired) as refused:
        await services.cases.advance(coordinator, case_id, CaseState.OPINION_RECEIVED)
    assert refused.value.red_flags == ("no_opinion_file",) and refused.value.missing_items == ()
    assert "no opinion file" in refused.value.message
    assert (await Case.get(id=case_id)).state == CaseState.UNDER_REVIEW

    change = await services.cases.advance(
        coordinator, case_id, CaseState.OPINION_RECEIVED, reason="the hospital handed it over on paper"
    )
    assert change.overridden
    event = await AuditEvent.filter(action="state_overridden").order_by("-id").first()
    assert event is not None and event.reason == "the hospital handed it over on paper"


async def test_with_the_opinion_sent_the_move_needs_no_reason(
    services: Services, coordinator: Actor, case_with_family: tuple[int, Actor]
) -> None:
    case_id, _ = case_with_family
    await make_ready(services, coordinator, "C-0001")
    await services.cases.advance(coordinator, case_id, CaseState.SENT)
    await services.cases.advance(coordinator, case_id, CaseState.UNDER_REVIEW)
    await services.opinions.send_file(coordinator, case_id, "translation", PDF)  # not the opinion itself
    with pytest.raises(OverrideRequired):
        await services.cases.advance(coordinator, case_id, CaseState.OPINION_RECEIVED)
    await services.opinions.send_file(coordinator, case_id, "opinion", PDF)
    change = await services.cases.advance(coordinator, case_id, CaseState.OPINION_RECEIVED)
    assert not change.overridden


async def test_receipt_is_confirmed_once_and_only_by_a_member_of_the_case(
    services: Services, coordinator: Actor, case_with_family: tuple[int, Actor]
) -> None:
    case_id, family = case_with_family
    sent = await services.opinions.send_file(coordinator, case_id, "opinion", PDF)
    plain = await services.opinions.send_file(coordinator, case_id, "send", a_file(size=9))
    stranger = services.participants.actor_for(await register(3999))
    with pytest.raises(CaseNotFound):
        await services.opinions.confirm_receipt(stranger, case_id, sent.file.id)
    with pytest.raises(NotAllowed):
        await services.opinions.confirm_receipt(coordinator, case_id, sent.file.id)
    with pytest.raises(InvalidInput, match="not one of C-0001"):
        await services.opinions.confirm_receipt(family, case_id, plain.file.id)
    confirmed = await services.opinions.confirm_receipt(family, case_id, sent.file.id)
    assert confirmed is not None and confirmed.confirmed_at is not None
    assert await services.opinions.confirm_receipt(family, case_id, sent.file.id) is None
    assert await AuditEvent.filter(action="opinion_confirmed").count() == 1
    kept = await CaseFile.get(id=sent.file.id)
    assert kept.confirmed_by_id == family.participant_id  # type: ignore[attr-defined]
    assert (
        await OutboxMessage.filter(
            kind="opinion_confirmed", participant_id=coordinator.participant_id
        ).count()
        == 1
    )


async def test_an_unconfirmed_opinion_reminds_the_family_once_then_tells_the_coordinator(
    services: Services, coordinator: Actor, clock: ManualClock, case_with_family: tuple[int, Actor]
) -> None:
    case_id, family = case_with_family
    await services.opinions.send_file(coordinator, case_id, "opinion", PDF)
    await delivered(clock)
    clock.advance(timedelta(days=2, hours=23))
    await services.reminders.sweep()
    assert await opinion_rows() == []
    clock.advance(timedelta(hours=1))
    await services.reminders.sweep()
    assert await opinion_rows(family.participant_id) == ["opinion_unconfirmed"]
    reminder = await OutboxMessage.get(kind="opinion_unconfirmed")
    assert reminder.payload["purpose"] == "opinion"  # it carries the confirm button
    for _ in range(3):
        clock.advance(timedelta(days=1))
        await services.reminders.sweep()
    assert await opinion_rows(family.participant_id) == ["opinion_unconfirmed"], "the family is reminded once"
    assert await opinion_rows(coordinator.participant_id) == ["opinion_unconfirmed_staff"]
    clock.advance(timedelta(days=10))
    await services.reminders.sweep()
    assert await opinion_rows() == ["opinion_unconfirmed", "opinion_unconfirmed_staff"]


async def test_a_confirmed_opinion_is_not_reminded_and_a_queued_reminder_is_dropped_at_send_time(
    services: Services, coordinator: Actor, clock: ManualClock, case_with_family: tuple[int, Actor]
) -> None:
    case_id, family = case_with_family
    sent = await services.opinions.send_file(coordinator, case_id, "opinion", PDF)
    await delivered(clock)
    clock.advance(timedelta(days=3))
    await services.reminders.sweep()
    reminder = await OutboxMessage.get(kind="opinion_unconfirmed")
    person = await Participant.get(id=family.participant_id)
    assert isinstance(await services.outbox.check(reminder, person), Deliver)
    await services.opinions.confirm_receipt(family, case_id, sent.file.id)
    assert await services.outbox.check(reminder, person) == Drop("no longer applies")
    clock.advance(timedelta(days=5))
    await services.reminders.sweep()
    assert await opinion_rows() == ["opinion_unconfirmed"], (
        "the coordinator is not told of a confirmed opinion"
    )


async def test_erasing_a_case_deletes_its_files_and_the_files_not_yet_sent(
    services: Services, coordinator: Actor, case_with_family: tuple[int, Actor]
) -> None:
    case_id, _ = case_with_family
    await services.opinions.send_file(coordinator, case_id, "send", PDF, "Ann's scan")
    await services.cases.erase(SYSTEM, case_id)
    assert await CaseFile.filter(case_id=case_id).count() == 0
    rows = await OutboxMessage.filter(kind="case_file")
    assert all(row.status != OutboxStatus.PENDING and row.payload == {} for row in rows)


def test_the_receipt_rule_reminds_at_three_days_and_tells_the_coordinator_at_six() -> None:
    sent_at = START
    facts = CaseFacts(
        case_id=1,
        state=CaseState.OPINION_RECEIVED,
        state_changed_at=START,
        last_activity_at=START,
        unconfirmed_opinions=((7, sent_at),),
        opinion_receipts=((7, 42, sent_at),),
    )
    policy = Policy(stale_after=timedelta(days=365))

    def due(days: float) -> list[str]:
        return [r.kind for r in due_reminders(facts, policy, sent_at + timedelta(days=days))]

    assert due(2.9) == []
    assert due(3) == ["opinion_unconfirmed"]
    assert sorted(due(6)) == ["opinion_unconfirmed", "opinion_unconfirmed_staff"]
    # With nobody of the family left, only the coordinator is told; a finished case reminds nobody.
    alone = replace(facts, has_family=False)
    assert [r.kind for r in due_reminders(alone, policy, sent_at + timedelta(days=6))] == [
        "opinion_unconfirmed_staff"
    ]
    closed = replace(facts, state=CaseState.CLOSED)
    assert due_reminders(closed, policy, sent_at + timedelta(days=7)) == []


def test_the_receipt_rule_asks_only_the_members_the_file_reached_each_at_their_own_time() -> None:
    facts = CaseFacts(
        case_id=1,
        state=CaseState.OPINION_RECEIVED,
        state_changed_at=START,
        last_activity_at=START,
        unconfirmed_opinions=((7, START),),
        opinion_receipts=((7, 42, START), (7, 43, START + timedelta(days=2))),
    )
    policy = Policy(stale_after=timedelta(days=365))

    def family_due(days: float, of: CaseFacts = facts) -> list[int | None]:
        found = due_reminders(of, policy, START + timedelta(days=days))
        return sorted(r.member or 0 for r in found if r.kind == "opinion_unconfirmed")

    assert family_due(3) == [42]  # the later joiner got their copy two days later
    assert family_due(5) == [42, 43]
    # Telegram refused the file to everyone: nobody is asked whether it arrived, nor is the
    # coordinator told they did not confirm (they were told at once it could not be delivered).
    refused = replace(facts, opinion_receipts=())
    assert due_reminders(refused, policy, START + timedelta(days=7)) == []


async def test_a_member_who_joins_later_gets_the_opinion_and_its_translation_and_is_asked_later(
    services: Services, coordinator: Actor, clock: ManualClock, case_with_family: tuple[int, Actor]
) -> None:
    case_id, _ = case_with_family
    await services.opinions.send_file(coordinator, case_id, "send", a_file(name="scan.pdf"))
    opinion = await services.opinions.send_file(coordinator, case_id, "opinion", PDF)
    translation = await services.opinions.send_file(coordinator, case_id, "translation", a_file())
    await delivered(clock)
    clock.advance(timedelta(days=2))
    invite = await services.invites.create(coordinator, case_id)
    later = await register(3002)
    await Participant.filter(id=later.id).update(quiet_hours="")
    await redeem(services, await Participant.get(id=later.id), invite.token)
    copies = await OutboxMessage.filter(kind="case_file", participant_id=later.id).order_by("id")
    assert [row.payload["file_id"] for row in copies] == [opinion.file.id, translation.file.id]
    assert copies[0].payload["telegram_file_id"] == "BQAC-opinion"
    clock.advance(timedelta(days=1, hours=1))
    await services.reminders.sweep()
    assert await opinion_rows(later.id) == [], "not asked about a copy not yet sent"
    await delivered(clock)
    clock.advance(timedelta(days=3))
    await services.reminders.sweep()
    assert await opinion_rows(later.id) == ["opinion_unconfirmed"]


async def test_a_file_telegram_refused_is_reported_to_the_coordinator_and_never_reminded(
    services: Services, coordinator: Actor, clock: ManualClock, case_with_family: tuple[int, Actor]
) -> None:
    case_id, family = case_with_family
    await services.opinions.send_file(coordinator, case_id, "opinion", PDF)
    row = await OutboxMessage.get(kind="case_file")
    await OutboxMessage.filter(id=row.id).update(status=OutboxStatus.DEAD)
    await services.outbox.row_dead(row, "refused")
    await services.outbox.row_dead(row, "refused")  # told once
    told = await OutboxMessage.filter(kind="file_undelivered")
    assert [(r.participant_id, r.payload["reason"], r.payload["purpose"]) for r in told] == [
        (coordinator.participant_id, "refused", "opinion")
    ]
    assert told[0].payload["member_id"] == family.participant_id
    other = await OutboxMessage.get(kind="member_joined")
    await services.outbox.row_dead(other, "refused")  # only files are reported
    assert await OutboxMessage.filter(kind="file_undelivered").count() == 1
    clock.advance(timedelta(days=7))
    await services.reminders.sweep()
    assert await opinion_rows() == []
