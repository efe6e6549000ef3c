"""Who may do what: the roles of the bot and the rule that a family sees only its own case."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A participant's standing; admins are coordinators listed in settings."""

    FAMILY = "family"
    COORDINATOR = "coordinator"
    ADMIN = "admin"
    SYSTEM = "system"

    @property
    def is_staff(self) -> bool:
        """Coordinators and admins run cases; families act on their own case only."""
        return self in (Role.COORDINATOR, Role.ADMIN)
