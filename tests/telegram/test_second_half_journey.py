"""Issue 8, done when: one case through the emulator from /newcase to closed, the second half in
full. The hospital asks for more and the case goes back and out again; it is re-routed once; the
family is told when the review should be done; the opinion and its translation reach them and
they confirm receipt; they name their home oncologist; a follow-up question is answered. The
audit trail holds every step with its before and after values."""

from __future__ import annotations

from datetime import timedelta

from casebot.clock import ManualClock
from casebot.db.models import AuditEvent, Case, CaseFile, ChecklistItem, HospitalRoute

from .conftest import ADMIN, World
from .test_case_journey import invite_token, join, say
from .test_reminders_e2e import sweep

FAMILY = 3001


async def test_a_case_runs_the_whole_second_half_from_newcase_to_closed(
    world: World, clock: ManualClock
) -> None:
    t = world.telegram
    family = t.user(FAMILY, "Anna")
    opened = await say(t, ADMIN, "/newcase Lung, Mrs Ivanova", "opened")
    await join(t, FAMILY, invite_token(opened))
    before = len(t.sent_to(FAMILY))
    family.press(t.last(FAMILY), text="English")
    await t.wait_for(FAMILY, after=before, contains="Which time zone")
    await say(t, FAMILY, "Singapore", "Asia/Singapore")
    await say(t, FAMILY, "/quiet off", "Saved")

    # The hospital is chosen with its stated turnaround; the packet goes out.
    await say(t, ADMIN, "/hospital C-0001 Fudan | Thoracic oncology | Dr Li | 7bd", "Fudan")
    await say(t, ADMIN, "/advance C-0001 sent the family asked to send what we have", "✅")

    # It asks for more: back to gathering, the item on the checklist, the family told why.
    back = await say(
        t, ADMIN, "/outcome C-0001 needs_more The slides cannot be read | Pathology blocks", "back"
    )
    assert "gathering records" in back
    told = (await t.wait_for(FAMILY, contains="Pathology blocks"))[-1].plain_text
    assert "The slides cannot be read" in told and "not medical advice" in told
    assert (await Case.get(id=1)).state == "records_gathering"
    blocks = await ChecklistItem.get(case_id=1, title="Pathology blocks")

    # The family sends the blocks' report for that item; the case goes out again.
    before = len(t.sent_to(FAMILY))
    family.send_document("blocks.pdf", size=120_000)
    chooser = (await t.wait_for(FAMILY, after=before, contains="Which record"))[0]
    family.press(chooser, text=f"{blocks.position}. ")
    await t.wait_until(lambda: "the file is kept" in chooser.text)
    assert (await ChecklistItem.get(id=blocks.id)).status == "received"
    await say(t, ADMIN, "/advance C-0001 sent the rest follows by courier", "✅")

    # Re-routed once: the first hospital keeps its own answer (it asked for more), the case follows
    # the new one.
    await say(t, ADMIN, "/outcome C-0001 reroute Zhongshan | Thoracic surgery | Dr Wang | 5bd", "Zhongshan")
    routes = await HospitalRoute.filter(case_id=1).order_by("position")
    assert [(r.hospital, r.outcome) for r in routes] == [("Fudan", "needs_more"), ("Zhongshan", None)]

    # Accepted: under review, and the family hears when to expect the opinion.
    await say(t, ADMIN, "/outcome C-0001 accepted", "under review")
    expected = (await t.wait_for(FAMILY, contains="expected to be done by about"))[-1].plain_text
    assert "under review" in expected and "book travel" in expected

    # The written opinion and its translation reach the family; they confirm receipt once.
    before = len(t.sent_to(FAMILY))
    t.user(ADMIN).send_document("opinion.pdf", size=300_000, caption="/opinion C-0001")
    opinion = (await t.wait_for(FAMILY, after=before, predicate=lambda m: m.method == "sendDocument"))[0]
    # The opinion is in their hands: its line speaks of their own doctors, not of booking travel.
    assert "book travel" not in opinion.caption and "oncologist at home" in opinion.caption
    await say(t, ADMIN, "/advance C-0001 opinion_received the hospital reviewed what it had", "✅")
    before = len(t.sent_to(FAMILY))
    family.press(opinion, text="received")
    await t.wait_for(FAMILY, after=before, contains="Thank you")
    await t.wait_for(ADMIN, contains="confirmed they received the written opinion")
    t.user(ADMIN).send_document("opinion-en.pdf", size=200_000, caption="/opinion C-0001 translated")
    await t.wait_for(FAMILY, predicate=lambda m: m.method == "sendDocument" and m is not opinion)
    case = await Case.get(id=1)
    assert case.translation_status == "sent"
    assert [f.purpose for f in await CaseFile.filter(case_id=1).order_by("id")] == ["opinion", "translation"]
    assert (await CaseFile.get(case_id=1, purpose="opinion")).confirmed_at is not None

    # The home oncologist, by replying to the bot's question.
    asked = (await t.wait_for(FAMILY, contains="Who will take it on at home"))[-1]
    before = len(t.sent_to(FAMILY))
    family.reply_to(asked, "Dr Petrova, City Oncology Centre")
    await t.wait_for(FAMILY, after=before, contains="Recorded")
    card = await say(t, ADMIN, "/case C-0001", "Home oncologist")
    assert "Dr Petrova, City Oncology Centre" in card and "Zhongshan" in card and "Fudan" in card

    # Home follow-up: the first check-in; a follow-up question by reply, answered.
    await say(t, ADMIN, "/advance C-0001 home_follow_up", "✅")
    clock.advance(timedelta(days=7))
    await sweep(world)
    check_in = (await t.wait_for(FAMILY, contains="checking in"))[-1]
    before = len(t.sent_to(FAMILY))
    family.reply_to(check_in, "Should the CT be repeated in three months?")
    recorded = (await t.wait_for(FAMILY, after=before, contains="Your question is recorded"))[0].text
    number = recorded.split(" Q")[1].split("</b>")[0]
    await say(t, ADMIN, f"/answer C-0001 {number} Yes, at three months, at home", "✅")
    await t.wait_for(FAMILY, contains="Yes, at three months, at home")
    await say(t, ADMIN, "/advance C-0001 closed", "✅")
    assert (await Case.get(id=1)).state == "closed"

    # The audit trail: every state with before and after, both outcomes, both files.
    events = await AuditEvent.filter(case_id=1).order_by("id")
    moves = [(e.from_value, e.to_value) for e in events if e.action in ("state_changed", "state_overridden")]
    assert moves == [
        ("records_gathering", "sent"),
        ("sent", "records_gathering"),
        ("records_gathering", "sent"),
        ("sent", "under_review"),
        ("under_review", "opinion_received"),
        ("opinion_received", "home_follow_up"),
        ("home_follow_up", "closed"),
    ], moves
    actions = {e.action for e in events}
    assert {"hospital_outcome", "hospital_rerouted", "file_sent", "opinion_confirmed"} <= actions
    outcomes = [(e.from_value, e.to_value) for e in events if e.action == "hospital_outcome"]
    assert all(after for _, after in outcomes) and len(outcomes) >= 2, outcomes
