"""Test support shipped with casebot: the local Telegram Bot API emulator for tests, benchmarks and the demo."""

from casebot.testing.emulator import (
    DOWNLOAD_LIMIT,
    TEXT_LIMIT,
    ApiCall,
    BotAPIEmulator,
    ButtonNotFoundError,
    CallbackAnswer,
    EmulatedGroup,
    EmulatedUser,
    EmulatorError,
    EmulatorStats,
    MessageVersion,
    SentMessage,
    StoredFile,
    WebhookDelivery,
)

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
