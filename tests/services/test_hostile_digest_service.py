"""A hostile read of the weekly digests (issue 9), at the service level: each test names a defect a
family member, a coordinator or an operator would notice, and fails on the code as it stands."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from casebot.cli import main
from casebot.clock import ManualClock
from casebot.db.database import Database
from casebot.db.models import Case, OutboxMessage, Participant
from casebot.domain.notices import Deliver, Drop
from casebot.domain.roles import Role
from casebot.domain.states import CaseState
from casebot.rendering import Renderer
from casebot.services import Actor, DigestSettings, Services
from casebot.services.base import SYSTEM

from ..conftest import START, make_participant, redeem, register
from .test_digest_service import digests, join

WEEK = timedelta(days=7)


async def two_case_family(services: Services, coordinator: Actor) -> tuple[int, int, Participant]:
    """One family member in two open cases, no quiet hours (their digest may go at once)."""
    first = await services.cases.open_case(coordinator, "First")
    second = await services.cases.open_case(coordinator, "Second")
    member = await join(services, coordinator, 3001, first.id)
    await join(services, coordinator, 3001, second.id)
    await Participant.filter(id=member.id).update(quiet_hours="")
    return first.id, second.id, await Participant.get(id=member.id)


# --- what a queued digest says when it goes out ------------------------------------------------------


async def test_a_case_withdrawn_after_the_digest_was_queued_is_not_reported_as_still_open(
    services: Services, coordinator: Actor
) -> None:
    """The family withdraws a case at 09:05; the digest queued at 09:00 (waiting behind others or
    out of quiet hours) still arrives and tells them that case is "gathering records", with the
    next step "please send the records still missing" and the pre-review disclaimer. A withdrawn
    or closed case gets no digest (issue 9), and every other family notice is re-read against
    the case's state when it goes out; a digest is checked only for membership."""
    first, second, member = await two_case_family(services, coordinator)
    await services.digest.run_due()
    row = (await digests(member.id))[0]
    await services.cases.advance(coordinator, first, CaseState.WITHDRAWN, reason="the family stopped")

    decision = await services.outbox.check(row, await Participant.get(id=member.id))
    assert isinstance(decision, Deliver)
    assert [c["case_id"] for c in decision.payload["cases"]] == [second], (
        "the withdrawn case is still in the digest as it goes out"
    )


async def test_erasing_one_case_does_not_cost_the_family_their_digest_of_the_other(
    services: Services, coordinator: Actor
) -> None:
    """A family member has two cases; one is erased on request while their digest waits to go
    out. The erasure blanks every digest of every member, so the digest is dropped as a whole:
    that week they hear nothing of the case that is still running. Only the erased case should
    leave the digest (as a case the member left does)."""
    first, second, member = await two_case_family(services, coordinator)
    await services.digest.run_due()
    row = (await digests(member.id))[0]
    await services.cases.erase(SYSTEM, first)

    row = await OutboxMessage.get(id=row.id)
    decision = await services.outbox.check(row, await Participant.get(id=member.id))
    assert isinstance(decision, Deliver), "the digest of the case still running is lost"
    assert [c["case_id"] for c in decision.payload["cases"]] == [second]


# --- once a week, and in its week ---------------------------------------------------------------------


async def test_a_digest_made_up_late_on_sunday_night_does_not_arrive_with_mondays(
    services: Services, clock: ManualClock, coordinator: Actor
) -> None:
    """A family member in Los Angeles (quiet hours 21:00-09:00) had blocked the bot at their Monday
    09:00, so their digest was skipped; they unblock it on Sunday at 22:00 (or: the bot was down
    all week and is back then). The missed digest is made up (same ISO week), held by quiet
    hours until Monday 09:00, which is when next week's is due too: on Monday morning they get
    two weekly digests at once, the first one last week's."""
    case = await services.cases.open_case(coordinator, "Case")
    member = await join(services, coordinator, 3001, case.id)
    await Participant.filter(id=member.id).update(timezone="America/Los_Angeles", quiet_hours="21:00-09:00")
    await services.digest.run_due()  # Sunday 17:00 there: due Monday 09:00 there
    la_monday_nine = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    assert (await Participant.get(id=member.id)).next_digest_at == la_monday_nine

    await Participant.filter(id=member.id).update(blocked=True)
    clock.set(la_monday_nine)
    await services.digest.run_due()  # blocked: skipped, made up once they are reachable
    clock.set(la_monday_nine + WEEK - timedelta(hours=11))  # Sunday 22:00 there: they unblock
    await Participant.filter(id=member.id).update(blocked=False)
    await services.digest.run_due()
    clock.set(la_monday_nine + WEEK)  # Monday 09:00 there
    await services.digest.run_due()

    person = await Participant.get(id=member.id)
    going = [
        row.dedupe_key
        for row in await digests(member.id)
        if isinstance(await services.outbox.check(row, person), Deliver)
    ]
    assert len(going) == 1, going


