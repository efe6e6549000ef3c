"""The hospital's answer through the emulator: /outcome and the card's buttons, the re-route, the
review's own clock, and what the family is told in their language."""

from __future__ import annotations

from casebot.db.models import AuditEvent, Case, HospitalRoute
from casebot.telegram.callbacks import OutcomeButton
from casebot.testing import BotAPIEmulator

from .conftest import ADMIN, World
from .test_case_journey import invite_token, join, say

FAMILY = 3001


async def family_in(t: BotAPIEmulator, language: str, city: str) -> None:
    """Open C-0001 and let the family join, choosing a language and a city."""
    opened = await say(t, ADMIN, "/newcase Lung, Mrs Ivanova", "opened")
    await join(t, FAMILY, invite_token(opened))
    before = len(t.sent_to(FAMILY))
    t.user(FAMILY).press(t.last(FAMILY), text=language)
    await t.wait_for(FAMILY, after=before, count=1)
    await say(t, FAMILY, city)
    await say(t, FAMILY, "/quiet off")


async def press(t: BotAPIEmulator, card_text: str, label: str, expect: str) -> str:
    await say(t, ADMIN, "/case C-0001", card_text)
    before = len(t.sent_to(ADMIN))
    t.user(ADMIN).press(t.last(ADMIN), text=label)
    return (await t.wait_for(ADMIN, after=before, contains=expect))[0].plain_text


async def test_needs_more_reroute_and_acceptance_with_the_expected_date_in_russian(world: World) -> None:
    t = world.telegram
    await family_in(t, "Русский", "moscow")
    chosen = await say(t, ADMIN, "/hospital C-0001 Fudan | Thoracic oncology | Dr Li | 7bd", "Fudan")
    assert "Stated review time: 7 business days" in chosen, chosen
    await say(t, ADMIN, "/advance C-0001 sent the family asked to send what we have", "✅")

    # The hospital asks for more: back to gathering, the items on the list, the family told why.
    refused = await say(t, ADMIN, "/outcome C-0001 needs_more", "reason")
    assert "needs the hospital" in refused
    back = await say(
        t,
        ADMIN,
        "/outcome C-0001 needs_more The slides cannot be read | Pathology blocks | PET-CT report",
        "back",
    )
    assert "gathering records" in back and "9. Pathology blocks" in back and "10. PET-CT report" in back
    told = (await t.wait_for(FAMILY, contains="нужно больше документов"))[0].plain_text
    assert "The slides cannot be read" in told and "Pathology blocks" in told and "не медицинская" in told
    twice = await say(t, ADMIN, "/outcome C-0001 needs_more The slides cannot be read", "already recorded")
    assert "nothing changed" in twice
    assert (await Case.get(id=1)).state == "records_gathering"

    # Re-sent; declined by button, with the reason asked; the family gets a careful message.
    await say(t, ADMIN, "/advance C-0001 sent blocks on the way", "✅")
    await press(t, "Checklist", "Hospital declined", "write the hospital's reason")
    declined = await say(t, ADMIN, "Not a candidate for surgery at this centre", "declined")
    decision = t.last(ADMIN)
    assert [text for text, _ in decision.flat_buttons] == [
        "↪ Re-route to another hospital",
        "Close the case (with a reason)",
    ], declined
    careful = (await t.wait_for(FAMILY, contains="не будет брать случай"))[0].plain_text
    assert "не суждение" in careful and "Not a candidate" not in careful

    # Re-routed from the decision's button; the earlier hospital stays on the card.
    before = len(t.sent_to(ADMIN))
    t.user(ADMIN).press(decision, text="↪ Re-route")
    await t.wait_for(ADMIN, after=before, contains="where does the case go now")
    moved = await say(t, ADMIN, "Ruijin | Oncology | Dr Wang | 5bd", "re-routed")
    assert "Ruijin, Oncology, Dr Wang (hospital 2)" in moved
    card = await say(t, ADMIN, "/case C-0001", "Hospitals")
    assert "1. Fudan, Thoracic oncology (Dr Li)" in card and "declined / not a candidate" in card
    assert "2. Ruijin, Oncology (Dr Wang)" in card and "current" in card
    assert "Stated review time: 5 business days" in card

    # Accepted by button, pressed twice: recorded once; the family is told the date, in Russian.
    await say(t, ADMIN, "/case C-0001", "Hospitals")
    card_message = t.last(ADMIN)
    data = next(d for text, d in card_message.flat_buttons if "accepted" in text)
    before = len(t.sent_to(ADMIN))
    first = t.user(ADMIN).press_data(card_message, data)
    second = t.user(ADMIN).press_data(card_message, data)
    await t.wait_until(lambda: first in t.callback_answers and second in t.callback_answers)
    await t.wait_for(ADMIN, after=before, contains="accepted the case for review")
    await t.settle()
    assert await AuditEvent.filter(case_id=1, action="hospital_outcome", to_value="2:accepted").count() == 1
    expected = (await t.wait_for(FAMILY, contains="Рассмотрение ожидается"))[0].plain_text
    # Monday 23 November 2026 + 5 of China's business days.
    assert "30 ноября 2026" in expected, expected

    status = await say(t, FAMILY, "/status", "Больница")
    assert "Ruijin" in status and "Fudan" not in status and "30 ноября 2026" in status
    routes = await HospitalRoute.filter(case_id=1).order_by("position")
    assert [(r.hospital, r.outcome) for r in routes] == [("Fudan", "declined"), ("Ruijin", "accepted")]


