"""/erase through the emulator: an admin wipes a case's personal data with a confirmation button;
everyone else, and every stale, doubled or forged press, is refused and erases nothing twice."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casebot.clock import ManualClock
from casebot.db.models import (
    AuditEvent,
    Case,
    CaseFile,
    CaseMember,
    ChecklistItem,
    Note,
    OutboxMessage,
    OutboxStatus,
    Participant,
    Question,
    RecordFile,
)
from casebot.domain.roles import Role
from casebot.errors import CaseAlreadyErased, NotAllowed
from casebot.services import Actor, Services
from casebot.services.base import SYSTEM
from casebot.testing import BotAPIEmulator, SentMessage

from ..conftest import START
from .conftest import ADMIN, COORDINATOR_B, World
from .test_case_journey import invite_token, join, say

FAMILY = 3001
PRIVATE = ("LABELZEBRA", "Ivanova", "WOMBAT", "PANGOLIN", "QUOKKA")


async def open_case(t: BotAPIEmulator, *, family_language: str = "en") -> None:
    """C-0001 with everything erasure wipes: a label, a reviewer, a question to the family, a note,
    a family member, a record file, and a message still waiting to go to the family."""
    opened = await say(t, ADMIN, "/newcase LABELZEBRA Mrs Ivanova", "opened")
    await join(t, FAMILY, invite_token(opened), "Olga", family_language)
    await say(t, ADMIN, "/hospital C-0001 Fudan | Thoracic oncology | Dr QUOKKA", "QUOKKA")
    await say(t, ADMIN, "/ask C-0001 Are the WOMBAT blocks available?", "logged")
    await say(t, ADMIN, "/note C-0001 PANGOLIN: the family prefers calls", "Note")
    before = len(t.sent_to(FAMILY))
    t.user(FAMILY).send_document("pathology.pdf", size=120_000)
    chooser = (await t.wait_for(FAMILY, after=before, predicate=lambda m: bool(m.flat_buttons)))[0]
    t.user(FAMILY).press(chooser, text="2. ")
    await t.wait_until(lambda: chooser.edited)  # filed under item 2
    family = await Participant.get(telegram_user_id=FAMILY)
    await OutboxMessage.create(
        dedupe_key="test:waiting",
        participant_id=family.id,
        case_id=1,
        kind="question_for_family",
        payload={"case_id": 1, "text": "WOMBAT"},
        available_at=START + timedelta(days=2),
        created_at=START,
    )
    await t.settle()


async def ask_to_erase(t: BotAPIEmulator, user_id: int = ADMIN, reference: str = "C-0001") -> SentMessage:
    """The user sends /erase; return the bot's first answer."""
    before = len(t.sent_to(user_id))
    t.user(user_id).send_text(f"/erase {reference}")
    return (await t.wait_for(user_id, after=before))[0]


async def press(t: BotAPIEmulator, user_id: int, message: SentMessage, data: str) -> str:
    """Press (or forge) a button; return the notice the bot answered the press with."""
    query = t.user(user_id).press_data(message, data)
    await t.wait_until(lambda: query in t.callback_answers)
    return str(t.callback_answers[query].get("text") or "")


def erase_data(message: SentMessage) -> str:
    return next(data for text, data in message.flat_buttons if "Erase" in text and data)


async def audit_erasures() -> int:
    return await AuditEvent.filter(case_id=1, action="case_erased").count()


async def assert_untouched() -> None:
    case = await Case.get(id=1)
    assert case.erased_at is None and case.label == "LABELZEBRA Mrs Ivanova"
    assert await CaseMember.filter(case_id=1).count() == 1
    assert await audit_erasures() == 0


async def add_coordinator_b(t: BotAPIEmulator) -> None:
    await say(t, COORDINATOR_B, "hello")
    await say(t, ADMIN, f"/coordinator add {COORDINATOR_B}", "now a coordinator")