async def test_digests_queued_during_a_long_outage_do_not_all_arrive_at_once(
    services: Services, clock: ManualClock, coordinator: Actor
) -> None:
    """Telegram refused the token (or was unreachable) for ten days; the ticker kept queueing a
    digest each Monday. When sending resumes, every family member gets two "weekly updates" in a
    row, the first from a week that is over. The issue: a digest goes out the same week, never
    stale; the send-time check never looks at the digest's week."""
    case = await services.cases.open_case(coordinator, "Case")
    member = await join(services, coordinator, 3001, case.id)
    await Participant.filter(id=member.id).update(quiet_hours="")
    await services.digest.run_due()  # Monday: this week's
    clock.advance(WEEK)
    await services.digest.run_due()  # next Monday: the next one
    clock.advance(timedelta(days=3))  # Thursday: sending resumes

    person = await Participant.get(id=member.id)
    rows = await digests(member.id)
    assert len(rows) == 2
    decisions = [await services.outbox.check(row, person) for row in rows]
    assert isinstance(decisions[0], Drop), "last week's digest still goes, beside this week's"
    assert isinstance(decisions[1], Deliver)


async def test_changing_time_zone_on_monday_does_not_cost_that_weeks_digest(
    services: Services, clock: ManualClock, coordinator: Actor
) -> None:
    """A family member in Los Angeles flies to Moscow; on Monday 13:00 Moscow time (before their
    Los Angeles 09:00 came) they set /timezone Europe/Moscow. Their digest is rescheduled from the
    Moscow hour that has already passed: next Monday. They get no digest at all that week,
    though none was sent for it and the issue promises one a week (a missed hour is made up
    the same week)."""
    case = await services.cases.open_case(coordinator, "Case")
    member = await join(services, coordinator, 3001, case.id)
    await Participant.filter(id=member.id).update(timezone="America/Los_Angeles", quiet_hours="")
    await services.digest.run_due()  # Sunday 17:00 in Los Angeles: due Monday 09:00 there
    assert (await Participant.get(id=member.id)).next_digest_at == datetime(2026, 11, 23, 17, 0, tzinfo=UTC)

    clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))  # Monday 13:00 in Moscow
    await services.participants.set_timezone(await Participant.get(id=member.id), "Europe/Moscow")
    for _ in range(7 * 24):  # the ticker runs all week
        await services.digest.run_due()
        clock.advance(timedelta(hours=1))

    keys = [row.dedupe_key for row in await digests(member.id)]
    assert f"digest:{member.id}:2026-W48" in keys, keys


