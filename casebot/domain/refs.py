"""Short human case references such as C-0042, derived from the case number."""

from __future__ import annotations

import re

from casebot.domain.numbers import MAX_INT32
from casebot.errors import InvalidReference

# ASCII digits only (``\d`` would also match Arabic-Indic and other digits), and no more than
# a 32-bit column holds; leading zeros are forgiven and not counted.
_REF = re.compile(r"\s*#?[Cc]-?0*([0-9]{1,10})\s*")


def format_ref(case_id: int) -> str:
    """The reference people see and type: C-0042."""
    return f"C-{case_id:04d}"


def parse_ref(text: str) -> int:
    """The case number in a reference; forgiving of case, a missing dash and leading zeros."""
    match = _REF.fullmatch(text)
    number = int(match.group(1)) if match is not None else 0
    if not 0 < number <= MAX_INT32:
        raise InvalidReference(text)
    return number


def case_and_text(text: str, case_ids: list[int]) -> tuple[int | None, str]:
    """A family member's "[C-0002] words": the case they named first, else their only case, and the
    words; the case is None when they have several cases and named none (they are asked which)."""
    first, _, rest = text.partition(" ")
    try:
        named: int | None = parse_ref(first)
    except InvalidReference:
        named = None
    if named is not None and rest.strip():
        return named, rest
    return (case_ids[0] if len(case_ids) == 1 else None), text