async def test_an_admin_erases_a_case_with_the_button_and_its_skeleton_stays(world: World) -> None:
    t = world.telegram
    await open_case(t)
    items_before = await ChecklistItem.filter(case_id=1).count()
    assert await RecordFile.filter(case_id=1).count() == 1
    assert await OutboxMessage.filter(dedupe_key="test:waiting", status=OutboxStatus.PENDING).exists()

    asked = await ask_to_erase(t)
    assert "Erase the personal data of C-0001?" in asked.text
    assert "LABELZEBRA" in asked.text  # the admin sees which case it is before confirming
    assert "cannot be undone" in asked.text and "Kept:" in asked.text
    assert asked.button_texts == ["🗑 Erase", "Cancel"]

    before = len(t.sent_to(ADMIN))
    t.user(ADMIN).press(asked, text="🗑 Erase")
    await t.wait_until(lambda: "C-0001 erased" in asked.text)
    await t.settle()
    assert asked.inline_keyboard == []  # the buttons went with the question
    assert "is now <b>withdrawn</b>" in asked.text
    for private in PRIVATE:
        assert private not in asked.text
    # Nothing else was sent: no error, no apology.
    assert t.sent_to(ADMIN)[before:] == []

    case = await Case.get(id=1)
    assert case.erased_at is not None and case.label == "" and case.reviewer is None
    assert case.state == "withdrawn" and case.hospital == "Fudan"
    assert {q.text for q in await Question.filter(case_id=1)} == {""}
    assert {n.text for n in await Note.filter(case_id=1)} == {""}
    assert await RecordFile.filter(case_id=1).count() == 0
    assert await CaseFile.filter(case_id=1).count() == 0
    assert await OutboxMessage.filter(case_id=1, status=OutboxStatus.PENDING).count() == 0
    assert await CaseMember.filter(case_id=1).count() == 0
    assert (await Participant.get(telegram_user_id=FAMILY)).display_name == ""
    # The skeleton: the checklist's marks and the history stay.
    assert await ChecklistItem.filter(case_id=1).count() == items_before
    actions = [event.action for event in await AuditEvent.filter(case_id=1).order_by("id")]
    assert actions[0] == "case_opened" and actions[-1] == "case_erased"
    assert await audit_erasures() == 1

    status = await say(t, FAMILY, "/status")
    assert "not following any case" in status and "C-0001" not in status

    # Asked again, the admin hears it is done already.
    again = await ask_to_erase(t)
    assert "already erased" in again.text and again.flat_buttons == []


async def test_cancel_erases_nothing(world: World) -> None:
    t = world.telegram
    await open_case(t)
    asked = await ask_to_erase(t)
    t.user(ADMIN).press(asked, text="Cancel")
    await t.wait_until(lambda: "nothing was erased" in asked.text)
    assert "C-0001 stays as it was" in asked.text and asked.inline_keyboard == []
    await assert_untouched()
    assert await RecordFile.filter(case_id=1).count() == 1
    assert await OutboxMessage.filter(dedupe_key="test:waiting", status=OutboxStatus.PENDING).exists()


async def test_coordinators_and_families_are_refused_in_their_language(world: World) -> None:
    t = world.telegram
    await open_case(t, family_language="ru")
    await add_coordinator_b(t)

    refused = await ask_to_erase(t, COORDINATOR_B)
    assert "Only an admin can erase" in refused.text and refused.flat_buttons == []
    await say(t, COORDINATOR_B, "/language zh")
    refused = await ask_to_erase(t, COORDINATOR_B)
    assert "只有管理员可以删除病例的个人资料" in refused.text
    # Without a reference a coordinator still hears it is not theirs, not how to type it.
    refused = await ask_to_erase(t, COORDINATOR_B, "")
    assert "只有管理员" in refused.text

    refused = await ask_to_erase(t, FAMILY)
    assert "Стереть личные данные случая может только администратор" in refused.text
    await assert_untouched()


async def test_a_forged_erase_button_from_a_coordinator_or_the_family_erases_nothing(
    world: World, clock: ManualClock
) -> None:
    t = world.telegram
    await open_case(t)
    await add_coordinator_b(t)
    # The admin's confirmation, as its button would be forwarded or copied.
    data = erase_data(await ask_to_erase(t))
    notice = await press(t, COORDINATOR_B, t.last(COORDINATOR_B), data)
    assert "Only an admin can erase" in notice
    notice = await press(t, FAMILY, t.last(FAMILY), data)
    assert "Only an admin can erase" in notice
    notice = await press(t, FAMILY, t.last(FAMILY), data.replace(":go:", ":keep:"))
    assert "Only an admin can erase" in notice
    await assert_untouched()


