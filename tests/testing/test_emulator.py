"""The Bot API emulator, driven by a real aiogram Bot over HTTP through its aiohttp session."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
)
from aiohttp import web

from casebot.testing import BotAPIEmulator, ButtonNotFoundError, EmulatorError, SentMessage

TOKEN = "123456:TEST-TOKEN"


class ManualClock:
    """A clock the test moves by hand, for the rate limits."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=data) for text, data in row] for row in rows
        ]
    )


@pytest.fixture
async def emulator() -> AsyncIterator[BotAPIEmulator]:
    async with BotAPIEmulator(TOKEN) as running:
        yield running


@pytest.fixture
async def bot(emulator: BotAPIEmulator) -> AsyncIterator[Bot]:
    client = emulator.create_bot(timeout=10)
    try:
        yield client
    finally:
        await client.session.close()


@contextlib.asynccontextmanager
async def polling(bot: Bot, router: Router) -> AsyncIterator[Dispatcher]:
    """A Dispatcher with ``router`` polling the emulator for real (getUpdates over HTTP)."""
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    started = asyncio.Event()
    dispatcher.startup.register(started.set)
    task = asyncio.create_task(
        dispatcher.start_polling(bot, handle_signals=False, polling_timeout=1, close_bot_session=False)
    )
    await asyncio.wait_for(started.wait(), 10)
    try:
        yield dispatcher
    finally:
        await dispatcher.stop_polling()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)


@contextlib.asynccontextmanager
async def receiver(status: list[int] | None = None) -> AsyncIterator[tuple[str, asyncio.Queue[Any]]]:
    """A tiny webhook receiver: yields its URL and a queue of (secret header, update JSON)."""
    received: asyncio.Queue[Any] = asyncio.Queue()
    answers = list(status or [])

    async def hook(request: web.Request) -> web.Response:
        code = answers.pop(0) if answers else 200
        if code == 200:
            await received.put((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.Response(status=code)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/hook", received
    finally:
        await runner.cleanup()


# --- basics over HTTP ----------------------------------------------------------------------------


async def test_get_me_answers_the_bot_user_taken_from_the_token(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456
    assert me.is_bot
    assert me.username == "casebot_test_bot"


async def test_the_bot_username_and_name_are_configurable() -> None:
    async with BotAPIEmulator("42:ABC", username="other_bot", first_name="Other") as emulator:
        client = emulator.create_bot()
        try:
            me = await client.get_me()
        finally:
            await client.session.close()
    assert (me.id, me.username, me.first_name) == (42, "other_bot", "Other")


async def test_a_sent_message_is_recorded_with_its_text_and_buttons(
    emulator: BotAPIEmulator, bot: Bot
) -> None:
    user = emulator.user(42, "Ann")
    user.send_text("hi")
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="Yes", callback_data="yes"),
                InlineKeyboardButton(text="No", callback_data="no"),
            ],
            [InlineKeyboardButton(text="Read more", url="https://example.org/more")],
        ]
    )
    message = await bot.send_message(42, "Hello <b>Ann</b> &amp; co", parse_mode="HTML", reply_markup=markup)

    assert message.text == "Hello Ann & co"
    assert message.entities is not None and message.entities[0].type == "bold"
    assert message.from_user is not None and message.from_user.id == 123456
    assert message.chat.id == 42 and message.chat.type == "private"
    [sent] = emulator.sent_to(42)
    assert sent.message_id == message.message_id == 2  # the user's "hi" was message 1 of this chat
    assert sent.text == "Hello <b>Ann</b> &amp; co"
    assert sent.plain_text == "Hello Ann & co"
    assert sent.parse_mode == "HTML"
    assert sent.buttons == [[("Yes", "yes"), ("No", "no")], [("Read more", "https://example.org/more")]]
    assert sent.flat_buttons[0] == ("Yes", "yes")
    assert emulator.last(user) is sent


