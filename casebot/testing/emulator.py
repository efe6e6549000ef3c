"""A local Telegram Bot API emulator: an aiohttp server that a real aiogram ``Bot`` talks to in tests."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import mimetypes
import re
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, Self, TypedDict

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import BodyPartReader, ClientError, ClientSession, ClientTimeout, MultipartReader, web

__all__ = [
    "DOWNLOAD_LIMIT",
    "TEXT_LIMIT",
    "ApiCall",
    "BotAPIEmulator",
    "ButtonNotFoundError",
    "CallbackAnswer",
    "EmulatedGroup",
    "EmulatedUser",
    "EmulatorError",
    "EmulatorStats",
    "MessageVersion",
    "SentMessage",
    "StoredFile",
    "WebhookDelivery",
]

log = logging.getLogger(__name__)

JSON = dict[str, Any]
"""A Telegram object as JSON (a dict)."""

TEXT_LIMIT: Final = 4096
"""Longest message text Telegram accepts (characters after entity parsing)."""
CAPTION_LIMIT: Final = 1024
"""Longest media caption Telegram accepts."""
CALLBACK_DATA_LIMIT: Final = 64
"""Longest callback_data in bytes."""
DOWNLOAD_LIMIT: Final = 20 * 1024 * 1024
"""Bots cannot getFile files bigger than this (20 MB)."""
UPLOAD_LIMIT: Final = 50 * 1024 * 1024
"""Bots cannot upload files bigger than this (50 MB)."""
CALLBACK_ANSWER_LIMIT: Final = 200
"""Longest answerCallbackQuery text."""

_DEFAULT_EXCLUDED_UPDATES: Final = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_CHAT_ACTIONS: Final = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
    }
)  # fmt: skip
_SCOPE_TYPES: Final = frozenset(
    {
        "default", "all_private_chats", "all_group_chats", "all_chat_administrators",
        "chat", "chat_administrators", "chat_member",
    }
)  # fmt: skip
_STATUS_TEXT: Final = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
# Fields aiogram sends as JSON strings inside multipart forms; decoded for the call log.
_JSON_FIELDS: Final = frozenset(
    {
        "reply_markup", "entities", "caption_entities", "commands", "scope", "allowed_updates",
        "reply_parameters", "link_preview_options", "media",
    }
)  # fmt: skip
_TOKEN_RE: Final = re.compile(r"^(\d+):(\S+)$")
_COMMAND_RE: Final = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_LANGUAGE_RE: Final = re.compile(r"^([a-z]{2})?$")
_URL_RE: Final = re.compile(r"^(https?|tg)://\S+$", re.IGNORECASE)
_NOT_MODIFIED: Final = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


# ----------------------------------------------------------------------------------------------
# Errors and records
# ----------------------------------------------------------------------------------------------


class EmulatorError(Exception):
    """The test-side API of the emulator was used in a way that cannot work."""


class ButtonNotFoundError(EmulatorError, LookupError):
    """A test tried to press a button that the bot's message does not have."""


class _ApiError(Exception):
    """An error answer of the Bot API (raised inside method handlers)."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad_request(reason: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {reason}")


@dataclass(slots=True)
class ApiCall:
    """One Bot API request as the emulator saw it.

    ``params`` holds the request's fields; JSON-encoded fields (reply_markup, entities, scope...)
    are decoded, scalar form fields stay strings as sent, uploads become
    ``{"upload": filename, "size": n}``.
    """

    method: str
    params: JSON
    time: float
    status: int = 0
    description: str | None = None
    result: Any = None

    @property
    def ok(self) -> bool:
        """Whether Telegram would have answered ``ok: true``."""
        return self.status == 200

    @property
    def name(self) -> str:
        """The method name in Telegram's canonical spelling (``sendMessage``), whatever the request used."""
        return _CANONICAL.get(self.method.lower(), self.method)


