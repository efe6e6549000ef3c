"""A hostile read of issue 7's change, run as a confused, a hostile and an operating user would.

Each test failed against the reviewed code because of a real defect (its docstring says which) and
passes since that defect's class was fixed; a test marked GUARD passed from the start and guards
something no other test covers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiogram import Dispatcher, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message
from tortoise.exceptions import OperationalError

from casebot.clock import ManualClock
from casebot.db.models import AuditEvent, Case, Note, Participant, Question
from casebot.domain.calendar import next_allowed
from casebot.domain.quiet import parse_quiet_hours
from casebot.plugin import setup_casebot
from casebot.testing import BotAPIEmulator, SentMessage

from .conftest import ADMIN, COORDINATOR_B, World, emulator_settings
from .test_case_journey import invite_token, join, say
from .test_plugin import STRANGER, answer_to, running_host
from .test_webhook import webhook_bot

FAMILY, OTHER_FAMILY = 3001, 3002
BUG = "Something went wrong on our side"


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage()[:300] for r in caplog.records if r.levelno >= logging.ERROR]


async def open_case(world: World, label: str = "Lung, Mrs Ivanova") -> str:
    return str(await say(world.telegram, ADMIN, f"/newcase {label}", "opened"))


async def case_with_family(world: World, family: int = FAMILY, label: str = "One") -> None:
    opened = await open_case(world, label)
    await join(world.telegram, family, invite_token(opened))


async def ask_for_a_reason(t: BotAPIEmulator) -> None:
    """The admin presses "→ withdrawn" on C-0001's card: the bot waits for the reason."""
    await say(t, ADMIN, "/case C-0001", "Checklist")
    before = len(t.sent_to(ADMIN))
    t.user(ADMIN).press(t.last(ADMIN), text="→ withdrawn")
    await t.wait_for(ADMIN, after=before, contains="needs a reason")


# --- 1. a pending prompt still swallows (or crashes) the commands it says it lets through ----------


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/note C-0001 Called the family about the scans", "C-0001"),
        ("/hospital C-0001 Fudan | Thoracic oncology | Dr Li", "Dr Li"),
        ("/received C-0001 2", "C-0001"),
        ("/help", "/newcase"),
    ],
)
async def test_a_command_typed_while_a_reason_is_pending_runs_instead_of_crashing(
    world: World, caplog: pytest.LogCaptureFixture, command: str, expected: str
) -> None:
    """The prompt says "any other command cancels too" and lets the command run; but the FSM state
    aiogram handed the handlers was read before the prompt was cleared, so ``reason_given`` (registered
    before /hospital, /received, /note, ... and before every router after the coordinator's) still
    matches, finds no pending data and fails with KeyError: the command is lost, the person is told
    "something went wrong on our side", and the admins are paged."""
    t = world.telegram
    await open_case(world)
    await ask_for_a_reason(t)
    answer = await say(t, ADMIN, command)
    assert "was not made" in answer
    assert BUG not in answer, answer
    assert expected in answer.split("was not made", 1)[1], answer
    assert errors_logged(caplog) == []
    assert (await Case.get(id=1)).state == "records_gathering"


async def test_a_note_typed_while_a_reason_is_pending_is_kept(world: World) -> None:
    t = world.telegram
    await open_case(world)
    await ask_for_a_reason(t)
    await say(t, ADMIN, "/note C-0001 Called the family about the scans")
    assert await Note.filter(case_id=1).count() == 1


@pytest.mark.parametrize(
    ("command", "check"),
    [
        ("/timezone Europe/Moscow", "Europe/Moscow"),
        ("/quiet 22:00-07:00", "22:00-07:00"),
    ],
)
async def test_a_family_command_typed_while_the_city_is_asked_is_not_taken_for_a_city(
    world: World, command: str, check: str
) -> None:
    """Joining asks the language, then the city; the issue says the zone may also come by /timezone.
    The prompt is cancelled, but the stale FSM state sends the command to ``city_typed``, which looks
    "/timezone Europe/Moscow" up as a city: the setting is not saved."""
    t = world.telegram
    await case_with_family(world)
    before = len(t.sent_to(FAMILY))
    t.user(FAMILY).press(t.last(FAMILY), text="English")
    await t.wait_for(FAMILY, after=before, contains="Which time zone")
    before = len(t.sent_to(FAMILY))
    await say(t, FAMILY, command)
    await t.settle(quiet=1.0)
    answer = "\n".join(m.text for m in t.sent_to(FAMILY)[before:])
    assert "could not find that city" not in answer, answer
    person = await Participant.get(telegram_user_id=FAMILY)
    assert check in (person.timezone, person.quiet_hours), answer


# --- 2. a database failure after a committed write: "nothing was saved", and the update runs again ------


async def test_a_database_failure_after_a_committed_write_neither_denies_it_nor_repeats_it(
    database_url: str, clock: ManualClock, unused_tcp_port: int
) -> None:
    """/newcase commits the case, then the invite fails on the database. The error root says "nothing
    was saved" (``saved and not outage`` forces it) and raises again, so the webhook answers 500 and
    Telegram delivers /newcase once more: a second case is opened for the same family."""
    async with (
        BotAPIEmulator() as telegram,
        webhook_bot(telegram, database_url, clock, unused_tcp_port) as (dispatcher, _),
    ):
        services = dispatcher["casebot"].runtime.services
        real = services.invites.create
        failures = [1]

        async def database_gone(*args: object, **kwargs: object) -> object:
            if failures:
                failures.pop()
                raise OperationalError("connection lost") from ConnectionResetError()
            return await real(*args, **kwargs)

        services.invites.create = database_gone
        telegram.user(ADMIN).send_text("/newcase Lung, Mrs Ivanova")
        first = await telegram.wait_for(ADMIN, contains="⚠️")
        await telegram.wait_until(lambda: bool(telegram.webhook_deliveries))
        await telegram.settle(quiet=1.0)
        answers = "\n".join(m.plain_text for m in telegram.sent_to(ADMIN))
        dispatcher["casebot"].runtime.database.bind_for_task()
        opened = await Case.all().count()
    assert opened == 1, f"{opened} cases opened by one /newcase:\n{answers}"
    assert "nothing was saved" not in first[0].plain_text, first[0].plain_text