async def test_method_names_are_case_insensitive_and_bad_tokens_or_methods_get_telegram_errors(
    emulator: BotAPIEmulator,
) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{emulator.base_url}/bot{TOKEN}/GETME") as response:
            assert response.status == 200
            assert (await response.json())["result"]["id"] == 123456
        async with http.post(f"{emulator.base_url}/botnot-a-token/getMe") as response:
            assert response.status == 401
            assert await response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        async with http.post(f"{emulator.base_url}/bot{TOKEN}/sendTelepathy") as response:
            assert response.status == 404
            assert (await response.json())["description"] == "Not Found: method not found"
        async with http.post(
            f"{emulator.base_url}/bot{TOKEN}/sendMessage", json={"chat_id": 42, "text": "x"}
        ) as response:
            assert response.status == 400
            assert (await response.json())["description"] == "Bad Request: chat not found"
    assert [(call.name, call.status) for call in emulator.calls] == [
        ("getMe", 200),
        ("getMe", 401),
        ("sendTelepathy", 404),
        ("sendMessage", 400),
    ]
    assert emulator.calls[0].method == "GETME"


async def test_every_call_is_logged_with_its_params_and_status(emulator: BotAPIEmulator, bot: Bot) -> None:
    emulator.user(7).send_text("hi")
    await bot.send_message(7, "one", reply_markup=keyboard([("A", "a")]))
    with pytest.raises(TelegramBadRequest):
        await bot.send_message(99, "nobody")

    calls = emulator.calls_to("sendMessage")
    assert [call.status for call in calls] == [200, 400]
    assert calls[0].params["chat_id"] == "7"
    assert calls[0].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "a"
    assert calls[1].description == "Bad Request: chat not found"
    assert emulator.stats.sent == 1
    assert emulator.stats.by_method["sendMessage"] == 2
    assert emulator.stats.by_status[400] == 1


# --- real polling --------------------------------------------------------------------------------


async def test_a_polling_dispatcher_answers_a_users_text_and_a_button_press(
    emulator: BotAPIEmulator, bot: Bot
) -> None:
    router = Router()

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}", reply_markup=keyboard([("Again", "again")]))

    @router.callback_query(F.data == "again")
    async def again(query: CallbackQuery) -> None:
        await query.answer("pressed!")
        assert isinstance(query.message, Message)
        await query.message.edit_text("pressed")

    user = emulator.user(42, "Ann")
    async with polling(bot, router):
        user.send_text("hello")
        [reply] = await emulator.wait_for(user, contains="echo: hello")
        assert reply.buttons == [[("Again", "again")]]

        query_id = user.press(reply, text="Again")
        await emulator.wait_until(lambda: reply.edited)
        await emulator.wait_idle()

    assert emulator.callback_answers[query_id]["text"] == "pressed!"
    assert reply.text == "pressed"
    assert reply.buttons == []  # editMessageText without reply_markup drops the keyboard, like Telegram
    assert reply.history[0].text == "echo: hello"
    assert emulator.pending_updates == 0
    assert emulator.calls_to("getUpdates")


async def test_wait_idle_lets_a_test_assert_that_the_bot_stayed_silent(
    emulator: BotAPIEmulator, bot: Bot
) -> None:
    router = Router()

    @router.message(F.text == "ping")
    async def pong(message: Message) -> None:
        await message.answer("pong")

    user = emulator.user(5)
    async with polling(bot, router):
        user.send_text("something else")
        await emulator.wait_idle()
        assert emulator.sent_to(user) == []
        user.send_text("ping")
        await emulator.wait_for(user)
        await emulator.wait_idle()
    assert [m.text for m in emulator.sent_to(user)] == ["pong"]


async def test_wait_idle_fails_when_nobody_fetches_the_updates() -> None:
    async with BotAPIEmulator() as emulator:
        emulator.user(5).send_text("anyone?")
        with pytest.raises(AssertionError, match="not yet confirmed"):
            await emulator.wait_idle(timeout=0.2)


async def test_get_updates_honours_offset_limit_and_waits_for_an_update(
    emulator: BotAPIEmulator, bot: Bot
) -> None:
    user = emulator.user(9)
    for text in ("one", "two", "three"):
        user.send_text(text)

    first = await bot.get_updates(limit=2, timeout=0)
    assert [u.message.text for u in first if u.message] == ["one", "two"]
    rest = await bot.get_updates(offset=first[-1].update_id + 1, timeout=0)
    assert [u.message.text for u in rest if u.message] == ["three"]
    assert emulator.pending_updates == 1  # not confirmed until the next offset

    assert await bot.get_updates(offset=rest[-1].update_id + 1, timeout=1) == []
    assert emulator.pending_updates == 0

    waiting = asyncio.create_task(bot.get_updates(offset=rest[-1].update_id + 1, timeout=30))
    await emulator.wait_until(lambda: emulator.long_polls_waiting == 1)
    user.send_text("late")
    late = await asyncio.wait_for(waiting, 10)
    assert [u.message.text for u in late if u.message] == ["late"]