async def test_the_service_itself_refuses_anyone_but_an_admin_or_the_system(
    services: Services, coordinator: Actor
) -> None:
    """What the press reaches after the handler: the service's own check, at the write."""
    case = await services.cases.open_case(coordinator, "LABELZEBRA")
    forged = Actor(coordinator.participant_id, Role.ADMIN)  # a coordinator dressed up as an admin
    for actor in (coordinator, forged):
        with pytest.raises(NotAllowed) as refused:
            await services.cases.erase(actor, case.id)
        assert refused.value.template == "erase_admin_only"
    assert (await Case.get(id=case.id)).erased_at is None
    assert await AuditEvent.filter(case_id=case.id, action="case_erased").count() == 0
    await services.cases.erase(SYSTEM, case.id)
    with pytest.raises(CaseAlreadyErased):
        await services.cases.erase(SYSTEM, case.id)
    assert await AuditEvent.filter(case_id=case.id, action="case_erased").count() == 1


async def test_a_doubled_press_erases_once_and_says_so(world: World) -> None:
    t = world.telegram
    await open_case(t)
    asked = await ask_to_erase(t)
    data = erase_data(asked)
    before = len(t.sent_to(ADMIN))
    first = t.user(ADMIN).press_data(asked, data)
    second = t.user(ADMIN).press_data(asked, data)
    await t.wait_until(lambda: first in t.callback_answers and second in t.callback_answers)
    await t.settle()
    notices = [str(t.callback_answers[q].get("text") or "") for q in (first, second)]
    assert sum("already erased" in notice for notice in notices) == 1, notices
    assert "C-0001 erased" in asked.text and asked.inline_keyboard == []
    assert t.sent_to(ADMIN)[before:] == []  # no apology for a failure
    assert await audit_erasures() == 1


async def test_a_stale_confirmation_of_a_case_erased_meanwhile_does_nothing_again(world: World) -> None:
    t = world.telegram
    await open_case(t)
    asked = await ask_to_erase(t)
    # Meanwhile the case is erased from the command line.
    await world.dispatcher["casebot"].runtime.services.cases.erase(SYSTEM, 1)
    erase, cancel = erase_data(asked), asked.flat_buttons[1][1] or ""
    # "Cancel" must not say nothing was erased; "Erase" must not erase twice.
    notice = await press(t, ADMIN, asked, cancel)
    assert "already erased" in notice
    await t.settle()
    assert "nothing was erased" not in asked.text and asked.inline_keyboard == []
    notice = await press(t, ADMIN, asked, erase)
    assert "already erased" in notice
    assert await audit_erasures() == 1


async def test_a_confirmation_left_too_long_no_longer_erases(world: World, clock: ManualClock) -> None:
    t = world.telegram
    await open_case(t)
    asked = await ask_to_erase(t)
    clock.advance(timedelta(minutes=11))
    notice = await press(t, ADMIN, asked, erase_data(asked))
    assert "expired" in notice and "/erase C-0001" in notice
    await assert_untouched()
    # A question stamped in the future (forged) is no better.
    future = int((clock.now() + timedelta(days=1)).timestamp())
    notice = await press(t, ADMIN, asked, f"cb1e:1:go:{future}")
    assert "expired" in notice
    await assert_untouched()


async def test_unknown_and_bad_references_are_answered_in_one_line(world: World, clock: ManualClock) -> None:
    t = world.telegram
    await open_case(t)
    assert "There is no case C-0099" in (await ask_to_erase(t, reference="C-0099")).text
    assert "is not a case reference" in (await ask_to_erase(t, reference="hello")).text
    assert "/erase &lt;case&gt;" in (await ask_to_erase(t, reference="")).text
    # A button for a case that does not exist (forged): refused, nothing happens.
    now = int(clock.now().timestamp())
    notice = await press(t, ADMIN, t.last(ADMIN), f"cb1e:99:go:{now}")
    assert "There is no case C-0099" in notice
    assert await Case.filter(id=99).exists() is False
    await assert_untouched()


async def test_erase_is_in_the_staff_help(world: World) -> None:
    help_text = await say(world.telegram, ADMIN, "/help", "/erase")
    assert "/erase C-0001" in help_text and "admins only" in help_text
