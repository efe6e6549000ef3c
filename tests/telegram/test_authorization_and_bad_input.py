"""Who may do what, and a readable answer to every mistyped command; nothing leaks, nothing changes."""

from __future__ import annotations

import pytest

from casebot.db.models import AuditEvent, Case, Participant, Question

from .conftest import World
from .test_case_journey import invite_token, join, say

FAMILY_A, FAMILY_B, STRANGER, COORD_B = 3001, 3002, 3999, 2002

COORDINATOR_COMMANDS = [
    "/newcase X",
    "/invite {ref}",
    "/cases",
    "/case {ref}",
    "/advance {ref} withdrawn",
    "/hospital {ref} H | D | R",
    "/received {ref} 1",
    "/waive {ref} 1 none",
    "/additem {ref} thing",
    "/ask {ref} question?",
    "/chase {ref} question?",
    "/answer {ref} 1 answer",
    "/note {ref} secret note",
    "/coordinator add 4242",
]


async def two_cases(world: World) -> None:
    """Admin opens C-0001 (family A) and C-0002 (family B); a second coordinator exists."""
    t = world.telegram
    await say(t, world.admin.id, f"/coordinator add {COORD_B}", "now a coordinator")
    for ref_family in (FAMILY_A, FAMILY_B):
        opened = await say(t, world.admin.id, f"/newcase Case of {ref_family}", "opened")
        await join(t, ref_family, invite_token(opened))


@pytest.mark.parametrize("command", COORDINATOR_COMMANDS)
@pytest.mark.parametrize("who", [FAMILY_A, STRANGER])
async def test_non_coordinators_are_refused_every_coordinator_command_and_nothing_changes(
    world: World, command: str, who: int
) -> None:
    if who == FAMILY_A and command.startswith("/ask"):
        # A family's own /ask puts their question to the hospital (its test is below); on
        # someone else's case it must find nothing.
        await two_cases(world)
        answer = await say(world.telegram, who, "/ask C-0002 what about B?")
        assert "There is no case C-0002" in answer
        assert not await Question.filter(text__contains="what about B").exists()
        return
    await two_cases(world)
    events = await AuditEvent.all().count()
    answer = await say(world.telegram, who, command.format(ref="C-0001"))
    assert "Only a coordinator can do that" in answer
    assert "Case of" not in answer
    assert await AuditEvent.all().count() == events
    assert await Case.all().count() == 2


@pytest.mark.parametrize("command", ["/status", "/questions"])
async def test_a_family_member_sees_only_their_own_case(world: World, command: str) -> None:
    await two_cases(world)
    await say(world.telegram, world.admin.id, "/ask C-0002 Secret question for B?", "logged")
    answer = await say(world.telegram, FAMILY_A, command)
    assert "C-0002" not in answer and "Secret question" not in answer
    own = await say(world.telegram, FAMILY_B, command)
    assert "C-0002" in own


async def test_a_family_member_cannot_answer_a_question_of_another_case(world: World) -> None:
    await two_cases(world)
    await say(world.telegram, world.admin.id, "/ask C-0002 For B only?", "Q11 logged")
    answer = await say(world.telegram, FAMILY_A, "/reply C-0002/11 sneaky")
    assert "There is no case C-0002" in answer
    assert await AuditEvent.filter(action="question_answered").count() == 0


async def test_a_coordinator_who_is_not_admin_cannot_add_coordinators(world: World) -> None:
    await two_cases(world)
    answer = await say(world.telegram, COORD_B, "/coordinator add 5555")
    assert "Only an admin" in answer
    assert not await Participant.filter(telegram_user_id=5555).exists()