async def test_a_second_poller_terminates_the_first_with_a_conflict(
    emulator: BotAPIEmulator, bot: Bot
) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=30))
    await emulator.wait_until(lambda: emulator.long_polls_waiting == 1)
    second = asyncio.create_task(bot.get_updates(timeout=1))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 10)
    assert await asyncio.wait_for(second, 10) == []


async def test_updates_of_types_the_bot_did_not_ask_for_are_dropped(
    emulator: BotAPIEmulator, bot: Bot
) -> None:
    user = emulator.user(3)
    user.send_text("/start")
    await bot.get_updates(timeout=0, allowed_updates=["message"])
    sent = await bot.send_message(3, "pick", reply_markup=keyboard([("A", "a")]))
    user.press(sent.message_id, "a")
    assert emulator.dropped_updates and "callback_query" in emulator.dropped_updates[0]
    assert [u.message is not None for u in await bot.get_updates(timeout=0)] == [True]


# --- errors as aiogram exceptions ----------------------------------------------------------------


async def test_bad_requests_come_back_as_telegram_bad_request(emulator: BotAPIEmulator, bot: Bot) -> None:
    emulator.user(42).send_text("hi")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(42, "x" * 4097)
    await bot.send_message(42, "x" * 4096)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(42, "   ")
    with pytest.raises(TelegramBadRequest, match=r"can't parse entities: Unsupported start tag \"br\""):
        await bot.send_message(42, "line<br>line", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="can't parse entities: Can't find end tag"):
        await bot.send_message(42, "<b>bold", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="can't parse entities: Unmatched end tag"):
        await bot.send_message(42, "<b>x</i>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(42, "x", reply_markup=keyboard([("Too long", "d" * 65)]))
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(42, "x", reply_parameters=ReplyParameters(message_id=999))
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(77, "never wrote")
    assert len(emulator.sent_to(42)) == 1


async def test_telegram_html_tags_become_entities_with_utf16_offsets(
    emulator: BotAPIEmulator, bot: Bot
) -> None:
    emulator.user(42).send_text("hi")
    message = await bot.send_message(
        42,
        '😀 <b>bold <i>both</i></b> <a href="https://x.org/?a=1&amp;b=2">link</a> '
        '<span class="tg-spoiler">s</span> <pre><code class="language-python">x = 1</code></pre>',
        parse_mode="HTML",
    )
    assert message.text == "😀 bold both link s x = 1"
    entities = [(e.type, e.offset, e.length, e.url, e.language) for e in message.entities or []]
    assert entities == [
        ("bold", 3, 9, None, None),
        ("italic", 8, 4, None, None),
        ("text_link", 13, 4, "https://x.org/?a=1&b=2", None),
        ("spoiler", 18, 1, None, None),
        ("pre", 20, 5, None, "python"),
    ]


async def test_blocked_and_deactivated_users_give_forbidden(emulator: BotAPIEmulator, bot: Bot) -> None:
    emulator.user(1).send_text("hi")
    emulator.user(2).send_text("hi")
    emulator.block(1)
    emulator.deactivate(2)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(1, "hello")
    with pytest.raises(TelegramForbiddenError, match="user is deactivated"):
        await bot.send_message(2, "hello")
    emulator.unblock(1)
    await bot.send_message(1, "hello again")


async def test_blocking_with_notify_queues_a_my_chat_member_update(
    emulator: BotAPIEmulator, bot: Bot
) -> None:
    user = emulator.user(1)
    user.send_text("hi")
    emulator.block(1, notify=True)
    updates = await bot.get_updates(timeout=0)
    member = updates[-1].my_chat_member
    assert member is not None and member.new_chat_member.status == "kicked"


async def test_a_migrated_group_answers_with_the_new_supergroup_id(
    emulator: BotAPIEmulator, bot: Bot
) -> None:
    group = emulator.group(-555, "Tumour board")
    await bot.send_message(-555, "hello group")
    emulator.migrate_group(-555, -1001234)
    with pytest.raises(TelegramMigrateToChat) as raised:
        await bot.send_message(-555, "hello again")
    assert raised.value.migrate_to_chat_id == -1001234
    moved = await bot.send_message(-1001234, "hello supergroup")
    assert moved.chat.type == "supergroup"
    assert [m.text for m in group.messages] == ["hello group"]


async def test_group_members_write_in_a_group_and_the_bot_sees_who_wrote(
    emulator: BotAPIEmulator, bot: Bot
) -> None:
    group = emulator.group(-42, "Family")
    ann, bob = emulator.user(1, "Ann"), emulator.user(2, "Bob")
    group.send_text_as(ann, "hello all")
    group.send_command_as(bob, "/status", "C-1")
    updates = await bot.get_updates(timeout=0)
    messages = [u.message for u in updates if u.message]
    assert [(m.chat.id, m.from_user.first_name if m.from_user else None, m.text) for m in messages] == [
        (-42, "Ann", "hello all"),
        (-42, "Bob", "/status C-1"),
    ]
    assert messages[1].entities is not None and messages[1].entities[0].type == "bot_command"
    # Writing in a group does not open the private chat.
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(1, "hi Ann")


async def test_injected_server_errors_are_telegram_server_errors_once(
    emulator: BotAPIEmulator, bot: Bot
) -> None:
    emulator.user(42).send_text("hi")
    emulator.fail_next("sendMessage", status=502, count=2)
    for _ in range(2):
        with pytest.raises(TelegramServerError, match="Bad Gateway"):
            await bot.send_message(42, "hello")
    await bot.send_message(42, "hello")
    assert [m.text for m in emulator.sent_to(42)] == ["hello"]
    assert emulator.stats.injected_failures == 2


async def test_a_processed_failure_sends_the_message_but_loses_the_answer(
    emulator: BotAPIEmulator, bot: Bot
) -> None:
    emulator.user(42).send_text("hi")
    emulator.fail_next("sendMessage", status=500, processed=True)
    with pytest.raises(TelegramServerError):
        await bot.send_message(42, "maybe sent")
    assert [m.text for m in emulator.sent_to(42)] == ["maybe sent"]


async def test_a_failure_after_some_calls_lets_those_calls_through_first(
    emulator: BotAPIEmulator, bot: Bot
) -> None:
    emulator.user(42).send_text("hi")
    emulator.fail_next("sendMessage", status=502, after=1)
    await bot.send_message(42, "part 1")
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.send_message(42, "part 2")
    await bot.send_message(42, "part 2")
    assert [m.text for m in emulator.sent_to(42)] == ["part 1", "part 2"]
    assert emulator.stats.injected_failures == 1


async def test_an_unreadable_answer_sends_the_message_but_the_client_cannot_decode_it(
    emulator: BotAPIEmulator, bot: Bot
) -> None:
    emulator.user(42).send_text("hi")
    emulator.fail_next("sendMessage", unreadable=True)
    with pytest.raises(ClientDecodeError) as raised:
        await bot.send_message(42, "delivered all the same")
    assert [m.text for m in emulator.sent_to(42)] == ["delivered all the same"]
    data = raised.value.data
    assert data["ok"] is True
    assert data["result"]["message_id"] == emulator.last(42).message_id
    assert emulator.calls[-1].status == 200
    emulator.fail_next("getMe", unreadable=True)
    with pytest.raises(ClientDecodeError):
        await bot.get_me()


async def test_a_revoked_token_gets_401_on_every_method_until_it_is_restored(
    emulator: BotAPIEmulator, bot: Bot
) -> None:
    emulator.user(42).send_text("hi")
    emulator.revoke_token()
    with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
        await bot.get_me()
    with pytest.raises(TelegramUnauthorizedError):
        await bot.send_message(42, "not sent")
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{emulator.base_url}/bot{TOKEN}/getUpdates") as response,
    ):
        assert response.status == 401
        assert await response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert emulator.sent_to(42) == []

    emulator.restore_token()
    assert (await bot.get_me()).id == 123456
    await bot.send_message(42, "sent")
    assert [m.text for m in emulator.sent_to(42)] == ["sent"]
    assert [(call.name, call.status) for call in emulator.calls] == [
        ("getMe", 401),
        ("sendMessage", 401),
        ("getUpdates", 401),
        ("getMe", 200),
        ("sendMessage", 200),
    ]


