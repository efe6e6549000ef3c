"""An outbox row that carries a file: re-sent by Telegram file_id with its caption in the family's
language, exactly once whatever fails; and the emulator's sendVideo that it relies on."""

from __future__ import annotations

from typing import Any

import pytest

from casebot.clock import ManualClock
from casebot.db.models import Case, CaseMember, OutboxMessage, OutboxStatus, Participant
from casebot.delivery.store import backoff
from casebot.services import Services
from casebot.testing import BotAPIEmulator

from .conftest import Outbox, SenderFactory, VirtualTime

COORDINATOR = 8000


def upload(telegram: BotAPIEmulator, kind: str, size: int = 200_000) -> str:
    """A file a coordinator sent the bot; its file_id, as the bot would keep it."""
    user = telegram.user(COORDINATOR, "Coordinator")
    if kind == "document":
        return str(user.send_document("opinion.pdf", size=size)["document"]["file_id"])
    if kind == "photo":
        return str(user.send_photo(size=size)["photo"][-1]["file_id"])
    return str(user.send_media("video", size=size, file_name="scan.mp4")["video"]["file_id"])


async def file_row(
    outbox: Outbox, person: Participant, case: Case, kind: str, telegram_id: str, **extra: Any
) -> OutboxMessage:
    now = outbox.clock.now()
    payload = {
        "case_id": case.id,
        "file_id": 1,
        "purpose": "opinion",
        "file_kind": kind,
        "telegram_file_id": telegram_id,
        "note": None,
        **extra,
    }
    return await OutboxMessage.create(
        dedupe_key=f"case_file:{kind}:{person.id}",
        participant_id=person.id,
        case_id=case.id,
        kind="case_file",
        payload=payload,
        available_at=now,
        created_at=now,
    )


@pytest.mark.parametrize(
    ("kind", "method"),
    [("document", "sendDocument"), ("photo", "sendPhoto"), ("video", "sendVideo")],
)
async def test_a_file_row_reaches_the_family_by_file_id_with_its_caption_in_their_language(
    telegram: BotAPIEmulator, outbox: Outbox, make_sender: SenderFactory, kind: str, method: str
) -> None:
    ann = await outbox.person(9001)
    await Participant.filter(id=ann.id).update(locale="ru")
    case = await outbox.case(None)
    file_id = upload(telegram, kind)
    row = await file_row(outbox, ann, case, kind, file_id)

    assert await make_sender().drain() == 1

    [message] = telegram.sent_to(ann.chat_id)
    assert message.method == method
    media = {"document": message.document, "photo": (message.photo or [{}])[-1], "video": message.video}
    assert media[kind] is not None and media[kind]["file_id"] == file_id
    assert "письменное заключение больницы" in message.caption  # Russian, rendered at send time
    assert "<b>" in message.text and message.parse_mode == "HTML"
    assert message.button_texts == ["✅ Я получил(а)"]
    await row.refresh_from_db()
    assert row.status == OutboxStatus.SENT and row.sent_message_id == message.message_id


async def test_a_plain_file_has_no_receipt_button(
    telegram: BotAPIEmulator, outbox: Outbox, make_sender: SenderFactory
) -> None:
    ann = await outbox.person(9002)
    case = await outbox.case(None)
    await file_row(outbox, ann, case, "document", upload(telegram, "document"), purpose="send", note="Bill")

    assert await make_sender().drain() == 1

    [message] = telegram.sent_to(ann.chat_id)
    assert "a file from your coordinator" in message.caption and "Bill" in message.caption
    assert message.button_texts == []


async def test_a_failed_file_send_is_retried_and_the_family_gets_the_file_once(
    telegram: BotAPIEmulator,
    outbox: Outbox,
    make_sender: SenderFactory,
    clock: ManualClock,
    virtual_time: VirtualTime,
) -> None:
    ann = await outbox.person(9003)
    case = await outbox.case(None)
    row = await file_row(outbox, ann, case, "document", upload(telegram, "document"))
    telegram.fail_next("sendDocument", status=502)
    sender = make_sender(monotonic=virtual_time.monotonic, sleep=virtual_time.sleep)

    assert await sender.drain() == 0
    assert telegram.sent_to(ann.chat_id) == []
    await row.refresh_from_db()
    assert (row.status, row.attempts, row.parts_sent) == (OutboxStatus.PENDING, 1, 0)

    clock.advance(backoff(1))
    assert await sender.drain() == 1
    clock.advance(backoff(2))
    assert await sender.drain() == 0  # nothing left: the sent row is not sent again
    sent = telegram.sent_to(ann.chat_id)
    assert [m.method for m in sent] == ["sendDocument"]


