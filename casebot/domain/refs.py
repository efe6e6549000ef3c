"""Short human case references such as C-0042, derived from the case number."""

from __future__ import annotations

import re

from casebot.errors import InvalidReference

_REF = re.compile(r"^\s*#?C-?0*(\d{1,9})\s*$", re.IGNORECASE)


def format_ref(case_id: int) -> str:
    """The reference people see and type: C-0042."""
    return f"C-{case_id:04d}"


def parse_ref(text: str) -> int:
    """The case number in a reference; forgiving of case, a missing dash and leading zeros."""
    match = _REF.match(text)
    if match is None or int(match.group(1)) == 0:
        raise InvalidReference(text)
    return int(match.group(1))
