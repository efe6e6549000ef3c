"""The weekly digest pass: who gets one, once per week whatever restarts happen, in a bounded number of
queries, and what still applies when it is sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from tortoise.backends.sqlite.client import SqliteClient, SqliteTransactionWrapper

from casebot.clock import ManualClock
from casebot.db.models import Case, CaseMember, ChecklistItem, OutboxMessage, Participant, Question
from casebot.domain.checklist import DEFAULT_CHECKLIST
from casebot.domain.notices import Deliver, Drop, Postpone
from casebot.domain.questions import STANDARD_HOSPITAL_QUESTIONS, Direction
from casebot.domain.roles import Role
from casebot.domain.states import CaseState
from casebot.services import Actor, DigestSettings, Services
from casebot.services.base import SYSTEM
from casebot.services.digest import DigestService

from ..conftest import ADMIN_TELEGRAM_ID, START, redeem, register

WEEK = timedelta(days=7)
THIS_WEEK = "2026-W48"  # START is Monday 09:00 in Shanghai, everyone's zone here


async def join(services: Services, coordinator: Actor, telegram_user_id: int, case_id: int) -> Participant:
    invite = await services.invites.create(coordinator, case_id)
    person = await register(telegram_user_id)
    await redeem(services, person, invite.token)
    return await Participant.get(id=person.id)


async def digests(participant_id: int | None = None) -> list[OutboxMessage]:
    query = OutboxMessage.filter(kind__startswith="digest_").order_by("id")
    if participant_id is not None:
        query = query.filter(participant_id=participant_id)
    return list(await query)


@pytest.fixture
async def family_case(services: Services, coordinator: Actor) -> tuple[int, Participant]:
    case = await services.cases.open_case(coordinator, "Lung, Mrs Ivanova")
    return case.id, await join(services, coordinator, 3001, case.id)


async def test_each_person_gets_one_digest_a_week_whatever_runs_again(
    services: Services, clock: ManualClock, coordinator: Actor, family_case: tuple[int, Participant]
) -> None:
    case_id, member = family_case
    assert await services.digest.run_due() == 2  # scheduled now (09:00 there) and queued at once
    rows = await digests()
    assert {(row.participant_id, row.kind) for row in rows} == {
        (member.id, "digest_family"),
        (coordinator.participant_id, "digest_staff"),
    }
    family = next(row for row in rows if row.kind == "digest_family")
    assert family.dedupe_key == f"digest:{member.id}:{THIS_WEEK}"
    assert (family.case_id, family.priority) == (None, 1)
    assert [c["case_id"] for c in family.payload["cases"]] == [case_id]
    assert "Ivanova" not in json.dumps([row.payload for row in rows])  # no names, no labels

    # Again, from a second instance, by the command line, later in the week: nothing new.
    assert await services.digest.run_due() == 0
    await DigestService(services.digest.config, services.digest.settings).run_due()
    assert await services.digest.send_now() == 0
    clock.advance(timedelta(days=3))
    await services.digest.run_due()
    assert len(await digests()) == 2

    # Next Monday at 09:00 their time: the next week's.
    clock.set(START + WEEK - timedelta(minutes=1))
    assert await services.digest.run_due() == 0
    clock.advance(timedelta(minutes=1))
    assert await services.digest.run_due() == 2
    assert {row.dedupe_key for row in await digests(member.id)} == {
        f"digest:{member.id}:{THIS_WEEK}",
        f"digest:{member.id}:2026-W49",
    }


async def test_closed_withdrawn_blocked_and_opted_out_people_get_no_digest(
    services: Services, coordinator: Actor
) -> None:
    kept = await services.cases.open_case(coordinator, "Kept")
    gone = await services.cases.open_case(coordinator, "Gone")
    stays = await join(services, coordinator, 3001, kept.id)
    withdrawn = await join(services, coordinator, 3002, gone.id)
    blocked = await join(services, coordinator, 3003, kept.id)
    opted_out = await join(services, coordinator, 3004, kept.id)
    await services.cases.advance(coordinator, gone.id, CaseState.WITHDRAWN, reason="the family stopped")
    await Participant.filter(id=blocked.id).update(blocked=True)
    assert await services.digest.set_enabled(services.participants.actor_for(opted_out), False)

    await services.digest.run_due()
    family = {row.participant_id for row in await digests() if row.kind == "digest_family"}
    assert family == {stays.id}
    assert withdrawn.id not in family
    # The coordinator still hears that the withdrawn case moved this week.
    staff = (await digests(coordinator.participant_id))[0].payload
    assert {"case_id": gone.id, "from": None, "to": "withdrawn"} in staff["moved"][
        "shown"
    ]  # opened this week
    assert staff["counts"]["records_gathering"] == 1


async def test_a_family_with_two_cases_gets_one_digest_covering_both(
    services: Services, coordinator: Actor
) -> None:
    first = await services.cases.open_case(coordinator, "First")
    second = await services.cases.open_case(coordinator, "Second")
    member = await join(services, coordinator, 3001, first.id)
    await join(services, coordinator, 3001, second.id)
    await services.digest.run_due()
    rows = await digests(member.id)
    assert len(rows) == 1
    assert [c["case_id"] for c in rows[0].payload["cases"]] == [first.id, second.id]


async def test_an_admin_who_holds_no_case_gets_the_whole_services_digest(
    services: Services, coordinator: Actor, family_case: tuple[int, Participant]
) -> None:
    admin = await register(ADMIN_TELEGRAM_ID, Role.ADMIN)
    await services.digest.run_due()
    payload = (await digests(admin.id))[0].payload
    assert payload["scope"] == "service" and payload["total"] == 1


async def test_a_digest_missed_for_a_whole_week_is_skipped_and_the_next_one_scheduled(
    services: Services, clock: ManualClock, family_case: tuple[int, Participant]
) -> None:
    _, member = family_case
    await Participant.all().update(next_digest_at=START - WEEK)  # due last Monday; the bot was down
    clock.advance(-timedelta(minutes=1))  # Monday 08:59 there: last week's moment, this week's not yet
    assert await services.digest.run_due() == 0
    assert (await Participant.get(id=member.id)).next_digest_at == START
    clock.advance(timedelta(minutes=1))
    assert await services.digest.run_due() == 2


async def test_changing_time_zone_or_turning_the_digest_on_schedules_it_afresh(
    services: Services, clock: ManualClock, family_case: tuple[int, Participant]
) -> None:
    _, member = family_case
    await services.digest.run_due()
    assert (await Participant.get(id=member.id)).next_digest_at == START + WEEK
    await services.participants.set_timezone(member, "Europe/Moscow")
    assert (await Participant.get(id=member.id)).next_digest_at is None
    await services.digest.run_due()  # Monday 09:00 Moscow is later today: W48, which they have
    assert (await Participant.get(id=member.id)).next_digest_at == START + timedelta(hours=5)
    clock.advance(timedelta(hours=5))
    await services.digest.run_due()
    assert len(await digests(member.id)) == 1  # never twice in one week
    actor = services.participants.actor_for(member)
    assert await services.digest.set_enabled(actor, False)
    assert not await services.digest.set_enabled(actor, False)
    assert await services.digest.set_enabled(actor, True)
    assert (await Participant.get(id=member.id)).next_digest_at is None


async def test_preview_shows_what_a_person_would_get_now(
    services: Services, coordinator: Actor, family_case: tuple[int, Participant]
) -> None:
    _, member = family_case
    locale, kind, payload = await services.digest.preview(member.telegram_user_id) or ("", "", {})
    assert (locale, kind) == ("en", "digest_family") and payload["week"] == THIS_WEEK
    assert await services.digest.preview(999_999) is None
    assert await digests() == []  # a preview queues nothing


# --- at send time -----------------------------------------------------------------------------------


async def test_a_queued_digest_goes_only_to_who_still_wants_it_and_only_about_their_cases(
    services: Services, clock: ManualClock, coordinator: Actor
) -> None:
    first = await services.cases.open_case(coordinator, "First")
    second = await services.cases.open_case(coordinator, "Second")
    member = await join(services, coordinator, 3001, first.id)
    await join(services, coordinator, 3001, second.id)
    await Participant.filter(id=member.id).update(quiet_hours="")
    await services.digest.run_due()
    family = (await digests(member.id))[0]
    staff = (await digests(coordinator.participant_id))[0]

    person = await Participant.get(id=member.id)
    decision = await services.outbox.check(family, person)
    assert isinstance(decision, Deliver) and len(decision.payload["cases"]) == 2
    await CaseMember.filter(participant_id=member.id, case_id=first.id).delete()
    decision = await services.outbox.check(family, person)
    assert isinstance(decision, Deliver)
    assert [c["case_id"] for c in decision.payload["cases"]] == [second.id]
    await CaseMember.filter(participant_id=member.id).delete()
    assert isinstance(await services.outbox.check(family, person), Drop)

    holder = await Participant.get(id=coordinator.participant_id)
    await Participant.filter(id=holder.id).update(quiet_hours="")
    holder.quiet_hours = ""
    assert isinstance(await services.outbox.check(staff, holder), Deliver)
    holder.digest_enabled = False  # /digest off after it was queued
    assert isinstance(await services.outbox.check(staff, holder), Drop)
    holder.digest_enabled, holder.role = True, Role.FAMILY  # no longer a coordinator
    assert isinstance(await services.outbox.check(staff, holder), Drop)
    holder.role = Role.COORDINATOR
    # CASEBOT_DIGEST=off since they were queued (an operator turned digests off and restarted).
    stopped = Services.build(clock, digest=DigestSettings(enabled=False))
    assert isinstance(await stopped.outbox.check(staff, holder), Drop)
    assert await stopped.digest.run_due() == 0
    await OutboxMessage.filter(kind__startswith="digest_").delete()
    assert await stopped.digest.send_now() == 0  # the command line queues none either
    assert await services.digest.send_now() == 1  # the coordinator's (the member left both cases)


async def test_a_digest_waits_out_the_readers_quiet_hours(
    services: Services, clock: ManualClock, family_case: tuple[int, Participant]
) -> None:
    _, member = family_case
    await Participant.filter(id=member.id).update(quiet_hours="08:00-10:00")
    await services.digest.run_due()
    row = (await digests(member.id))[0]
    assert row.available_at == START + timedelta(hours=1)  # 10:00 in Shanghai
    decision = await services.outbox.check(row, await Participant.get(id=member.id))
    assert isinstance(decision, Postpone) and decision.until == START + timedelta(hours=1)


# --- batches, queries, restarts ---------------------------------------------------------------------


async def seed(coordinators: int, families: int) -> list[int]:
    """Cases with the default checklist and questions, one family member each, spread over the
    coordinators; everyone's digest due now. Returns the coordinators' participant ids."""
    staff = [await register(2100 + n, Role.COORDINATOR) for n in range(coordinators)]
    await Participant.bulk_create(
        [
            Participant(
                telegram_user_id=5000 + n,
                chat_id=5000 + n,
                locale="en",
                timezone="Asia/Shanghai",
                created_at=START,
            )
            for n in range(families)
        ]
    )
    people = await Participant.filter(telegram_user_id__gte=5000).order_by("id").values_list("id", flat=True)
    await Case.bulk_create(
        [
            Case(
                label=f"Case {n}",
                coordinator_id=staff[n % coordinators].id,
                created_at=START - WEEK * 2,
                state_changed_at=START - WEEK * 2,
                last_activity_at=START - timedelta(days=1),
                state=CaseState.RECORDS_GATHERING,
            )
            for n in range(families)
        ]
    )
    case_ids = await Case.all().order_by("id").values_list("id", flat=True)
    await CaseMember.bulk_create(
        [
            CaseMember(case_id=c, participant_id=p, joined_at=START)
            for c, p in zip(case_ids, people, strict=True)
        ]
    )
    await ChecklistItem.bulk_create(
        [
            ChecklistItem(case_id=c, position=n, code=code, status_changed_at=START - WEEK)
            for c in case_ids
            for n, code in enumerate(DEFAULT_CHECKLIST, start=1)
        ]
    )
    await Question.bulk_create(
        [
            Question(
                case_id=c,
                number=n,
                direction=Direction.TO_HOSPITAL,
                topic=q.topic,
                text=q.text,
                created_at=START,
            )
            for c in case_ids
            for n, q in enumerate(STANDARD_HOSPITAL_QUESTIONS, start=1)
        ]
    )
    await Participant.all().update(next_digest_at=START)
    return [person.id for person in staff]


@contextmanager
def counted_queries() -> Iterator[list[str]]:
    """Every statement sent to SQLite (in or out of a transaction) while the block runs."""
    seen: list[str] = []
    originals: dict[tuple[type, str], Any] = {}
    for cls in (SqliteClient, SqliteTransactionWrapper):
        for name in (
            "execute_query",
            "execute_insert",
            "execute_many",
            "execute_script",
            "execute_query_dict",
        ):
            if name not in vars(cls):
                continue
            original = vars(cls)[name]
            originals[(cls, name)] = original

            async def counting(
                self: Any, query: str, *args: Any, _original: Any = original, **kw: Any
            ) -> Any:
                seen.append(query[:90])
                return await _original(self, query, *args, **kw)

            setattr(cls, name, counting)
    try:
        yield seen
    finally:
        for (cls, name), original in originals.items():
            setattr(cls, name, original)


async def test_a_thousand_digests_take_at_most_ten_queries(services: Services, db: Any) -> None:
    await seed(coordinators=10, families=990)
    with counted_queries() as queries:
        queued = await services.digest.run_due()
    assert queued == 1000
    assert len(queries) <= 10, queries
    assert await OutboxMessage.filter(kind="digest_family").count() == 990
    staff = await OutboxMessage.filter(kind="digest_staff").first()
    assert staff is not None and staff.payload["total"] == 99


async def test_the_queries_grow_with_the_batches_not_with_the_cases(clock: ManualClock, db: Any) -> None:
    services = Services.build(clock, digest=DigestSettings(batch=300))
    await seed(coordinators=5, families=895)
    with counted_queries() as queries:
        assert await services.digest.run_due() == 900
    assert len(queries) <= 3 * 10, queries  # three batches of ten queries


async def test_cases_are_read_a_chunk_at_a_time_and_the_digests_come_out_the_same(
    clock: ManualClock, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One coordinator holding 95 cases, and their families: read in one chunk, then in chunks of 8.
    await seed(coordinators=1, families=95)
    whole = Services.build(clock)
    assert await whole.digest.run_due() == 96
    expected = {row.participant_id: row.payload for row in await digests()}
    staff = next(p for p in expected.values() if "counts" in p)
    assert staff["total"] == 95 and staff["overdue_items"]["more"] == 85  # a long list, summarised

    await OutboxMessage.all().delete()
    await Participant.all().update(next_digest_at=START)
    chunked = Services.build(clock, digest=DigestSettings(chunk=8))
    sizes: list[int] = []
    load = chunked.digest._load

    async def measured(rows: list[Any], now: Any) -> Any:
        sizes.append(len(rows))
        return await load(rows, now)

    monkeypatch.setattr(chunked.digest, "_load", measured)
    with counted_queries() as queries:
        assert await chunked.digest.run_due() == 96
    assert {row.participant_id: row.payload for row in await digests()} == expected
    assert max(sizes) == 8 and sum(sizes) == 95  # never more than a chunk of cases at once
    assert len(queries) <= 12 * 7 + 3  # seven a chunk (12 chunks), and the batch's own three


async def test_a_pass_stopped_after_a_batch_and_run_again_queues_each_digest_once(
    clock: ManualClock, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = Services.build(clock, digest=DigestSettings(batch=100))
    await seed(coordinators=3, families=247)
    original = services.digest._due_batch
    batches = 0

    async def crash_in_the_second_batch(people: list[Participant], run: Any) -> tuple[int, bool]:
        nonlocal batches
        batches += 1
        if batches == 2:
            raise ConnectionError("the process was killed")
        return await original(people, run)

    monkeypatch.setattr(services.digest, "_due_batch", crash_in_the_second_batch)
    with pytest.raises(ConnectionError):
        await services.digest.run_due()
    assert await OutboxMessage.all().count() == 100
    monkeypatch.undo()
    assert await services.digest.run_due() == 150
    rows = await digests()
    assert len(rows) == 250 == len({row.participant_id for row in rows})


async def test_a_crash_inside_a_batch_leaves_neither_rows_nor_new_due_times(
    services: Services, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(coordinators=1, families=20)

    async def fail(next_at: dict[int, Any]) -> None:
        raise ConnectionError("lost the database between the insert and the update")

    monkeypatch.setattr("casebot.services.digest._reschedule", fail)
    with pytest.raises(ConnectionError):
        await services.digest.run_due()
    assert await OutboxMessage.all().count() == 0
    assert set(await Participant.all().values_list("next_digest_at", flat=True)) == {START}


async def test_erasing_a_case_clears_what_the_families_digests_quoted_of_it(
    services: Services, coordinator: Actor, family_case: tuple[int, Participant]
) -> None:
    case_id, member = family_case
    await services.checklist.add_item(coordinator, case_id, "Scan from Dr QUOKKA")
    await services.digest.run_due()
    row = (await digests(member.id))[0]
    assert "QUOKKA" in json.dumps(row.payload)
    await services.cases.erase(SYSTEM, case_id)
    row = await OutboxMessage.get(id=row.id)
    assert "QUOKKA" not in json.dumps(row.payload)
    assert isinstance(await services.outbox.check(row, await Participant.get(id=member.id)), Drop)
