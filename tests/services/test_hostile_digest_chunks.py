"""A hostile read of the weekly pass reading cases in chunks of ids (DigestSettings.chunk) shared by a
batch's family members and coordinators: whatever the chunk and batch sizes, every person gets the
digest they would get with everything read at once, and the digests say what a family member, a
coordinator or an admin expects of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from casebot.clock import ManualClock
from casebot.db.models import Case, OutboxMessage, Participant
from casebot.domain.roles import Role
from casebot.domain.states import CaseState
from casebot.services import DigestSettings, Services

from ..conftest import START, make_participant
from .test_digest_service import join, seed

WEEK = timedelta(days=7)
ADMINS = frozenset({1000, 1001})
ADMIN_WITHOUT_OPEN_CASE, ADMIN_WITH_CASE = 1000, 1001
CO_A, CO_B, CO_OFF = 2001, 2002, 2003
F1, F2, F3, F4 = 3001, 3002, 3003, 3004

Digests = dict[int, tuple[str, dict[str, Any]]]


@dataclass
class World:
    """The cases of the mixed batch, by name."""

    ids: dict[str, int]


async def mixed_world(clock: ManualClock) -> World:
    """Coordinators A and B, C (who turned their digest off: never in a batch), an admin holding only
    a case withdrawn this week, an admin holding an open case; families F1..F4. Case ids are not
    contiguous in what any one person needs, and some are not needed by anyone:

    - a1 (A, open): F1            - b1 (B, open): F2
    - c1 (C, open): F1            - a2 (A, withdrawn this week): F3
    - b2 (B, open, then erased)   - a3 (A, withdrawn three weeks ago)
    - b3 (B, open): F2, F4        - a4 (A, open): F1
    - n1 (open, its coordinator gone): F4
    - x1 (admin 1000, withdrawn this week)   - y1 (admin 1001, open)
    """
    services = Services.build(clock, admin_ids=ADMINS)
    a = await make_participant(services, CO_A, Role.COORDINATOR)
    b = await make_participant(services, CO_B, Role.COORDINATOR)
    c = await make_participant(services, CO_OFF, Role.COORDINATOR)
    x = await make_participant(services, ADMIN_WITHOUT_OPEN_CASE, Role.ADMIN)
    y = await make_participant(services, ADMIN_WITH_CASE, Role.ADMIN)
    ids: dict[str, int] = {}

    async def case(name: str, holder: Any, *members: int) -> int:
        opened = await services.cases.open_case(holder, f"Case {name}")
        ids[name] = opened.id
        for member in members:
            await join(services, holder, member, opened.id)
        return opened.id

    await case("a1", a, F1)
    await case("b1", b, F2)
    await case("c1", c, F1)
    await case("a2", a, F3)
    await case("b2", b)
    await case("a3", a)
    await case("b3", b, F2, F4)
    await case("a4", a, F1)
    await case("n1", a, F4)
    await case("x1", x)
    await case("y1", y)
    await services.cases.advance(a, ids["a2"], CaseState.WITHDRAWN, reason="the family stopped")
    await services.cases.advance(x, ids["x1"], CaseState.WITHDRAWN, reason="a duplicate")
    await services.cases.erase(x, ids["b2"])  # erasure is an admin's
    await Case.filter(id=ids["a3"]).update(
        state=CaseState.WITHDRAWN, created_at=START - 4 * WEEK, state_changed_at=START - 3 * WEEK
    )
    await Case.filter(id=ids["n1"]).update(coordinator_id=None)
    assert await services.digest.set_enabled(c, False)
    return World(ids)


async def one_pass(clock: ManualClock, settings: DigestSettings, *, send_now: bool = False) -> Digests:
    """Everyone due now, one weekly pass (or `casebot digest --send-now`) with these settings; the
    digests queued, by Telegram id."""
    await OutboxMessage.filter(kind__startswith="digest_").delete()
    await Participant.all().update(next_digest_at=START)
    services = Services.build(clock, admin_ids=ADMINS, digest=settings)
    if send_now:
        await services.digest.send_now()
    else:
        await services.digest.run_due()
    telegram = dict(await Participant.all().values_list("id", "telegram_user_id"))
    rows = await OutboxMessage.filter(kind__startswith="digest_").order_by("id")
    found: Digests = {}
    for row in rows:
        assert telegram[row.participant_id] not in found, "two digests for one person in one week"
        found[telegram[row.participant_id]] = (row.kind, row.payload)
    return found


def family_cases(digests: Digests, who: int) -> list[int]:
    kind, payload = digests[who]
    assert kind == "digest_family"
    return [entry["case_id"] for entry in payload["cases"]]


def shown(payload: dict[str, Any], name: str) -> list[int]:
    return [entry["case_id"] for entry in payload[name]["shown"]]


async def test_a_mixed_batch_gets_what_each_person_expects(clock: ManualClock, db: Any) -> None:
    """Passes: who gets which digest, read in chunks of one case: a family member's cases in
    different chunks are all in their one digest, a withdrawn case is in its coordinator's but not
    the family's, a coordinator who turned digests off gets none while their case still reaches
    its family, a case with no coordinator reaches its family and the service's digest, an admin
    holding only a withdrawn case gets the service's digest, an admin holding an open case their own."""
    world = await mixed_world(clock)
    ids = world.ids
    digests = await one_pass(clock, DigestSettings(chunk=1))

    assert set(digests) == {F1, F2, F4, CO_A, CO_B, ADMIN_WITHOUT_OPEN_CASE, ADMIN_WITH_CASE}
    assert family_cases(digests, F1) == [ids["a1"], ids["c1"], ids["a4"]]
    assert family_cases(digests, F2) == [ids["b1"], ids["b3"]]
    assert family_cases(digests, F4) == [ids["b3"], ids["n1"]]
    # F3's only case was withdrawn this week: no family digest (its coordinator hears of it).

    kind, a = digests[CO_A]
    assert kind == "digest_staff" and a["scope"] == "own"
    assert a["total"] == 2 and a["counts"]["records_gathering"] == 2  # a1, a4 (n1 has no coordinator)
    assert shown(a, "moved") == [ids["a1"], ids["a2"], ids["a4"]]  # a3 moved three weeks ago
    _, b = digests[CO_B]
    assert b["total"] == 2 and shown(b, "moved") == [ids["b1"], ids["b2"], ids["b3"]]  # b2 erased

    _, service = digests[ADMIN_WITHOUT_OPEN_CASE]
    assert service["scope"] == "service"
    assert service["total"] == 7  # a1 b1 c1 b3 a4 n1 y1: every open case, whoever holds it
    assert ids["a3"] not in shown(service, "moved") and ids["x1"] in shown(service, "moved")
    _, own = digests[ADMIN_WITH_CASE]
    assert own["scope"] == "own" and own["total"] == 1