# --- 3. replies to questions: an erased case, the middle part of a long question --------------------


async def ask_the_family(t: BotAPIEmulator, text: str, number: int = 11) -> list[SentMessage]:
    """The admin logs the hospital's question; return the parts the family received."""
    before = len(t.sent_to(FAMILY))
    await say(t, ADMIN, f"/ask C-0001 {text}", f"Q{number} logged")
    await t.wait_for(FAMILY, after=before, contains="Reply to this message")
    await t.settle()
    return t.sent_to(FAMILY)[before:]


async def test_a_reply_to_a_question_of_an_erased_case_is_answered_readably_not_as_a_bug(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """GUARD (failed at 38a5b7f, passes since 9aae082, which landed during this review): erasure
    empties the payload of the case's sent outbox rows, and ``question_asked_in`` read
    ``payload["number"]`` and raised KeyError: the family heard "something went wrong on our side",
    the admins were paged for a bug, and an ERROR with a traceback was logged, for a plain reply."""
    t = world.telegram
    await case_with_family(world)
    question = (await ask_the_family(t, "Are the pathology blocks available?"))[0]
    runtime = world.dispatcher["casebot"].runtime
    admin = runtime.services.participants.actor_for(await Participant.get(telegram_user_id=ADMIN))
    await runtime.services.cases.erase(admin, 1)
    before = len(t.sent_to(FAMILY))
    t.user(FAMILY).reply_to(question, "Yes, at the local hospital")
    answer = (await t.wait_for(FAMILY, after=before))[0].plain_text
    await t.settle()
    assert BUG not in answer, answer
    assert errors_logged(caplog) == []
    assert not [m for m in t.sent_to(ADMIN) if "casebot failed on an update" in m.plain_text]


async def test_a_reply_to_the_middle_part_of_a_long_question_answers_it(world: World) -> None:
    """A 2,000-character question dense in ``&`` and ``<`` is escaped to ~7,000 characters and goes in
    three parts: the one-line heading (the last line break that fits), the body of the question, and
    its tail. Only the first and last parts' message ids are kept, so a reply to the body, the part a
    person reads and answers, is told "That message is not one of the hospital's questions"."""
    t = world.telegram
    await case_with_family(world)
    await say(t, FAMILY, "/quiet off", "Saved")
    parts = await ask_the_family(t, " ".join(["PSA&&&&&&&&<4"] * 140) + " Are the blocks available?")
    assert len(parts) == 3, [len(p.text) for p in parts]
    before = len(t.sent_to(FAMILY))
    t.user(FAMILY).reply_to(parts[1], "Yes, at the local hospital")
    answer = (await t.wait_for(FAMILY, after=before))[0].plain_text
    assert "Q11 is recorded" in answer, answer


# --- 4. the disclaimer of a hospital question ignores the moment -------------------------------------

TRAVEL_LINE = "do not book travel before the records are reviewed"


async def test_a_hospital_answer_in_home_follow_up_does_not_tell_the_family_not_to_book_travel(
    world: World,
) -> None:
    """Issue 7: "Do not book travel before the records are reviewed" belongs while records are not yet
    reviewed; follow-up messages carry a line that fits them. hospital_answered, question_for_family,
    reminder_question and family/asked all call ``m.disclaimer()`` with no state."""
    t = world.telegram
    await case_with_family(world)
    await say(t, FAMILY, "/quiet off", "Saved")
    for step in ("sent records as they are", "under_review", "opinion_received reviewed what it had",
                 "home_follow_up"):  # fmt: skip
        await say(t, ADMIN, f"/advance C-0001 {step}", "✅")
    await t.wait_for(FAMILY, contains="is now: <b>home follow-up</b>")
    asked = await say(t, FAMILY, "/ask Can our oncologist call the reviewer?", "Q11")
    await t.wait_for(ADMIN, contains="the family asks the hospital")
    await say(t, ADMIN, "/answer C-0001 11 Yes, by appointment", "Q11 answered")
    answer = (await t.wait_for(FAMILY, contains="the hospital answered your question Q11"))[0].text
    assert [text for text in (asked, answer) if TRAVEL_LINE in text] == []


async def test_the_familys_answer_to_a_hospital_question_is_confirmed_with_the_disclaimer(
    world: World,
) -> None:
    """Issue 7: "Every family-facing message about a hospital question carries the disclaimer too."
    The confirmation of the family's answer (family/answered) carries none."""
    t = world.telegram
    await case_with_family(world)
    await say(t, FAMILY, "/quiet off", "Saved")
    question = (await ask_the_family(t, "Are the pathology blocks available?"))[0]
    before = len(t.sent_to(FAMILY))
    t.user(FAMILY).reply_to(question, "Yes, at the local hospital")
    recorded = (await t.wait_for(FAMILY, after=before, contains="Q11 is recorded"))[0].plain_text
    assert "not medical advice" in recorded, recorded


# --- 5. invisible text that is not Cc/Cf/Cs --------------------------------------------------------------


@pytest.mark.parametrize("blank", ["\u3164", "\u2800\u2800", "\uffa0", "\u115f\u1160"])
async def test_a_label_of_blank_letters_is_refused_like_zero_width_characters(
    world: World, blank: str
) -> None:
    """Hangul fillers (Lo) and the blank Braille pattern (So) render as nothing, yet strip_invisible
    keeps them: "/newcase ㅤ" opens a case whose label reads as empty on every card and list."""
    answer = await say(world.telegram, ADMIN, f"/newcase {blank}")
    assert "opened" not in answer, answer
    assert not await Case.exists()


# --- 6. a family in two cases is sent to the wrong one ------------------------------------------------


async def test_the_reply_command_a_second_cases_status_shows_answers_that_case(world: World) -> None:
    """Every case numbers the hospital's first question to the family Q11 (Q1-Q10 are the standard
    questions to the hospital). /status shows C-0002's question with "write /reply 11 your answer";
    /reply without a case answers the member's FIRST open case, so the answer about C-0002 is
    recorded on C-0001's Q11, a different question, and sent to C-0001's coordinator."""
    t = world.telegram
    await case_with_family(world, FAMILY, "Father")
    opened = await open_case(world, "Mother")
    await say(t, FAMILY, "/quiet off", "Saved")
    t.user(FAMILY).send_command("/start", invite_token(opened))
    await t.wait_for(FAMILY, contains="following case <b>C-0002</b>")
    await say(t, ADMIN, "/ask C-0001 Are the father's pathology blocks available?", "Q11 logged")
    await say(t, ADMIN, "/ask C-0002 Is there a CT of the mother from May?", "Q11 logged")
    status = await say(t, FAMILY, "/status", "C-0002")
    second = status.split("Case C-0002", 1)[1]
    instruction = re.search(r"/reply [^ ]+", second)
    assert instruction is not None, second
    await say(t, FAMILY, f"{instruction.group(0)} Yes, from the 12th of May", "recorded")
    father = await Question.get(case_id=1, number=11)
    mother = await Question.get(case_id=2, number=11)
    recorded = {"C-0001": father.answer, "C-0002": mother.answer}
    assert recorded == {"C-0001": None, "C-0002": "Yes, from the 12th of May"}


# --- 7. "ok"/"concern" is cut off answers that stand behind no red flag -----------------------------------


async def test_an_answer_to_the_familys_own_question_reaches_them_whole(world: World) -> None:
    """``split_verdict`` runs on every answer to a question to the hospital, red flag or not: "OK, bring
    the original slides" reaches the family as "bring the original slides", and "Concern about ..."
    loses its first word, while the card marks it [ok] / [concern]."""
    t = world.telegram
    await case_with_family(world)
    await say(t, FAMILY, "/quiet off", "Saved")
    await say(t, FAMILY, "/ask Can we bring the slides ourselves?", "Q11")
    await say(t, ADMIN, "/answer C-0001 11 OK, bring the original slides in person", "Q11 answered")
    answer = (await t.wait_for(FAMILY, contains="the hospital answered your question Q11"))[0].plain_text
    assert "OK, bring the original slides in person" in answer, answer


# --- 8. button presses that are answered with something untrue -----------------------------------------


async def test_a_doubled_press_of_a_move_button_is_not_blamed_on_someone_else(world: World) -> None:
    """Two taps of "→ under review" (before the first edit took the keyboard away): the second is
    answered "C-0001 was changed by someone else just now", though nobody else touched it."""
    t = world.telegram
    await open_case(world)
    await say(t, ADMIN, "/advance C-0001 sent the family asked to send what we have", "✅")
    await say(t, ADMIN, "/case C-0001", "Checklist")
    card = t.last(ADMIN)
    data = next(d for text, d in card.flat_buttons if "under review" in text)
    before = len(t.sent_to(ADMIN))
    first = t.user(ADMIN).press_data(card, data)
    second = t.user(ADMIN).press_data(card, data)
    await t.wait_until(lambda: first in t.callback_answers and second in t.callback_answers)
    await t.settle()
    said = [str(t.callback_answers[q].get("text") or "") for q in (first, second)]
    said += [m.plain_text for m in t.sent_to(ADMIN)[before:]]
    assert not [text for text in said if "someone else" in text], said
    assert (await Case.get(id=1)).state == "under_review"


async def test_snoozing_a_reminder_of_a_case_closed_meanwhile_does_not_say_the_case_does_not_exist(
    world: World, clock: ManualClock
) -> None:
    """A family presses "Snooze 1 day" on a reminder of a case withdrawn since: "There is no case
    C-0001" (the snooze query filters open states and raises CaseNotFound), to a family whose case
    it is."""
    t = world.telegram
    await case_with_family(world)
    await say(t, FAMILY, "/quiet off", "Saved")
    clock.advance(timedelta(days=3))
    ticker = world.dispatcher["casebot"].ticker
    assert ticker is not None
    await ticker.tick()
    reminder = (await t.wait_for(FAMILY, contains="gentle reminder"))[0]
    await say(t, ADMIN, "/advance C-0001 withdrawn the family stopped", "✅")
    query = t.user(FAMILY).press(reminder, text="Snooze 1 day")
    await t.wait_until(lambda: query in t.callback_answers)
    notice = str(t.callback_answers[query].get("text") or "")
    assert "There is no case" not in notice, notice


# --- 9. a reason refused for its length loses the prompt it answers ------------------------------------


async def test_a_reason_refused_as_too_long_can_be_given_again_shorter(world: World) -> None:
    """The prompt is cleared before the reason is checked: "please shorten it" is answered, and the
    shortened reason that follows is no longer taken (it gets the member hint), so the move is lost."""
    t = world.telegram
    await open_case(world)
    await ask_for_a_reason(t)
    refused = await say(t, ADMIN, "The family stopped. " * 110)
    assert "shorten" in refused, refused
    await say(t, ADMIN, "The family stopped.")
    assert (await Case.get(id=1)).state == "withdrawn"


# --- 10. a casebot outage still takes the host's updates from casebot's known people ----------------


async def test_while_casebots_database_is_down_the_host_still_gets_a_known_persons_other_messages(
    tmp_path: Path, clock: ManualClock
) -> None:
    """The gate claims every private message of a known person (the admins always are), then raises
    Unavailable when the database is not open: an admin's plain text and the host's own /menu get
    casebot's "I cannot reach my records" and never reach the host, which answers them otherwise."""
    url = f"sqlite://{tmp_path / 'not-yet' / 'casebot.sqlite3'}"
    async with BotAPIEmulator() as telegram, running_host(telegram, url, clock):
        assert await answer_to(telegram, STRANGER, "hi") == ["host echo: hi"]
        lunch = await answer_to(telegram, ADMIN, "lunch?")
        menu = await answer_to(telegram, ADMIN, "/menu")
    assert (lunch[:1], menu[:1]) == (["host echo: lunch?"], ["host: menu"]), (lunch, menu)


async def test_the_reason_prompt_shows_no_literal_tags(world: World) -> None:
    """advance_button renders the refusal to HTML (``user_error_text``) and hands it to
    staff/ask_reason as a plain string, which autoescape escapes again: the coordinator reads
    "<b>Red flags open</b>" and "<b>Records missing</b>" as text (an added item's "&" as "&amp;")."""
    t = world.telegram
    await open_case(world)
    await say(t, ADMIN, "/additem C-0001 Echo & stress test", "C-0001")
    await say(t, ADMIN, "/case C-0001", "Checklist")
    before = len(t.sent_to(ADMIN))
    t.user(ADMIN).press(t.last(ADMIN), text="→ sent to the hospital")
    prompt = (await t.wait_for(ADMIN, after=before))[0].plain_text
    assert "<b>" not in prompt and "&amp;" not in prompt, prompt


# --- 11. the send-time check does not cover a question answered meanwhile ----------------------------


async def test_a_question_answered_while_it_waited_for_the_morning_is_not_put_to_the_family(
    world: World, clock: ManualClock
) -> None:
    """22:00 in Shanghai: the hospital's question waits for the family's morning. The coordinator
    records the answer the family gave by phone. At 09:00 the family still gets "The hospital asks
    ... Reply to this message", and a reply is refused as already answered: ``_still_due`` checks
    reminder kinds only, so question_for_family never dies."""
    t = world.telegram
    await case_with_family(world)
    clock.set(datetime(2026, 11, 23, 14, 0, tzinfo=UTC))
    await say(t, ADMIN, "/ask C-0001 Are the pathology blocks available?", "Q11 logged")
    await t.settle()
    assert not [m for m in t.sent_to(FAMILY) if "The hospital asks" in m.text], "held for the night"
    await say(t, ADMIN, "/answer C-0001 11 Yes, at the local hospital (told us by phone)", "Q11")
    clock.set(datetime(2026, 11, 24, 1, 0, tzinfo=UTC))
    sender = world.dispatcher["casebot"].sender
    assert sender is not None
    sender.wake()
    await t.settle(quiet=1.0)
    assert not [m for m in t.sent_to(FAMILY) if "The hospital asks" in m.text]


# --- GUARD: nothing a person typed reaches the log at INFO or above ----------------------------------

MARK = "ZQXMARK"


async def test_guard_nothing_typed_reaches_the_log(world: World, caplog: pytest.LogCaptureFixture) -> None:
    """GUARD (passes): a distinctive marker typed into every free-text field and every malformed
    argument never appears in a log record of level INFO or above."""
    caplog.set_level(logging.INFO)
    t = world.telegram
    await case_with_family(world, FAMILY, f"{MARK} label")
    inputs_admin = [
        f"/hospital C-0001 {MARK} H | {MARK} D | {MARK} R",
        f"/hospital C-0001|{MARK}",
        f"/ask C-0001 {MARK} question?",
        f"/chase C-0001 {MARK} chase?",
        f"/answer C-0001 1 ok {MARK}",
        f"/answer C-0001 {MARK} x",
        f"/note C-0001 {MARK} note",
        f"/additem C-0001 {MARK} item",
        f"/waive C-0001 3 {MARK} reason",
        f"/received C-0001 {MARK}",
        f"/case {MARK}",
        f"/advance C-0001 {MARK}",
        f"/advance C-0001 closed {MARK}\u202e",
        f"/pause C-0001 {MARK}",
        f"/timezone Europe/{MARK}",
        f"/quiet {MARK}",
        f"/cases {MARK}",
        f"/coordinator add {MARK}",
        f"/language {MARK}",
    ]
    for text in inputs_admin:
        await say(t, ADMIN, text)
    for text in (f"/reply 11 {MARK} answer", f"/ask {MARK} family question", f"/snooze {MARK}",
                 f"/timezone {MARK}", f"/reply {MARK}/3 x", f"{MARK} plain text"):  # fmt: skip
        await say(t, FAMILY, text)
    for data in (f"cb1a:1:{MARK}:sent", f"cb1z:{MARK}", f"cb1l:{MARK}", f"cb1{MARK}"):
        query = t.user(FAMILY).press_data(t.last(FAMILY), data)
        await t.wait_until(lambda q=query: q in t.callback_answers)
    t.user(FAMILY).send_document(f"{MARK}.pdf", size=1000)
    await t.wait_for(FAMILY, contains="Which record")
    t.user(STRANGER).send_command("/start", f"cb_{MARK}{MARK}{MARK}")
    await t.settle()
    leaked = [(r.name, r.levelname, r.getMessage()[:200]) for r in caplog.records
              if MARK in r.getMessage() or MARK in (r.exc_text or "")]  # fmt: skip
    assert leaked == []


# --- 12. a handover doubles the escalations waiting for the night to end ------------------------------


async def test_a_removed_coordinators_waiting_escalation_reaches_the_new_holder_once(
    world: World, clock: ManualClock
) -> None:
    """An escalation queued for coordinator B at 22:00 waits for B's morning. The admin removes B at
    23:00: the waiting row is handed to the admin (its dedupe key still names B), and the removal's
    audit row makes the case due, so the next sweep queues the same escalation for the admin under a
    key that names the admin. At 09:00 the admin gets it twice."""
    t = world.telegram
    await say(t, ADMIN, f"/coordinator add {COORDINATOR_B}", "is now a coordinator")
    await say(t, COORDINATOR_B, "/help")
    opened = await say(t, COORDINATOR_B, "/newcase Lung, Mrs Ivanova", "opened")
    await join(t, FAMILY, invite_token(opened))
    ticker = world.dispatcher["casebot"].ticker
    assert ticker is not None
    for day in (3, 6, 9):
        clock.set(datetime(2026, 11, 23, 1, 0, tzinfo=UTC) + timedelta(days=day))
        await ticker.tick()
    clock.set(datetime(2026, 12, 5, 14, 0, tzinfo=UTC))  # 22:00 in Shanghai, 12 days on
    await ticker.tick()
    await t.settle()
    assert not [m for m in t.sent_to(COORDINATOR_B) if "went unanswered" in m.text], "held for the night"
    clock.set(datetime(2026, 12, 5, 15, 0, tzinfo=UTC))
    await say(t, ADMIN, f"/coordinator remove {COORDINATOR_B}", "no longer a coordinator")
    await ticker.tick()
    clock.set(datetime(2026, 12, 6, 1, 0, tzinfo=UTC))  # 09:00 in Shanghai
    await ticker.tick()
    await t.wait_for(ADMIN, contains="went unanswered")
    await t.settle(quiet=1.0)
    escalations = [m for m in t.sent_to(ADMIN) if "went unanswered" in m.text]
    assert len(escalations) == 1, [m.plain_text for m in escalations]


async def test_a_question_logged_before_anyone_joined_is_not_said_to_be_sent_to_the_family(
    world: World,
) -> None:
    """/ask on a case nobody has joined yet answers "Q11 logged and sent to the family"; nothing was
    queued (notify has no recipient), and the family who joins later is never sent the question."""
    t = world.telegram
    opened = await open_case(world)
    logged = await say(t, ADMIN, "/ask C-0001 Are the pathology blocks available?", "Q11 logged")
    await join(t, FAMILY, invite_token(opened))
    await t.settle()
    asked = [m for m in t.sent_to(FAMILY) if "Are the pathology blocks available?" in m.text]
    assert asked or "sent to the family" not in logged, logged


# --- GUARD: long texts full of & and < on the card and the family's list ------------------------------


async def test_guard_long_questions_and_answers_full_of_entities_arrive_whole(world: World) -> None:
    """GUARD (passes): three 2,000-character questions and answers dense in & and < make the card and
    /questions run to several parts; every part is valid HTML within the limit, and every text
    arrives whole."""
    t = world.telegram
    await case_with_family(world)
    await say(t, FAMILY, "/quiet off", "Saved")
    texts = []
    for n in range(3):
        question = (f"Q{n} " + " ".join(f"CEA<{i}&PSA>{i}" for i in range(200)))[:1990] + " end?"
        answer = (f"A{n} " + " ".join(f"x&y<{i}" for i in range(300)))[:1990] + " end."
        await say(t, ADMIN, f"/ask C-0001 {question}", f"Q{11 + n} logged")
        await say(t, FAMILY, f"/reply {11 + n} {answer}", "recorded")
        texts += [question, answer]
    for chat, command in ((ADMIN, "/case C-0001"), (FAMILY, "/questions")):
        before = len(t.sent_to(chat))
        await say(t, chat, command)
        parts = t.sent_to(chat)[before:]
        assert len(parts) > 1
        whole = " ".join(" ".join(p.plain_text.split()) for p in parts)
        for text in texts:
            assert " ".join(text.split()) in whole


async def test_a_block_undone_before_the_morning_is_not_reported_to_the_coordinator(
    world: World, clock: ManualClock
) -> None:
    """22:00 in Shanghai: the family blocks the bot; "has blocked the bot" waits for the coordinator's
    morning. At 23:00 they unblock it. At 09:00 the coordinator is still told "messages to them are
    not delivered": recipient_blocked is not checked against ``blocked`` at send time."""
    t = world.telegram
    await case_with_family(world)
    clock.set(datetime(2026, 11, 23, 14, 0, tzinfo=UTC))
    t.block(FAMILY, notify=True)
    await t.wait_until(lambda: t.pending_updates == 0)
    await t.settle()
    assert (await Participant.get(telegram_user_id=FAMILY)).blocked
    assert not [m for m in t.sent_to(ADMIN) if "has blocked the bot" in m.text], "held for the night"
    clock.set(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))
    t.unblock(FAMILY, notify=True)
    await t.wait_until(lambda: t.pending_updates == 0)
    await t.settle()
    assert not (await Participant.get(telegram_user_id=FAMILY)).blocked
    clock.set(datetime(2026, 11, 24, 1, 0, tzinfo=UTC))
    sender = world.dispatcher["casebot"].sender
    assert sender is not None
    sender.wake()
    await t.settle(quiet=1.0)
    assert not [m for m in t.sent_to(ADMIN) if "has blocked the bot" in m.text]