async def test_an_injected_timeout_makes_the_client_give_up(emulator: BotAPIEmulator) -> None:
    emulator.hang_seconds = 30
    emulator.user(42).send_text("hi")
    impatient = emulator.create_bot(timeout=0.5)
    try:
        emulator.fail_next("sendMessage", timeout=True)
        with pytest.raises(TelegramNetworkError, match="timeout"):
            await impatient.send_message(42, "slow")
        assert emulator.sent_to(42) == []
        emulator.fail_next(None, disconnect=True)
        with pytest.raises(TelegramNetworkError):
            await impatient.get_me()
        assert (await impatient.get_me()).id == 123456
    finally:
        await impatient.session.close()


async def test_a_second_message_within_a_second_to_one_chat_gets_retry_after() -> None:
    clock = ManualClock()
    async with BotAPIEmulator(clock=clock) as emulator:
        client = emulator.create_bot()
        try:
            emulator.user(1).send_text("hi")
            emulator.user(2).send_text("hi")
            emulator.enforce_limits(per_chat_per_second=1, per_group_per_minute=20, global_per_second=30)
            await client.send_message(1, "first")
            await client.send_message(2, "another chat is fine")
            with pytest.raises(TelegramRetryAfter) as raised:
                await client.send_message(1, "second")
            assert raised.value.retry_after == 1
            clock.now += 1.0
            await client.send_message(1, "second, later")
            emulator.disable_limits()
            await client.send_message(1, "no limits now")
        finally:
            await client.session.close()
        assert [m.text for m in emulator.sent_to(1)] == ["first", "second, later", "no limits now"]
        assert emulator.stats.rate_limited == 1
        assert emulator.stats.sent == 4