class CallbackAnswer(TypedDict):
    """What the bot answered to one callback query (answerCallbackQuery)."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int | None


@dataclass(frozen=True, slots=True)
class MessageVersion:
    """An earlier state of a bot message, kept when the bot edited it."""

    text: str
    plain_text: str
    parse_mode: str | None
    entities: list[JSON]
    reply_markup: JSON | None
    timestamp: float


@dataclass(slots=True, eq=False)
class SentMessage:
    """A message the bot sent, kept up to date with its later edits.

    ``text`` is the text (or media caption) exactly as the bot sent it, markup included;
    ``plain_text`` is what the user sees (HTML tags stripped, like Telegram's ``message.text``).
    """

    message_id: int
    chat_id: int
    method: str
    text: str
    plain_text: str
    parse_mode: str | None
    entities: list[JSON]
    reply_markup: JSON | None
    date: int
    timestamp: float
    raw: JSON
    params: JSON
    reply_to_message_id: int | None = None
    document: JSON | None = None
    photo: list[JSON] | None = None
    video: JSON | None = None
    disable_notification: bool = False
    link_preview_options: JSON | None = None
    deleted: bool = False
    history: list[MessageVersion] = field(default_factory=list)

    @property
    def caption(self) -> str:
        """The caption of a document, photo or video (same as ``text`` for media messages)."""
        media = (self.document, self.photo, self.video)
        return self.text if any(m is not None for m in media) else ""

    @property
    def edited(self) -> bool:
        """Whether the bot edited this message at least once."""
        return bool(self.history)

    @property
    def edit_count(self) -> int:
        """How many times the bot edited this message."""
        return len(self.history)

    @property
    def inline_keyboard(self) -> list[list[JSON]]:
        """The inline keyboard's rows of button objects (empty without one)."""
        rows = (self.reply_markup or {}).get("inline_keyboard")
        return rows if isinstance(rows, list) else []

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """Inline buttons as rows of ``(text, callback_data or url)``."""
        return [
            [(str(b.get("text", "")), b.get("callback_data", b.get("url"))) for b in row]
            for row in self.inline_keyboard
        ]

    @property
    def flat_buttons(self) -> list[tuple[str, str | None]]:
        """Inline buttons as one flat list of ``(text, callback_data or url)``, row by row."""
        return [button for row in self.buttons for button in row]

    @property
    def button_texts(self) -> list[str]:
        """The labels of all inline buttons, row by row."""
        return [text for text, _ in self.flat_buttons]

    @property
    def reply_keyboard(self) -> list[list[str]]:
        """A reply keyboard's rows of button labels (empty without one)."""
        rows = (self.reply_markup or {}).get("keyboard")
        if not isinstance(rows, list):
            return []
        return [[b if isinstance(b, str) else str(b.get("text", "")) for b in row] for row in rows]

    def __repr__(self) -> str:
        text = self.text if len(self.text) <= 80 else self.text[:77] + "..."
        parts = [f"#{self.message_id} {self.method} {text!r}"]
        if self.inline_keyboard:
            parts.append(f"buttons={self.buttons}")
        if self.document is not None:
            parts.append(f"document={self.document.get('file_name')!r}")
        if self.photo is not None:
            parts.append("photo")
        if self.history:
            parts.append(f"edited x{len(self.history)}")
        if self.deleted:
            parts.append("deleted")
        return f"SentMessage({', '.join(parts)})"


@dataclass(slots=True)
class StoredFile:
    """A file the emulator holds: uploaded by the bot or sent by a test user.

    ``content`` is None for files a test user sent by declared size only; such files download as
    ``size`` zero bytes.
    """

    file_id: str
    file_unique_id: str
    kind: str
    size: int
    file_name: str | None = None
    mime_type: str | None = None
    content: bytes | None = None
    file_path: str | None = None

    def data(self) -> bytes:
        """The file's bytes (synthesised zeros when it was declared by size only)."""
        return self.content if self.content is not None else bytes(self.size)


@dataclass(slots=True)
class EmulatorStats:
    """Counters over everything the bot did against the emulator."""

    sent: int = 0
    edited: int = 0
    deleted: int = 0
    rate_limited: int = 0
    injected_failures: int = 0
    by_method: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)

    @property
    def calls(self) -> int:
        """All API calls."""
        return sum(self.by_method.values())


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One attempt to POST an update to the webhook."""

    update_id: int
    url: str
    status: int | None
    error: str | None
    time: float

    @property
    def ok(self) -> bool:
        """Whether the webhook accepted the update (2xx)."""
        return self.status is not None and 200 <= self.status < 300


# ----------------------------------------------------------------------------------------------
# Request parameters
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Upload:
    filename: str
    content: bytes
    content_type: str | None


class _Params:
    """A request's fields, from a multipart/urlencoded form, a JSON body or the query string."""

    def __init__(self, values: Mapping[str, Any], uploads: Mapping[str, _Upload] | None = None) -> None:
        self.values = dict(values)
        self.uploads = dict(uploads or {})
        self._logged: JSON | None = None

    def raw(self, name: str) -> Any:
        value = self.values.get(name)
        return None if value == "" else value

    def has(self, name: str) -> bool:
        return self.raw(name) is not None or name in self.uploads

    def get_str(self, name: str) -> str | None:
        value = self.raw(name)
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def get_int(self, name: str) -> int | None:
        value = self.raw(name)
        if value is None:
            return None
        if isinstance(value, bool):
            raise _bad_request(f"invalid {name} specified")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _bad_request(f"invalid {name} specified") from None

    def get_bool(self, name: str) -> bool:
        value = self.raw(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1", "yes")
        return bool(value)

    def get_json(self, name: str) -> Any:
        value = self.raw(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise _bad_request(f"can't parse {name} JSON object") from None
        return value

    def get_file(self, name: str) -> _Upload | str | None:
        value = self.raw(name)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = self.uploads.get(value.removeprefix("attach://"))
            if upload is None:
                raise _bad_request(f"wrong file identifier/HTTP URL specified: can't find attached {value}")
            return upload
        if name in self.uploads:
            return self.uploads[name]
        return value if isinstance(value, str) else None

    def logged(self) -> JSON:
        if self._logged is None:
            self._logged = self._decode_for_log()
        return self._logged

    def _decode_for_log(self) -> JSON:
        out: JSON = {}
        for key, value in self.values.items():
            if key in _JSON_FIELDS and isinstance(value, str):
                try:
                    out[key] = json.loads(value)
                except ValueError:
                    out[key] = value
            elif isinstance(value, str) and value.startswith("attach://"):
                upload = self.uploads.get(value.removeprefix("attach://"))
                out[key] = (
                    {"upload": upload.filename, "size": len(upload.content)} if upload is not None else value
                )
            else:
                out[key] = value
        for key, upload in self.uploads.items():
            if f"attach://{key}" not in self.values.values() and key not in out:
                out[key] = {"upload": upload.filename, "size": len(upload.content)}
        return out


async def _read_params(request: web.Request) -> _Params:
    values: JSON = dict(request.query)
    uploads: dict[str, _Upload] = {}
    if request.content_type == "application/json" and request.can_read_body:
        try:
            body = await request.json()
        except ValueError:
            raise _bad_request("can't parse JSON encoded request body") from None
        if isinstance(body, dict):
            values.update(body)
    elif request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                uploads[key] = _Upload(value.filename, value.file.read(), value.content_type)
            elif isinstance(value, str):
                values[key] = value
            else:
                values[key] = bytes(value).decode("utf-8", "replace")
    return _Params(values, uploads)


# ----------------------------------------------------------------------------------------------
# Telegram's HTML parse mode
# ----------------------------------------------------------------------------------------------


class _HtmlError(Exception):
    pass


_HTML_TOKEN_RE: Final = re.compile(r"<[^>]*>?|&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z]+);")
_TAG_RE: Final = re.compile(r"\s*([A-Za-z][A-Za-z0-9-]*)(.*)$", re.DOTALL)
_ATTR_RE: Final = re.compile(r"""([A-Za-z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_HTML_ENTITY_TYPES: Final = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "span": "spoiler",
    "tg-spoiler": "spoiler", "a": "text_link", "code": "code", "pre": "pre", "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}  # fmt: skip
_NAMED_ENTITIES: Final = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _utf16_len(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _unescape(value: str) -> str:
    def one(match: re.Match[str]) -> str:
        return _decode_entity(match.group(0)) or match.group(0)

    return re.sub(r"&#?[0-9A-Za-z]+;", one, value)


def _decode_entity(token: str) -> str | None:
    body = token[1:-1]
    try:
        if body.startswith(("#x", "#X")):
            return chr(int(body[2:], 16))
        if body.startswith("#"):
            return chr(int(body[1:]))
    except (ValueError, OverflowError):
        return None
    return _NAMED_ENTITIES.get(body)


def _parse_html(text: str) -> tuple[str, list[JSON]]:
    """Parse Telegram-flavoured HTML into plain text and entities (UTF-16 offsets), like the Bot API."""
    out: list[str] = []
    pos = 0  # UTF-16 offset into the plain text
    stack: list[tuple[str, int, dict[str, str], JSON]] = []
    entities: list[JSON] = []
    last = 0

    def byte_offset(index: int) -> int:
        return len(text[:index].encode("utf-8"))

    for match in _HTML_TOKEN_RE.finditer(text):
        if match.start() > last:
            chunk = text[last : match.start()]
            out.append(chunk)
            pos += _utf16_len(chunk)
        last = match.end()
        token = match.group(0)
        if token.startswith("&"):
            decoded = _decode_entity(token)
            chunk = decoded if decoded is not None else token
            out.append(chunk)
            pos += _utf16_len(chunk)
            continue
        if not token.endswith(">"):
            raise _HtmlError(f"Unclosed start tag at byte offset {byte_offset(match.start())}")
        body = token[1:-1]
        if body.startswith("/"):
            name = body[1:].strip().lower()
            if not stack:
                raise _HtmlError(f"Unexpected end tag at byte offset {byte_offset(match.start())}")
            open_name, start, open_attrs, open_extra = stack.pop()
            if name != open_name:
                raise _HtmlError(
                    f'Unmatched end tag at byte offset {byte_offset(match.start())}, expected "</{open_name}>", '
                    f'found "</{name}>"'
                )
            if open_name == "code" and stack and stack[-1][0] == "pre" and stack[-1][1] == start:
                language = open_attrs.get("class", "")
                if language.startswith("language-"):
                    stack[-1][3]["language"] = language.removeprefix("language-")
                continue
            entity_type = _HTML_ENTITY_TYPES[open_name]
            if open_name == "a":
                if "href" not in open_attrs:
                    continue
                open_extra = {"url": open_attrs["href"]}
            if open_name == "blockquote" and "expandable" in open_attrs:
                entity_type = "expandable_blockquote"
            if pos > start:
                entities.append({"type": entity_type, "offset": start, "length": pos - start, **open_extra})
            continue
        tag = _TAG_RE.match(body)
        if tag is None:
            raise _HtmlError(f'Unsupported start tag "" at byte offset {byte_offset(match.start())}')
        name = tag.group(1).lower()
        if name not in _HTML_ENTITY_TYPES:
            raise _HtmlError(f'Unsupported start tag "{name}" at byte offset {byte_offset(match.start())}')
        attrs: dict[str, str] = {}
        for attr in _ATTR_RE.finditer(tag.group(2)):
            value = next((v for v in attr.groups()[1:] if v is not None), "")
            attrs[attr.group(1).lower()] = _unescape(value)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise _HtmlError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(match.start())}'
            )
        extra: JSON = {}
        if name == "tg-emoji":
            if "emoji-id" not in attrs:
                raise _HtmlError(
                    f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {byte_offset(match.start())}'
                )
            extra = {"custom_emoji_id": attrs["emoji-id"]}
        stack.append((name, pos, attrs, extra))
    if last < len(text):
        out.append(text[last:])
    if stack:
        raise _HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _trim(plain: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Strip leading/trailing whitespace like Telegram does, keeping entity offsets right."""
    stripped = plain.strip()
    if stripped == plain:
        return plain, entities
    lead = _utf16_len(plain[: len(plain) - len(plain.lstrip())])
    end = _utf16_len(stripped)
    trimmed: list[JSON] = []
    for entity in entities:
        start = max(0, entity["offset"] - lead)
        stop = min(end, entity["offset"] + entity["length"] - lead)
        if stop > start:
            trimmed.append({**entity, "offset": start, "length": stop - start})
    return stripped, trimmed


# ----------------------------------------------------------------------------------------------
# Internal state
# ----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Chat:
    id: int
    type: str
    info: JSON
    opened: bool = False
    next_message_id: int = 1
    messages: dict[int, JSON] = field(default_factory=dict)
    sent: list[SentMessage] = field(default_factory=list)
    sent_by_id: dict[int, SentMessage] = field(default_factory=dict)

    def new_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


@dataclass(slots=True)
class _Failure:
    method: str | None
    status: int
    remaining: int
    timeout: bool
    delay: float | None
    description: str | None
    retry_after: int | None
    processed: bool
    disconnect: bool
    unreadable: bool
    skip: int


class _Window:
    """A sliding window counter of events over ``span`` seconds."""

    __slots__ = ("events", "limit", "span")

    def __init__(self, limit: int, span: float) -> None:
        self.limit = limit
        self.span = span
        self.events: deque[float] = deque()

    def wait_time(self, now: float) -> float | None:
        while self.events and now - self.events[0] >= self.span:
            self.events.popleft()
        if len(self.events) >= self.limit:
            return self.events[0] + self.span - now
        return None

    def record(self, now: float) -> None:
        self.events.append(now)


@dataclass(slots=True)
class _Limits:
    per_chat_per_second: int | None
    per_group_per_minute: int | None
    global_per_second: int | None
    chats: dict[int, _Window] = field(default_factory=dict)
    groups: dict[int, _Window] = field(default_factory=dict)
    overall: _Window | None = None


@dataclass(slots=True)
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass(frozen=True, slots=True)
class _Described:
    result: Any
    description: str


def _split_token(token: str) -> int | None:
    match = _TOKEN_RE.match(token)
    return int(match.group(1)) if match else None


def _unreadable(result: Any) -> Any:
    """The result with one field in a shape no client knows yet; everything else as it was."""
    if isinstance(result, dict) and "date" in result:
        return {**result, "date": {"unix": result["date"], "zone": "UTC"}}
    return [result]


def _group_type(chat_id: int) -> str:
    return "supergroup" if str(chat_id).startswith("-100") else "group"


_Handler = Callable[[JSON, _Params], Awaitable[Any]]

_CANONICAL: Final = {
    name.lower(): name
    for name in (
        "getMe", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo", "sendMessage",
        "editMessageText", "editMessageCaption", "editMessageReplyMarkup", "answerCallbackQuery",
        "sendDocument", "sendPhoto", "sendVideo", "getFile", "setMyCommands", "deleteMyCommands",
        "getMyCommands", "deleteMessage", "sendChatAction",
    )
}  # fmt: skip
_SEND_METHODS: Final = frozenset({"sendmessage", "senddocument", "sendphoto", "sendvideo"})

# ----------------------------------------------------------------------------------------------
# Test-side people
# ----------------------------------------------------------------------------------------------


class EmulatedUser:
    """A Telegram user; their private chat with the bot has ``chat_id == id``.

    The user's actions are plain (synchronous) methods: each enqueues an update for the bot and
    returns what it created (the Message dict, or the callback query id for ``press``).
    """

    def __init__(
        self,
        emulator: BotAPIEmulator,
        user_id: int,
        first_name: str,
        language_code: str | None,
        username: str | None,
        last_name: str | None,
    ) -> None:
        self.emulator = emulator
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code

    def __repr__(self) -> str:
        return f"EmulatedUser(id={self.id}, first_name={self.first_name!r})"

    @property
    def chat_id(self) -> int:
        """The id of this user's private chat with the bot (the user's id)."""
        return self.id

    def to_dict(self) -> JSON:
        """The user as a Telegram User object."""
        data: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def chat_dict(self) -> JSON:
        """The user's private chat as a Telegram Chat object."""
        data: JSON = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data

    @property
    def data(self) -> JSON:
        """Same as :meth:`to_dict`."""
        return self.to_dict()

    @property
    def messages(self) -> list[SentMessage]:
        """What the bot sent to this user's private chat, oldest first."""
        return self.emulator.sent_to(self.id)

    def open_chat(self) -> None:
        """Mark the private chat as opened (as if the user had started the bot earlier), without an update."""
        self.emulator._private_chat(self).opened = True

    async def wait_for(
        self,
        count: int = 1,
        timeout: float = 10.0,
        predicate: Callable[[SentMessage], bool] | None = None,
        *,
        after: int = 0,
        contains: str | None = None,
    ) -> list[SentMessage]:
        """Same as ``emulator.wait_for(user.id, ...)``."""
        return await self.emulator.wait_for(
            self.id, count, after=after, contains=contains, predicate=predicate, timeout=timeout
        )

    def send_text(self, text: str, *, entities: list[JSON] | None = None) -> JSON:
        """The user writes ``text`` to the bot (a leading ``/command`` gets a bot_command entity)."""
        return self.emulator._user_message(self, None, _text_content(text, entities))

    def send_command(self, command: str, args: str | None = None) -> JSON:
        """The user sends ``/command args`` (the slash is added when missing)."""
        if not command.startswith("/"):
            command = "/" + command
        text = f"{command} {args}" if args else command
        return self.send_text(text)

    def send_document(
        self,
        file_name: str = "document.pdf",
        size: int | None = None,
        mime_type: str | None = None,
        content: bytes | None = None,
        *,
        caption: str | None = None,
    ) -> JSON:
        """The user sends a document: real ``content``, or just a declared ``size`` (no bytes needed)."""
        stored = self.emulator._store_user_file("document", file_name, size, mime_type, content)
        message: JSON = {"document": self.emulator._document_json(stored)}
        if caption:
            message["caption"] = caption
        return self.emulator._user_message(self, None, message)

    def send_photo(
        self,
        size: int = 50_000,
        *,
        content: bytes | None = None,
        caption: str | None = None,
        width: int = 1280,
        height: int = 960,
    ) -> JSON:
        """The user sends a photo (two sizes: a thumbnail and the full one, like Telegram)."""
        thumb = self.emulator._store_user_file("photo", None, max(1, size // 20), "image/jpeg", None)
        full = self.emulator._store_user_file("photo", None, size, "image/jpeg", content)
        photo = [
            self.emulator._photo_size_json(thumb, 90, max(1, 90 * height // max(width, 1))),
            self.emulator._photo_size_json(full, width, height),
        ]
        message: JSON = {"photo": photo}
        if caption:
            message["caption"] = caption
        return self.emulator._user_message(self, None, message)

    def send_sticker(self, emoji: str = "👍") -> JSON:
        """The user sends a sticker."""
        stored = self.emulator._store_user_file("sticker", None, 20_000, "image/webp", None)
        sticker = {
            "file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "type": "regular",
            "width": 512, "height": 512, "is_animated": False, "is_video": False, "emoji": emoji,
            "file_size": stored.size,
        }  # fmt: skip
        return self.emulator._user_message(self, None, {"sticker": sticker})

    def send_media(
        self,
        kind: str,
        *,
        size: int = 2_000_000,
        file_name: str | None = None,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> JSON:
        """The user sends a ``video``, ``audio``, ``voice`` or ``video_note`` (a declared size, no
        bytes), with a ``caption`` if given (a video note has none)."""
        defaults = {
            "video": "video/mp4",
            "audio": "audio/mpeg",
            "voice": "audio/ogg",
            "video_note": "video/mp4",
        }
        if kind not in defaults:
            raise EmulatorError(f"send_media takes one of {sorted(defaults)}, not {kind!r}")
        stored = self.emulator._store_user_file(kind, file_name, size, mime_type or defaults[kind], None)
        media: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
        }
        if kind in ("video", "video_note", "audio", "voice"):
            media["duration"] = 12
        if kind == "video":
            media.update(width=640, height=480)
        if kind == "video_note":
            media["length"] = 240
        if kind in ("video", "audio", "voice") and stored.mime_type:
            media["mime_type"] = stored.mime_type
        if kind in ("video", "audio") and file_name:
            media["file_name"] = file_name
        message: JSON = {kind: media}
        if caption and kind != "video_note":
            message["caption"] = caption
        return self.emulator._user_message(self, None, message)

    def send_location(self, latitude: float = 31.2304, longitude: float = 121.4737) -> JSON:
        """The user shares a location."""
        return self.emulator._user_message(
            self, None, {"location": {"latitude": latitude, "longitude": longitude}}
        )

    def send_contact(self, phone_number: str = "+8613800000000", first_name: str = "Contact") -> JSON:
        """The user shares a contact card."""
        contact = {"phone_number": phone_number, "first_name": first_name}
        return self.emulator._user_message(self, None, {"contact": contact})

    def press_data(self, bot_message: SentMessage | Mapping[str, Any] | int, data: str) -> str:
        """The user's client sends ``data`` as if from a button of ``bot_message``, whether or not the
        message has such a button: a stale, doctored or forged press (Telegram still gives it a real
        query id). Returns the callback query id, like ``press``."""
        return self.emulator._press_data(self, bot_message, data)

    def forward_text(
        self, text: str, *, from_user: EmulatedUser | None = None, sender_name: str = "Hidden Sender"
    ) -> JSON:
        """The user forwards someone's text message to the bot (with ``forward_origin``)."""
        date = int(time.time()) - 60
        origin: JSON = (
            {"type": "user", "sender_user": from_user.to_dict(), "date": date}
            if from_user is not None
            else {"type": "hidden_user", "sender_user_name": sender_name, "date": date}
        )
        return self.emulator._user_message(self, None, {"text": text, "forward_origin": origin})

    def edit_text(self, message: Mapping[str, Any] | int, new_text: str) -> JSON:
        """The user edits a text message they sent (an ``edited_message`` update); returns the edited Message."""
        return self.emulator._user_edit(self, message, new_text)

    def edit(self, message: Mapping[str, Any] | int, new_text: str) -> JSON:
        """Alias of :meth:`edit_text`."""
        return self.edit_text(message, new_text)

    def reply_to(self, bot_message: SentMessage | Mapping[str, Any] | int, text: str) -> JSON:
        """The user replies to one of the bot's messages in their private chat."""
        sent = self.emulator._resolve_bot_message(bot_message, self.id)
        chat = self.emulator._chats[sent.chat_id]
        if chat.type == "private" and chat.id != self.id:
            raise EmulatorError(f"{self!r} cannot reply to a message in another user's chat {chat.id}")
        reply = dict(chat.messages.get(sent.message_id, sent.raw))
        reply.pop("reply_to_message", None)
        content = _text_content(text, None)
        content["reply_to_message"] = reply
        return self.emulator._user_message(self, None if chat.type == "private" else chat, content)

    def press(
        self,
        bot_message: SentMessage | Mapping[str, Any] | int,
        callback_data: str | None = None,
        *,
        text: str | None = None,
        data: str | None = None,
    ) -> str:
        """The user presses an inline button of a bot message, chosen by ``callback_data`` or by ``text``.

        ``text`` matches a button label exactly, else as the unique label that starts with or contains it.
        Returns the callback query id (the key of ``emulator.callback_answers``); the created
        callback_query dict is ``emulator.last_callback_query``.
        """
        return self.emulator._press(
            self, bot_message, callback_data if callback_data is not None else data, text
        )

    def block_bot(self) -> None:
        """The user blocks the bot (``emulator.block(user.id)``)."""
        self.emulator.block(self.id)


class EmulatedGroup:
    """A group (or supergroup, for ``-100...`` ids) the bot is a member of."""

    def __init__(self, emulator: BotAPIEmulator, chat_id: int) -> None:
        self.emulator = emulator
        self.id = chat_id

    def __repr__(self) -> str:
        return f"EmulatedGroup(id={self.id}, title={self.title!r})"

    @property
    def chat_id(self) -> int:
        """The group's chat id."""
        return self.id

    @property
    def title(self) -> str:
        """The group's title."""
        return str(self.emulator._chats[self.id].info.get("title", ""))

    def to_dict(self) -> JSON:
        """The group as a Telegram Chat object."""
        return dict(self.emulator._chats[self.id].info)

    @property
    def messages(self) -> list[SentMessage]:
        """What the bot sent to this group, oldest first."""
        return self.emulator.sent_to(self.id)

    def send_text_as(self, user: EmulatedUser, text: str, *, entities: list[JSON] | None = None) -> JSON:
        """``user`` writes ``text`` in the group."""
        return self.emulator._user_message(user, self.emulator._chats[self.id], _text_content(text, entities))

    def send_command_as(self, user: EmulatedUser, command: str, args: str | None = None) -> JSON:
        """``user`` sends ``/command args`` in the group."""
        if not command.startswith("/"):
            command = "/" + command
        return self.send_text_as(user, f"{command} {args}" if args else command)


def _text_content(text: str, entities: list[JSON] | None) -> JSON:
    content: JSON = {"text": text}
    if entities is not None:
        content["entities"] = entities
    elif text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16_len(command)}]
    return content


# ----------------------------------------------------------------------------------------------
# The emulator
# ----------------------------------------------------------------------------------------------


class BotAPIEmulator:
    """A local Telegram Bot API server plus the emulated people around the bot.

    Point a real aiogram ``Bot`` at it with
    ``AiohttpSession(api=TelegramAPIServer.from_base(emulator.base_url))`` (or :meth:`create_bot`).
    Test code acts as users through :meth:`user` / :meth:`group` and reads what the bot did
    through :meth:`sent_to`, :meth:`wait_for`, :attr:`calls`, :attr:`callback_answers` and :attr:`stats`.
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        username: str = "casebot_test_bot",
        first_name: str = "casebot",
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
        hang_seconds: float = 10.0,
        webhook_retries: int = 3,
        webhook_retry_delay: float = 0.05,
        webhook_backoff: float = 0.5,
        webhook_timeout: float = 10.0,
    ) -> None:
        """Set up an emulator (not yet listening: call :meth:`start` or use ``async with``).

        ``clock`` is the time source of the rate limits and of record timestamps; ``hang_seconds``
        is how long a ``fail_next(timeout=True)`` request hangs before answering 504.
        """
        if _split_token(token) is None:
            raise ValueError(f"a bot token looks like '123456:ABC', not {token!r}")
        self.token = token
        self.username = username
        self.first_name = first_name
        self.host = host
        self.port = port
        self.clock = clock
        self.hang_seconds = hang_seconds
        self.webhook_retries = webhook_retries
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_backoff = webhook_backoff
        self.webhook_timeout = webhook_timeout

        self.calls: list[ApiCall] = []
        """Every API call, oldest first."""
        self.callback_answers: dict[str, CallbackAnswer] = {}
        """answerCallbackQuery's answers by callback query id."""
        self.stats = EmulatorStats()
        """Counters of sends, edits, 429s and calls per method/status."""
        self.webhook_deliveries: list[WebhookDelivery] = []
        """Every attempt to deliver an update to the webhook."""
        self.dropped_updates: list[JSON] = []
        """Updates not queued because the bot's ``allowed_updates`` excluded their type."""
        self.last_callback_query: JSON | None = None
        """The callback_query dict of the latest button press."""

        self._users: dict[int, EmulatedUser] = {}
        self._chats: dict[int, _Chat] = {}
        self._groups: dict[int, EmulatedGroup] = {}
        self._files: dict[str, StoredFile] = {}
        self._file_paths: dict[str, StoredFile] = {}
        self._commands: dict[tuple[tuple[str, int | None, int | None], str], list[JSON]] = {}
        self._callbacks: dict[str, JSON] = {}
        self._blocked: set[int] = set()
        self._deactivated: set[int] = set()
        self._migrated: dict[int, int] = {}
        self._failures: list[_Failure] = []
        self._revoked: set[str] = set()
        self._limits: _Limits | None = None

        self._updates: deque[tuple[int, JSON]] = deque()
        self._update_ids = itertools.count(1)
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._updates_event = asyncio.Event()
        self._changed_event = asyncio.Event()
        self._stopping = asyncio.Event()
        self._counter = itertools.count(1)

        self._webhook: _Webhook | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_session: ClientSession | None = None
        self._delivering = False

        self._in_flight = 0
        self._long_polls = 0
        self._last_activity = time.monotonic()
        self._runner: web.AppRunner | None = None
        self._bound_port: int | None = None
        self._handlers: dict[str, _Handler] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagecaption": self._edit_message_caption,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "answercallbackquery": self._answer_callback_query,
            "senddocument": self._send_document,
            "sendphoto": self._send_photo,
            "sendvideo": self._send_video,
            "getfile": self._get_file,
            "setmycommands": self._set_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemessage": self._delete_message,
            "sendchataction": self._send_chat_action,
        }

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self, port: int | None = None) -> Self:
        """Start listening; ``port`` defaults to the port of the previous run (or the constructor's).

        All state (messages, users, queued updates, webhook) survives a stop/start.
        """
        if self._runner is not None:
            raise EmulatorError("the emulator is already running")
        if port is None:
            port = self._bound_port if self._bound_port is not None else self.port
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=UPLOAD_LIMIT + 10 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, port, reuse_address=True)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        address = runner.addresses[0]
        self._bound_port = int(address[1])
        self._webhook_session = ClientSession()
        if self._webhook is not None:
            self._start_webhook_worker()
        return self

    async def stop(self) -> None:
        """Stop listening (like Telegram going down); hanging requests and long polls are released."""
        if self._runner is None:
            return
        self._stopping.set()
        self._notify_updates()
        await self._stop_webhook_worker()
        if self._webhook_session is not None:
            await self._webhook_session.close()
            self._webhook_session = None
        runner, self._runner = self._runner, None
        await runner.cleanup()

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._runner is not None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def bound_port(self) -> int:
        """The TCP port the server listens (or last listened) on."""
        if self._bound_port is None:
            raise EmulatorError("the emulator was never started")
        return self._bound_port

    @property
    def base_url(self) -> str:
        """The server's base URL, for ``TelegramAPIServer.from_base`` (e.g. ``http://127.0.0.1:41234``)."""
        return f"http://{self.host}:{self.bound_port}"

    @property
    def api_server(self) -> TelegramAPIServer:
        """aiogram's server description pointing at this emulator."""
        return TelegramAPIServer.from_base(self.base_url)

    def create_bot(
        self,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        default: DefaultBotProperties | None = None,
    ) -> Bot:
        """A real aiogram Bot using an AiohttpSession against this emulator (close its session after use)."""
        session = AiohttpSession(api=self.api_server, timeout=timeout)
        return Bot(token or self.token, session=session, default=default)

    @property
    def bot_id(self) -> int:
        """The bot's user id (the digits of the token)."""
        bot_id = _split_token(self.token)
        assert bot_id is not None
        return bot_id

    def bot_user(self, bot_id: int | None = None) -> JSON:
        """The bot as a Telegram User object."""
        return {
            "id": self.bot_id if bot_id is None else bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    # --- people -------------------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str = "Ann",
        language_code: str | None = "en",
        username: str | None = None,
        *,
        last_name: str | None = None,
    ) -> EmulatedUser:
        """The user with this id (created on first call; later calls return the same user)."""
        existing = self._users.get(user_id)
        if existing is not None:
            return existing
        if user_id <= 0:
            raise EmulatorError(f"user ids are positive, got {user_id}")
        user = EmulatedUser(self, user_id, first_name, language_code, username, last_name)
        self._users[user_id] = user
        self._private_chat(user)
        return user

    @property
    def users(self) -> dict[int, EmulatedUser]:
        """All users by id."""
        return dict(self._users)

    def group(
        self,
        chat_id: int,
        title: str = "Test group",
        *,
        chat_type: str | None = None,
        username: str | None = None,
    ) -> EmulatedGroup:
        """The group with this (negative) chat id, known to the bot from the start."""
        existing = self._groups.get(chat_id)
        if existing is not None:
            return existing
        if chat_id >= 0:
            raise EmulatorError(f"group chat ids are negative, got {chat_id}")
        info: JSON = {"id": chat_id, "type": chat_type or _group_type(chat_id), "title": title}
        if username:
            info["username"] = username
        self._chats[chat_id] = _Chat(chat_id, info["type"], info, opened=True)
        group = EmulatedGroup(self, chat_id)
        self._groups[chat_id] = group
        return group

    def _private_chat(self, user: EmulatedUser) -> _Chat:
        chat = self._chats.get(user.id)
        if chat is None:
            chat = _Chat(user.id, "private", user.chat_dict())
            self._chats[user.id] = chat
        return chat

    def block(self, user_id: int, *, notify: bool = False) -> None:
        """The user blocks the bot: sends to their chat answer 403 "bot was blocked by the user".

        With ``notify`` a ``my_chat_member`` update (member → kicked) is queued too, like Telegram does.
        """
        self._blocked.add(user_id)
        if notify and user_id in self._users:
            self._member_update(self._users[user_id], "member", "kicked")

    def unblock(self, user_id: int, *, notify: bool = False) -> None:
        """The user unblocks the bot."""
        self._blocked.discard(user_id)
        if notify and user_id in self._users:
            self._member_update(self._users[user_id], "kicked", "member")

    def deactivate(self, user_id: int) -> None:
        """The user deletes their account: sends to them answer 403 "user is deactivated"."""
        self._deactivated.add(user_id)

    def migrate_group(self, old_chat_id: int, new_chat_id: int, *, notify: bool = False) -> EmulatedGroup:
        """The group becomes a supergroup: sends to the old id answer 400 with ``migrate_to_chat_id``.

        Returns the new supergroup. With ``notify`` the two service messages are queued as updates.
        """
        old = self._chats.get(old_chat_id)
        title = str(old.info.get("title", "Test group")) if old is not None else "Test group"
        new = self.group(new_chat_id, title, chat_type="supergroup")
        self._migrated[old_chat_id] = new_chat_id
        if notify and old is not None:
            date = int(time.time())
            old_message: JSON = {
                "message_id": old.new_message_id(), "date": date, "chat": old.info,
                "migrate_to_chat_id": new_chat_id,
            }  # fmt: skip
            old.messages[old_message["message_id"]] = old_message
            self.push_update("message", old_message)
            new_chat = self._chats[new_chat_id]
            new_message: JSON = {
                "message_id": new_chat.new_message_id(), "date": date, "chat": new_chat.info,
                "migrate_from_chat_id": old_chat_id,
            }  # fmt: skip
            new_chat.messages[new_message["message_id"]] = new_message
            self.push_update("message", new_message)
        return new

    def _member_update(self, user: EmulatedUser, old_status: str, new_status: str) -> None:
        bot = self.bot_user()
        new_member: JSON = {"status": new_status, "user": bot}
        if new_status == "kicked":
            new_member["until_date"] = 0
        old_member: JSON = {"status": old_status, "user": bot}
        if old_status == "kicked":
            old_member["until_date"] = 0
        self.push_update(
            "my_chat_member",
            {
                "chat": user.chat_dict(), "from": user.to_dict(), "date": int(time.time()),
                "old_chat_member": old_member, "new_chat_member": new_member,
            },
        )  # fmt: skip

    # --- limits and failures ------------------------------------------------------------------

    def enforce_limits(
        self,
        per_chat_per_second: int | None = 1,
        per_group_per_minute: int | None = 20,
        global_per_second: int | None = 30,
    ) -> None:
        """Answer sends over Telegram's limits with 429 ``retry_after`` (sliding windows on ``clock``).

        Counted: sendMessage, sendDocument, sendPhoto, sendVideo (edits are not). ``None`` disables one limit.
        """
        self._limits = _Limits(
            per_chat_per_second,
            per_group_per_minute,
            global_per_second,
            overall=_Window(global_per_second, 1.0) if global_per_second else None,
        )

    def disable_limits(self) -> None:
        """Stop enforcing rate limits."""
        self._limits = None

    def fail_next(
        self,
        method: str | None = "sendMessage",
        status: int = 502,
        count: int = 1,
        *,
        after: int = 0,
        timeout: bool = False,
        delay: float | None = None,
        description: str | None = None,
        retry_after: int | None = None,
        processed: bool = False,
        disconnect: bool = False,
        unreadable: bool = False,
    ) -> None:
        """Make the next ``count`` calls of ``method`` fail (None: any method but getUpdates),
        after letting ``after`` of them through (``after=1``: the second call fails).

        - plain: answer ``status`` with Telegram's wording (502 → "Bad Gateway", 429 → retry_after...);
        - ``timeout=True``: hang ``delay`` seconds (default ``hang_seconds``), then answer 504;
        - ``disconnect=True``: drop the connection without an answer;
        - ``processed=True``: the call takes effect (e.g. the message IS sent) before failing,
          like a real request whose answer got lost;
        - ``unreadable=True``: the call takes effect and answers 200 ok, but with its result in a
          shape the client cannot read (as when Telegram's Bot API is newer than the client);
          aiogram raises ``ClientDecodeError``.
        """
        if count < 1:
            raise ValueError("count must be at least 1")
        if after < 0:
            raise ValueError("after cannot be negative")
        self._failures.append(
            _Failure(
                method.lower() if method else None, status, count, timeout, delay, description, retry_after,
                processed, disconnect, unreadable, after,
            )
        )  # fmt: skip

    def clear_failures(self) -> None:
        """Forget every pending ``fail_next``."""
        self._failures.clear()

    def revoke_token(self, token: str | None = None) -> None:
        """Revoke the bot's token (default: the emulator's own), as @BotFather's /revoke does: every
        method called with it answers 401 Unauthorized until :meth:`restore_token`."""
        self._revoked.add(token or self.token)

    def restore_token(self, token: str | None = None) -> None:
        """Accept a revoked token again."""
        self._revoked.discard(token or self.token)

    # --- updates ------------------------------------------------------------------------------

    def push_update(self, kind: str, payload: JSON) -> JSON:
        """Queue a raw update of type ``kind`` (e.g. ``"message"``) for the bot; returns the Update dict."""
        update: JSON = {"update_id": next(self._update_ids), kind: payload}
        allowed = self._allowed_updates
        if (kind not in allowed) if allowed is not None else (kind in _DEFAULT_EXCLUDED_UPDATES):
            self.dropped_updates.append(update)
            return update
        self._updates.append((update["update_id"], update))
        self._touch()
        self._notify_updates()
        return update

    @property
    def long_polls_waiting(self) -> int:
        """getUpdates requests currently waiting for an update (long polling)."""
        return self._long_polls

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by the bot."""
        return len(self._updates)

    def _notify_updates(self) -> None:
        self._updates_event.set()
        self._updates_event = asyncio.Event()

    def _notify_changed(self) -> None:
        self._changed_event.set()
        self._changed_event = asyncio.Event()

    def _touch(self) -> None:
        self._last_activity = time.monotonic()

    def _user_message(self, user: EmulatedUser, chat: _Chat | None, content: JSON) -> JSON:
        if chat is None:
            chat = self._private_chat(user)
            chat.opened = True
        message: JSON = {
            "message_id": chat.new_message_id(),
            "from": user.to_dict(),
            "chat": chat.info,
            "date": int(time.time()),
            **content,
        }
        chat.messages[message["message_id"]] = message
        self.push_update("message", message)
        return message

    def _user_edit(self, user: EmulatedUser, message: Mapping[str, Any] | int, new_text: str) -> JSON:
        if isinstance(message, int):
            chat_id, message_id = user.id, message
        else:
            chat_id, message_id = int(message["chat"]["id"]), int(message["message_id"])
        chat = self._chats.get(chat_id)
        stored = chat.messages.get(message_id) if chat is not None else None
        if chat is None or stored is None:
            raise EmulatorError(f"no message #{message_id} in chat {chat_id} to edit")
        if stored.get("from", {}).get("id") != user.id:
            raise EmulatorError(f"message #{message_id} in chat {chat_id} was not sent by {user!r}")
        if "text" not in stored:
            raise EmulatorError(f"message #{message_id} in chat {chat_id} has no text to edit")
        edited = {k: v for k, v in stored.items() if k != "entities"}
        edited.update(_text_content(new_text, None))
        edited["edit_date"] = int(time.time())
        chat.messages[message_id] = edited
        self.push_update("edited_message", edited)
        return edited

    def _resolve_bot_message(
        self, message: SentMessage | Mapping[str, Any] | int, default_chat: int
    ) -> SentMessage:
        if isinstance(message, SentMessage):
            chat_id, message_id = message.chat_id, message.message_id
        elif isinstance(message, int):
            chat_id, message_id = default_chat, message
        else:
            chat_id, message_id = int(message["chat"]["id"]), int(message["message_id"])
        chat = self._chats.get(chat_id)
        sent = chat.sent_by_id.get(message_id) if chat is not None else None
        if sent is None:
            raise EmulatorError(f"the bot sent no message #{message_id} to chat {chat_id}")
        return sent

    def _press(
        self,
        user: EmulatedUser,
        bot_message: SentMessage | Mapping[str, Any] | int,
        callback_data: str | None,
        text: str | None,
    ) -> str:
        sent = self._resolve_bot_message(bot_message, user.id)
        where = f"message #{sent.message_id} in chat {sent.chat_id}"
        if sent.deleted:
            raise EmulatorError(f"{where} was deleted; its buttons cannot be pressed")
        buttons = [b for row in sent.inline_keyboard for b in row]
        listing = f"its buttons are {sent.buttons}" if buttons else "it has no inline keyboard"
        if callback_data is not None:
            chosen = [b for b in buttons if b.get("callback_data") == callback_data]
            wanted = f"callback_data={callback_data!r}"
        elif text is not None:
            chosen = [b for b in buttons if b.get("text") == text]
            if not chosen:
                chosen = [b for b in buttons if str(b.get("text", "")).startswith(text)]
            if not chosen:
                chosen = [b for b in buttons if text in str(b.get("text", ""))]
            wanted = f"text={text!r}"
        else:
            chosen = [b for b in buttons if "callback_data" in b]
            wanted = "a callback button (pass callback_data or text to choose one)"
        if len(chosen) != 1:
            problem = "no button with" if not chosen else f"{len(chosen)} buttons match"
            raise ButtonNotFoundError(f"{problem} {wanted} on {where}; {listing}")
        button = chosen[0]
        if "callback_data" not in button:
            raise ButtonNotFoundError(
                f"button {button.get('text')!r} on {where} is not a callback button ({button}); "
                "pressing it sends nothing to the bot"
            )
        query_id = str(4_000_000_000_000_000 + next(self._counter))
        query: JSON = {
            "id": query_id,
            "from": user.to_dict(),
            "message": dict(sent.raw),
            "chat_instance": str(abs(sent.chat_id) * 7 + 1_000_000_000),
            "data": button["callback_data"],
        }
        self._callbacks[query_id] = query
        self.last_callback_query = query
        if sent.chat_id == user.id:
            self._chats[user.id].opened = True
        self.push_update("callback_query", query)
        return query_id

    def _press_data(
        self, user: EmulatedUser, bot_message: SentMessage | Mapping[str, Any] | int, data: str
    ) -> str:
        sent = self._resolve_bot_message(bot_message, user.id)
        query_id = str(4_000_000_000_000_000 + next(self._counter))
        query: JSON = {
            "id": query_id,
            "from": user.to_dict(),
            "message": dict(sent.raw),
            "chat_instance": str(abs(sent.chat_id) * 7 + 1_000_000_000),
            "data": data,
        }
        self._callbacks[query_id] = query
        self.last_callback_query = query
        self.push_update("callback_query", query)
        return query_id

    # --- files --------------------------------------------------------------------------------

    def _new_file(
        self, kind: str, size: int, file_name: str | None, mime_type: str | None, content: bytes | None
    ) -> StoredFile:
        number = next(self._counter)
        prefix = {"document": "BQACAgIAAxk", "photo": "AgACAgIAAxk", "sticker": "CAACAgIAAxk"}.get(
            kind, "AAA"
        )
        stored = StoredFile(
            file_id=f"{prefix}{number:010d}",
            file_unique_id=f"AgAD{number:06d}",
            kind=kind,
            size=size,
            file_name=file_name,
            mime_type=mime_type,
            content=content,
        )
        self._files[stored.file_id] = stored
        return stored

    def _store_user_file(
        self, kind: str, file_name: str | None, size: int | None, mime_type: str | None, content: bytes | None
    ) -> StoredFile:
        if content is not None:
            if size is not None and size != len(content):
                raise EmulatorError(f"size={size} but the content has {len(content)} bytes")
            size = len(content)
        if size is None:
            size = 1024
        if mime_type is None and file_name is not None:
            mime_type = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        return self._new_file(kind, size, file_name, mime_type, content)

    def file(self, file_id: str) -> StoredFile:
        """The stored file with this file_id (KeyError if unknown)."""
        return self._files[file_id]

    @property
    def files(self) -> dict[str, StoredFile]:
        """All stored files by file_id."""
        return dict(self._files)

    @staticmethod
    def _document_json(stored: StoredFile) -> JSON:
        data: JSON = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if stored.file_name is not None:
            data["file_name"] = stored.file_name
        if stored.mime_type is not None:
            data["mime_type"] = stored.mime_type
        data["file_size"] = stored.size
        return data

    @staticmethod
    def _video_json(stored: StoredFile) -> JSON:
        data: JSON = {
            "file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
            "width": 640, "height": 480, "duration": 12, "file_size": stored.size,
        }  # fmt: skip
        if stored.file_name is not None:
            data["file_name"] = stored.file_name
        if stored.mime_type is not None:
            data["mime_type"] = stored.mime_type
        return data

    @staticmethod
    def _photo_size_json(stored: StoredFile, width: int, height: int) -> JSON:
        return {
            "file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
            "file_size": stored.size, "width": width, "height": height,
        }  # fmt: skip

    # --- reading what the bot did -------------------------------------------------------------

    @staticmethod
    def _chat_key(chat: int | EmulatedUser | EmulatedGroup) -> int:
        return chat if isinstance(chat, int) else chat.id

    def sent_to(self, chat: int | EmulatedUser | EmulatedGroup) -> list[SentMessage]:
        """Every message the bot sent to the chat, oldest first (edits applied; deleted ones flagged)."""
        state = self._chats.get(self._chat_key(chat))
        return list(state.sent) if state is not None else []

    def last(self, chat: int | EmulatedUser | EmulatedGroup) -> SentMessage:
        """The bot's latest message to the chat (AssertionError if it sent none)."""
        sent = self.sent_to(chat)
        assert sent, f"the bot sent nothing to chat {self._chat_key(chat)}"
        return sent[-1]

    def history(self, chat: int | EmulatedUser | EmulatedGroup) -> list[JSON]:
        """All messages of the chat (the users' and the bot's) as Telegram Message dicts, by message_id."""
        state = self._chats.get(self._chat_key(chat))
        return list(state.messages.values()) if state is not None else []

    def calls_to(self, method: str) -> list[ApiCall]:
        """The logged calls of one method (case-insensitive name)."""
        wanted = method.lower()
        return [call for call in self.calls if call.method.lower() == wanted]

    def commands(
        self, scope: Mapping[str, Any] | Any | None = None, language_code: str | None = None
    ) -> list[tuple[str, str]]:
        """The bot's commands for exactly this scope and language, as ``(command, description)``."""
        try:
            key = (self._scope_key(self._scope_dict(scope), check_chat=False), language_code or "")
        except _ApiError as error:
            raise EmulatorError(f"bad command scope {scope!r}: {error.description}") from None
        return [(str(c["command"]), str(c["description"])) for c in self._commands.get(key, [])]

    def menu(self, chat_id: int | None = None, language_code: str | None = None) -> list[str]:
        """The command names of one chat's scope (or of the default scope when ``chat_id`` is None)."""
        scope = {"type": "chat", "chat_id": chat_id} if chat_id is not None else None
        return [command for command, _ in self.commands(scope, language_code)]

    @property
    def webhook_url(self) -> str | None:
        """The webhook URL the bot set, or None while it polls."""
        return self._webhook.url if self._webhook is not None else None

    async def wait_for(
        self,
        chat: int | EmulatedUser | EmulatedGroup,
        count: int = 1,
        timeout: float = 10.0,
        predicate: Callable[[SentMessage], bool] | None = None,
        *,
        after: int = 0,
        contains: str | None = None,
    ) -> list[SentMessage]:
        """Wait until the bot has sent ``count`` matching messages to the chat; return all matching ones.

        Only messages after the first ``after`` of the chat count; ``contains`` (a substring of
        ``text``) and ``predicate`` filter them. On timeout, AssertionError lists what was sent.
        """
        chat_id = self._chat_key(chat)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            matching = [
                m
                for m in self.sent_to(chat_id)[after:]
                if (contains is None or contains in m.text) and (predicate is None or predicate(m))
            ]
            if len(matching) >= count:
                return matching
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(self._describe_wait(chat_id, count, after, contains, predicate, timeout))
            event = self._changed_event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    def _describe_wait(
        self,
        chat_id: int,
        count: int,
        after: int,
        contains: str | None,
        predicate: Callable[[SentMessage], bool] | None,
        timeout: float,
    ) -> str:
        wanted = f"{count} message(s)"
        if contains is not None:
            wanted += f" containing {contains!r}"
        if predicate is not None:
            wanted += " matching the predicate"
        if after:
            wanted += f" after the first {after}"
        sent = self.sent_to(chat_id)
        lines = [f"waited {timeout}s for the bot to send {wanted} to chat {chat_id}; it sent {len(sent)}:"]
        lines += [f"  {m!r}" for m in sent[-20:]] or ["  (nothing)"]
        failed = [c for c in self.calls[-200:] if not c.ok and str(c.params.get("chat_id")) == str(chat_id)]
        if failed:
            lines.append("failed calls to this chat:")
            lines += [f"  {c.name} -> {c.status} {c.description}" for c in failed[-10:]]
        if self._updates:
            lines.append(f"{len(self._updates)} update(s) are still waiting for the bot to fetch them")
        if self.dropped_updates:
            lines.append(
                f"{len(self.dropped_updates)} update(s) were dropped: allowed_updates="
                f"{sorted(self._allowed_updates or [])}"
            )
        return "\n".join(lines)

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``condition()`` is true (checked after every change and every 20 ms)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"the condition did not become true within {timeout}s")
            event = self._changed_event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, 0.02))

    async def wait_idle(self, quiet: float = 0.2, timeout: float = 10.0) -> None:
        """Wait until the bot has fetched and confirmed every update and made no call for ``quiet`` seconds.

        Useful before asserting that the bot sent nothing. AssertionError on timeout.
        """
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            busy: list[str] = []
            if self._updates:
                busy.append(f"{len(self._updates)} update(s) not yet confirmed by the bot")
            if self._in_flight:
                busy.append(f"{self._in_flight} request(s) in progress")
            if self._delivering:
                busy.append("a webhook delivery in progress")
            if not busy and now - self._last_activity >= quiet:
                return
            if now >= deadline:
                reason = "; ".join(busy) or "the bot kept making calls"
                raise AssertionError(f"the emulator did not become idle within {timeout}s: {reason}")
            await asyncio.sleep(min(0.02, max(0.001, quiet / 4)))

    async def settle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Alias of :meth:`wait_idle` with a slightly longer quiet period."""
        await self.wait_idle(quiet=quiet, timeout=timeout)

    # --- HTTP ---------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        method = request.match_info["method"]
        # A (long) poll is the bot waiting, not the bot doing something: getUpdates marks activity
        # itself only when it confirms or hands out updates.
        busy = method.lower() != "getupdates"
        self._in_flight += 1
        if busy:
            self._touch()
        try:
            try:
                params = await _read_params(request)
            except _ApiError as error:
                params = _Params({})
                status, body = error.status, error.body()
                self._log_call(method, params, status, body)
            else:
                status, body = await self._call(token, method, params, request)
        finally:
            self._in_flight -= 1
            if busy:
                self._touch()
        return web.json_response(body, status=status)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        if _split_token(token) is None or token in self._revoked:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        stored = self._file_paths.get(request.match_info["path"])
        if stored is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        content_type = stored.mime_type or "application/octet-stream"
        return web.Response(body=stored.data(), content_type=content_type)

    def _log_call(self, method: str, params: _Params, status: int, body: JSON) -> ApiCall:
        call = ApiCall(
            method=method,
            params=params.logged(),
            time=self.clock(),
            status=status,
            description=body.get("description"),
            result=body.get("result"),
        )
        self.calls.append(call)
        self.stats.by_method[call.name] += 1
        self.stats.by_status[status] += 1
        if status == 429:
            self.stats.rate_limited += 1
        self._notify_changed()
        return call

    async def _call(
        self, token: str, method: str, params: _Params, request: web.Request | None = None
    ) -> tuple[int, JSON]:
        key = method.lower()
        failure: _Failure | None = None
        try:
            bot_id = _split_token(token)
            if bot_id is None or token in self._revoked:
                raise _ApiError(401, "Unauthorized")
            handler = self._handlers.get(key)
            if handler is None:
                raise _ApiError(404, "Not Found: method not found")
            failure = self._take_failure(key)
            if failure is not None and not (failure.processed or failure.unreadable):
                await self._fail(failure, request)
            result = await handler(self.bot_user(bot_id), params)
            if failure is not None and not failure.unreadable:
                await self._fail(failure, request)
            body: JSON = {"ok": True, "result": result}
            if isinstance(result, _Described):
                body = {"ok": True, "result": result.result, "description": result.description}
            if failure is not None and failure.unreadable:
                body["result"] = _unreadable(body["result"])
            status = 200
        except _ApiError as error:
            status, body = error.status, error.body()
        self._log_call(method, params, status, body)
        return status, body

    def _take_failure(self, key: str) -> _Failure | None:
        for failure in self._failures:
            if failure.method == key or (failure.method is None and key != "getupdates"):
                if failure.skip > 0:
                    failure.skip -= 1
                    continue
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                self.stats.injected_failures += 1
                return failure
        return None

    async def _fail(self, failure: _Failure, request: web.Request | None) -> None:
        if failure.disconnect:
            if request is not None and request.transport is not None:
                request.transport.close()
            raise _ApiError(502, "Bad Gateway")
        if failure.timeout:
            await self._sleep(failure.delay if failure.delay is not None else self.hang_seconds)
            raise _ApiError(504, failure.description or "Gateway Timeout")
        status = failure.status
        parameters: JSON | None = None
        if status == 429:
            retry_after = failure.retry_after if failure.retry_after is not None else 1
            description = failure.description or f"Too Many Requests: retry after {retry_after}"
            parameters = {"retry_after": retry_after}
        else:
            description = failure.description or _STATUS_TEXT.get(status, "Internal Server Error")
            if status in (400, 403, 404, 409) and ":" not in description and failure.description is None:
                description = f"{description}: injected failure"
        raise _ApiError(status, description, parameters)

    async def _sleep(self, seconds: float) -> None:
        stopping = self._stopping
        self._in_flight -= 1
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), seconds)
        finally:
            self._in_flight += 1

    # --- chat checks, formatting, markup ------------------------------------------------------

    def _chat_for_bot(self, params: _Params, *, check_access: bool = True) -> _Chat:
        raw = params.raw("chat_id")
        if raw is None:
            raise _bad_request("chat_id is empty")
        chat: _Chat | None = None
        if isinstance(raw, str) and raw.startswith("@"):
            chat = next((c for c in self._chats.values() if c.info.get("username") == raw[1:]), None)
        else:
            try:
                chat_id = int(raw)
            except (TypeError, ValueError):
                raise _bad_request("chat not found") from None
            if chat_id in self._migrated:
                raise _ApiError(
                    400,
                    "Bad Request: group chat was upgraded to a supergroup chat",
                    {"migrate_to_chat_id": self._migrated[chat_id]},
                )
            chat = self._chats.get(chat_id)
        if chat is None or not chat.opened:
            raise _bad_request("chat not found")
        if check_access:
            if chat.id in self._deactivated:
                raise _ApiError(403, "Forbidden: user is deactivated")
            if chat.id in self._blocked:
                raise _ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    @staticmethod
    def _format(
        text: str, parse_mode: str | None, entities: Any, *, limit: int, what: str
    ) -> tuple[str, list[JSON]]:
        mode = (parse_mode or "").lower()
        if mode == "html":
            try:
                plain, parsed = _parse_html(text)
            except _HtmlError as error:
                raise _bad_request(f"can't parse entities: {error}") from None
        elif mode in ("", "markdown", "markdownv2"):
            plain = text
            parsed = [dict(e) for e in entities if isinstance(e, dict)] if isinstance(entities, list) else []
        else:
            raise _bad_request("unsupported parse_mode")
        plain, parsed = _trim(plain, parsed)
        if what == "text" and not plain:
            raise _bad_request("message text is empty")
        if len(plain) > limit:
            raise _bad_request("message is too long" if what == "text" else "message caption is too long")
        return plain, parsed

    @staticmethod
    def _markup(params: _Params) -> JSON | None:
        markup = params.get_json("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is not None:
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise _bad_request(
                    "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
                )
            for row in rows:
                for button in row:
                    if not isinstance(button, dict) or not str(button.get("text", "")):
                        raise _bad_request("can't parse inline keyboard button: Text buttons are unallowed")
                    data = button.get("callback_data")
                    url = button.get("url")
                    if data is not None:
                        size = len(str(data).encode("utf-8"))
                        if size == 0 or size > CALLBACK_DATA_LIMIT:
                            raise _bad_request("BUTTON_DATA_INVALID")
                    elif url is not None:
                        if not _URL_RE.match(str(url)):
                            raise _bad_request(
                                f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL"
                            )
                    elif not any(k in button for k in ("web_app", "login_url", "switch_inline_query",
                                                        "switch_inline_query_current_chat", "pay",
                                                        "copy_text", "callback_game",
                                                        "switch_inline_query_chosen_chat")):  # fmt: skip
                        raise _bad_request("text buttons are unallowed in the inline keyboard")
        return markup

    @staticmethod
    def _reply_to(chat: _Chat, params: _Params) -> JSON | None:
        reply = params.get_json("reply_parameters")
        message_id: int | None = None
        allow_without = params.get_bool("allow_sending_without_reply")
        if isinstance(reply, dict) and reply.get("message_id") is not None:
            message_id = int(reply["message_id"])
            allow_without = allow_without or bool(reply.get("allow_sending_without_reply"))
        elif params.raw("reply_to_message_id") is not None:
            message_id = params.get_int("reply_to_message_id")
        if message_id is None:
            return None
        target = chat.messages.get(message_id)
        if target is None:
            if allow_without:
                return None
            raise _bad_request("message to be replied not found")
        replied = dict(target)
        replied.pop("reply_to_message", None)
        return replied

    def _check_rate(self, chat: _Chat) -> None:
        limits = self._limits
        if limits is None:
            return
        now = self.clock()
        windows: list[_Window] = []
        if limits.per_chat_per_second:
            window = limits.chats.get(chat.id)
            if window is None:
                window = limits.chats[chat.id] = _Window(limits.per_chat_per_second, 1.0)
            windows.append(window)
        if chat.type != "private" and limits.per_group_per_minute:
            window = limits.groups.get(chat.id)
            if window is None:
                window = limits.groups[chat.id] = _Window(limits.per_group_per_minute, 60.0)
            windows.append(window)
        if limits.overall is not None:
            windows.append(limits.overall)
        waits = [w for w in (window.wait_time(now) for window in windows) if w is not None]
        if waits:
            retry_after = max(1, math.ceil(max(waits)))
            raise _ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        for window in windows:
            window.record(now)

    def _record(
        self,
        bot: JSON,
        chat: _Chat,
        params: _Params,
        method: str,
        *,
        text: str,
        plain: str,
        entities: list[JSON],
        markup: JSON | None,
        reply_to: JSON | None,
        media: JSON,
    ) -> JSON:
        message_id = chat.new_message_id()
        date = int(time.time())
        parse_mode = params.get_str("parse_mode")
        raw: JSON = {"message_id": message_id, "from": bot, "chat": chat.info, "date": date}
        if reply_to is not None:
            raw["reply_to_message"] = reply_to
        raw.update(media)
        is_media = bool(media)
        if plain:
            raw["caption" if is_media else "text"] = plain
            if entities:
                raw["caption_entities" if is_media else "entities"] = entities
        preview = params.get_json("link_preview_options")
        if isinstance(preview, dict) and not is_media:
            raw["link_preview_options"] = preview
        if markup is not None and "inline_keyboard" in markup:
            raw["reply_markup"] = markup
        sent = SentMessage(
            message_id=message_id,
            chat_id=chat.id,
            method=method,
            text=text,
            plain_text=plain,
            parse_mode=parse_mode,
            entities=entities,
            reply_markup=markup,
            date=date,
            timestamp=self.clock(),
            raw=raw,
            params=params.logged(),
            reply_to_message_id=reply_to["message_id"] if reply_to is not None else None,
            document=media.get("document"),
            photo=media.get("photo"),
            video=media.get("video"),
            disable_notification=params.get_bool("disable_notification"),
            link_preview_options=preview if isinstance(preview, dict) else None,
        )
        chat.messages[message_id] = raw
        chat.sent.append(sent)
        chat.sent_by_id[message_id] = sent
        self.stats.sent += 1
        self._notify_changed()
        return dict(raw)

    # --- methods: bot and updates -------------------------------------------------------------

    async def _get_me(self, bot: JSON, params: _Params) -> Any:
        return {
            **bot,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _confirm(self, offset: int | None) -> None:
        if offset is None:
            return
        confirmed = False
        if offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()
                confirmed = True
        else:
            while self._updates and self._updates[0][0] < offset:
                self._updates.popleft()
                confirmed = True
        if confirmed:
            self._touch()

    async def _get_updates(self, bot: JSON, params: _Params) -> Any:
        if self._webhook is not None:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get_int("offset")
        limit = min(100, max(1, params.get_int("limit") or 100))
        timeout = max(0, params.get_int("timeout") or 0)
        allowed = params.get_json("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(str(a) for a in allowed) if allowed else None
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify_updates()  # an older waiting getUpdates ends with a conflict
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._updates and not self._stopping.is_set():
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            event = self._updates_event
            self._in_flight -= 1
            self._long_polls += 1
            self._notify_changed()
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), remaining)
            finally:
                self._in_flight += 1
                self._long_polls -= 1
            if generation != self._poll_generation:
                raise _ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            if self._webhook is not None:
                raise _ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
        updates = [update for _, update in itertools.islice(self._updates, limit)]
        if updates:
            self._touch()
        return updates

    async def _set_webhook(self, bot: JSON, params: _Params) -> Any:
        url = params.get_str("url")
        if not url:
            return await self._delete_webhook(bot, params)
        if not re.match(r"^https?://", url, re.IGNORECASE):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get_str("secret_token")
        if secret is not None and not _SECRET_RE.match(secret):
            raise _bad_request("secret token contains unallowed characters")
        allowed = params.get_json("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(str(a) for a in allowed) if allowed else None
        if params.get_bool("drop_pending_updates"):
            self._updates.clear()
        self._webhook = _Webhook(
            url=url,
            secret_token=secret,
            max_connections=params.get_int("max_connections") or 40,
            allowed_updates=list(allowed) if isinstance(allowed, list) else None,
        )
        self._notify_updates()  # a waiting getUpdates ends with a conflict
        await self._stop_webhook_worker()
        self._start_webhook_worker()
        return _Described(True, "Webhook was set")

    async def _delete_webhook(self, bot: JSON, params: _Params) -> Any:
        had = self._webhook is not None
        self._webhook = None
        await self._stop_webhook_worker()
        if params.get_bool("drop_pending_updates"):
            self._updates.clear()
        return _Described(True, "Webhook was deleted" if had else "Webhook is already deleted")

    async def _get_webhook_info(self, bot: JSON, params: _Params) -> Any:
        hook = self._webhook
        info: JSON = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            if hook.allowed_updates is not None:
                info["allowed_updates"] = hook.allowed_updates
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info

    # --- methods: messages --------------------------------------------------------------------

    async def _send_message(self, bot: JSON, params: _Params) -> Any:
        text = params.get_str("text")
        chat = self._chat_for_bot(params)
        if not text or not text.strip():
            raise _bad_request("message text is empty")
        plain, entities = self._format(
            text, params.get_str("parse_mode"), params.get_json("entities"), limit=TEXT_LIMIT, what="text"
        )
        markup = self._markup(params)
        reply_to = self._reply_to(chat, params)
        self._check_rate(chat)
        return self._record(
            bot, chat, params, "sendMessage",
            text=text, plain=plain, entities=entities, markup=markup, reply_to=reply_to, media={},
        )  # fmt: skip

    async def _send_document(self, bot: JSON, params: _Params) -> Any:
        return await self._send_media(bot, params, "document", "sendDocument")

    async def _send_photo(self, bot: JSON, params: _Params) -> Any:
        return await self._send_media(bot, params, "photo", "sendPhoto")

    async def _send_video(self, bot: JSON, params: _Params) -> Any:
        return await self._send_media(bot, params, "video", "sendVideo")

    async def _send_media(self, bot: JSON, params: _Params, kind: str, method: str) -> Any:
        chat = self._chat_for_bot(params)
        source = params.get_file(kind)
        if source is None:
            raise _bad_request(f"there is no {kind} in the request")
        if isinstance(source, _Upload):
            if not source.content:
                raise _bad_request("file must be non-empty")
            if len(source.content) > UPLOAD_LIMIT:
                raise _ApiError(413, "Request Entity Too Large")
            stored: StoredFile | None = None
        elif re.match(r"^https?://", source, re.IGNORECASE):
            raise _bad_request("failed to get HTTP URL content")
        else:
            stored = self._files.get(source)
            if stored is None:
                raise _bad_request("wrong file identifier/HTTP URL specified")
            if stored.kind != kind:
                raise _bad_request(f"can't use file of type {stored.kind.title()} as {kind.title()}")
        caption = params.get_str("caption") or ""
        plain: str = ""
        entities: list[JSON] = []
        if caption:
            plain, entities = self._format(
                caption, params.get_str("parse_mode"), params.get_json("caption_entities"),
                limit=CAPTION_LIMIT, what="caption",
            )  # fmt: skip
        markup = self._markup(params)
        reply_to = self._reply_to(chat, params)
        self._check_rate(chat)
        if isinstance(source, _Upload):
            mime = (
                "image/jpeg"
                if kind == "photo"
                else mimetypes.guess_type(source.filename)[0]
                or source.content_type
                or "application/octet-stream"
            )
            name = source.filename if kind in ("document", "video") else None
            stored = self._new_file(kind, len(source.content), name, mime, source.content)
        assert stored is not None
        media: JSON
        if kind == "document":
            media = {"document": self._document_json(stored)}
        elif kind == "video":
            media = {"video": self._video_json(stored)}
        else:
            media = {"photo": [self._photo_size_json(stored, 1280, 960)]}
        return self._record(
            bot, chat, params, method,
            text=caption, plain=plain, entities=entities, markup=markup, reply_to=reply_to, media=media,
        )  # fmt: skip

    def _bot_message_to_edit(self, params: _Params) -> tuple[_Chat, SentMessage]:
        if params.raw("inline_message_id") is not None:
            raise _bad_request("MESSAGE_ID_INVALID")
        chat = self._chat_for_bot(params)
        message_id = params.get_int("message_id")
        if message_id is None:
            raise _bad_request("message identifier is not specified")
        if message_id not in chat.messages:
            raise _bad_request("message to edit not found")
        sent = chat.sent_by_id.get(message_id)
        if sent is None:
            raise _bad_request("message can't be edited")
        return chat, sent

    def _apply_edit(
        self, chat: _Chat, sent: SentMessage, *, text: str, plain: str, entities: list[JSON],
        parse_mode: str | None, markup: JSON | None, caption: bool,
    ) -> JSON:  # fmt: skip
        sent.history.append(
            MessageVersion(
                sent.text, sent.plain_text, sent.parse_mode, sent.entities, sent.reply_markup, sent.timestamp
            )  # fmt: skip
        )
        sent.text, sent.plain_text, sent.entities = text, plain, entities
        sent.parse_mode, sent.reply_markup, sent.timestamp = parse_mode, markup, self.clock()
        raw = {k: v for k, v in sent.raw.items() if k not in ("reply_markup", "edit_date")}
        text_key, entities_key = ("caption", "caption_entities") if caption else ("text", "entities")
        raw.pop(entities_key, None)
        raw.pop(text_key, None)
        if plain:
            raw[text_key] = plain
        if entities:
            raw[entities_key] = entities
        if markup is not None:
            raw["reply_markup"] = markup
        raw["edit_date"] = int(time.time())
        sent.raw = raw
        chat.messages[sent.message_id] = raw
        self.stats.edited += 1
        self._notify_changed()
        return dict(raw)

    async def _edit_message_text(self, bot: JSON, params: _Params) -> Any:
        chat, sent = self._bot_message_to_edit(params)
        if "text" not in sent.raw:
            raise _bad_request("there is no text in the message to edit")
        text = params.get_str("text")
        if not text or not text.strip():
            raise _bad_request("message text is empty")
        parse_mode = params.get_str("parse_mode")
        plain, entities = self._format(
            text, parse_mode, params.get_json("entities"), limit=TEXT_LIMIT, what="text"
        )
        markup = self._markup(params)
        if markup is not None and "inline_keyboard" not in markup:
            raise _bad_request("inline keyboard expected")
        if plain == sent.plain_text and entities == sent.entities and markup == sent.raw.get("reply_markup"):
            raise _bad_request(_NOT_MODIFIED.removeprefix("Bad Request: "))
        return self._apply_edit(
            chat, sent, text=text, plain=plain, entities=entities, parse_mode=parse_mode, markup=markup,
            caption=False,
        )  # fmt: skip

    async def _edit_message_caption(self, bot: JSON, params: _Params) -> Any:
        chat, sent = self._bot_message_to_edit(params)
        if sent.document is None and sent.photo is None:
            raise _bad_request("there is no caption in the message to edit")
        caption = params.get_str("caption") or ""
        parse_mode = params.get_str("parse_mode")
        plain: str = ""
        entities: list[JSON] = []
        if caption:
            plain, entities = self._format(
                caption, parse_mode, params.get_json("caption_entities"), limit=CAPTION_LIMIT, what="caption"
            )
        markup = self._markup(params)
        if plain == sent.plain_text and entities == sent.entities and markup == sent.raw.get("reply_markup"):
            raise _bad_request(_NOT_MODIFIED.removeprefix("Bad Request: "))
        return self._apply_edit(
            chat, sent, text=caption, plain=plain, entities=entities, parse_mode=parse_mode, markup=markup,
            caption=True,
        )  # fmt: skip

    async def _edit_message_reply_markup(self, bot: JSON, params: _Params) -> Any:
        chat, sent = self._bot_message_to_edit(params)
        markup = self._markup(params)
        if markup is not None and "inline_keyboard" not in markup:
            raise _bad_request("inline keyboard expected")
        if markup == sent.raw.get("reply_markup"):
            raise _bad_request(_NOT_MODIFIED.removeprefix("Bad Request: "))
        caption = sent.document is not None or sent.photo is not None
        return self._apply_edit(
            chat, sent, text=sent.text, plain=sent.plain_text, entities=sent.entities,
            parse_mode=sent.parse_mode, markup=markup, caption=caption,
        )  # fmt: skip

    async def _delete_message(self, bot: JSON, params: _Params) -> Any:
        chat = self._chat_for_bot(params, check_access=False)
        message_id = params.get_int("message_id")
        if message_id is None:
            raise _bad_request("message identifier is not specified")
        if chat.messages.pop(message_id, None) is None:
            raise _bad_request("message to delete not found")
        sent = chat.sent_by_id.get(message_id)
        if sent is not None:
            sent.deleted = True
        self.stats.deleted += 1
        self._notify_changed()
        return True

    async def _send_chat_action(self, bot: JSON, params: _Params) -> Any:
        self._chat_for_bot(params)
        action = params.get_str("action")
        if action not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    async def _answer_callback_query(self, bot: JSON, params: _Params) -> Any:
        query_id = params.get_str("callback_query_id")
        if not query_id or query_id not in self._callbacks or query_id in self.callback_answers:
            raise _bad_request("query is too old and response timeout expired or query ID is invalid")
        text = params.get_str("text")
        if text is not None and len(text) > CALLBACK_ANSWER_LIMIT:
            raise _bad_request("MESSAGE_TOO_LONG")
        self.callback_answers[query_id] = CallbackAnswer(
            callback_query_id=query_id,
            text=text,
            show_alert=params.get_bool("show_alert"),
            url=params.get_str("url"),
            cache_time=params.get_int("cache_time"),
        )
        self._notify_changed()
        return True

    # --- methods: files -----------------------------------------------------------------------

    async def _get_file(self, bot: JSON, params: _Params) -> Any:
        file_id = params.get_str("file_id")
        stored = self._files.get(file_id or "")
        if stored is None:
            raise _bad_request("invalid file_id")
        if stored.size > DOWNLOAD_LIMIT:
            raise _bad_request("file is too big")
        if stored.file_path is None:
            folder = {"document": "documents", "photo": "photos", "sticker": "stickers"}.get(
                stored.kind, "files"
            )
            extension = ""
            if stored.file_name and "." in stored.file_name:
                extension = "." + stored.file_name.rsplit(".", 1)[1]
            elif stored.mime_type:
                extension = mimetypes.guess_extension(stored.mime_type) or ""
            stored.file_path = f"{folder}/file_{stored.file_unique_id}{extension}"
            self._file_paths[stored.file_path] = stored
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }

    # --- methods: commands --------------------------------------------------------------------

    @staticmethod
    def _scope_dict(scope: Any) -> JSON | None:
        if scope is None:
            return None
        if isinstance(scope, Mapping):
            return dict(scope)
        dump = getattr(scope, "model_dump", None)
        if callable(dump):
            dumped = dump(mode="json", exclude_none=True)
            if isinstance(dumped, dict):
                return dumped
        raise EmulatorError(f"a command scope is a dict or an aiogram BotCommandScope, not {scope!r}")

    def _scope_key(
        self, scope: JSON | None, *, check_chat: bool = True
    ) -> tuple[str, int | None, int | None]:
        if scope is None:
            return ("default", None, None)
        kind = str(scope.get("type", ""))
        if kind not in _SCOPE_TYPES:
            raise _bad_request("can't parse BotCommandScope: unsupported scope type")
        if kind not in ("chat", "chat_administrators", "chat_member"):
            return (kind, None, None)
        try:
            chat_id = int(scope["chat_id"])
        except (KeyError, TypeError, ValueError):
            raise _bad_request("chat not found") from None
        if check_chat and chat_id not in self._chats:
            raise _bad_request("chat not found")
        user_id = None
        if kind == "chat_member":
            try:
                user_id = int(scope["user_id"])
            except (KeyError, TypeError, ValueError):
                raise _bad_request("user not found") from None
        return (kind, chat_id, user_id)

    def _commands_key(self, params: _Params) -> tuple[tuple[str, int | None, int | None], str]:
        scope = params.get_json("scope")
        if scope is not None and not isinstance(scope, dict):
            raise _bad_request("can't parse BotCommandScope JSON object")
        language = params.get_str("language_code") or ""
        if not _LANGUAGE_RE.match(language):
            raise _bad_request("invalid language code specified")
        return (self._scope_key(scope), language)

    async def _set_my_commands(self, bot: JSON, params: _Params) -> Any:
        key = self._commands_key(params)
        commands = params.get_json("commands")
        if not isinstance(commands, list):
            raise _bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad_request("too many commands specified")
        stored: list[JSON] = []
        for command in commands:
            if not isinstance(command, dict):
                raise _bad_request("can't parse BotCommand JSON object")
            name = str(command.get("command", "")).removeprefix("/")
            description = str(command.get("description", "")).strip()
            if not _COMMAND_RE.match(name):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not description or len(description) > 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            stored.append({"command": name, "description": description})
        if stored:
            self._commands[key] = stored
        else:
            self._commands.pop(key, None)
        self._notify_changed()
        return True

    async def _delete_my_commands(self, bot: JSON, params: _Params) -> Any:
        self._commands.pop(self._commands_key(params), None)
        self._notify_changed()
        return True

    async def _get_my_commands(self, bot: JSON, params: _Params) -> Any:
        return [dict(c) for c in self._commands.get(self._commands_key(params), [])]

    # --- webhook delivery ---------------------------------------------------------------------

    def _start_webhook_worker(self) -> None:
        if self._runner is None or self._webhook is None:
            return
        if self._webhook_task is not None and not self._webhook_task.done():
            return  # the running worker reads the new webhook settings on its next round
        self._webhook_task = asyncio.get_running_loop().create_task(self._webhook_loop())

    async def _stop_webhook_worker(self) -> None:
        task = self._webhook_task
        if task is None or task is asyncio.current_task():
            return  # called from a method in a webhook answer: the worker ends or goes on by itself
        self._webhook_task = None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self._delivering = False

    async def _webhook_loop(self) -> None:
        while self._webhook is not None:
            if not self._updates:
                event = self._updates_event
                await event.wait()
                continue
            hook = self._webhook
            update_id, update = self._updates[0]
            delivered = False
            self._delivering = True
            try:
                for attempt in range(max(1, self.webhook_retries)):
                    delivered = await self._deliver(hook, update_id, update)
                    if delivered:
                        break
                    await asyncio.sleep(self.webhook_retry_delay * (attempt + 1))
            finally:
                self._delivering = False
            if delivered:
                if self._updates and self._updates[0][0] == update_id:
                    self._updates.popleft()
                self._touch()
            else:
                # Telegram keeps the update and tries again later.
                await asyncio.sleep(self.webhook_backoff)

    async def _deliver(self, hook: _Webhook, update_id: int, update: JSON) -> bool:
        session = self._webhook_session
        if session is None:
            return False
        headers = {"X-Telegram-Bot-Api-Secret-Token": hook.secret_token} if hook.secret_token else {}
        status: int | None = None
        error: str | None = None
        try:
            async with session.post(
                hook.url, json=update, headers=headers, timeout=ClientTimeout(total=self.webhook_timeout)
            ) as response:
                status = response.status
                if 200 <= status < 300:
                    await self._webhook_reply(response)
                else:
                    error = f"Wrong response from the webhook: {status} {response.reason}"
                    await response.read()
        except (ClientError, TimeoutError) as exc:
            error = f"Connection failed: {type(exc).__name__}: {exc}"
        self.webhook_deliveries.append(WebhookDelivery(update_id, hook.url, status, error, self.clock()))
        self._touch()
        if error is not None:
            hook.last_error_date = int(time.time())
            hook.last_error_message = error
            return False
        return True

    async def _webhook_reply(self, response: Any) -> None:
        """Run a method the webhook answered with in its response body (Telegram supports that)."""
        content_type = str(response.content_type)
        values: JSON = {}
        uploads: dict[str, _Upload] = {}
        if content_type == "application/json":
            with contextlib.suppress(ValueError):
                body = await response.json(content_type=None)
                if isinstance(body, dict):
                    values = body
        elif content_type == "multipart/form-data":
            reader = MultipartReader.from_response(response)
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                data = await part.read(decode=True)
                if part.filename:
                    uploads[str(part.name)] = _Upload(
                        part.filename, bytes(data), part.headers.get("Content-Type")
                    )
                else:
                    values[str(part.name)] = bytes(data).decode("utf-8", "replace")
        else:
            await response.read()
        method = values.pop("method", None)
        if isinstance(method, str) and method:
            await self._call(self.token, method, _Params(values, uploads))
