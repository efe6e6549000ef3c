"""Delivery: the outbox sender that turns queued notices into Telegram messages.

The composition root gives the sender a ``compose`` function (row → :class:`Outgoing`), and
optionally a send-time ``check`` and ``on_blocked`` and ``on_dead`` hooks; delivery itself knows nothing of
templates, keyboards or business rules.
"""

from casebot.delivery.hooks import Compose, OnBlocked, OnDead, Outgoing, OutgoingFile, SendCheck
from casebot.delivery.limiter import SendLimits
from casebot.delivery.sender import OutboxSender, SenderStats

__all__ = [
    "Compose",
    "OnBlocked",
    "OnDead",
    "OutboxSender",
    "Outgoing",
    "OutgoingFile",
    "SendCheck",
    "SendLimits",
    "SenderStats",
]