# --- 13. the seeds' red flags: placeholders, promises, and an ok that cannot be taken back ------------

REVIEWER_FLAG = "no named oncology reviewer confirmed"


@pytest.mark.parametrize("reviewer", ["Dr TBD", "to be confirmed", "not assigned yet", "待确认"])
async def test_a_reviewer_who_is_still_a_placeholder_keeps_the_named_reviewer_flag(
    world: World, reviewer: str
) -> None:
    """Only a whole name equal to one placeholder word counts as nobody: "Dr TBD", "to be confirmed",
    "not assigned yet" and 待确认 ("to be confirmed", typed by a coordinator in China) clear the
    seeds' first red flag, "No named oncology reviewer before payment"."""
    t = world.telegram
    await open_case(world)
    await say(t, ADMIN, "/answer C-0001 1 ok Thoracic oncology; the reviewer is being assigned", "Q1")
    chosen = await say(t, ADMIN, f"/hospital C-0001 Fudan | Thoracic oncology | {reviewer}", "Fudan")
    assert "reviewed by" not in chosen and "no named reviewer yet" in chosen, chosen
    card = await say(t, ADMIN, "/case C-0001", "Checklist")
    assert REVIEWER_FLAG in card, card


@pytest.mark.parametrize("answer", ["they promise he will be accepted", "eligibility is certain"])
async def test_a_promise_of_eligibility_is_kept_as_a_concern(world: World, answer: str) -> None:
    """The seeds: "Promises of guaranteed eligibility or results" are a red flag. ``_GUARANTEE`` knows
    "guarant" and "100 %" only, so "ok they promise he will be accepted" clears the flag."""
    t = world.telegram
    await open_case(world)
    answered = await say(t, ADMIN, f"/answer C-0001 6 ok {answer}", "Q6")
    assert "concern" in answered, answered


