"""When an open case counts as stale: no activity for this long and the coordinator hears of it."""

from __future__ import annotations

from datetime import timedelta

STALE_AFTER = timedelta(days=14)
