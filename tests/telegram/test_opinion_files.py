"""The written opinion through the emulator: a coordinator's files reach the family, the family
confirms receipt, and every wrong way of doing it gets a readable answer."""

from __future__ import annotations

from casebot.db.models import AuditEvent, Case, CaseFile, OutboxMessage
from casebot.testing import BotAPIEmulator, EmulatedUser, SentMessage

from .conftest import World
from .test_case_journey import invite_token, join, say

MB = 1024 * 1024


async def open_case_with_family(t: BotAPIEmulator, admin: int, family_id: int, language: str = "en") -> None:
    """C-0001 with one family member who chose their language and Singapore's time zone."""
    opened = await say(t, admin, "/newcase Lung, Mrs Ivanova", "opened")
    await join(t, family_id, invite_token(opened), language=language)
    family = t.user(family_id)
    before = len(t.sent_to(family_id))
    family.press(t.last(family_id), text={"en": "English", "ru": "Русский", "zh": "中文"}[language])
    await t.wait_for(
        family_id,
        after=before,
        predicate=lambda m: any(d and d.startswith("cb1z") for _, d in m.flat_buttons),
    )
    await say(t, family_id, "singapore", "Asia/Singapore")


async def caption(t: BotAPIEmulator, user: EmulatedUser, text: str | None, *, kind: str = "document",
                  size: int = 200_000, expect: str | None = None) -> str:  # fmt: skip
    """The user sends a file with this caption; return the bot's answer."""
    before = len(t.sent_to(user.id))
    if kind == "document":
        user.send_document("opinion.pdf", size=size, caption=text)
    elif kind == "photo":
        user.send_photo(size=size, caption=text)
    else:
        user.send_media(kind, size=size, caption=text)
    answer = await t.wait_for(user.id, after=before, contains=expect)
    return answer[0].text


async def pressed(t: BotAPIEmulator, user: EmulatedUser, message: SentMessage, data: str) -> str:
    """The user's client sends this button data; return what the bot said (its answer on the button
    and any message after it)."""
    before = len(t.sent_to(user.id))
    query = user.press_data(message, data)
    await t.wait_until(lambda: query in t.callback_answers)
    await t.settle()
    said = [str(t.callback_answers[query].get("text") or "")]
    return " ".join(said + [m.text for m in t.sent_to(user.id)[before:]])


async def files_to(t: BotAPIEmulator, chat: int) -> list[SentMessage]:
    await t.settle()
    return [m for m in t.sent_to(chat) if m.method != "sendMessage"]


async def test_the_opinion_and_its_translation_reach_the_family_who_confirm_receipt(world: World) -> None:
    t = world.telegram
    admin, family = world.admin, t.user(3001, "Ann", "ru")
    await open_case_with_family(t, admin.id, family.id, "ru")

    sent = await caption(t, admin, "/opinion C-0001", expect="kept on")
    assert "The written opinion is kept on <b>C-0001</b>" in sent and "1 family member" in sent
    assert "Translation pending" in sent
    opinion = (await t.wait_for(family.id, contains="письменное заключение больницы"))[-1]
    assert opinion.method == "sendDocument" and opinion.document is not None
    assert opinion.document["file_id"] == (await CaseFile.get(purpose="opinion")).telegram_file_id
    assert "медицинск" in opinion.caption  # the disclaimer, in Russian
    assert opinion.button_texts == ["✅ Я получил(а)"]

    card = await say(t, admin.id, "/case C-0001", "Written opinion")
    assert "receipt not confirmed yet" in card and "Translation pending" in card

    before = len(t.sent_to(family.id))
    family.press(opinion, text="✅ Я получил(а)")
    await t.wait_for(family.id, after=before, contains="Спасибо")
    await t.wait_for(admin.id, contains="confirmed they received the written opinion")
    assert opinion.button_texts == []  # the button is taken off
    # A second press of the same button (a forged replay of its data) records nothing more.
    again = await pressed(t, family, opinion, f"cb1d:1:{(await CaseFile.get(purpose='opinion')).id}")
    assert "Уже записано" in again
    assert await AuditEvent.filter(action="opinion_confirmed").count() == 1

    sent = await caption(t, admin, "/opinion C-0001 translated", kind="photo", expect="kept on")
    assert "The translation of the opinion is kept" in sent and "pending" not in sent
    translation = (await t.wait_for(family.id, contains="перевод письменного заключения"))[-1]
    assert translation.method == "sendPhoto" and translation.button_texts == []
    card = await say(t, admin.id, "/case C-0001", "Written opinion")
    assert "receipt confirmed" in card and "Translation pending" not in card
    assert (await Case.get(id=1)).translation_status == "sent"
    audit = await AuditEvent.filter(action__in=["file_sent", "translation_status"]).order_by("id")
    assert [(e.action, e.from_value, e.to_value) for e in audit] == [
        ("file_sent", None, f"opinion:{opinion_id(audit)}"),
        ("translation_status", None, "pending"),
        ("file_sent", None, f"translation:{opinion_id(audit) + 1}"),
        ("translation_status", "pending", "sent"),
    ]


def opinion_id(audit: list[AuditEvent]) -> int:
    return int((audit[0].to_value or ":0").partition(":")[2])


async def test_a_file_with_send_goes_to_the_family_as_a_video_with_the_note(world: World) -> None:
    t = world.telegram
    admin, family = world.admin, t.user(3001, "Ann", "en")
    await open_case_with_family(t, admin.id, family.id)

    sent = await caption(t, admin, "/send C-0001 The hospital's directions", kind="video", expect="kept on")
    assert "The file is kept on <b>C-0001</b>" in sent and "confirm" not in sent
    video = (await t.wait_for(family.id, contains="a file from your coordinator"))[-1]
    assert video.method == "sendVideo" and "The hospital's directions" in video.plain_text
    assert "not medical advice" in video.plain_text and video.button_texts == []