async def test_groups_and_the_whole_bot_have_their_own_limits() -> None:
    clock = ManualClock()
    async with BotAPIEmulator(clock=clock) as emulator:
        client = emulator.create_bot()
        try:
            emulator.group(-10)
            emulator.enforce_limits(per_chat_per_second=None, per_group_per_minute=3, global_per_second=None)
            for _ in range(3):
                await client.send_message(-10, "x")
                clock.now += 1
            with pytest.raises(TelegramRetryAfter) as raised:
                await client.send_message(-10, "x")
            assert raised.value.retry_after == 57
            for number in range(1, 4):
                emulator.user(number).send_text("hi")
            emulator.enforce_limits(per_chat_per_second=None, per_group_per_minute=None, global_per_second=2)
            await client.send_message(1, "x")
            await client.send_message(2, "x")
            with pytest.raises(TelegramRetryAfter):
                await client.send_message(3, "x")
        finally:
            await client.session.close()


# --- edits, callbacks, commands ------------------------------------------------------------------


async def test_edits_are_checked_and_recorded_like_telegram(emulator: BotAPIEmulator, bot: Bot) -> None:
    emulator.user(42).send_text("hi")
    message = await bot.send_message(
        42, "Status: <b>open</b>", parse_mode="HTML", reply_markup=keyboard([("Go", "go")])
    )

    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "Status: <b>open</b>",
            chat_id=42,
            message_id=message.message_id,
            parse_mode="HTML",
            reply_markup=keyboard([("Go", "go")]),
        )
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=42, message_id=999)
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("x", chat_id=42, message_id=1)  # the user's own message

    edited = await bot.edit_message_text(
        "Status: <b>closed</b>", chat_id=42, message_id=message.message_id, parse_mode="HTML"
    )
    assert isinstance(edited, Message) and edited.text == "Status: closed" and edited.edit_date is not None
    await bot.edit_message_reply_markup(
        chat_id=42, message_id=message.message_id, reply_markup=keyboard([("Reopen", "reopen")])
    )
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=42, message_id=message.message_id, reply_markup=keyboard([("Reopen", "reopen")])
        )

    [sent] = emulator.sent_to(42)
    assert sent.edited and sent.edit_count == 2
    assert sent.text == "Status: <b>closed</b>"
    assert sent.buttons == [[("Reopen", "reopen")]]
    assert [version.plain_text for version in sent.history] == ["Status: open", "Status: closed"]
    assert emulator.stats.edited == 2 and emulator.stats.sent == 1

    assert await bot.delete_message(42, message.message_id)
    assert sent.deleted
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(42, message.message_id)


