"""casebot.lean_import: aiogram's Telegram types built on first use, each in a fresh interpreter (what
is imported, and how, is the whole point)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

# Builds every model of aiogram.types and aiogram.methods by using it (a validator's and a
# serializer's attribute), from inside a function as any real caller is; prints what failed.
_BUILD_ALL = """
def build_all(reverse=False):
    import aiogram.methods as methods
    import aiogram.types as types
    failed = []
    for module in (methods, types) if reverse else (types, methods):
        for name in sorted(module.__all__, reverse=reverse):
            model = getattr(module, name)
            if not hasattr(model, "model_rebuild"):
                continue
            try:
                model.__pydantic_validator__.validate_python
                model.__pydantic_serializer__.to_python
            except Exception as exc:
                failed.append(f"{name}: {exc}")
            if not model.__pydantic_complete__:
                failed.append(f"{name}: not built")
    return failed
"""


def run(script: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_BUILD_ALL) + textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_casebot_run_imports_aiogram_with_its_types_built_only_when_used() -> None:
    result = run(
        """
        import json
        from casebot.lean_import import defer_aiogram_validators
        deferred = defer_aiogram_validators()
        from aiogram import types
        unbuilt = [n for n in types.__all__ if getattr(getattr(types, n), "__pydantic_complete__", True) is False]

        def read_an_update():
            update = types.Update.model_validate({
                "update_id": 7,
                "callback_query": {
                    "id": "q", "chat_instance": "c", "data": "cb1:x",
                    "from": {"id": 5, "is_bot": False, "first_name": "-", "language_code": "ru"},
                    "message": {"message_id": 3, "date": 0, "chat": {"id": 5, "type": "private"}, "text": "t"},
                },
            })
            return update.callback_query.message.chat.id, update.model_dump(exclude_none=True)["update_id"]

        print(json.dumps({
            "deferred": deferred, "unbuilt": len(unbuilt), "total": len(types.__all__),
            "update": read_an_update(), "sticker_built": types.Sticker.__pydantic_complete__,
            "failed": build_all(),
        }))
        """
    )
    assert result["deferred"] is True
    assert int(result["unbuilt"]) > 300  # nothing built at import: every model waits for its first use
    assert result["update"] == [5, 7]  # an update, with the message it reaches, read and written back
    assert result["sticker_built"] is False  # a type the update did not reach is still not built
    assert result["failed"] == []  # and every type and method of the Bot API builds when first used


def test_whichever_model_is_built_first_the_types_it_reaches_build_with_it() -> None:
    # No probe at import: the first model built is a method (its keyboards, entities and
    # media not built yet), then a response, then every model, methods first, in reverse order.
    result = run(
        """
        import json
        import casebot.lean_import as lean
        lean._builds_lazily = lambda: True
        deferred = lean.defer_aiogram_validators()
        from aiogram.methods import EditMessageText
        from aiogram.methods.base import Response
        from aiogram.types import Message

        def use():
            method = EditMessageText(
                chat_id=1, message_id=2, text="x",
                entities=[{"type": "bold", "offset": 0, "length": 1}],
                reply_markup={"inline_keyboard": [[{"text": "t", "callback_data": "d"}]]},
            )
            sent = Response[Message].model_validate({"ok": True, "result": {
                "message_id": 2, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "x",
                "reply_markup": {"inline_keyboard": [[{"text": "t", "callback_data": "d"}]]}}})
            return method.model_dump()["reply_markup"]["inline_keyboard"][0][0]["callback_data"], sent.result.text

        print(json.dumps({"deferred": deferred, "used": use(), "failed": build_all(reverse=True)}))
        """
    )
    assert result == {"deferred": True, "used": ["d", "x"], "failed": []}


def test_a_host_that_imported_aiogram_first_keeps_its_aiogram_as_it_is() -> None:
    result = run(
        """
        import json
        from aiogram import types
        from casebot.lean_import import defer_aiogram_validators
        print(json.dumps({"deferred": defer_aiogram_validators(), "built": types.Sticker.__pydantic_complete__}))
        """
    )
    assert result == {"deferred": False, "built": True}


def test_should_lazy_building_not_work_every_type_is_built_at_once_as_aiogram_would() -> None:
    result = run(
        """
        import json
        import casebot.lean_import as lean
        lean._builds_lazily = lambda: False  # as if a future pydantic would not build them on first use
        deferred = lean.defer_aiogram_validators()
        from aiogram import types
        print(json.dumps({"deferred": deferred, "built": types.Sticker.__pydantic_complete__,
                          "failed": build_all()}))
        """
    )
    assert result == {"deferred": False, "built": True, "failed": []}
