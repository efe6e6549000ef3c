"""The one error root of casebot: every message is written for the person who caused it."""

from __future__ import annotations


class CasebotError(Exception):
    """A failure a coordinator or family member can read and act on.

    ``message`` is plain text safe to show the person who made the request;
    it never contains another family's data.
    """

    #: A template under templates/<locale>/errors/ that says the same in the person's language.
    template: str | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CaseNotFound(CasebotError):
    """No case with that reference, or none this person may see (the two are deliberately the same)."""

    def __init__(self, reference: str) -> None:
        super().__init__(f"There is no case {reference}.")
        self.reference = reference


class InvalidReference(CasebotError):
    """A case reference that is not of the form C-0042."""

    def __init__(self, reference: str) -> None:
        super().__init__(f"“{reference[:20]}” is not a case reference. A reference looks like C-0042.")
        self.reference = reference


class TransitionNotAllowed(CasebotError):
    """The case cannot move from its state to the one asked for."""

    def __init__(self, state: str, target: str, allowed: tuple[str, ...]) -> None:
        allowed_text = ", ".join(allowed) if allowed else "none (the case is finished)"
        super().__init__(f"A case in {state} cannot move to {target}. Allowed next states: {allowed_text}.")
        self.state = state
        self.target = target
        self.allowed = allowed


class UnknownState(CasebotError):
    """A word that names no state of a case."""

    def __init__(self, word: str, allowed: tuple[str, ...]) -> None:
        allowed_text = ", ".join(allowed) if allowed else "none (the case is finished)"
        super().__init__(f"“{word[:30]}” is not a state. Allowed next states: {allowed_text}.")
        self.word = word
        self.allowed = allowed


class OverrideRequired(CasebotError):
    """Sending a case with red flags open or records missing needs an explicit reason."""

    def __init__(self, red_flags: tuple[str, ...], missing_items: tuple[str, ...]) -> None:
        parts = []
        if red_flags:
            parts.append("red flags open: " + "; ".join(red_flags))
        if missing_items:
            parts.append("records missing: " + "; ".join(missing_items))
        super().__init__(
            "The case is not ready to send (" + " — ".join(parts) + "). "
            "To send it anyway, give the reason for the override."
        )
        self.red_flags = red_flags
        self.missing_items = missing_items


class StateConflict(CasebotError):
    """Someone else changed the case first; nothing was changed by this request."""

    def __init__(self, reference: str, expected: str, actual: str) -> None:
        super().__init__(
            f"{reference} was changed by someone else just now: it is in {actual}, not {expected}. "
            "Nothing was changed; look at the case again and retry if still needed."
        )
        self.reference = reference
        self.expected = expected
        self.actual = actual


class CaseClosed(CasebotError):
    """A finished (closed or withdrawn) case is read-only."""

    def __init__(self, reference: str, state: str) -> None:
        super().__init__(f"{reference} is {state} and can no longer be changed.")
        self.reference = reference
        self.state = state


class ItemNotFound(CasebotError):
    """A checklist item number that the case does not have."""

    def __init__(self, reference: str, item: str, count: int) -> None:
        super().__init__(f"{reference} has no checklist item “{item[:20]}”. Items are numbered 1 to {count}.")
        self.reference = reference
        self.item = item


class QuestionNotFound(CasebotError):
    """A question number that the case does not have."""

    def __init__(self, reference: str, question: str) -> None:
        super().__init__(f"{reference} has no question “{question[:20]}”.")
        self.reference = reference
        self.question = question


class QuestionAlreadyAnswered(CasebotError):
    """An answer to a question that already has one."""

    def __init__(self, reference: str, number: int) -> None:
        super().__init__(f"Question {number} of {reference} is already answered.")


class InvalidText(CasebotError):
    """Text that is empty or longer than the bot can keep and show."""


class ReasonRequired(CasebotError):
    """An action that is only allowed with a stated reason was given none."""


_INVITE_MESSAGES = {
    "unknown": "This invite link is not valid. Please ask your coordinator for a new one.",
    "used": "This invite link was already used. Please ask your coordinator for a new one.",
    "expired": "This invite link has expired. Please ask your coordinator for a new one.",
}


class InviteInvalid(CasebotError):
    """An invite token that is unknown, already used or expired (``reason``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(_INVITE_MESSAGES[reason])
        self.reason = reason
        self.template = f"invite_{reason}"


class NotAllowed(CasebotError):
    """The person may not do this; nothing was changed."""


class InvalidInput(CasebotError):
    """Any other malformed value from a person (a time zone, a date, a duration)."""