async def test_files_that_cannot_go_are_refused_at_once_and_nothing_is_queued(world: World) -> None:
    t = world.telegram
    admin, family = world.admin, t.user(3001, "Ann", "en")
    await open_case_with_family(t, admin.id, family.id)

    too_big = await caption(t, admin, "/send C-0001", size=60 * MB, expect="MB")
    assert "60 MB" in too_big and "at most 50 MB" in too_big and "Nothing was sent" in too_big
    photo = await caption(t, admin, "/opinion C-0001", kind="photo", size=12 * MB, expect="MB")
    assert "photos of at most 10 MB" in photo
    voice = await caption(t, admin, "/send C-0001", kind="voice", expect="document")
    assert "as a document, a photo or a video" in voice
    assert await CaseFile.all().count() == 0
    assert await OutboxMessage.filter(kind="case_file").count() == 0
    assert await files_to(t, family.id) == []


async def test_a_coordinators_confused_attempts_get_readable_answers(world: World) -> None:
    t = world.telegram
    admin, family = world.admin, t.user(3001, "Ann", "en")
    await open_case_with_family(t, admin.id, family.id)

    typed = await say(t, admin.id, "/send C-0001 the report", "goes with a file")
    assert "attach the document" in typed and "/send C-0001 the report" in typed
    typed = await say(t, admin.id, "/opinion", "goes with a file")
    assert "/opinion C-0042" in typed
    assert "no caption" in await caption(t, admin, None, expect="caption")
    assert "not a command" in await caption(t, admin, "here is the opinion", expect="caption")
    assert "Which case" in await caption(t, admin, "/opinion", expect="case")
    assert "There is no case C-0099" in await caption(t, admin, "/send C-0099", expect="C-0099")
    assert "not a case reference" in await caption(t, admin, "/opinion pathology", expect="reference")
    usage = await caption(t, admin, "/opinion C-0001 in english please", expect="Usage")
    assert "/opinion &lt;case&gt; [translated]" in usage or "/opinion <case> [translated]" in usage
    assert await CaseFile.all().count() == 0
    assert await files_to(t, family.id) == []


async def test_a_file_to_a_withdrawn_case_is_refused(world: World) -> None:
    t = world.telegram
    admin, family = world.admin, t.user(3001, "Ann", "en")
    await open_case_with_family(t, admin.id, family.id)
    await say(t, admin.id, "/advance C-0001 withdrawn the family stopped", "withdrawn")

    refused = await caption(t, admin, "/opinion C-0001", expect="no longer be changed")
    assert "<b>C-0001</b> is withdrawn" in refused
    assert await CaseFile.all().count() == 0


async def test_a_family_member_cannot_send_files_nor_confirm_another_familys_opinion(world: World) -> None:
    t = world.telegram
    admin, ann, bob = world.admin, t.user(3001, "Ann", "en"), t.user(3002, "Bob", "en")
    await open_case_with_family(t, admin.id, ann.id)
    opened = await say(t, admin.id, "/newcase Breast, Mr Chen", "opened")
    await join(t, bob.id, invite_token(opened))

    assert "Only a coordinator" in await say(t, ann.id, "/send C-0001 my scan", "coordinator")
    assert "Only a coordinator" in await say(t, ann.id, "/opinion C-0001", "coordinator")

    await caption(t, admin, "/opinion C-0001", expect="kept on")
    opinion = (await t.wait_for(ann.id, contains="written opinion"))[-1]
    file_id = (await CaseFile.get(purpose="opinion")).id
    # Bob forges the button of Ann's opinion: refused, and nothing is recorded.
    assert "There is no case C-0001" in await pressed(t, bob, t.last(bob.id), f"cb1d:1:{file_id}")
    # Ann forges a file id that is not her opinion, and one out of range: refused readably.
    assert "not one of C-0001" in await pressed(t, ann, opinion, f"cb1d:1:{file_id + 7}")
    assert "no longer works" in await pressed(t, ann, opinion, "cb1d:1:99999999999999")
    assert (await CaseFile.get(id=file_id)).confirmed_at is None


async def test_an_opinion_telegram_refused_is_reported_to_the_coordinator(world: World) -> None:
    t = world.telegram
    admin, ann = world.admin, t.user(3001, "Ann", "en")
    await open_case_with_family(t, admin.id, ann.id)
    t.fail_next("sendDocument", 400, description="Bad Request: wrong file identifier/HTTP URL specified")
    await caption(t, admin, "/opinion C-0001", expect="kept on")
    told = await t.wait_for(admin.id, contains="could not be delivered")
    said = told[-1].text
    assert "the written opinion could not be delivered to the family: Telegram refused the file" in said
    assert await files_to(t, ann.id) == []


async def test_a_relative_who_joins_after_the_opinion_gets_it_too(world: World) -> None:
    t = world.telegram
    admin, ann = world.admin, t.user(3001, "Ann", "en")
    await open_case_with_family(t, admin.id, ann.id)
    await caption(t, admin, "/opinion C-0001", expect="kept on")
    await t.wait_for(ann.id, contains="written opinion")
    invited = await say(t, admin.id, "/invite C-0001", "start=")
    await join(t, 3002, invite_token(invited), name="Boris")
    copy = (await t.wait_for(3002, contains="written opinion"))[-1]
    assert copy.method == "sendDocument" and copy.button_texts  # with its "I received it" button
