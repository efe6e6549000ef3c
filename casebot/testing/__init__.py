"""Test support shipped with casebot: the local Telegram Bot API emulator for tests, benchmarks and the demo."""

# The emulator's public names are listed once, in its own __all__.
from casebot.testing.emulator import *  # noqa: F403
from casebot.testing.emulator import __all__ as __all__