async def test_a_new_digest_day_set_by_the_operator_applies_from_the_next_week(
    clock: ManualClock, coordinator: Actor
) -> None:
    """The operator moves the digest from Monday to Friday (CASEBOT_DIGEST_DAY=friday) and restarts
    on Tuesday. Everyone's next due time was computed under the old setting and is never looked
    at again: the next digest still comes on Monday, and that Monday's digest takes the week's
    key, so the first Friday gets nothing. The new day starts only two weeks later."""
    monday = Services.build(clock)
    case = await monday.cases.open_case(coordinator, "Case")
    member = await join(monday, coordinator, 3001, case.id)
    await Participant.filter(id=member.id).update(quiet_hours="")
    await monday.digest.run_due()  # Monday 09:00 in Shanghai: this week's, under the old day

    clock.advance(timedelta(days=1))  # Tuesday: restarted with CASEBOT_DIGEST_DAY=friday
    friday = Services.build(clock, digest=DigestSettings(weekday=5))
    while clock.now() < START + timedelta(days=12):
        await friday.digest.run_due()
        clock.advance(timedelta(hours=1))

    later = [row for row in await digests(member.id) if row.created_at > START]
    days = [row.created_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%a %d %b") for row in later]
    assert days and days[0] == "Fri 04 Dec", days


async def test_the_staff_digest_dates_a_stale_case_in_the_coordinators_own_calendar(
    services: Services, coordinator: Actor
) -> None:
    """A coordinator in Los Angeles: the case card says its last change was on November 2 (their
    evening), the digest says "No activity for a while: C-0001 since November 3, 2026": the
    date is the UTC date, not theirs. Every other date and time the coordinator reads is in
    their zone."""
    case = await services.cases.open_case(coordinator, "Case")
    last = datetime(2026, 11, 3, 3, 0, tzinfo=UTC)  # Monday November 2, 19:00 in Los Angeles
    await Case.filter(id=case.id).update(last_activity_at=last, records_activity_at=last)
    await Participant.filter(id=coordinator.participant_id).update(timezone="America/Los_Angeles")
    await services.digest.send_now()
    payload = (await digests(coordinator.participant_id))[0].payload
    assert payload["stale"]["shown"], payload["stale"]

    text = Renderer(None).render("en", "notices/digest_staff", zone="America/Los_Angeles", **payload)
    assert "November 3, 2026" not in text and "November 2, 2026" in text, text


# --- a pass that one bad row brings down ----------------------------------------------------------------


async def test_one_person_with_an_unknown_time_zone_does_not_stop_everyones_digest(
    services: Services, coordinator: Actor
) -> None:
    """A participant's stored zone is no longer known (tzdata dropped it, or a restored backup):
    the digest pass reads it with a fallback to schedule them, but then computes their quiet
    hours from the raw zone and raises. The whole batch (up to 1,000 people) is rolled back, the
    ticker logs the same failure every 30 seconds, and nobody in that batch ever gets a digest."""
    case = await services.cases.open_case(coordinator, "Case")
    fine = await join(services, coordinator, 3001, case.id)
    odd = await join(services, coordinator, 3002, case.id)
    await Participant.filter(id=odd.id).update(timezone="Mars/Olympus_Mons", quiet_hours="22:00-07:00")

    await services.digest.run_due()

    assert {row.participant_id for row in await digests()} >= {fine.id, coordinator.participant_id}


# --- the command line ------------------------------------------------------------------------------------


COORDINATOR = 2001
FAMILY = 3001


async def _seed(url: str, *, opted_out: bool = False) -> None:
    database = Database(url)
    await database.open()
    try:
        with database.bound():
            services = Services.build(ManualClock(datetime.now(UTC)))
            coordinator = await make_participant(services, COORDINATOR, Role.COORDINATOR)
            case = await services.cases.open_case(coordinator, "Case")
            invite = await services.invites.create(coordinator, case.id)
            await redeem(services, await register(FAMILY), invite.token)
            if opted_out:
                await Participant.filter(telegram_user_id=FAMILY).update(digest_enabled=False)
    finally:
        await database.close()


@pytest.fixture
def cli_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite://{tmp_path / 'casebot.sqlite3'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CASEBOT_DATABASE_URL", url)
    return url


def test_send_now_while_digests_are_off_service_wide_says_so(
    cli_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operator with CASEBOT_DIGEST=off runs `casebot digest --send-now` to push this week's
    digests: it answers "casebot: 0 digests queued for this week." and exits 0, as if nobody had
    a digest due. It should say that digests are off service-wide (and not claim success)."""
    asyncio.run(_seed(cli_url))
    monkeypatch.setenv("CASEBOT_DIGEST", "off")
    code = main(["digest", "--send-now"])
    captured = capsys.readouterr()
    said = (captured.out + captured.err).lower()
    assert "off" in said or "disabled" in said or code != 0, captured


def test_preview_of_someone_who_opted_out_says_they_get_none(
    cli_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A family member says they get no weekly update; the operator runs `casebot digest --preview`
    for them and sees a full digest, exit 0, with no word that this person turned digests off
    (/digest off) and will get none: the preview is not "the digest that person would get now"."""
    asyncio.run(_seed(cli_url, opted_out=True))
    code = main(["digest", "--preview", str(FAMILY)])
    captured = capsys.readouterr()
    assert code != 0 or "off" in captured.err.lower(), captured