async def test_callback_queries_can_be_answered_once(emulator: BotAPIEmulator, bot: Bot) -> None:
    user = emulator.user(42)
    user.send_text("hi")
    await bot.send_message(42, "pick", reply_markup=keyboard([("One", "1"), ("Two", "2")]))
    query_id = user.press(emulator.last(42), "2")
    assert emulator.last_callback_query is not None and emulator.last_callback_query["data"] == "2"
    assert await bot.answer_callback_query(query_id, text="Saved", show_alert=True)
    assert emulator.callback_answers[query_id]["show_alert"] is True
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id, text="again")


async def test_pressing_a_button_the_message_does_not_have_is_a_clear_error(
    emulator: BotAPIEmulator, bot: Bot
) -> None:
    user = emulator.user(42)
    user.send_text("hi")
    await bot.send_message(
        42,
        "pick",
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text="1. Imaging", callback_data="img")],
                [InlineKeyboardButton(text="2. Pathology", callback_data="path")],
                [InlineKeyboardButton(text="Docs", url="https://example.org")],
            ]
        ),
    )
    sent = emulator.last(42)
    with pytest.raises(ButtonNotFoundError, match=r"no button with callback_data='nope'.*1\. Imaging"):
        user.press(sent, "nope")
    with pytest.raises(ButtonNotFoundError, match="2 buttons match"):
        user.press(sent, text=". ")
    with pytest.raises(ButtonNotFoundError, match="not a callback button"):
        user.press(sent, text="Docs")
    user.press(sent, text="2. Path")  # a unique prefix is enough
    with pytest.raises(EmulatorError, match="no message #99"):
        user.press(99, "img")


async def test_commands_are_stored_per_scope_and_language(emulator: BotAPIEmulator, bot: Bot) -> None:
    emulator.user(42).send_text("hi")
    await bot.set_my_commands([BotCommand(command="start", description="Begin")])
    await bot.set_my_commands(
        [BotCommand(command="cases", description="Your cases")],
        scope=BotCommandScopeChat(chat_id=42),
        language_code="ru",
    )
    assert emulator.commands() == [("start", "Begin")]
    assert emulator.commands({"type": "chat", "chat_id": 42}, "ru") == [("cases", "Your cases")]
    assert emulator.commands(BotCommandScopeChat(chat_id=42)) == []
    assert emulator.menu(42, "ru") == ["cases"]
    got = await bot.get_my_commands(scope=BotCommandScopeChat(chat_id=42), language_code="ru")
    assert [c.command for c in got] == ["cases"]
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad Command", description="x")])
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.set_my_commands(
            [BotCommand(command="x", description="x")], scope=BotCommandScopeChat(chat_id=7)
        )


async def test_chat_actions_are_accepted_for_known_chats(emulator: BotAPIEmulator, bot: Bot) -> None:
    emulator.user(42).send_text("hi")
    assert await bot.send_chat_action(42, "typing")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_chat_action(43, "typing")


# --- users' updates ------------------------------------------------------------------------------


async def test_every_user_action_is_an_update_aiogram_can_parse(emulator: BotAPIEmulator, bot: Bot) -> None:
    user = emulator.user(42, "Ann", username="ann")
    other = emulator.user(43, "Olga")
    created = [
        user.send_command("/start", "cb_token"),
        user.send_document("scan.pdf", size=120_000),
        user.send_photo(size=80_000, caption="x-ray"),
        user.send_sticker(),
        user.forward_text("from the clinic", from_user=other),
    ]
    edited = user.edit_text(created[0], "/start other")
    question = await bot.send_message(42, "Which hospital?")
    reply = user.reply_to(emulator.last(42), "Shanghai")

    updates = await bot.get_updates(timeout=0)
    assert [u.event_type for u in updates] == ["message"] * 5 + ["edited_message", "message"]
    parsed = [Update.model_validate(u.model_dump()) for u in updates]
    command, document, photo, sticker, forward, edit, answer = (u.message or u.edited_message for u in parsed)
    assert command is not None and command.text == "/start cb_token"
    assert command.entities is not None and command.entities[0].type == "bot_command"
    assert document is not None and document.document is not None
    assert (document.document.file_name, document.document.file_size) == ("scan.pdf", 120_000)
    assert document.document.mime_type == "application/pdf"
    assert photo is not None and photo.photo is not None and photo.photo[-1].file_size == 80_000
    assert photo.caption == "x-ray"
    assert sticker is not None and sticker.sticker is not None
    assert forward is not None and forward.forward_origin is not None
    assert edit is not None and edit.text == "/start other" and edit.edit_date is not None
    assert answer is not None and answer.reply_to_message is not None
    assert answer.reply_to_message.message_id == question.message_id
    assert created[1]["message_id"] == 2 and edited["message_id"] == 1 and reply["text"] == "Shanghai"


