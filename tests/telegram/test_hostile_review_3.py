"""A third hostile read: issue 8's change (c97edc6..8714c16), the second half of the journey.

Each test fails against the reviewed code because of a real defect its docstring names."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from aiogram import Dispatcher, F, Router
from aiogram.filters import Command
from aiogram.types import Message

from casebot.clock import ManualClock
from casebot.db.models import Case, HospitalRoute, OutboxMessage
from casebot.plugin import setup_casebot
from casebot.testing import BotAPIEmulator

from .conftest import ADMIN, World, emulator_settings
from .test_case_journey import invite_token, join, say
from .test_follow_up_e2e import FAMILY, family_case
from .test_opinion_files import caption
from .test_plugin import answer_to, host_commands, host_fallback
from .test_reminders_e2e import sweep

SECOND_MEMBER = 3005


async def under_review(world: World, turnaround: str = " | 7bd") -> str:
    """C-0001 with one family member, sent to Fudan and accepted: under review."""
    t = world.telegram
    ref = await family_case(world)
    await say(t, ADMIN, f"/hospital {ref} Fudan | Thoracic oncology | Dr Li{turnaround}", "Fudan")
    await say(t, ADMIN, f"/advance {ref} sent the family asked to send what we have", "✅")
    await say(t, ADMIN, f"/outcome {ref} accepted", "accepted the case")
    await t.wait_for(FAMILY, contains="expected to be done by about")
    return ref


# --- 1. declined during the review: the family is still promised a review date ------------------


async def test_a_case_declined_during_review_does_not_still_promise_the_family_a_review_date(
    world: World,
) -> None:
    """``/outcome declined`` on a case under review records the outcome on the route but leaves the
    case ``under_review`` (``target_state`` moves nothing for DECLINED). The family was just told
    "the department will not take the case forward"; yet their /status still says the case is
    being reviewed and "Review expected by about <date>", a date that will never come, and the
    coordinator's review-overdue warning keeps running for a review that is not happening.
    Cause: services/outcomes.py OutcomeService.record / domain/outcomes.py target_state, and
    services/views.py CaseViews.card computing review_expected from the state alone."""
    t = world.telegram
    ref = await under_review(world)
    await say(t, ADMIN, f"/outcome {ref} declined Not a candidate for surgery here", "declined")
    await t.wait_for(FAMILY, contains="will not take the case forward")
    status = await say(t, FAMILY, "/status", "Case")
    assert "Review expected" not in status, status


# --- 2. naming the reviewer after sending is taken for a re-route ------------------------------


async def test_naming_the_reviewer_after_sending_is_not_a_reroute(world: World) -> None:
    """The hospital names its reviewer only once it has the packet, so a coordinator fills in the
    reviewer with /hospital after sending (same hospital, same department). ``write_route``
    compares the reviewer too, so this counts as "another hospital": route 2 is created, route 1
    is marked "re-routed", the coordinator is told "is re-routed to ... hospital 2", the review
    clock restarts (hospital_set_at = now) and the hospital's stated turnaround is wiped. Its own
    docstring says a re-route is "another hospital or department".
    Cause: services/outcomes.py write_route (``same`` includes the reviewer)."""
    t = world.telegram
    ref = await family_case(world)
    await say(t, ADMIN, f"/hospital {ref} Fudan | Thoracic oncology | TBD | 7bd", "Fudan")
    await say(t, ADMIN, f"/advance {ref} sent the reviewer is named on receipt", "✅")
    named = await say(t, ADMIN, f"/hospital {ref} Fudan | Thoracic oncology | Dr Li", "Fudan")
    assert "re-routed" not in named, named
    assert await HospitalRoute.filter(case_id=1).count() == 1
    assert (await Case.get(id=1)).review_sla_days == 7


# --- 3. a re-route during the review: the new hospital's date never reaches the family ---------


async def test_after_a_reroute_during_review_the_family_is_told_the_new_hospitals_date(
    world: World,
) -> None:
    """A re-route after the review started keeps the case ``under_review``; when the new hospital
    accepts, ``target_state(ACCEPTED, UNDER_REVIEW)`` is None, so nothing moves and the family is
    never told anything. They keep the first hospital's date (told on the first acceptance), while
    the card and their /status silently show another one computed from the new hospital's
    turnaround. The issue: "When the case moves to under_review, the family is told the
    expected date". Cause: services/outcomes.py OutcomeService.record (no notice when accepted
    keeps the state) and write_route (a re-route mid-review leaves the state as it was)."""
    t = world.telegram
    ref = await under_review(world)
    first = len([m for m in t.sent_to(FAMILY) if "expected to be done by about" in m.plain_text])
    await say(t, ADMIN, f"/outcome {ref} reroute Ruijin | Oncology | Dr Wang | 3bd", "re-routed")
    await say(t, ADMIN, f"/outcome {ref} accepted", "accepted")
    # The notice keeps to 1 message/s per chat: wait for it rather than for a quiet moment.
    await t.wait_until(lambda: len([m for m in t.sent_to(FAMILY) if "expected" in m.plain_text]) > first)


# --- 4. a member who joined after the opinion is asked to confirm a file never sent to them -----


async def test_a_member_who_joined_after_the_opinion_is_not_asked_to_confirm_receiving_it(
    world: World, clock: ManualClock
) -> None:
    """The opinion file goes to the members of the moment. A relative who joins later never gets
    it, yet three days on ``_opinion_receipt`` reminds every current member: "your coordinator sent
    you the hospital's written opinion 3 days ago. Did it reach you?" with an "I received it"
    button (and no file). Pressing it records that the opinion reached the family when it did not
    reach this person. Cause: domain/reminders.py _opinion_receipt (to the whole family) and
    services/opinions.py send_file (no copy for later members)."""
    t = world.telegram
    ref = await family_case(world)
    await caption(t, t.user(ADMIN), f"/opinion {ref}", expect="kept on")
    await t.wait_for(FAMILY, contains="written opinion")
    invited = await say(t, ADMIN, f"/invite {ref}", "start=")
    await join(t, SECOND_MEMBER, invite_token(invited), name="Boris")
    await t.settle()
    clock.advance(timedelta(days=3, hours=1))
    await sweep(world)
    await t.wait_for(FAMILY, contains="Did it reach you")
    await t.settle()
    got_file = any(m.method == "sendDocument" for m in t.sent_to(SECOND_MEMBER))
    asked = [m.plain_text for m in t.sent_to(SECOND_MEMBER) if "Did it reach you" in m.plain_text]
    assert got_file or not asked, asked


# --- 5. Telegram refuses the opinion file: the family is then told it was sent to them --------


async def test_an_opinion_telegram_refused_is_not_later_said_to_have_been_sent(
    world: World, clock: ManualClock
) -> None:
    """When Telegram refuses the sendDocument (400, e.g. "wrong file identifier"), the outbox row
    dies with a log line only. The coordinator was told the opinion "goes to 1 family member", the
    card shows it "sent · receipt not confirmed yet", and three days later the family, who never
    got a file, reads "your coordinator sent you the hospital's written opinion 3 days ago. Did it
    reach you?" with an "I received it" button. Cause: domain/reminders.py _opinion_receipt and
    services/reminders.py _load (every CaseFile counts as sent, whatever its outbox row became)."""
    t = world.telegram
    ref = await family_case(world)
    t.fail_next("sendDocument", 400, description="Bad Request: wrong file identifier/HTTP URL specified")
    await caption(t, t.user(ADMIN), f"/opinion {ref}", expect="kept on")
    await t.settle()
    assert await OutboxMessage.filter(kind="case_file", status="dead").exists()
    assert not any(m.method == "sendDocument" for m in t.sent_to(FAMILY))
    clock.advance(timedelta(days=3, hours=1))
    await sweep(world)
    for _ in range(100):  # the sender takes the reminder (sends it, or lets it die)
        if not await OutboxMessage.filter(kind="opinion_unconfirmed", status="pending").exists():
            break
        await asyncio.sleep(0.1)
    await t.settle()
    told = [
        m.plain_text for m in t.sent_to(FAMILY) if "sent you the hospital's written opinion" in m.plain_text
    ]
    assert told == [], told
    card = await say(t, ADMIN, f"/case {ref}", "Written opinion")
    assert "Telegram refused it to 1 of 1 family member" in card and "received by nobody yet" in card
    await t.wait_for(ADMIN, contains="could not be delivered to the family")


# --- 6/7. inside a host bot -------------------------------------------------------------------


def host_files_and_send() -> Router:
    """A host with its own /send command and its own handling of photos."""
    router = Router(name="host.files")

    @router.message(Command("send"))
    async def send(message: Message) -> None:
        await message.answer("host: sent")

    @router.message(F.photo)
    async def photo(message: Message) -> None:
        await message.answer("host: photo saved")

    return router


@asynccontextmanager
async def host_with_files(
    telegram: BotAPIEmulator, database_url: str, clock: ManualClock
) -> AsyncIterator[None]:
    """casebot inside a host that has a /send of its own and saves photos (as running_host)."""
    settings = emulator_settings(telegram, database_url)
    bot = telegram.create_bot()
    dispatcher = Dispatcher()
    setup_casebot(dispatcher, settings, clock=clock, manage_menus=False)
    dispatcher.include_routers(host_files_and_send(), host_commands(), host_fallback())
    started = asyncio.Event()
    dispatcher.startup.register(started.set)
    polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False, polling_timeout=1))
    await asyncio.wait_for(started.wait(), 30)
    try:
        yield
    finally:
        await dispatcher.stop_polling()
        with contextlib.suppress(asyncio.CancelledError):
            await polling
        await bot.session.close()


async def test_inside_a_host_a_coordinators_own_photo_reaches_the_host(
    database_url: str, clock: ManualClock
) -> None:
    """casebot inside a host claims only its own updates, and its gate says so for staff: "casebot
    takes no files or replies of theirs, only commands". The new ``file_without_command`` handler
    answers every file of a coordinator or admin that has no /send or /opinion caption ("This file
    has no caption, so nothing was sent"), so the host's own photo handling never sees an admin's
    photo. Cause: telegram/routers/files.py files_router (file_without_command included in a host)."""
    async with BotAPIEmulator() as telegram, host_with_files(telegram, database_url, clock):
        await answer_to(telegram, ADMIN, "/newcase Plugin case")
        before = len(telegram.sent_to(ADMIN))
        telegram.user(ADMIN).send_photo()
        await telegram.wait_for(ADMIN, after=before, timeout=20)
        await telegram.settle()
        said = [m.plain_text for m in telegram.sent_to(ADMIN)[before:]]
    assert said == ["host: photo saved"], said


async def test_inside_a_host_a_family_members_send_command_reaches_the_host(
    database_url: str, clock: ManualClock
) -> None:
    """Inside a host, a family member's coordinator commands (/note...) go on to the host: the
    refusal router is the standalone bot's only. The new family handlers for /send, /opinion
    (files.py ``refuse``) and /arriving (followup.py ``arriving_refused``) are included in a host
    too, so a family member using the host's own /send gets casebot's "Only a coordinator can..."
    and the host never sees it. Cause: telegram/routers/files.py files_router and
    telegram/routers/followup.py follow_up_router (refusals not limited to standalone)."""
    async with BotAPIEmulator() as telegram, host_with_files(telegram, database_url, clock):
        await answer_to(telegram, ADMIN, "/newcase Plugin case")
        await join(telegram, FAMILY, invite_token(telegram.sent_to(ADMIN)[-1].text))
        assert await answer_to(telegram, FAMILY, "/note mine") == ["host: noted"]
        said = await answer_to(telegram, FAMILY, "/send my postcard")
    assert said == ["host: sent"], said


# --- 8. the coordinator is told the family was told, when nobody of the family has joined -------


async def test_the_coordinator_is_not_told_the_family_was_told_when_nobody_has_joined(world: World) -> None:
    """A case is often sent before the family follows the invite. ``staff/outcome_recorded`` says
    "The family was told why, in their language" (needs_more) and "The family was told to expect
    the review by about <date>" (accepted) whatever ``family_ids`` held: with nobody joined no
    notice is queued, yet the coordinator believes the family knows why records are asked for
    and when to expect the review, and does not tell them another way. (/send and /opinion
    refuse for the same reason: "Nobody of the family has joined".)
    Cause: templates/en/staff/outcome_recorded.j2 and services/outcomes.py OutcomeService.record
    (no count of the family members told in OutcomeResult)."""
    t = world.telegram
    await say(t, ADMIN, "/newcase Lung, nobody joined yet", "opened")
    await say(t, ADMIN, "/hospital C-0001 Fudan | Thoracic oncology | Dr Li | 7bd", "Fudan")
    await say(t, ADMIN, "/advance C-0001 sent sent before the family joined", "✅")
    back = await say(t, ADMIN, "/outcome C-0001 needs_more Slides unreadable | Pathology blocks", "back")
    await say(t, ADMIN, "/advance C-0001 sent blocks on the way", "✅")
    accepted = await say(t, ADMIN, "/outcome C-0001 accepted", "accepted the case")
    assert not await OutboxMessage.filter(kind__in=["more_records_needed", "state_changed"]).exists()
    claims = [text for text in (back, accepted) if "The family was told" in text]
    assert claims == [], claims
