"""The one error root of casebot: every message is written for the person who caused it."""

from __future__ import annotations

from typing import Any, NamedTuple


class ItemRef(NamedTuple):
    """A checklist item named in an error: its number, and its code or its own title."""

    position: int
    code: str | None
    title: str


_RESERVED_FIELDS = frozenset({"args", "key", "message", "template"})


class CasebotError(Exception):
    """A failure a coordinator or family member can read and act on.

    ``message`` is plain English text safe to show the person who made the request (the CLI
    prints it; logs never do); it never contains another family's data. ``template`` names
    templates/<locale>/errors/<template>.j2, which says the same in the person's language: a
    class that always says one thing sets it on the class; a generic one is given it as ``key``,
    with the values its sentence needs as keyword ``fields`` (kept on the error, so
    :meth:`context` hands them to the template).
    """

    #: A template under templates/<locale>/errors/ that says the same in the person's language.
    template: str | None = None

    def __init__(self, message: str, *, key: str | None = None, **fields: object) -> None:
        super().__init__(message)
        self.message = message
        if key is not None:
            self.template = key
        reserved = _RESERVED_FIELDS.intersection(fields)
        if reserved:
            raise TypeError(f"an error's fields cannot be named {sorted(reserved)}")
        for name, value in fields.items():
            setattr(self, name, value)

    def context(self) -> dict[str, Any]:
        """What the error's template may show: the error's own fields."""
        return {key: value for key, value in vars(self).items() if key != "template"}


class CaseNotFound(CasebotError):
    """No case with that reference, or none this person may see (the two are deliberately the same)."""

    template = "case_not_found"

    def __init__(self, reference: str) -> None:
        super().__init__(f"There is no case {reference}.")
        self.reference = reference


class InvalidReference(CasebotError):
    """A case reference that is not of the form C-0042 (``reference``: what was typed, cut short)."""

    template = "invalid_reference"

    def __init__(self, reference: str) -> None:
        super().__init__(f"“{reference[:20]}” is not a case reference. A reference looks like C-0042.")
        self.reference = reference[:20]


class TransitionNotAllowed(CasebotError):
    """The case cannot move from its state to the one asked for."""

    template = "transition_not_allowed"

    def __init__(self, state: str, target: str, allowed: tuple[str, ...]) -> None:
        allowed_text = ", ".join(allowed) if allowed else "none (the case is finished)"
        super().__init__(f"A case in {state} cannot move to {target}. Allowed next states: {allowed_text}.")
        self.state = state
        self.target = target
        self.allowed = allowed


class UnknownState(CasebotError):
    """A word that names no state of a case (``word``: what was typed, cut short)."""

    template = "unknown_state"

    def __init__(self, word: str, allowed: tuple[str, ...]) -> None:
        allowed_text = ", ".join(allowed) if allowed else "none (the case is finished)"
        super().__init__(f"“{word[:30]}” is not a state. Allowed next states: {allowed_text}.")
        self.word = word[:30]
        self.allowed = allowed


class OverrideRequired(CasebotError):
    """A move with red flags open or records missing needs an explicit reason, which is kept."""

    template = "override_required"

    def __init__(self, target: str, red_flags: tuple[str, ...], missing_items: tuple[ItemRef, ...]) -> None:
        parts = []
        if red_flags:
            parts.append("red flags open: " + "; ".join(flag.replace("_", " ") for flag in red_flags))
        if missing_items:
            parts.append("records missing: " + "; ".join(str(item.position) for item in missing_items))
        super().__init__(
            f"The case is not ready to move to {target} (" + " — ".join(parts) + "). "
            "To go ahead anyway, give the reason for the override."
        )
        self.target = target
        self.red_flags = red_flags
        self.missing_items = missing_items