async def test_an_ok_recorded_by_mistake_or_overtaken_can_become_a_concern(world: World) -> None:
    """Only an answer kept as a concern may be answered again. A coordinator who typed ok on "you
    must travel first", or whose hospital changes its stance, cannot record the concern: the
    pre-travel flag stays cleared for good, and the case can go out without an override."""
    t = world.telegram
    await open_case(world)
    await say(t, ADMIN, "/answer C-0001 2 ok records are reviewed remotely", "Q2")
    changed = await say(t, ADMIN, "/answer C-0001 2 concern they now want the patient to travel first")
    assert "already answered" not in changed, changed
    card = await say(t, ADMIN, "/case C-0001", "Checklist")
    assert "reviewed before any travel — <b>concern</b> recorded" in card


# --- 14. small untruths and doubled answers -----------------------------------------------------------


async def test_an_edited_answer_to_the_hospital_is_not_dropped_in_silence(world: World) -> None:
    """A family answers the hospital's question "No known allergies", then edits it to name one. The
    fallback router acknowledges every edit silently: the coordinator keeps the first answer and the
    family is not told that the correction went nowhere."""
    t = world.telegram
    await case_with_family(world)
    await say(t, FAMILY, "/quiet off", "Saved")
    question = (await ask_the_family(t, "Any allergies to contrast agents?"))[0]
    before = len(t.sent_to(FAMILY))
    sent = t.user(FAMILY).reply_to(question, "No known allergies")
    await t.wait_for(FAMILY, after=before, contains="Q11 is recorded")
    await t.wait_for(ADMIN, contains="No known allergies")
    heard = len(t.sent_to(ADMIN)) + len(t.sent_to(FAMILY))
    t.user(FAMILY).edit_text(sent, "Allergic to iodine contrast: hives in 2023")
    await t.wait_until(lambda: t.pending_updates == 0)
    await t.settle(quiet=1.0)
    assert len(t.sent_to(ADMIN)) + len(t.sent_to(FAMILY)) > heard, "the correction went nowhere, unsaid"


