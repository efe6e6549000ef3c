"""A hostile read of casebot.lean_import: aiogram's Telegram types imported with their validators built
on first use. Each test runs in fresh interpreters (import order is the whole point) and compares
what a bot does on the lean import with what it does on aiogram's own import, where that is the
question. A test that fails names a way `casebot run` behaves differently from a plain aiogram bot.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from typing import Any

import pytest

# The first lines of every script: the lean import (as `casebot run` does it), or aiogram's own.
_LEAN = "from casebot.lean_import import defer_aiogram_validators\n_DEFERRED = defer_aiogram_validators()\n"
_EAGER = "import aiogram.types\n_DEFERRED = False\n"


def run(script: str, *, lean: bool | None = True, env: dict[str, str] | None = None) -> tuple[Any, str]:
    """Run ``script`` in a fresh interpreter after the lean (True) or aiogram's own (False) import, or
    as it is (None); returns the JSON of its last line of output, and what it wrote on stderr."""
    prelude = "" if lean is None else _LEAN if lean else _EAGER
    done = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=env,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, f"no output (exit {done.returncode}):\n{done.stderr}"
    return json.loads(lines[-1]), done.stderr


# --- a type first used where pydantic's on-first-use build cannot look up the caller --------------

_TOP_LEVEL_VALIDATOR = """
import json
from aiogram.types import BotCommand
try:
    # pydantic's documented low-level API, used at a script's top level (a replay tool, a fast path);
    # BotCommand: a type the shim's own probe at import (an update, a message, a keyboard) did not build
    text = BotCommand.__pydantic_validator__.validate_json('{"command": "hi", "description": "-"}').command
except Exception as error:
    text = f"{type(error).__name__}: {error}"
print(json.dumps({"deferred": _DEFERRED, "result": text}))
"""

_AT_EXIT = """
import atexit, json
from aiogram.types import BotCommand
# A shutdown hook the interpreter calls with no Python frame above it.
atexit.register(BotCommand.model_validate, {"command": "start", "description": "Start"})
print(json.dumps({"deferred": _DEFERRED, "result": "registered"}))
"""


@pytest.mark.parametrize(
    "script", [_TOP_LEVEL_VALIDATOR, _AT_EXIT], ids=["top-level-validator", "atexit-hook"]
)
def test_a_type_first_used_with_no_python_caller_above_it_works_as_with_aiogram_own_import(
    script: str,
) -> None:
    """FAILS: pydantic builds a deferred model on first use through
    ``model_rebuild(_parent_namespace_depth=5)``, which calls ``sys._getframe(5)``; with fewer frames
    above (a script's top level touching ``__pydantic_validator__``, a bound ``model_validate`` called
    by atexit or ``_thread``) that raises ``ValueError: call stack is not deep enough``. On aiogram's
    own import every type is built at import and the same code works."""
    eager, eager_err = run(script, lean=False)
    lean, lean_err = run(script, lean=True)
    assert lean["deferred"] is True
    assert "Traceback" not in eager_err and eager["result"] in ("hi", "registered")
    assert lean["result"] == eager["result"]
    assert "call stack is not deep enough" not in lean_err, lean_err[-600:]


# --- what a running bot does: updates in, methods out ---------------------------------------------

_BOT = r"""
import asyncio, copy, json, pickle, re
from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.types import (
    BotCommand, BotCommandScopeChat, BufferedInputFile, InputMediaPhoto, Poll, Sticker,
)

