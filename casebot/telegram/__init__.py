"""The Telegram layer: routers per audience, the context middleware, buttons and command menus."""
