"""A second hostile read of issue 7's change (5f9a7a2..a58cfc4).

Each test fails against the reviewed code because of a real defect its docstring names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from casebot.clock import ManualClock
from casebot.db.models import Question
from casebot.testing import BotAPIEmulator

from .conftest import ADMIN, World
from .test_case_journey import invite_token, join, say
from .test_hostile_review import FAMILY, ask_the_family, case_with_family, open_case
from .test_plugin import answer_to, running_host

# --- 1. "not known yet" is taken for a reviewer's name -------------------------------------------


@pytest.mark.parametrize(
    "reviewer",
    [
        "not known yet",
        "will be assigned next week",
        "назначат на следующей неделе",
        "医院下周指定",
    ],
)
async def test_a_reviewer_not_yet_named_keeps_the_no_named_reviewer_flag(world: World, reviewer: str) -> None:
    """The seeds' red flag "no named oncology reviewer confirmed" clears once the reviewer field holds
    a name. ``is_placeholder_name`` knows "TBD", "to be confirmed" and "not assigned yet", but a
    coordinator who types what the hospital said, "not known yet" ("known" is no -ed word), "will be
    assigned next week", "назначат на следующей неделе", 医院下周指定, is answered "reviewed by not
    known yet", and with Q1 answered ok the flag is gone: the case can go out with nobody named."""
    t = world.telegram
    await open_case(world)
    answer = await say(t, ADMIN, f"/hospital C-0001 Fudan | Thoracic oncology | {reviewer}", "C-0001")
    assert "reviewed by" not in answer, answer
    await say(t, ADMIN, "/answer C-0001 1 ok Thoracic oncology is the department", "Q1")
    card = await say(t, ADMIN, "/case C-0001", "Checklist")
    assert "no named oncology reviewer confirmed" in card, card


# --- 2. "don't worry" is read as denying the guarantee that follows it -----------------------------


@pytest.mark.parametrize(
    "answer",
    [
        "no problem acceptance guaranteed",
        "не переживайте его точно примут",
        "没问题一定能接收",
    ],
)
async def test_a_reassured_promise_of_acceptance_is_kept_as_a_concern(world: World, answer: str) -> None:
    """``_DENIED`` takes any "no/not/не/没" up to two words before a promise as its denial. "No problem
    acceptance guaranteed", "не переживайте его точно примут" (don't worry, they will surely take
    him), 没问题一定能接收 (no problem, certainly accepted) deny the worry, not the promise; written
    without a comma, as chats are, they are kept as ok and the eligibility flag clears on a promise
    of eligibility, which the seeds call a red flag."""
    t = world.telegram
    await open_case(world)
    answered = await say(t, ADMIN, f"/answer C-0001 6 ok {answer}", "Q6")
    assert "concern" in answered, answered


# --- 3. inside a host, a family member's reply to the host's message is swallowed -------------------


async def test_inside_a_host_a_members_reply_to_the_hosts_message_reaches_the_host(
    database_url: str, clock: ManualClock
) -> None:
    """casebot hands a known person's plain text to the host, and an edit that answers nothing
    (SkipHandler); but ``reply_to_question`` answers every reply to any message of the (shared) bot
    with "That message is not one of the hospital's questions": a family member who replies to the
    host's own message (its menu, its question) gets casebot's refusal and the host never sees it."""
    async with BotAPIEmulator() as telegram, running_host(telegram, database_url, clock):
        await answer_to(telegram, ADMIN, "/newcase Plugin case")
        await join(telegram, FAMILY, invite_token(telegram.sent_to(ADMIN)[-1].text))
        menu = await answer_to(telegram, FAMILY, "/menu")
        assert menu == ["host: menu"], menu
        before = len(telegram.sent_to(FAMILY))
        telegram.user(FAMILY).reply_to(telegram.last(FAMILY), "two pizzas please")
        await telegram.wait_for(FAMILY, after=before, timeout=20)
        await telegram.settle()
        said = [m.plain_text for m in telegram.sent_to(FAMILY)[before:]]
    assert said == ["host echo: two pizzas please"], said


# --- 4. a reply to any message sent between a question's parts answers the question ------------------


