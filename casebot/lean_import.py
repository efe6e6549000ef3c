"""Import aiogram's Telegram types without building the validators of the types a bot never meets.

``aiogram.types`` ends with a loop that calls ``model_rebuild`` on every one of its ~400 models, which
builds a pydantic-core validator and serializer for each at import, every one holding its own copy of
the schema graph it reaches: about 100 MB of a process's memory before a bot has read a single
update (aiogram issue #1513). The models themselves ask for lazy building (``defer_build=True``);
the loop is only there to resolve their forward references, which name types the model's own module
imports under ``TYPE_CHECKING`` only.

:func:`defer_aiogram_validators`, called before anything imports aiogram, lets that loop resolve
each model's forward references in the namespace it is given (pydantic's own field rebuild, which
makes a model's fields complete) without building its validator: pydantic builds that on first use
(an ``Update`` with every type it reaches costs about 3 MB). This leans on pydantic internals
(``rebuild_model_fields``, ``NsResolver``), so after the import it checks that models do build that
way, a method with a keyboard, a response and an update; should a future pydantic or aiogram not
allow it, every model is built as aiogram would have built it, and the only cost of the shim failing
is the memory it meant to save. Each model's placeholder builds it with aiogram's namespace, so a
first use from any caller works (pydantic's own placeholder would look for one in its caller's
frames).

``casebot run``, ``casebot webhook`` and ``casebot demo`` call it first. A host bot that embeds casebot
has imported aiogram already, and the call then does nothing: the host's aiogram is left as it is.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

log = logging.getLogger("casebot")


def defer_aiogram_validators() -> bool:
    """Import ``aiogram.types`` with its models' validators built on first use; returns whether they
    are (False when aiogram was imported already, or the deferral did not work and every model was
    built at once)."""
    if "aiogram.types" in sys.modules:
        return False
    import pydantic

    model = pydantic.BaseModel
    rebuild = model.__dict__["model_rebuild"]
    deferred: dict[type[Any], dict[str, Any]] = {}

    def record(cls: type[Any], /, **kwargs: Any) -> bool | None:
        namespace = kwargs.get("_types_namespace")
        config = getattr(cls, "model_config", {})
        if namespace is None or not config.get("defer_build") or cls.__dict__.get("__pydantic_complete__"):
            return rebuild.__func__(cls, **kwargs)  # type: ignore[no-any-return]
        deferred[cls] = kwargs
        return None

    model.model_rebuild = classmethod(record)  # type: ignore[method-assign,assignment]
    try:
        import aiogram.types  # noqa: F401 - the import whose rebuild loop is deferred
    finally:
        model.model_rebuild = rebuild  # type: ignore[method-assign]
    if not deferred:
        return False
    try:
        _resolve_fields(deferred)
        lazy = _builds_lazily()
    except Exception:
        log.debug("aiogram's types could not be deferred", exc_info=True)
        lazy = False
    if lazy:
        return True
    log.warning("aiogram's Telegram types could not be built lazily; building all of them now")
    for cls, kwargs in deferred.items():
        cls.model_rebuild(force=True, **kwargs)
    return False


def _resolve_fields(deferred: dict[type[Any], dict[str, Any]]) -> None:
    """What the rebuild loop is for, without building: each model's forward references resolved in
    the namespace aiogram gives (its fields complete), so that a model reached from any other (a
    method's reply markup, a response's result) builds whatever the namespace of the one built
    first; and the namespace kept as the model's parent namespace for its own first build."""
    from pydantic._internal._config import ConfigWrapper
    from pydantic._internal._fields import rebuild_model_fields
    from pydantic._internal._generics import get_model_typevars_map
    from pydantic._internal._namespace_utils import NsResolver

    shared: dict[int, dict[str, Any]] = {}  # one copy of each namespace (aiogram passes one to all)
    for cls, kwargs in deferred.items():
        given = kwargs["_types_namespace"]
        namespace = shared.setdefault(id(given), dict(given))
        cls.__pydantic_fields__, cls.__pydantic_extra_info__ = rebuild_model_fields(
            cls,
            config_wrapper=ConfigWrapper(cls.model_config, check=False),
            ns_resolver=NsResolver(parent_namespace=namespace),
            typevars_map=get_model_typevars_map(cls),
        )
        cls.__pydantic_parent_namespace__ = namespace
        _build_on_first_use(cls, namespace)


def _build_on_first_use(cls: type[Any], namespace: dict[str, Any]) -> None:
    """The model's placeholder validator, serializer and schema build it with ``namespace`` when
    first touched. pydantic's own placeholders would look for a namespace in their caller's frames
    (five up), which fails from a shallow stack: a script's top level, an atexit hook."""
    from pydantic._internal._mock_val_ser import MockCoreSchema, MockValSer

    def rebuild(attribute: str) -> Callable[[], Any]:
        def build() -> Any:
            if cls.model_rebuild(raise_errors=False, _types_namespace=namespace) is False:
                return None
            return getattr(cls, attribute)

        return build

    for attribute in ("__pydantic_validator__", "__pydantic_serializer__", "__pydantic_core_schema__"):
        placeholder = cls.__dict__.get(attribute)
        if isinstance(placeholder, MockValSer | MockCoreSchema):
            placeholder._attempt_rebuild = rebuild(attribute)


def _builds_lazily() -> bool:
    """Whether deferred models build on first use, whichever comes first: a method with a keyboard
    (before any type it reaches), a response holding a message, an update read and written back."""
    from aiogram.methods import SendMessage
    from aiogram.methods.base import Response
    from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

    button = InlineKeyboardButton(text="-", callback_data="-")
    method = SendMessage(chat_id=1, text="-", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]))
    message = {
        "message_id": 1,
        "date": 0,
        "chat": {"id": 1, "type": "private"},
        "from": {"id": 1, "is_bot": False, "first_name": "-"},
        "text": "-",
    }
    response = Response[Message].model_validate({"ok": True, "result": message})
    update = Update.model_validate({"update_id": 1, "message": message})
    return (
        method.model_dump()["reply_markup"]["inline_keyboard"][0][0]["text"] == "-"
        and isinstance(response.result, Message)
        and update.message is not None
        and update.model_dump()["message"]["chat"]["id"] == 1
    )
