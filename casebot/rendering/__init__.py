"""Every text the bot sends: jinja2 templates per locale, Telegram HTML, and splitting long messages."""

from casebot.rendering.renderer import Renderer, split_message

__all__ = ["Renderer", "split_message"]