async def test_wait_for_times_out_listing_what_the_bot_did_send(emulator: BotAPIEmulator, bot: Bot) -> None:
    emulator.user(42).send_text("hi")
    await bot.send_message(42, "only this one")
    with pytest.raises(TelegramBadRequest):
        await bot.send_message(42, "<b>broken", parse_mode="HTML")
    with pytest.raises(AssertionError) as raised:
        await emulator.wait_for(42, count=2, timeout=0.2)
    report = str(raised.value)
    assert "'only this one'" in report
    assert "can't parse entities" in report
    found = await emulator.wait_for(42, contains="only")
    assert [m.text for m in found] == ["only this one"]
    assert await emulator.wait_for(42, predicate=lambda m: m.message_id == 2) == found


# --- webhook -------------------------------------------------------------------------------------


async def test_webhook_mode_posts_updates_with_the_secret_header(emulator: BotAPIEmulator, bot: Bot) -> None:
    async with receiver() as (url, received):
        assert await bot.set_webhook(url, secret_token="s3cret", drop_pending_updates=True)
        emulator.user(42).send_text("via webhook")
        secret, update = await asyncio.wait_for(received.get(), 10)
        assert secret == "s3cret"
        assert update["message"]["text"] == "via webhook"
        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await bot.get_updates(timeout=0)
        info = await bot.get_webhook_info()
        assert info.url == url
        await emulator.wait_idle()
        assert emulator.pending_updates == 0
        assert await bot.delete_webhook()
    emulator.user(42).send_text("polling again")
    assert [u.message.text for u in await bot.get_updates(timeout=0) if u.message] == ["polling again"]


async def test_a_failing_webhook_keeps_the_update_and_retries(emulator: BotAPIEmulator, bot: Bot) -> None:
    emulator.webhook_retries = 2
    emulator.webhook_retry_delay = 0.01
    emulator.webhook_backoff = 0.05
    async with receiver(status=[500, 500, 500]) as (url, received):
        await bot.set_webhook(url)
        emulator.user(42).send_text("eventually")
        _, update = await asyncio.wait_for(received.get(), 10)
        assert update["message"]["text"] == "eventually"
        failures = [d for d in emulator.webhook_deliveries if not d.ok]
        assert len(failures) == 3
        info = await bot.get_webhook_info()
        assert info.last_error_message is not None and "500" in info.last_error_message
        await bot.delete_webhook()


async def test_a_method_in_the_webhook_answer_is_executed(emulator: BotAPIEmulator, bot: Bot) -> None:
    async def hook(request: web.Request) -> web.Response:
        update = await request.json()
        chat_id = update["message"]["chat"]["id"]
        return web.json_response({"method": "sendMessage", "chat_id": chat_id, "text": "answered inline"})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        await bot.set_webhook(f"http://127.0.0.1:{runner.addresses[0][1]}/hook")
        emulator.user(42).send_text("hi")
        [sent] = await emulator.wait_for(42)
        assert sent.text == "answered inline"
        await bot.delete_webhook()
    finally:
        await runner.cleanup()


# --- restarts and files --------------------------------------------------------------------------


async def test_stopping_and_starting_on_the_same_port_keeps_the_state(
    emulator: BotAPIEmulator, bot: Bot
) -> None:
    emulator.user(42).send_text("hi")
    await bot.send_message(42, "before the outage")
    port = emulator.bound_port
    await emulator.stop()
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(42, "during the outage")
    await emulator.start(port=port)
    assert emulator.bound_port == port
    await bot.send_message(42, "after the outage")
    assert [m.text for m in emulator.sent_to(42)] == ["before the outage", "after the outage"]


