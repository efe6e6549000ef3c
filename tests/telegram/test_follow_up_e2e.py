"""Home follow-up through the emulator: the home oncologist, monthly check-ins, a follow-up question."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casebot.clock import ManualClock
from casebot.db.models import AuditEvent, Case, Participant
from casebot.testing import BotAPIEmulator

from .conftest import ADMIN, World
from .test_case_journey import invite_token, join, say
from .test_reminders_e2e import sweep

FAMILY = 3001
OTHER_FAMILY = 3002


async def family_case(world: World, user_id: int = FAMILY, label: str = "Lung", language: str = "en") -> str:
    """A new case with one family member joined (quiet hours off); returns its reference."""
    t = world.telegram
    opened = await say(t, ADMIN, f"/newcase {label}", "opened")
    ref = opened.split("<b>")[1].split("</b>")[0]
    if await Participant.exists(telegram_user_id=user_id):  # already known: no language question
        before = len(t.sent_to(user_id))
        t.user(user_id).send_command("/start", invite_token(opened))
        await t.wait_for(user_id, after=before, contains="Welcome")
    else:
        await join(t, user_id, invite_token(opened), language=language)
    await Participant.filter(telegram_user_id=user_id).update(quiet_hours="", locale=language)
    return ref


async def to_opinion(t: BotAPIEmulator, ref: str) -> None:
    await say(t, ADMIN, f"/advance {ref} sent Family asked", "✅")
    await say(t, ADMIN, f"/advance {ref} under_review", "✅")
    await say(t, ADMIN, f"/advance {ref} opinion_received the hospital reviewed what it had", "✅")


async def test_the_family_names_their_home_oncologist_and_a_follow_up_question_reaches_the_hospital(
    world: World, clock: ManualClock
) -> None:
    t = world.telegram
    ref = await family_case(world)
    await to_opinion(t, ref)
    asked = (await t.wait_for(FAMILY, contains="Who will take it on at home"))[-1]
    assert "not medical advice" in asked.text and "/homedoctor" in asked.text

    before = len(t.sent_to(FAMILY))
    t.user(FAMILY).reply_to(asked, "Dr Petrova, City Oncology Centre")
    saved = (await t.wait_for(FAMILY, after=before, contains="Recorded"))[0]
    assert "Dr Petrova, City Oncology Centre" in saved.text
    told = await t.wait_for(ADMIN, contains="home oncologist")
    assert "Dr Petrova, City Oncology Centre" in told[-1].text
    card = await say(t, ADMIN, f"/case {ref}", "Home oncologist")
    assert "Home oncologist: Dr Petrova, City Oncology Centre" in card
    assert "Home oncologist recorded" in card  # the audit trail, in words

    # Home follow-up: check-ins at 7 and 30 days, then monthly; each asks for a question too.
    await say(t, ADMIN, f"/advance {ref} home_follow_up", "✅")
    clock.advance(timedelta(days=7))
    await sweep(world)
    check_in = (await t.wait_for(FAMILY, contains="checking in"))[-1]
    assert "question for the hospital" in check_in.text
    before = len(t.sent_to(FAMILY))
    t.user(FAMILY).reply_to(check_in, "Should the CT be repeated in three months?")
    recorded = (await t.wait_for(FAMILY, after=before, contains="Your question is recorded"))[0]
    number = recorded.text.split(" Q")[1].split("</b>")[0]
    forwarded = await t.wait_for(ADMIN, contains="the family asks the hospital")
    assert "Should the CT be repeated" in forwarded[-1].text
    await say(t, ADMIN, f"/answer {ref} {number} Yes, at three months", "✅")
    await t.wait_for(FAMILY, contains="Yes, at three months")

    for days, round_ in ((23, 30), (30, 60), (30, 90)):
        clock.advance(timedelta(days=days))
        await sweep(world)
        await t.wait_for(FAMILY, contains=f"checking in, {round_} days")
    await say(t, ADMIN, f"/advance {ref} closed", "✅")
    count = len([m for m in t.sent_to(FAMILY) if "checking in" in m.text])
    clock.advance(timedelta(days=60))
    await sweep(world)
    await t.settle()
    assert len([m for m in t.sent_to(FAMILY) if "checking in" in m.text]) == count


async def test_homedoctor_any_time_asks_which_case_for_a_family_in_two(world: World) -> None:
    t = world.telegram
    first = await family_case(world)
    second = await family_case(world, label="Breast")  # the same person joins a second case
    usage = await say(t, FAMILY, "/homedoctor", "/homedoctor")
    assert "clinic" in usage
    which = await say(t, FAMILY, "/homedoctor Dr Chen, Northside Clinic", "several cases")
    assert "/homedoctor C-0001" in which
    assert await Case.filter(home_doctor__isnull=False).count() == 0
    saved = await say(t, FAMILY, f"/homedoctor {second} Dr Chen, Northside Clinic", "Recorded")
    assert second in saved
    assert (await Case.get(id=2)).home_doctor == "Dr Chen, Northside Clinic"
    assert (await Case.get(id=1)).home_doctor is None
    again = await say(t, FAMILY, f"/homedoctor {second} Dr Chen, Northside Clinic", "Already recorded")
    assert "C-0002" in again
    assert await AuditEvent.filter(action="home_doctor_set").count() == 1
    # Someone else's case is not there to be named (the same answer as a case that does not exist).
    await family_case(world, user_id=OTHER_FAMILY, label="Colon")
    refused = await say(t, OTHER_FAMILY, f"/homedoctor {first} Dr Evil", "no case")
    assert "C-0001" in refused
    assert (await Case.get(id=1)).home_doctor is None


@pytest.mark.parametrize(
    ("language", "asks", "saved"),
    [("ru", "будет дальше вести лечение", "Записано"), ("zh", "将由哪位肿瘤科医生接手", "已为病例")],
)
async def test_the_home_oncologist_question_speaks_the_familys_language(
    world: World, language: str, asks: str, saved: str
) -> None:
    t = world.telegram
    ref = await family_case(world, language=language)
    await to_opinion(t, ref)
    asked = (await t.wait_for(FAMILY, contains=asks))[-1]
    before = len(t.sent_to(FAMILY))
    t.user(FAMILY).reply_to(asked, "пока не знаю" if language == "ru" else "还不知道")
    await t.wait_for(FAMILY, after=before, contains=saved)


async def test_a_reply_to_a_check_in_of_a_closed_case_is_refused_readably(
    world: World, clock: ManualClock
) -> None:
    t = world.telegram
    ref = await family_case(world)
    await to_opinion(t, ref)
    await say(t, ADMIN, f"/advance {ref} home_follow_up", "✅")
    clock.advance(timedelta(days=7))
    await sweep(world)
    check_in = (await t.wait_for(FAMILY, contains="checking in"))[-1]
    await say(t, ADMIN, f"/advance {ref} closed", "✅")
    before = len(t.sent_to(FAMILY))
    t.user(FAMILY).reply_to(check_in, "One more question")
    answer = (await t.wait_for(FAMILY, after=before))[0]
    assert "closed" in answer.text
    assert "recorded" not in answer.text
    # A forged check-in answer for a round not yet come is refused, and nothing is recorded.
    query = t.user(FAMILY).press_data(check_in, "cb1k:1:60:done")
    await t.wait_until(lambda: query in t.callback_answers)
    assert not await AuditEvent.filter(action="check_in_answered").exists()