async def test_an_edited_answer_replaces_the_first_and_the_coordinator_reads_the_correction(
    world: World,
) -> None:
    t = world.telegram
    await case_with_family(world)
    await say(t, FAMILY, "/quiet off", "Saved")
    question = (await ask_the_family(t, "Any allergies to contrast agents?"))[0]
    sent = t.user(FAMILY).reply_to(question, "No known allergies")
    await t.wait_for(ADMIN, contains="No known allergies")
    before = len(t.sent_to(FAMILY))
    t.user(FAMILY).edit_text(sent, "Allergic to iodine contrast: hives in 2023")
    told = (await t.wait_for(FAMILY, after=before))[0].plain_text
    correction = (await t.wait_for(ADMIN, contains="Allergic to iodine contrast"))[0].plain_text
    assert "Q11" in told and "corrected" in correction, (told, correction)
    assert (await Question.get(case_id=1, number=11)).answer == "Allergic to iodine contrast: hives in 2023"


async def test_an_edit_of_a_message_that_answered_nothing_is_said_to_change_nothing(world: World) -> None:
    t = world.telegram
    await case_with_family(world)
    before = len(t.sent_to(FAMILY))
    sent = t.user(FAMILY).send_text("The scans are at the clinic")
    await t.wait_for(FAMILY, after=before)
    before = len(t.sent_to(FAMILY))
    t.user(FAMILY).edit_text(sent, "The scans are at home")
    told = (await t.wait_for(FAMILY, after=before))[0].plain_text
    assert "nothing changed" in told, told