async def test_get_file_of_a_25_mb_document_says_file_is_too_big(emulator: BotAPIEmulator, bot: Bot) -> None:
    message = emulator.user(42).send_document("scan.tiff", size=25 * 1024 * 1024)
    with pytest.raises(TelegramBadRequest, match="file is too big"):
        await bot.get_file(message["document"]["file_id"])
    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await bot.get_file("no-such-file")


async def test_a_users_document_downloads_with_its_content(emulator: BotAPIEmulator, bot: Bot) -> None:
    user = emulator.user(42)
    with_bytes = user.send_document("notes.txt", content=b"patient notes", mime_type="text/plain")
    by_size = user.send_document("blank.pdf", size=2048)
    downloaded = await bot.download(with_bytes["document"]["file_id"])
    assert downloaded is not None and downloaded.read() == b"patient notes"
    blank = await bot.download(by_size["document"]["file_id"])
    assert blank is not None and len(blank.read()) == 2048


async def test_an_uploaded_document_downloads_back_and_can_be_resent_by_file_id(
    emulator: BotAPIEmulator, bot: Bot
) -> None:
    emulator.user(42).send_text("hi")
    payload = bytes(range(256)) * 40
    message = await bot.send_document(
        42, BufferedInputFile(payload, filename="report.pdf"), caption="<i>Report</i>", parse_mode="HTML"
    )
    assert message.document is not None
    assert (message.document.file_name, message.document.file_size) == ("report.pdf", len(payload))
    assert message.document.mime_type == "application/pdf"
    assert message.caption == "Report"

    downloaded = await bot.download(message.document.file_id)
    assert downloaded is not None and downloaded.read() == payload

    again = await bot.send_document(42, message.document.file_id)
    assert again.document is not None and again.document.file_id == message.document.file_id
    photo = await bot.send_photo(42, BufferedInputFile(b"\xff\xd8jpeg", filename="p.jpg"))
    assert photo.photo is not None and photo.photo[-1].file_size == 6

    first, second, third = emulator.sent_to(42)
    assert isinstance(first, SentMessage) and first.document is not None and first.caption == "<i>Report</i>"
    assert second.document == first.document
    assert emulator.file(message.document.file_id).content == payload
    assert third.photo is not None
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_document(42, "unknown-file-id")
    with pytest.raises(TelegramBadRequest, match="can't use file of type Document as Photo"):
        await bot.send_photo(42, message.document.file_id)


async def test_aiogram_webhook_handler_answering_in_the_response_body_is_executed(
    emulator: BotAPIEmulator, bot: Bot
) -> None:
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler

    router = Router()

    @router.message(F.text)
    async def answer_inline(message: Message) -> Any:
        return message.answer(f"inline: {message.text}")  # returned, not awaited: goes in the webhook answer

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    app = web.Application()
    SimpleRequestHandler(dispatcher, bot, handle_in_background=False, secret_token="s").register(
        app, path="/hook"
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        await bot.set_webhook(f"http://127.0.0.1:{runner.addresses[0][1]}/hook", secret_token="s")
        emulator.user(42).send_text("hello")
        [sent] = await emulator.wait_for(42)
        assert sent.text == "inline: hello"
        await emulator.wait_idle()
        await bot.delete_webhook()
    finally:
        await runner.cleanup()


async def test_a_user_who_never_wrote_cannot_be_messaged_until_their_chat_is_open(
    emulator: BotAPIEmulator, bot: Bot
) -> None:
    user = emulator.user(42)
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(42, "hello?")
    user.open_chat()
    await bot.send_message(42, "hello")
    assert [m.text for m in user.messages] == ["hello"]


async def test_hundreds_of_chats_each_get_their_own_answer(emulator: BotAPIEmulator, bot: Bot) -> None:
    router = Router()

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"echo {message.text}")

    users = [emulator.user(10_000 + number) for number in range(300)]
    async with polling(bot, router):
        for user in users:
            user.send_text(str(user.id))
        for user in users:
            await emulator.wait_for(user, contains=f"echo {user.id}")
        await emulator.wait_idle()
    assert all(len(emulator.sent_to(user)) == 1 for user in users)
    assert emulator.stats.sent == 300