async def test_a_reply_to_a_status_sent_between_the_parts_of_a_question_does_not_answer_it(
    world: World, clock: ManualClock
) -> None:
    """``question_asked_in`` takes a reply to any message whose id lies between a question's first and
    last part as a reply to that question, assuming the parts go "one right after the other". They do
    not when a part fails: the rest goes after the retry, and meanwhile the family asked /status. A
    reply to the status ("is the CT from May enough?") is recorded as the answer to Q11, sent to the
    coordinator, and the hospital's real question is closed unanswered."""
    t = world.telegram
    await say(t, ADMIN, "/quiet off", "Saved")  # the coordinator's notices never wait
    await case_with_family(world)
    await t.wait_for(ADMIN, contains="A family member joined")
    clock.set(datetime(2026, 11, 23, 14, 0, tzinfo=UTC))  # 22:00 for the family: the question waits
    await say(t, ADMIN, "/ask C-0001 " + " ".join(["PSA&&&&&&&&<4"] * 140) + " Are they available?", "Q11")
    await t.settle()
    t.fail_next("sendMessage", status=502, after=1)  # part 1 goes, part 2 fails
    clock.set(datetime(2026, 11, 24, 1, 30, tzinfo=UTC))
    sender = world.dispatcher["casebot"].sender
    assert sender is not None
    sender.wake()
    await t.wait_until(lambda: any(c.name == "sendMessage" and not c.ok for c in t.calls))
    await t.settle()
    status = await say(t, FAMILY, "/status", "gathering records")
    status_message = next(m for m in reversed(t.sent_to(FAMILY)) if m.text == status)
    clock.advance(timedelta(hours=1))
    sender.wake()
    await t.wait_for(FAMILY, contains="Reply to this message")
    await t.settle()
    before = len(t.sent_to(FAMILY))
    t.user(FAMILY).reply_to(status_message, "Is the CT from May enough?")
    answer = (await t.wait_for(FAMILY, after=before))[0].plain_text
    assert (await Question.get(case_id=1, number=11)).answer is None, answer


# --- 5. editing a reply that was refused replaces the recorded answer ---------------------------------


async def test_editing_a_second_reply_that_was_refused_does_not_replace_the_answer(world: World) -> None:
    """A family answers Q11 "No known allergies", then replies to the same question again ("Thank
    you!") and is told Q11 is already answered. Fixing a typo in that second message makes
    ``correct_answer`` take it as a correction of the answer (it checks only who answered, not
    which message): the medical answer is replaced by "Thank you!", the coordinator is told it was
    corrected, and the family is told "your answer to Q11 now reads as edited"."""
    t = world.telegram
    await case_with_family(world)
    await say(t, FAMILY, "/quiet off", "Saved")
    question = (await ask_the_family(t, "Any allergies to contrast agents?"))[0]
    before = len(t.sent_to(FAMILY))
    t.user(FAMILY).reply_to(question, "No known allergies")
    await t.wait_for(FAMILY, after=before, contains="Q11 is recorded")
    before = len(t.sent_to(FAMILY))
    second = t.user(FAMILY).reply_to(question, "Thnak you!")
    await t.wait_for(FAMILY, after=before, contains="already answered")
    before = len(t.sent_to(FAMILY))
    t.user(FAMILY).edit_text(second, "Thank you!")
    await t.wait_for(FAMILY, after=before)
    await t.settle()
    assert (await Question.get(case_id=1, number=11)).answer == "No known allergies"


# --- 6. an answer given with /reply can be corrected neither by an edit nor "again as a new message" ---


async def test_an_answer_given_with_reply_can_be_corrected_as_the_bot_tells(world: World) -> None:
    """The family answers with "/reply 11 No known allergies" (what /status tells them to write), then
    edits it to name an allergy. ``answer_edited`` takes only plain replies, so the fallback answers
    "nothing changed. If something in it matters, please send it again as a new message"; sent again,
    "/reply 11 Allergic to iodine ..." is refused as already answered. The correction is lost, after
    the bot promised a way to make it."""
    t = world.telegram
    await case_with_family(world)
    await say(t, FAMILY, "/quiet off", "Saved")
    await ask_the_family(t, "Any allergies to contrast agents?")
    before = len(t.sent_to(FAMILY))
    sent = t.user(FAMILY).send_text("/reply 11 No known allergies")
    await t.wait_for(FAMILY, after=before, contains="Q11 is recorded")
    before = len(t.sent_to(FAMILY))
    t.user(FAMILY).edit_text(sent, "/reply 11 Allergic to iodine contrast: hives in 2023")
    told = (await t.wait_for(FAMILY, after=before))[0].plain_text
    await t.settle()
    again = ""
    if "send it again" in told:
        again = await say(t, FAMILY, "/reply 11 Allergic to iodine contrast: hives in 2023")
    answer = (await Question.get(case_id=1, number=11)).answer
    assert answer == "Allergic to iodine contrast: hives in 2023", (told, again)