async def test_a_member_following_a_second_link_to_their_own_case_is_not_announced_as_joining(
    world: World,
) -> None:
    """A family member opens a fresh invite to the case they already follow: the bot tells them "you
    are already following", yet the coordinator is told "A family member joined"."""
    t = world.telegram
    await case_with_family(world)
    await t.wait_for(ADMIN, contains="A family member joined")
    fresh = await say(t, ADMIN, "/invite C-0001", "start=cb_")
    t.user(FAMILY).send_command("/start", invite_token(fresh))
    await t.wait_for(FAMILY, contains="already following")
    await t.settle(quiet=1.0)
    assert len([m for m in t.sent_to(ADMIN) if "A family member joined" in m.text]) == 1


async def test_a_doubled_press_of_a_language_button_asks_the_time_zone_once(world: World) -> None:
    t = world.telegram
    await case_with_family(world)
    chooser = t.last(FAMILY)
    first = t.user(FAMILY).press(chooser, text="English")
    second = t.user(FAMILY).press(chooser, text="English")
    await t.wait_until(lambda: first in t.callback_answers and second in t.callback_answers)
    await t.settle()
    assert len([m for m in t.sent_to(FAMILY) if "Which time zone" in m.text]) == 1


def test_quiet_hours_never_end_before_the_moment_they_are_asked_about() -> None:
    """On New York's fall-back night, 01:10 EST (the second 01:10) lies in "23:00-01:30"; next_allowed
    combines 01:30 with fold=0, i.e. 01:30 EDT, an hour in the past, so the notice goes out at once,
    inside the quiet hours."""
    quiet = parse_quiet_hours("23:00-01:30")
    moment = datetime(2026, 11, 1, 6, 10, tzinfo=UTC)  # 01:10 EST
    assert next_allowed(moment, "America/New_York", quiet) >= moment