async def test_a_stranger_gets_a_join_hint_and_no_case_data(world: World) -> None:
    await two_cases(world)
    answer = await say(world.telegram, STRANGER, "hello, what about case C-0001?")
    assert "invite link" in answer and "Case of" not in answer


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/newcase", "Usage: <code>/newcase"),
        ("/advance C-0001", "Usage: <code>/advance"),
        ("/advance C-0099 sent", "There is no case C-0099"),
        (
            "/advance C-0001 finished",
            "Allowed next states: sent to the hospital (<code>sent</code>), withdrawn (<code>withdrawn</code>)",
        ),
        ("/advance C-0001 opinion_received", "cannot move to opinion received"),
        ("/advance nonsense sent", "is not a case reference"),
        ("/hospital C-0001 only-one-part", "Usage: <code>/hospital"),
        ("/received C-0001 99", "Items are numbered 1 to 8"),
        ("/waive C-0001 1", "Usage: <code>/waive"),
        ("/answer C-0001 77 yes", "has no question"),
        ("/cases sideways", "Usage: <code>/cases"),
        ("/coordinator promote 1", "Usage: <code>/coordinator"),
    ],
)
async def test_a_mistyped_command_gets_a_readable_answer(world: World, command: str, expected: str) -> None:
    await say(world.telegram, world.admin.id, "/newcase One", "opened")
    answer = await say(world.telegram, world.admin.id, command)
    assert expected in answer, answer
    assert (await Case.get(id=1)).state == "records_gathering"


async def test_an_invite_used_twice_gets_a_clear_reply(world: World) -> None:
    opened = await say(world.telegram, world.admin.id, "/newcase One", "opened")
    token = invite_token(opened)
    await join(world.telegram, FAMILY_A, token)
    world.telegram.user(FAMILY_B).send_command("/start", token)
    answer = (await world.telegram.wait_for(FAMILY_B))[0].text
    assert "already used" in answer
    assert not await Participant.filter(
        telegram_user_id=FAMILY_B
    ).exists()  # a refused invite leaves no trace


async def test_a_stale_button_gets_a_notice_and_changes_nothing(world: World) -> None:
    t = world.telegram
    await say(t, world.admin.id, "/newcase One", "opened")
    await say(t, world.admin.id, "/case C-0001", "Checklist")
    card = t.last(world.admin.id)
    await say(t, world.admin.id, "/advance C-0001 withdrawn the family stopped", "withdrawn")
    query = t.user(world.admin.id).press(card, text="sent")
    await t.wait_until(lambda: query in t.callback_answers)
    assert "changed by someone else" in t.callback_answers[query]["text"]
    assert (await Case.get(id=1)).state == "withdrawn"


async def test_stickers_and_edits_from_a_member_are_answered_once(world: World) -> None:
    t = world.telegram
    opened = await say(t, world.admin.id, "/newcase One", "opened")
    await join(t, FAMILY_A, invite_token(opened))
    before = len(t.sent_to(FAMILY_A))
    t.user(FAMILY_A).send_sticker()
    hint = (await t.wait_for(FAMILY_A, after=before))[0].text
    assert "is not kept" in hint and "/help" in hint
    before = len(t.sent_to(FAMILY_A))
    sent = t.user(FAMILY_A).send_text("a message")
    await t.wait_for(FAMILY_A, after=before)  # the hint, however long the machine takes
    await t.settle()
    count = len(t.sent_to(FAMILY_A))
    t.user(FAMILY_A).edit(sent, "an edited message")
    told = await t.wait_for(FAMILY_A, after=count)
    await t.settle()
    # An edit changes nothing recorded, and the member is told so once (not left believing it did).
    assert len(t.sent_to(FAMILY_A)) == count + 1 and "nothing changed" in told[0].text


async def test_a_file_over_20_mb_is_kept_and_flagged(world: World) -> None:
    t = world.telegram
    opened = await say(t, world.admin.id, "/newcase One", "opened")
    await join(t, FAMILY_A, invite_token(opened))
    before = len(t.sent_to(FAMILY_A))
    t.user(FAMILY_A).send_document("ct-dicom.zip", size=300 * 1024 * 1024, mime_type="application/zip")
    chooser = (await t.wait_for(FAMILY_A, after=before))[0]
    t.user(FAMILY_A).press(chooser, text="3. ")
    await t.wait_until(lambda: "over 20 MB" in chooser.text)
    notice = await t.wait_for(world.admin.id, contains="not downloadable")
    assert "ct-dicom.zip" in notice[0].text
