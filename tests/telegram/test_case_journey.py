"""A coordinator and a family member carry one case from /newcase to closed, through the emulator."""

from __future__ import annotations

import re

from casebot.testing import BotAPIEmulator

from .conftest import World


def invite_token(text: str) -> str:
    match = re.search(r"start=(cb_[A-Za-z0-9_-]+)", text)
    assert match, text
    return match.group(1)


async def join(
    telegram: BotAPIEmulator, user_id: int, token: str, name: str = "Ann", language: str = "en"
) -> str:
    """A newcomer follows an invite link: return the welcome, once the language question after it came."""
    before = len(telegram.sent_to(user_id))
    telegram.user(user_id, name, language).send_command("/start", token)
    sent = await telegram.wait_for(user_id, after=before, count=2)
    return sent[0].text


async def say(telegram: BotAPIEmulator, user_id: int, text: str, expect: str | None = None) -> str:
    """A user writes; return the bot's answer (the first new message containing ``expect``).

    Without ``expect``: wait for the first answer however long the machine takes, let the
    bot finish (it may send more than one message), and return everything it sent.
    """
    before = len(telegram.sent_to(user_id))
    telegram.user(user_id).send_text(text)
    if expect is not None:
        return (await telegram.wait_for(user_id, after=before, contains=expect))[0].text
    await telegram.wait_for(user_id, after=before)
    await telegram.settle()
    return "\n".join(m.text for m in telegram.sent_to(user_id)[before:])


async def test_a_case_goes_from_newcase_to_closed(world: World) -> None:
    t = world.telegram
    admin = world.admin.id
    family = t.user(3001, "Ann", "en")

    opened = await say(t, admin, "/newcase Lung, Mrs Ivanova", "Case <b>C-0001</b> opened")
    welcome = await join(t, family.id, invite_token(opened))
    assert "following case <b>C-0001</b>" in welcome
    assert "not medical advice" in welcome
    await t.wait_for(admin, contains="A family member joined")
    # Joining asks for the language, then the time zone, which the family finds by its city.
    before = len(t.sent_to(family.id))
    family.press(t.last(family.id), text="English")
    await t.wait_for(family.id, after=before, contains="Which time zone")
    saved = await say(t, family.id, "singapore", "Saved")  # 09:00 there: out of quiet hours
    assert "Asia/Singapore" in saved

    await say(t, admin, "/hospital C-0001 Fudan Cancer Hospital | Thoracic oncology | Dr Li", "Dr Li")
    status = await say(t, family.id, "/status", "gathering records")
    assert "Pathology reports" in status and "not medical advice" in status

    # The family sends the pathology report and files it under item 2.
    before = len(t.sent_to(family.id))
    family.send_document("pathology.pdf", size=120_000)
    chooser = (await t.wait_for(family.id, after=before))[0]
    t.user(family.id).press(chooser, text="2. Pathology")
    await t.wait_until(lambda: "the file is kept" in chooser.text)
    arrived = await t.wait_for(admin, contains="a file from the family")
    assert "item 2" in arrived[0].text and "pathology.pdf" in arrived[0].text

    # The hospital asks the family a question; the family answers by replying to it.
    await say(t, admin, "/ask C-0001 Are the pathology blocks available?", "Q11 logged")
    question = (await t.wait_for(family.id, contains="The hospital asks"))[-1]
    before = len(t.sent_to(family.id))
    family.reply_to(question, "Yes, at the local hospital")
    await t.wait_for(family.id, after=before, contains="Q11 is recorded")
    await t.wait_for(admin, contains="Yes, at the local hospital")

    # Sending with red flags open asks for an override reason, which the button flow takes.
    await say(t, admin, "/case C-0001", "Red flags")
    before = len(t.sent_to(admin))
    t.user(admin).press(t.last(admin), data="cb1a:1:sent:records_gathering")
    ask = (await t.wait_for(admin, after=before))[0].text
    assert "not ready to move to sent to the hospital" in ask and "reason" in ask
    moved = await say(t, admin, "Family asked to send now; the rest follows", "override")
    assert "sent to the hospital" in moved
    await t.wait_for(family.id, contains="is now: <b>sent to the hospital</b>")

    for state, family_sees in [
        ("under_review", "under review"),
        ("opinion_received the hospital reviewed what it had", "opinion received"),
        ("home_follow_up", "home follow-up"),
        ("closed", "closed"),
    ]:
        await say(t, admin, f"/advance C-0001 {state}", "✅")
        notice = await t.wait_for(family.id, contains=f"is now: <b>{family_sees}</b>")
        assert "not medical advice" in notice[-1].text
    final = await say(t, family.id, "/status", "closed")
    assert "C-0001" in final