async def test_a_caption_too_long_for_telegram_goes_on_after_the_file_which_is_not_resent(
    telegram: BotAPIEmulator,
    outbox: Outbox,
    make_sender: SenderFactory,
    clock: ManualClock,
    virtual_time: VirtualTime,
) -> None:
    ann = await outbox.person(9004)
    case = await outbox.case(None)
    note = "\n".join(f"line {n} of a long note from the coordinator" for n in range(60))
    row = await file_row(
        outbox, ann, case, "document", upload(telegram, "document"), purpose="send", note=note
    )
    telegram.fail_next("sendMessage", status=502)  # the text after the file fails once
    sender = make_sender(monotonic=virtual_time.monotonic, sleep=virtual_time.sleep)

    assert await sender.drain() == 0
    [first] = telegram.sent_to(ann.chat_id)
    assert first.method == "sendDocument" and len(first.caption) <= 1024
    await row.refresh_from_db()
    assert row.parts_sent == 1

    clock.advance(backoff(1))
    assert await sender.drain() == 1
    sent = telegram.sent_to(ann.chat_id)
    assert [m.method for m in sent] == ["sendDocument", "sendMessage"]
    assert "line 59" in sent[1].text and "not medical advice" in sent[1].text


async def test_a_file_row_whose_file_is_no_longer_kept_is_dropped_unsent(
    telegram: BotAPIEmulator, outbox: Outbox, make_sender: SenderFactory, clock: ManualClock
) -> None:
    ann = await outbox.person(9005)
    case = await outbox.case(None)
    await CaseMember.create(case_id=case.id, participant_id=ann.id, joined_at=clock.now())
    # Its CaseFile row is gone (the case was erased after the row was queued).
    row = await file_row(outbox, ann, case, "document", upload(telegram, "document"), file_id=4242)
    services = Services.build(clock)

    assert await make_sender(check=services.outbox.check).drain() == 0
    assert telegram.sent_to(ann.chat_id) == []
    await row.refresh_from_db()
    assert (row.status, row.last_error) == (OutboxStatus.DEAD, "no longer applies")


# --- the emulator's sendVideo ------------------------------------------------------------------


async def test_the_emulator_resends_a_video_by_file_id_with_caption_and_buttons(
    telegram: BotAPIEmulator,
) -> None:
    from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

    telegram.user(7001).open_chat()
    file_id = upload(telegram, "video", size=3_000_000)
    bot = telegram.create_bot()
    try:
        markup = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Got it", callback_data="x")]]
        )
        message = await bot.send_video(
            7001, file_id, caption="<b>scan</b>", parse_mode="HTML", reply_markup=markup
        )
    finally:
        await bot.session.close()
    assert message.video is not None and message.video.file_id == file_id
    [sent] = telegram.sent_to(7001)
    assert (sent.method, sent.caption, sent.plain_text) == ("sendVideo", "<b>scan</b>", "scan")
    assert sent.video is not None and sent.video["file_id"] == file_id
    assert sent.button_texts == ["Got it"]
    assert [call.name for call in telegram.calls_to("sendVideo")] == ["sendVideo"]


async def test_the_emulator_refuses_a_video_by_an_unknown_or_a_documents_file_id(
    telegram: BotAPIEmulator,
) -> None:
    from aiogram.exceptions import TelegramBadRequest

    telegram.user(7002).open_chat()
    document_id = upload(telegram, "document")
    bot = telegram.create_bot()
    try:
        with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
            await bot.send_video(7002, "no-such-file")
        with pytest.raises(TelegramBadRequest, match="can't use file of type Document as Video"):
            await bot.send_video(7002, document_id)
    finally:
        await bot.session.close()
    assert telegram.sent_to(7002) == []
