"""The webhook application: aiohttp receives Telegram's updates and checks the secret token."""

from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

WEBHOOK_BODY_LIMIT = 256 * 1024
"""The largest update body accepted, in bytes (a bigger one gets 413 before it is read). Telegram's
updates are a few kilobytes: a message is at most 4,096 characters, files come as ids."""


def webhook_app(
    dispatcher: Dispatcher, bot: Bot, *, path: str, secret: str, public_url: str
) -> web.Application:
    """An aiohttp app that hands updates at ``path`` to the dispatcher and registers the webhook
    at startup. Requests without the right X-Telegram-Bot-Api-Secret-Token are refused."""

    async def register(bot: Bot) -> None:
        await bot.set_webhook(public_url.rstrip("/") + path, secret_token=secret)

    dispatcher.startup.register(register)
    app = web.Application(client_max_size=WEBHOOK_BODY_LIMIT)
    # handle_in_background=False: Telegram gets 200 only after the handler finished, so an
    # update whose handler failed is delivered again instead of being lost (aiogram issue 1397).
    SimpleRequestHandler(dispatcher, bot, handle_in_background=False, secret_token=secret).register(
        app, path=path
    )
    setup_application(app, dispatcher, bot=bot)
    return app