class StateConflict(CasebotError):
    """Someone else changed the case first; nothing was changed by this request.

    ``expected`` and ``actual`` are states as stored; the template names them in words.
    """

    template = "state_conflict"

    def __init__(self, reference: str, expected: str, actual: str) -> None:
        now, then = actual.replace("_", " "), expected.replace("_", " ")
        super().__init__(
            f"{reference} was changed by someone else just now: it is now {now}, not {then}. "
            "Nothing was changed; look at the case again and retry if still needed."
        )
        self.reference = reference
        self.expected = expected
        self.actual = actual


class CaseClosed(CasebotError):
    """A finished (closed or withdrawn) case is read-only."""

    template = "case_closed"

    def __init__(self, reference: str, state: str) -> None:
        super().__init__(f"{reference} is {state} and can no longer be changed.")
        self.reference = reference
        self.state = state


class ItemNotFound(CasebotError):
    """A checklist item number that the case does not have (``item``: what was typed, cut short)."""

    template = "item_not_found"

    def __init__(self, reference: str, item: str, count: int) -> None:
        super().__init__(f"{reference} has no checklist item “{item[:20]}”. Items are numbered 1 to {count}.")
        self.reference = reference
        self.item = item[:20]
        self.count = count


class QuestionNotFound(CasebotError):
    """A question number that the case does not have (``question``: what was typed, cut short)."""

    template = "question_not_found"

    def __init__(self, reference: str, question: str) -> None:
        super().__init__(f"{reference} has no question “{question[:20]}”.")
        self.reference = reference
        self.question = question[:20]


class QuestionAlreadyAnswered(CasebotError):
    """An answer to a question that already has one."""

    template = "question_already_answered"

    def __init__(self, reference: str, number: int) -> None:
        super().__init__(f"Question {number} of {reference} is already answered.")
        self.reference = reference
        self.number = number


class InvalidText(CasebotError):
    """Text that is empty or longer than the bot can keep and show; ``key`` names the template."""

    def __init__(self, message: str, *, key: str, **fields: object) -> None:
        super().__init__(message, key=key, **fields)


class ReasonRequired(CasebotError):
    """A move that is only allowed with a stated reason (going back, withdrawing) was given none."""

    template = "reason_required"

    def __init__(self, source: str, target: str) -> None:
        super().__init__(f"Moving a case from {source} to {target} needs a reason; please add one.")
        self.source = source
        self.target = target


#: Why an invite is refused, in English; each reason has the template ``invite_<reason>``.
INVITE_MESSAGES = {
    "unknown": "This invite link is not valid. Please ask your coordinator for a new one.",
    "used": "This invite link was already used. Please ask your coordinator for a new one.",
    "expired": "This invite link has expired. Please ask your coordinator for a new one.",
}


class InviteInvalid(CasebotError):
    """An invite token that is unknown, already used or expired (``reason``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(INVITE_MESSAGES[reason], key=f"invite_{reason}")
        self.reason = reason


class NotAllowed(CasebotError):
    """The person may not do this; nothing was changed. ``key`` names the template."""

    def __init__(self, message: str, *, key: str, **fields: object) -> None:
        super().__init__(message, key=key, **fields)


class CaseAlreadyErased(CasebotError):
    """The case's personal data was erased before (a doubled request, a stale button): nothing was
    done again. ``key`` names the template; ``reference`` is the case."""

    def __init__(self, message: str, *, key: str, **fields: object) -> None:
        super().__init__(message, key=key, **fields)


class InvalidInput(CasebotError):
    """Any other malformed value from a person (a time zone, a date, a duration).

    ``key`` names the template; what the person typed is kept cut short, as in ``message``.
    """

    def __init__(self, message: str, *, key: str, **fields: object) -> None:
        super().__init__(message, key=key, **fields)


class Unavailable(Exception):
    """A dependency of casebot (its database) failed; the request may be tried again.

    Raised in place of the driver's own error so that no log line carries what the driver
    quoted (SQL values, file paths); the traceback is logged by the error root.
    """
