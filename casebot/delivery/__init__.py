"""Delivery: the outbox sender that turns queued notices into Telegram messages."""
