"""Whole numbers people type (an item number, a question number), read strictly.

Only ASCII digits count: ``"²".isdigit()`` and ``"٣".isdigit()`` are true, yet ``int()``
fails on the first and silently reads the second, so neither is allowed. A number must also
fit a 32-bit database column, so every number read here is bounded.
"""

from __future__ import annotations

import re

#: The largest value a signed 32-bit integer column holds.
MAX_INT32 = 2**31 - 1
#: No case has more checklist items or questions than this; larger numbers are typing mistakes.
DEFAULT_LIMIT = 1_000_000

# Leading zeros are forgiven but not counted, so "0000000000007" is 7 and cannot overflow int().
_COUNT = re.compile(r"\s*#?[Qq]?0*([0-9]{1,10})\s*")


def parse_count(text: str | int, *, limit: int = DEFAULT_LIMIT) -> int | None:
    """A positive whole number of at most ``limit`` (and never past a 32-bit column), or None.

    Text may carry surrounding spaces, a leading ``#`` and a ``Q`` (question numbers:
    ``Q3``, ``#q3``). Anything else is None: signs, decimals, non-ASCII digits, zero.
    """
    bound = min(limit, MAX_INT32)
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return text if 0 < text <= bound else None
    match = _COUNT.fullmatch(text)
    if match is None:
        return None
    number = int(match.group(1))
    return number if 0 < number <= bound else None
