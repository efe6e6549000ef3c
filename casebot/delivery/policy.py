"""What each answer of Telegram, or failure of the network, means for the outbox row being sent.

- 429: wait what Telegram said, then send the row again; not an attempt.
- 400 with a new chat id: the group became a supergroup; follow it.
- 401: the bot token was revoked or replaced; nothing can be sent until it works again, and no
  row is to blame.
- 403: the recipient blocked the bot or is gone; their rows die.
- 400 and other refusals (404, 409, 413): sending this row again will not help; it dies.
- 5xx, network failures, timeouts: Telegram or the network is in trouble, the row is fine; retry.
- a 200 "ok" whose result aiogram cannot read (a Bot API newer than the client): the message is
  in the chat, so sending it again would repeat it; it counts as sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiohttp import ClientError

SEND_ERRORS: tuple[type[BaseException], ...] = (
    TelegramAPIError,
    ClientDecodeError,
    ClientError,
    TimeoutError,
    OSError,
)
"""What a send may raise that says something about Telegram or the network (anything else is a bug)."""


@dataclass(frozen=True, slots=True)
class Accepted:
    """Telegram took the message; only its answer was unreadable."""

    message_id: int | None


@dataclass(frozen=True, slots=True)
class RateLimited:
    """429: send nothing for ``retry_after`` seconds."""

    retry_after: float


@dataclass(frozen=True, slots=True)
class Migrated:
    """The group became a supergroup with this chat id."""

    chat_id: int


@dataclass(frozen=True, slots=True)
class TokenRefused:
    """401: the bot token does not work (revoked at @BotFather, or replaced)."""


@dataclass(frozen=True, slots=True)
class Unreachable:
    """403: the recipient blocked the bot, or the account or chat is gone."""

    description: str


@dataclass(frozen=True, slots=True)
class Refused:
    """Telegram will not take this message, however often it is sent."""

    description: str


@dataclass(frozen=True, slots=True)
class Transient:
    """Telegram or the network failed; the message itself is fine."""

    description: str


Verdict = Accepted | RateLimited | Migrated | TokenRefused | Unreachable | Refused | Transient


def judge(error: BaseException, *, token: str | None = None) -> Verdict:
    """What ``error``, raised by a send, means for its row."""
    if isinstance(error, TelegramRetryAfter):
        return RateLimited(error.retry_after)
    if isinstance(error, TelegramMigrateToChat):
        return Migrated(error.migrate_to_chat_id)
    if isinstance(error, TelegramUnauthorizedError):
        return TokenRefused()
    if isinstance(error, TelegramForbiddenError):
        return Unreachable(describe(error, token=token))
    if isinstance(error, ClientDecodeError):
        accepted = _accepted(error.data)
        if accepted is not None:
            return accepted
        return Transient(describe(error, token=token))
    if isinstance(error, TelegramServerError | TelegramNetworkError) and not isinstance(
        error, TelegramEntityTooLarge
    ):
        return Transient(describe(error, token=token))
    if isinstance(error, TelegramAPIError):
        return Refused(describe(error, token=token))
    return Transient(describe(error, token=token))


def describe(error: BaseException, *, token: str | None = None) -> str:
    """The error for the row's ``last_error``: its class and Telegram's words, never the token.

    An answer aiogram could not decode is not quoted: it may hold the message and the
    recipient's name.
    """
    if isinstance(error, ClientDecodeError):
        detail = f"{error.message} ({type(error.original).__name__})"
    elif isinstance(error, TelegramAPIError):
        detail = error.message
    else:
        detail = str(error)
    text = f"{type(error).__name__}: {detail}" if detail else type(error).__name__
    if token:
        text = text.replace(token, "<token>")
    return text[:300]


def _accepted(data: Any) -> Accepted | None:
    """An answer that says ok (whatever its result looks like) means the message was sent."""
    if not isinstance(data, dict) or data.get("ok") is not True:
        return None
    result = data.get("result")
    message_id = result.get("message_id") if isinstance(result, dict) else None
    return Accepted(message_id if isinstance(message_id, int) and not isinstance(message_id, bool) else None)