@pytest.mark.parametrize(
    ("chunk", "batch", "send_now"),
    [(1, 2000, False), (2, 2000, False), (3, 2, False), (1, 1, False), (5, 3, True), (1, 2, True)],
    ids=["chunk1", "chunk2", "chunk3-batch2", "chunk1-batch1", "send-now-chunk5-batch3", "send-now-chunk1"],
)
async def test_the_digests_are_the_same_whatever_the_chunk_and_batch_sizes(
    clock: ManualClock, db: Any, chunk: int, batch: int, send_now: bool
) -> None:
    """Passes: every payload, byte for byte, as with the default (everything in one chunk), when
    chunks split one person's cases, batches split a family from its coordinator, and the service's
    digest is built once for a pass and reused in a later batch."""
    await mixed_world(clock)
    expected = await one_pass(clock, DigestSettings())
    assert await one_pass(clock, DigestSettings(chunk=chunk, batch=batch), send_now=send_now) == expected


@pytest.mark.parametrize("chunk", [1, 7, 39, 40, 41])
async def test_long_lists_show_the_lowest_ten_and_count_the_rest_whatever_the_chunk(
    clock: ManualClock, db: Any, chunk: int
) -> None:
    """Passes: a coordinator with 83 cases (past four times the list limit, where the builder starts
    letting entries go) and the whole service's digest: the first ten by case id and the count of
    the rest, the same with chunks that end on and around that point as in one chunk."""
    coordinators = await seed(coordinators=2, families=83)
    await make_participant(Services.build(clock, admin_ids=ADMINS), ADMIN_WITHOUT_OPEN_CASE, Role.ADMIN)
    expected = await one_pass(clock, DigestSettings())
    telegram = dict(await Participant.filter(id__in=coordinators).values_list("id", "telegram_user_id"))
    first = telegram[coordinators[0]]
    held = sorted(case.id for case in await Case.filter(coordinator_id=coordinators[0]))
    _, own = expected[first]
    assert own["total"] == len(held) == 42
    assert shown(own, "overdue_items") == held[:10] and own["overdue_items"]["more"] == 32
    _, service = expected[ADMIN_WITHOUT_OPEN_CASE]
    every = sorted(case.id for case in await Case.all())
    assert service["total"] == 83
    assert shown(service, "overdue_items") == every[:10] and service["overdue_items"]["more"] == 73

    assert await one_pass(clock, DigestSettings(chunk=chunk)) == expected


async def test_preview_shows_what_the_chunked_pass_queued(clock: ManualClock, db: Any) -> None:
    """Passes: `casebot digest --preview` (a batch of one) says what the weekly pass in chunks of
    one queued, for a family member, a coordinator and an admin holding no open case."""
    await mixed_world(clock)
    queued = await one_pass(clock, DigestSettings(chunk=1))
    services = Services.build(clock, admin_ids=ADMINS, digest=DigestSettings(chunk=1))
    for who in (F1, F4, CO_A, ADMIN_WITHOUT_OPEN_CASE, ADMIN_WITH_CASE):
        found = await services.digest.preview(who)
        assert found is not None
        _, kind, payload = found
        assert (kind, payload) == queued[who]
    assert await services.digest.preview(F3) is None  # only a withdrawn case: none