async def test_outcomes_that_do_not_fit_and_people_who_may_not_record_them(world: World) -> None:
    t = world.telegram
    await family_in(t, "English", "singapore")
    early = await say(t, ADMIN, "/outcome C-0001 declined not a candidate", "cannot take")
    assert "no outcome" not in early and "Outcomes that fit now: none" in early
    await say(t, ADMIN, "/hospital C-0001 Fudan | Thoracic oncology | Dr Li", "Fudan")
    early = await say(t, ADMIN, "/outcome C-0001 declined not a candidate", "cannot take")
    assert "has not been sent the records yet" in early
    usage = await say(t, ADMIN, "/outcome C-0001 maybe", "Usage")
    assert "/outcome &lt;case&gt;" in usage or "/outcome <case>" in usage
    assert "Only a coordinator" in await say(t, FAMILY, "/outcome C-0001 accepted", "coordinator")

    # A family member presses a forged outcome button: refused, nothing recorded.
    await say(t, ADMIN, "/advance C-0001 sent as it is", "✅")
    forged = OutcomeButton(case_id=1, position=1, outcome="accepted", expected="sent").pack()  # type: ignore[arg-type]
    query = t.user(FAMILY).press_data(t.last(FAMILY), forged)
    await t.wait_until(lambda: query in t.callback_answers)
    assert "Only a coordinator" in str(t.callback_answers[query].get("text"))
    assert (await Case.get(id=1)).state == "sent"

    # A closed case takes nothing.
    await say(t, ADMIN, "/advance C-0001 withdrawn the family stopped", "✅")
    closed = await say(t, ADMIN, "/outcome C-0001 accepted", "C-0001")
    assert "can no longer be changed" in closed
    assert not await AuditEvent.filter(action="hospital_outcome").exists()


async def test_the_review_time_answer_sets_the_date_the_family_is_told_in_chinese(world: World) -> None:
    t = world.telegram
    await family_in(t, "中文", "shanghai")
    await say(t, ADMIN, "/hospital C-0001 Fudan | Thoracic oncology | Dr Li", "Fudan")
    answered = await say(t, ADMIN, "/answer C-0001 5 通常5-7个工作日", "Q5")
    assert "Q5" in answered
    assert (await Case.get(id=1)).review_sla_days == 7
    await say(t, ADMIN, "/advance C-0001 sent as it is", "✅")
    await say(t, ADMIN, "/outcome C-0001 accepted", "accepted the case")
    told = (await t.wait_for(FAMILY, contains="预计审阅"))[0].plain_text
    # Monday 23 November 2026 + 7 business days.
    assert "2026年12月2日" in told, told
    card = await say(t, ADMIN, "/case C-0001", "Checklist")
    assert "Review expected by December 2, 2026" in card


async def test_a_decline_mid_review_stops_the_date_and_the_next_hospital_gives_a_new_one(
    world: World,
) -> None:
    """Declined during the review: no date for the family until the next hospital accepts, whose
    acceptance restarts the review and tells them its date; naming the reviewer is no re-route."""
    t = world.telegram
    await family_in(t, "English", "moscow")
    await say(t, ADMIN, "/hospital C-0001 Fudan | Thoracic oncology | TBD | 7bd", "Fudan")
    await say(t, ADMIN, "/advance C-0001 sent complete packet", "✅")
    named = await say(t, ADMIN, "/hospital C-0001 Fudan | Thoracic oncology | Dr Li", "Fudan")
    assert "re-routed" not in named and await HospitalRoute.filter(case_id=1).count() == 1, named
    await say(t, ADMIN, "/outcome C-0001 accepted", "accepted the case")
    await t.wait_for(FAMILY, contains="expected to be done by about")
    await say(t, ADMIN, "/outcome C-0001 declined Not a candidate here", "declined")
    await t.wait_for(FAMILY, contains="will not take the case forward")
    status = await say(t, FAMILY, "/status", "Case")
    assert "Review expected" not in status and "will not take the case forward" in status, status
    card = await say(t, ADMIN, "/case C-0001", "Checklist")
    assert "No review is running: hospital 1 declined" in card, card
    await say(t, ADMIN, "/outcome C-0001 reroute Ruijin | Oncology | Dr Wang | 3bd", "re-routed")
    waiting = await say(t, FAMILY, "/status", "Case")
    assert "Review expected" not in waiting and "another hospital department" in waiting, waiting
    accepted = await say(t, ADMIN, "/outcome C-0001 accepted", "accepted")
    assert "The family was told to expect the review" in accepted, accepted
    told = await t.wait_for(FAMILY, contains="Another hospital department has accepted the case")
    assert "expected to be done by about" in told[0].plain_text
    assert "Review expected by about" in await say(t, FAMILY, "/status", "Case")
