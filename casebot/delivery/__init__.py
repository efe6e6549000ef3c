"""Delivery: the outbox sender that turns queued notices into Telegram messages.

The composition root gives the sender a ``compose`` function (row → :class:`Outgoing`), and
optionally a send-time ``check`` and an ``on_blocked`` hook; delivery itself knows nothing of
templates, keyboards or business rules.
"""

from casebot.delivery.hooks import Compose, OnBlocked, Outgoing, OutgoingFile, SendCheck
from casebot.delivery.limiter import SendLimits
from casebot.delivery.sender import OutboxSender, SenderStats

__all__ = [
    "Compose",
    "OnBlocked",
    "OutboxSender",
    "Outgoing",
    "OutgoingFile",
    "SendCheck",
    "SendLimits",
    "SenderStats",
]