async def test_a_reply_lost_to_a_passing_telegram_error_after_a_committed_change_is_not_silence(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """/newcase commits C-0001 and its invite; Telegram answers the reply with a 502. The error root
    treats every TelegramAPIError as "nobody to tell": no retry, no later notice, no admin alert, a
    WARNING in the log. The coordinator never gets the invite link, does not know the case exists,
    and opens it again."""
    t = world.telegram
    t.fail_next("sendMessage", status=502)
    t.user(ADMIN).send_text("/newcase Lung, Mrs Ivanova")
    await t.wait_until(lambda: any(c.name == "sendMessage" and not c.ok for c in t.calls))
    await t.settle(quiet=1.0)
    assert await Case.exists(id=1)
    told = [m for m in t.sent_to(ADMIN) if "C-0001" in m.text]
    assert told, [r.getMessage()[:120] for r in caplog.records if r.levelno >= logging.WARNING]


# --- 15. a removed coordinator's own chases are taken for the family's questions -----------------------


async def test_a_removed_coordinators_chase_and_its_answer_are_not_sent_to_the_family(world: World) -> None:
    """``_asked_by_family`` asks whether the asker's role is family NOW. A removed coordinator's role
    becomes family, so the answer to a question B put to the hospital for the team goes to the family
    as "the hospital answered your question", with B's internal wording, before anyone could frame
    the news."""
    t = world.telegram
    await say(t, ADMIN, f"/coordinator add {COORDINATOR_B}", "is now a coordinator")
    opened = await say(t, COORDINATOR_B, "/newcase Lung, Mr Petrov", "opened")
    await join(t, FAMILY, invite_token(opened))
    await say(t, COORDINATOR_B, "/chase C-0001 Is he a trial candidate given the liver metastases?", "Q11")
    await say(t, ADMIN, f"/coordinator remove {COORDINATOR_B}", "no longer a coordinator")
    await say(t, ADMIN, "/answer C-0001 11 No: not a candidate for the trial", "Q11 answered")
    await t.settle(quiet=1.0)
    leaked = [m.plain_text for m in t.sent_to(FAMILY) if "trial" in m.text]
    assert leaked == []


# --- 16. casebot shares the host's FSM: its prompts overwrite and clear the host's conversation -------


class HostOrder(StatesGroup):
    address = State()


def host_with_a_conversation() -> Router:
    """A host flow with FSM state and data: /order asks for an address, the next text is it."""
    router = Router(name="host.order")

    @router.message(Command("order"))
    async def order(message: Message, state: FSMContext) -> None:
        await state.set_state(HostOrder.address)
        await state.update_data(cart="pizza")
        await message.answer("host: your address?")

    @router.message(StateFilter(HostOrder.address), F.text)
    async def address(message: Message, state: FSMContext) -> None:
        cart = (await state.get_data()).get("cart")
        await state.clear()
        await message.answer(f"host: delivering {cart} to {message.text}")

    return router


async def test_casebots_language_and_zone_buttons_leave_the_hosts_conversation_alone(
    database_url: str, clock: ManualClock
) -> None:
    """casebot keeps its prompts in the dispatcher's FSM under the host's own key: choosing a language
    sets AwaitingCity over the host's state, and choosing a zone calls state.clear(), which wipes the
    host's state and data. The host's pending question ("your address?") is lost."""
    async with BotAPIEmulator() as telegram:
        settings = emulator_settings(telegram, database_url)
        bot = telegram.create_bot()
        dispatcher = Dispatcher()
        setup_casebot(dispatcher, settings, clock=clock, manage_menus=False)
        dispatcher.include_router(host_with_a_conversation())
        started = asyncio.Event()
        dispatcher.startup.register(started.set)
        polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False, polling_timeout=1))
        await asyncio.wait_for(started.wait(), 30)
        try:
            await answer_to(telegram, ADMIN, "/newcase Plugin case")
            await join(telegram, FAMILY, invite_token(telegram.sent_to(ADMIN)[-1].text))
            language = telegram.last(FAMILY)
            assert await answer_to(telegram, FAMILY, "/order") == ["host: your address?"]
            before = len(telegram.sent_to(FAMILY))
            telegram.user(FAMILY).press(language, text="English")
            zones = (await telegram.wait_for(FAMILY, after=before, contains="Which time zone"))[0]
            telegram.user(FAMILY).press(zones, text="Singapore")
            await telegram.wait_until(lambda: "Saved" in telegram.last(FAMILY).plain_text)
            await telegram.settle()
            before = len(telegram.sent_to(FAMILY))
            telegram.user(FAMILY).send_text("5 Main Street")
            await telegram.wait_until(lambda: telegram.pending_updates == 0)
            await telegram.settle(quiet=1.0)
            delivered = [m.plain_text for m in telegram.sent_to(FAMILY)[before:]]
        finally:
            await dispatcher.stop_polling()
            with contextlib.suppress(asyncio.CancelledError):
                await polling
            await bot.session.close()
    assert delivered == ["host: delivering pizza to 5 Main Street"], delivered