user = {"id": 5, "is_bot": False, "first_name": "A"}
msg = {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "x", "from": user}
RESULTS = {
    "getUpdates": [
        {"update_id": 1, "message": msg},
        {"update_id": 2, "callback_query": {"id": "q", "chat_instance": "c", "from": user, "data": "d", "message": msg}},
        {"update_id": 3, "my_chat_member": {"chat": msg["chat"], "from": user, "date": 0,
            "old_chat_member": {"status": "member", "user": user},
            "new_chat_member": {"status": "kicked", "user": user, "until_date": 0}}},
    ],
    "getMyCommands": [{"command": "a", "description": "b"}],
    "sendMediaGroup": [msg, msg],
    "getChatMember": {"status": "left", "user": user},
    "setMyCommands": True,
    "getChat": {"id": 1, "type": "private", "accent_color_id": 0, "max_reaction_count": 1,
                "accepted_gift_types": {"unlimited_gifts": True, "limited_gifts": True,
                                        "unique_gifts": True, "premium_subscription": True,
                                        "gifts_from_channels": True}},
    "sendPhoto": {**msg, "photo": [{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]},
}

class Recorded(BaseSession):
    sent = []
    async def close(self): pass
    async def stream_content(self, *a, **k): yield b""
    async def make_request(self, bot, method, timeout=None):
        form = {k: self.prepare_value(v, bot=bot, files={}) for k, v in method.model_dump(warnings=False).items()}
        text = json.dumps(form, default=str, sort_keys=True)
        self.sent.append([method.__api_method__, re.sub(r"attach://[A-Za-z0-9_-]+", "attach://*", text)])
        content = json.dumps({"ok": True, "result": RESULTS[method.__api_method__]})
        return self.check_response(bot=bot, method=method, status_code=200, content=content).result

async def main():
    bot = Bot("42:ABC", session=Recorded())
    out = {}
    updates = await bot.get_updates()
    out["updates"] = [type(u.event).__name__ for u in updates]
    out["kicked"] = type(updates[2].my_chat_member.new_chat_member).__name__
    out["commands"] = [c.command for c in await bot.get_my_commands()]
    media = [InputMediaPhoto(media="f"), InputMediaPhoto(media=BufferedInputFile(b"x", "p.png"))]
    out["media_group"] = len(await bot.send_media_group(1, media))
    out["member"] = type(await bot.get_chat_member(1, 5)).__name__
    out["set_commands"] = await bot.set_my_commands(
        [BotCommand(command="a", description="b")], scope=BotCommandScopeChat(chat_id=1))
    out["chat"] = type(await bot.get_chat(1)).__name__
    out["photo"] = len((await bot.send_photo(1, BufferedInputFile(b"x", "p.png"), caption="c")).photo)
    message = updates[0].message
    out["dump_json"] = json.loads(message.model_dump_json(exclude_none=True))
    out["as_bot"] = message.as_(bot).bot is bot
    out["copy"] = message.model_copy(update={"text": "y"}).text
    out["deepcopy"] = copy.deepcopy(message).text
    out["pickle"] = pickle.loads(pickle.dumps(updates[1])).callback_query.data
    out["constructed"] = Poll.model_construct(id="p", question="q", options=[], total_voter_count=0,
        is_closed=False, is_anonymous=True, type="regular", allows_multiple_answers=False).model_dump()["id"]
    out["sticker_schema"] = sorted(Sticker.model_json_schema()["properties"])[:5]
    out["sent"] = Recorded.sent
    await bot.session.close()
    return out

print(json.dumps({"deferred": _DEFERRED, **asyncio.run(main())}, sort_keys=True))
"""


def test_bot_methods_returning_unions_and_lists_send_and_read_the_same_as_on_aiogram_own_import() -> None:
    """Passes: get_updates (a list of updates with a union ChatMember inside), get_my_commands,
    send_media_group with an upload, get_chat_member (a union), set_my_commands with a scope union,
    get_chat, send_photo; and model_dump_json, as_(bot), model_copy, deepcopy, pickle,
    model_construct + model_dump and model_json_schema on types never built before. What goes to
    Telegram is the same, byte for byte, as on aiogram's own import."""
    eager, _ = run(_BOT, lean=False)
    lean, stderr = run(_BOT, lean=True)
    assert lean.pop("deferred") is True and eager.pop("deferred") is False
    assert lean == eager, stderr[-2000:]
    assert lean["member"] == "ChatMemberLeft" and lean["kicked"] == "ChatMemberBanned"


_WEBHOOK = r"""
import asyncio, json, re
from aiogram import Bot, Dispatcher
from aiogram.client.session.base import BaseSession
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message
from aiohttp.test_utils import TestClient, TestServer
from casebot.webhook import webhook_app

class Recorded(BaseSession):
    calls = []
    async def close(self): pass
    async def stream_content(self, *a, **k): yield b""
    async def make_request(self, bot, method, timeout=None):
        self.calls.append(method.__api_method__)
        content = json.dumps({"ok": True, "result": True})
        return self.check_response(bot=bot, method=method, status_code=200, content=content).result

async def main():
    bot = Bot("42:ABC", session=Recorded())
    dispatcher = Dispatcher()
    seen = []

    @dispatcher.message()
    async def on_message(message: Message):
        seen.append(["message", message.text, message.from_user.language_code])
        keyboard = {"inline_keyboard": [[{"text": "b", "callback_data": "cb1:x"}]]}
        return message.answer(f"echo {message.text}", reply_markup=keyboard)  # the webhook's reply

    @dispatcher.callback_query()
    async def on_callback(query: CallbackQuery):
        seen.append(["callback", query.data, query.message.chat.id])
        return query.answer("done")

    @dispatcher.my_chat_member()
    async def on_member(event: ChatMemberUpdated):
        seen.append(["member", type(event.new_chat_member).__name__])

    app = webhook_app(dispatcher, bot, path="/hook", secret="s", public_url="https://example.org")
    user = {"id": 5, "is_bot": False, "first_name": "A", "language_code": "ru"}
    chat = {"id": 5, "type": "private", "first_name": "A"}
    msg = {"message_id": 3, "date": 1700000000, "chat": chat, "from": user, "text": "/start x",
           "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}
    updates = [
        {"update_id": 1, "message": msg},
        {"update_id": 2, "callback_query": {"id": "q", "chat_instance": "c", "from": user, "data": "cb1:x", "message": msg}},
        {"update_id": 3, "my_chat_member": {"chat": chat, "from": user, "date": 1700000000,
            "old_chat_member": {"status": "member", "user": user},
            "new_chat_member": {"status": "kicked", "user": user, "until_date": 0}}},
    ]
    replies = []
    async with TestClient(TestServer(app)) as client:
        for update in updates:
            response = await client.post("/hook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s"})
            body = (await response.read()).decode()
            parts = dict(re.findall(r'name="(\w+)"\r\n(?:[^\r\n]*\r\n)*?\r\n([^\r]*)', body))
            replies.append([response.status, parts])
        forged = await client.post("/hook", json=updates[0], headers={"X-Telegram-Bot-Api-Secret-Token": "no"})
        replies.append([forged.status, {}])
    await bot.session.close()
    return {"seen": seen, "replies": replies, "calls": Recorded.calls}

print(json.dumps({"deferred": _DEFERRED, **asyncio.run(main())}, sort_keys=True))
"""


def test_webhook_mode_reads_updates_and_answers_in_the_reply_as_on_aiogram_own_import() -> None:
    """Passes: casebot.webhook's app in a fresh interpreter: Update.model_validate on the JSON body
    is the first use of Update, the handler's method goes back as the HTTP reply (multipart), a
    wrong secret is refused; all as on aiogram's own import."""
    eager, _ = run(_WEBHOOK, lean=False)
    lean, stderr = run(_WEBHOOK, lean=True)
    assert lean.pop("deferred") is True and eager.pop("deferred") is False
    assert lean == eager, stderr[-2000:]
    assert lean["seen"] == [
        ["message", "/start x", "ru"],
        ["callback", "cb1:x", 5],
        ["member", "ChatMemberBanned"],
    ]
    assert (
        lean["replies"][0][1]["method"] == "sendMessage" and lean["replies"][0][1]["text"] == "echo /start x"
    )
    assert [status for status, _ in lean["replies"]] == [200, 200, 200, 401]
    assert lean["calls"] == ["setWebhook"]


_FIRST_USE_ELSEWHERE = r"""
import asyncio, json, threading
from typing import Optional
from pydantic import TypeAdapter
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, TelegramObject, Update

raw = json.dumps({"update_id": 1, "callback_query": {"id": "q", "chat_instance": "c", "data": "d",
    "from": {"id": 5, "is_bot": False, "first_name": "A"},
    "message": {"message_id": 3, "date": 0, "chat": {"id": 5, "type": "private"}, "text": "t"}}})
out = {}

def in_a_thread():  # a worker thread's first use of Update, CallbackQuery, Message...
    out["thread"] = Update.model_validate_json(raw).callback_query.message.chat.id

worker = threading.Thread(target=in_a_thread)
worker.start()
worker.join()

async def main():
    # asyncio.to_thread with the bound method itself: as few Python frames as an executor allows
    update = await asyncio.to_thread(CallbackQuery.model_validate_json, json.dumps(json.loads(raw)["callback_query"]))
    return update.data

out["to_thread"] = asyncio.run(main())

class Mine(Message):  # a host's own subclass of a deferred type, and a model holding them
    note: Optional["InlineKeyboardMarkup"] = None

class Holder(TelegramObject):
    messages: list[Message]

mine = Mine.model_validate({"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"},
                            "note": {"inline_keyboard": []},
                            "reply_to_message": {"message_id": 0, "date": 0, "chat": {"id": 1, "type": "private"}}})
out["subclass"] = [type(mine.note).__name__, mine.reply_to_message.message_id]
out["holder"] = Holder(messages=[{"message_id": 2, "date": 0, "chat": {"id": 1, "type": "private"}}]).messages[0].message_id
adapter = TypeAdapter(list[Message])
out["adapter"] = json.loads(adapter.dump_json(adapter.validate_python([{"message_id": 4, "date": 0, "chat": {"id": 1, "type": "private"}}])))[0]["message_id"]
print(json.dumps({"deferred": _DEFERRED, **out}, sort_keys=True))
"""


def test_types_first_used_in_worker_threads_subclasses_and_type_adapters_work() -> None:
    """Passes: first use from a threading.Thread and from asyncio.to_thread, a host's subclass of a
    deferred type with a forward reference of its own, a TelegramObject holding a list of them, and
    a TypeAdapter: the same as on aiogram's own import."""
    eager, _ = run(_FIRST_USE_ELSEWHERE, lean=False)
    lean, stderr = run(_FIRST_USE_ELSEWHERE, lean=True)
    assert lean.pop("deferred") is True and eager.pop("deferred") is False
    assert (
        lean
        == eager
        == {"adapter": 4, "holder": 2, "subclass": ["InlineKeyboardMarkup", 0], "thread": 5, "to_thread": "d"}
    ), stderr[-2000:]


_SCHEMAS = r"""
import json, hashlib, re, warnings
warnings.simplefilter("ignore")
import aiogram.methods as methods, aiogram.types as types
digest = {}
for module in (types, methods):
    for name in module.__all__:
        model = getattr(module, name)
        if not hasattr(model, "model_json_schema"):
            continue
        try:
            schema = json.dumps(model.model_json_schema(), sort_keys=True, default=str)
        except Exception as error:  # a few methods hold an Exception or an upload: no JSON schema
            schema = f"{type(error).__name__}: {error}"
        fields = re.sub(r"0x[0-9a-f]+", "", repr(sorted((k, repr(v)) for k, v in model.model_fields.items())))
        digest[name] = hashlib.sha1((schema + fields).encode()).hexdigest()
print(json.dumps({"deferred": _DEFERRED, "digest": digest}))
"""


def test_every_type_and_method_has_the_same_fields_and_json_schema_as_on_aiogram_own_import() -> None:
    """Passes: the lean import resolves each model's fields itself (pydantic's rebuild_model_fields
    in aiogram's namespace); every type and method ends up with the same FieldInfos (aliases,
    defaults, serializers) and JSON schema as aiogram's own rebuild loop gives them."""
    eager, _ = run(_SCHEMAS, lean=False)
    lean, _ = run(_SCHEMAS, lean=True)
    assert lean["deferred"] is True
    assert len(lean["digest"]) > 500
    differ = sorted(name for name in eager["digest"] if lean["digest"].get(name) != eager["digest"][name])
    assert differ == []


# --- import order, failures, repeats ----------------------------------------------------------------

_FAILED_IMPORT = r"""
import importlib.abc, json, sys
import pydantic
original = pydantic.BaseModel.__dict__["model_rebuild"]

class Broken(importlib.abc.MetaPathFinder):  # aiogram.types fails half-way (a broken install, a bad wheel)
    def find_spec(self, name, path, target=None):
        if name == "aiogram.types.sticker":
            raise ImportError("simulated broken module")

from casebot.lean_import import defer_aiogram_validators
sys.meta_path.insert(0, Broken())
try:
    defer_aiogram_validators()
    first = "no error"
except ImportError as error:
    first = str(error)
restored = pydantic.BaseModel.__dict__["model_rebuild"] is original
sys.meta_path.pop(0)
again = defer_aiogram_validators()  # the installation repaired: a second call imports it lean

def use():
    from aiogram.types import Update
    return Update.model_validate({"update_id": 1, "message": {"message_id": 1, "date": 0,
        "chat": {"id": 1, "type": "private"}, "text": "x"}}).message.text

print(json.dumps({"first": first, "restored": restored, "again": again, "used": use(),
                  "still_patched": pydantic.BaseModel.__dict__["model_rebuild"] is not original}))
"""


def test_an_import_that_fails_half_way_leaves_pydantic_as_it_was_and_a_retry_works() -> None:
    """Passes: pydantic's BaseModel.model_rebuild is restored when aiogram.types fails to import,
    and a later call imports it lean."""
    result, stderr = run(_FAILED_IMPORT, lean=None)
    assert result == {
        "first": "simulated broken module",
        "restored": True,
        "again": True,
        "used": "x",
        "still_patched": False,
    }, stderr[-2000:]


_RESOLVE_FAILS = r"""
import json, pydantic
original = pydantic.BaseModel.__dict__["model_rebuild"]
import casebot.lean_import as lean

def broken(deferred):  # a future pydantic whose internals moved, half-way through the types
    for number, cls in enumerate(deferred):
        if number == 100:
            raise AttributeError("rebuild_model_fields moved")
        cls.__pydantic_parent_namespace__ = {}

lean._resolve_fields = broken
deferred = lean.defer_aiogram_validators()
from aiogram import types
update = types.Update.model_validate({"update_id": 1, "callback_query": {"id": "q", "chat_instance": "c",
    "from": {"id": 5, "is_bot": False, "first_name": "A"}, "data": "d"}})
print(json.dumps({"deferred": deferred, "sticker_built": types.Sticker.__pydantic_complete__,
                  "data": update.callback_query.data,
                  "restored": pydantic.BaseModel.__dict__["model_rebuild"] is original}))
"""


def test_a_deferral_that_breaks_half_way_builds_every_type_as_aiogram_would() -> None:
    """Passes: an exception in the shim's own use of pydantic internals falls back to building every
    type at once, with the namespace aiogram gave."""
    result, stderr = run(_RESOLVE_FAILS, lean=None)
    assert result == {"deferred": False, "sticker_built": True, "data": "d", "restored": True}, stderr[-2000:]
    assert "could not be built lazily" in stderr


_HOST_FIRST = r"""
import json, sys
import aiogram.utils.keyboard  # a host that imported some of aiogram (not aiogram.types by name) first
from casebot.lean_import import defer_aiogram_validators
deferred = defer_aiogram_validators()
from aiogram import types
print(json.dumps({"deferred": deferred, "sticker_built": types.Sticker.__pydantic_complete__}))
"""

_EMBEDDED = r"""
import json
from aiogram import Dispatcher
from casebot.plugin import setup_casebot  # a host bot embedding casebot: its aiogram, imported its way
from casebot.lean_import import defer_aiogram_validators
deferred = defer_aiogram_validators()
from aiogram import types
print(json.dumps({"deferred": deferred, "sticker_built": types.Sticker.__pydantic_complete__}))
"""


@pytest.mark.parametrize("script", [_HOST_FIRST, _EMBEDDED], ids=["aiogram.utils-first", "embedded-host"])
def test_a_host_that_imported_any_part_of_aiogram_first_keeps_its_aiogram_as_it_is(script: str) -> None:
    """Passes: importing any submodule of aiogram imports the package, and with it aiogram.types:
    the shim sees that and leaves the host's aiogram as aiogram built it."""
    result, stderr = run(script, lean=None)
    assert result == {"deferred": False, "sticker_built": True}, stderr[-2000:]


_TWICE = r"""
import json, pydantic
original = pydantic.BaseModel.__dict__["model_rebuild"]
from casebot.lean_import import defer_aiogram_validators
first, second = defer_aiogram_validators(), defer_aiogram_validators()
from aiogram import types
print(json.dumps({"first": first, "second": second, "sticker_built": types.Sticker.__pydantic_complete__,
                  "restored": pydantic.BaseModel.__dict__["model_rebuild"] is original}))
"""


def test_called_twice_the_second_call_changes_nothing() -> None:
    """Passes: `casebot run` after the test suite's pytest_configure, or a command calling it again."""
    result, stderr = run(_TWICE, lean=None)
    assert result == {"first": True, "second": False, "sticker_built": False, "restored": True}, stderr[
        -2000:
    ]


def test_the_digest_command_imports_aiogram_lean(tmp_path: Any) -> None:
    """Passes: nothing `casebot` imports before the command runs pulls aiogram in, so `casebot digest`
    (like run, webhook, demo, export) gets the lean import in production, not only in the suite."""
    script = r"""
    import json
    from casebot.cli import main
    code = main(["digest", "--preview", "42"])
    from aiogram import types
    print(json.dumps({"code": code, "sticker_built": types.Sticker.__pydantic_complete__,
                      "message_built": types.Message.__pydantic_complete__}))
    """
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "CASEBOT_DATABASE_URL": f"sqlite://{tmp_path / 'casebot.sqlite3'}",
    }
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=tmp_path,
        env=env,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr
    assert json.loads(lines[-1]) == {"code": 2, "sticker_built": False, "message_built": False}
    assert "no participant with Telegram id 42" in done.stderr
    assert not re.search(r"Traceback", done.stderr)