async def test_guard_a_coordinator_following_an_invite_is_refused_and_the_link_still_works(
    world: World,
) -> None:
    """GUARD (passes): a (non-admin) coordinator who opens a family's invite is refused, joins
    nothing, and the link stays good for the family."""
    t = world.telegram
    await say(t, ADMIN, f"/coordinator add {COORDINATOR_B}", "is now a coordinator")
    opened = await open_case(world)
    t.user(COORDINATOR_B).send_command("/start", invite_token(opened))
    refused = await t.wait_for(COORDINATOR_B, contains="⚠️")
    assert "Coordinators see every case already" in refused[0].text
    welcome = await join(t, FAMILY, invite_token(opened))
    assert "following case <b>C-0001</b>" in welcome
    assert (
        not await AuditEvent.filter(action="member_joined", actor_id__not=None)
        .exclude(actor_id=(await Participant.get(telegram_user_id=FAMILY)).id)
        .exists()
    )


# --- 17. a message cut off after its first part is finished for someone else -------------------------


async def test_a_notice_half_sent_to_a_removed_coordinator_is_not_finished_for_the_new_holder(
    world: World, clock: ManualClock
) -> None:
    """A family's long answer goes to coordinator B in three parts; Telegram fails part 2. The admin
    removes B: the pending row (parts_sent=1) is handed to the admin, and the send-time check is
    skipped once a part went out, so the admin receives parts 2 and 3 only, a message without its
    head ("Q11 answered by the family"), while B kept part 1."""
    t = world.telegram
    await say(t, ADMIN, f"/coordinator add {COORDINATOR_B}", "is now a coordinator")
    await say(t, COORDINATOR_B, "/help")
    opened = await say(t, COORDINATOR_B, "/newcase Lung, Mr Petrov", "opened")
    await join(t, FAMILY, invite_token(opened))
    await say(t, COORDINATOR_B, "/ask C-0001 Which lab values do you have?", "Q11 logged")
    await t.wait_for(FAMILY, contains="Which lab values")
    await t.settle()
    t.fail_next("sendMessage", status=502, after=2)  # the family's "recorded", then part 1 pass
    before = len(t.sent_to(COORDINATOR_B))
    await say(t, FAMILY, "/reply 11 " + " ".join(["PSA&&&&&&&&<4"] * 140) + " thats all", "recorded")
    await t.wait_until(lambda: any(c.name == "sendMessage" and not c.ok for c in t.calls))
    await t.settle()
    assert len(t.sent_to(COORDINATOR_B)) == before + 1, "part 1 went to B, part 2 failed"
    await say(t, ADMIN, f"/coordinator remove {COORDINATOR_B}", "no longer a coordinator")
    admin_before = len(t.sent_to(ADMIN))
    clock.advance(timedelta(hours=1))
    sender = world.dispatcher["casebot"].sender
    assert sender is not None
    sender.wake()
    await t.settle(quiet=1.5)
    to_admin = [m.plain_text for m in t.sent_to(ADMIN)[admin_before:]]
    answer_parts = [i for i, text in enumerate(to_admin) if "PSA" in text]
    # The heading may travel in a part of its own; it must come before the answer's first part.
    assert not answer_parts or any(
        "Q11 answered by the family" in text for text in to_admin[: answer_parts[0] + 1]
    ), [text[:60] for text in to_admin]


# --- 18. codes where people read words ---------------------------------------------------------------

CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")


async def test_the_case_card_and_a_conflict_speak_words_not_codes(world: World) -> None:
    """Issue 7, "Human words, never codes": the card's "Last changes" lists audit actions and values
    as stored (case_opened →records_gathering, question_answered 1:open→1:ok), in English whatever
    the reader's language. (StateConflict does the same: "it is in under_review, not sent".)"""
    t = world.telegram
    await open_case(world)
    await say(t, ADMIN, "/language ru", "ru")
    await say(t, ADMIN, "/answer C-0001 1 ok Thoracic oncology, Dr Li", "Q1")
    card = await say(t, ADMIN, "/case C-0001", "C-0001")
    assert CODE.findall(card) == [], CODE.findall(card)
