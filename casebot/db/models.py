"""The tortoise models of casebot. Timestamps come from the injected clock, never from the database.

Class docstrings become SQL table comments: tortoise 1.1 splits migration SQL on ";" and
does not escape "'", so neither may appear in a model docstring.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from casebot.domain.checklist import ItemStatus
from casebot.domain.questions import Direction, Topic
from casebot.domain.roles import Role
from casebot.domain.states import CaseState


class Participant(Model):
    """A Telegram user the bot knows: a family member or a coordinator."""

    id = fields.IntField(primary_key=True)
    telegram_user_id = fields.BigIntField(unique=True)
    chat_id = fields.BigIntField()
    display_name = fields.CharField(max_length=200, default="")
    role = fields.CharEnumField(Role, max_length=20, default=Role.FAMILY)
    locale = fields.CharField(max_length=8)
    timezone = fields.CharField(max_length=64)
    # None: the service-wide default; "": no quiet hours; "21:00-09:00": local quiet hours.
    quiet_hours = fields.CharField(max_length=11, null=True)
    blocked = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()
    # The weekly digest (issue 9): whether this person wants it (/digest off|on), and when their
    # next one is due (UTC; their local digest day and hour). None: not scheduled yet, the sweep
    # schedules it. The sweep only reads participants whose digest is due.
    digest_enabled = fields.BooleanField(default=True, db_default=True)
    next_digest_at = fields.DatetimeField(null=True, db_index=True)

    class Meta:
        table = "participants"


class Case(Model):
    """One second-opinion request of a family, the reference (C-0042) is derived from ``id``."""

    id = fields.IntField(primary_key=True)
    label = fields.CharField(max_length=200)
    hospital = fields.CharField(max_length=200, null=True)
    department = fields.CharField(max_length=200, null=True)
    reviewer = fields.CharField(max_length=200, null=True)
    coordinator: fields.ForeignKeyNullableRelation[Participant] = fields.ForeignKeyField(
        "casebot.Participant", related_name="coordinated_cases", null=True, on_delete=fields.SET_NULL
    )
    coordinator_id: int | None
    state = fields.CharEnumField(CaseState, max_length=24, default=CaseState.RECORDS_GATHERING)
    created_at = fields.DatetimeField()
    state_changed_at = fields.DatetimeField()
    last_activity_at = fields.DatetimeField()
    erased_at = fields.DatetimeField(null=True)
    # Reminders: when the hospital was chosen (chasing starts then), the last progress on the
    # records, a coordinator pause, a family snooze, and the earliest moment a reminder rule
    # may fire (None: nothing scheduled). Changes set reminder_due_at to now so the sweep
    # looks at the case again; the sweep only ever reads cases that are due.
    hospital_set_at = fields.DatetimeField(null=True)
    records_activity_at = fields.DatetimeField(null=True)
    paused_until = fields.DatetimeField(null=True)
    snoozed_until = fields.DatetimeField(null=True)
    reminder_due_at = fields.DatetimeField(null=True, db_index=True)
    # The second half (issue 8): the hospital's stated turnaround in its business days (None: the
    # service's CASEBOT_REVIEW_SLA), the family's home oncologist (name and clinic as they wrote
    # them), and the translated summary of the written opinion: None, pending or sent.
    review_sla_days = fields.IntField(null=True)
    home_doctor = fields.CharField(max_length=300, null=True)
    translation_status = fields.CharField(max_length=8, null=True)

    class Meta:
        table = "cases"
        indexes = (("state", "last_activity_at"),)


class CaseMember(Model):
    """A family member who joined a case by invite."""

    id = fields.IntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "casebot.Case", related_name="members", on_delete=fields.CASCADE
    )
    case_id: int
    participant: fields.ForeignKeyRelation[Participant] = fields.ForeignKeyField(
        "casebot.Participant", related_name="memberships", on_delete=fields.CASCADE
    )
    participant_id: int
    joined_at = fields.DatetimeField()

    class Meta:
        table = "case_members"
        unique_together = (("case", "participant"),)


class ChecklistItem(Model):
    """One item of the record packet of a case, numbered from 1 within the case."""

    id = fields.IntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "casebot.Case", related_name="items", on_delete=fields.CASCADE
    )
    case_id: int
    position = fields.IntField()
    # The default items carry a code (their titles are translated); case-specific ones carry a title.
    code = fields.CharField(max_length=40, null=True)
    title = fields.CharField(max_length=2000, default="")
    status = fields.CharEnumField(ItemStatus, max_length=12, default=ItemStatus.MISSING)
    waive_reason = fields.TextField(null=True)
    status_changed_at = fields.DatetimeField()
    # A record too large for the bot (DICOM, whole-slide images) comes another way: link or
    # courier, expected by a date; its reminders wait until then.
    arrival_route = fields.CharField(max_length=8, null=True)
    arrival_expected_at = fields.DatetimeField(null=True)

    class Meta:
        table = "checklist_items"
        unique_together = (("case", "position"),)
        ordering = ("position",)


class RecordFile(Model):
    """A file a family member sent, kept by Telegram file_id (the bot stores no file bytes)."""

    id = fields.IntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "casebot.Case", related_name="files", on_delete=fields.CASCADE
    )
    case_id: int
    item: fields.ForeignKeyNullableRelation[ChecklistItem] = fields.ForeignKeyField(
        "casebot.ChecklistItem", related_name="files", null=True, on_delete=fields.SET_NULL
    )
    item_id: int | None
    sender: fields.ForeignKeyNullableRelation[Participant] = fields.ForeignKeyField(
        "casebot.Participant", related_name="files_sent", null=True, on_delete=fields.SET_NULL
    )
    sender_id: int | None
    telegram_file_id = fields.CharField(max_length=255)
    file_unique_id = fields.CharField(max_length=64)
    file_name = fields.CharField(max_length=255, null=True)
    file_size = fields.BigIntField(null=True)
    mime_type = fields.CharField(max_length=100, null=True)
    # document, photo, video, audio or voice: what Telegram method can send it on.
    kind = fields.CharField(max_length=12, default="document", db_default="document")
    downloadable = fields.BooleanField(default=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "record_files"


class HospitalRoute(Model):
    """One hospital and department a case went to, in order, with the outcome of its review."""

    id = fields.IntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "casebot.Case", related_name="routes", on_delete=fields.CASCADE
    )
    case_id: int
    position = fields.IntField()
    hospital = fields.CharField(max_length=200)
    department = fields.CharField(max_length=200)
    reviewer = fields.CharField(max_length=200, null=True)
    turnaround_days = fields.IntField(null=True)
    created_at = fields.DatetimeField()
    # accepted, needs_more, declined or rerouted; None while the hospital has not answered.
    outcome = fields.CharField(max_length=12, null=True)
    outcome_reason = fields.TextField(null=True)
    outcome_at = fields.DatetimeField(null=True)

    class Meta:
        table = "hospital_routes"
        unique_together = (("case", "position"),)
        ordering = ("position",)


class CaseFile(Model):
    """A file a coordinator sent to the family through the bot: a document, the written opinion
    or its translation, kept by Telegram file_id."""

    id = fields.IntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "casebot.Case", related_name="sent_files", on_delete=fields.CASCADE
    )
    case_id: int
    sender: fields.ForeignKeyNullableRelation[Participant] = fields.ForeignKeyField(
        "casebot.Participant", related_name="case_files_sent", null=True, on_delete=fields.SET_NULL
    )
    sender_id: int | None
    # send, opinion or translation
    purpose = fields.CharField(max_length=12)
    kind = fields.CharField(max_length=12)
    telegram_file_id = fields.CharField(max_length=255)
    file_unique_id = fields.CharField(max_length=64)
    file_name = fields.CharField(max_length=255, null=True)
    file_size = fields.BigIntField(null=True)
    mime_type = fields.CharField(max_length=100, null=True)
    note = fields.TextField(null=True)
    created_at = fields.DatetimeField()
    confirmed_at = fields.DatetimeField(null=True)
    confirmed_by: fields.ForeignKeyNullableRelation[Participant] = fields.ForeignKeyField(
        "casebot.Participant", related_name="case_files_confirmed", null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "case_files"


class Question(Model):
    """A question tracked until answered: asked by the hospital of the family, or asked of the hospital."""

    id = fields.IntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "casebot.Case", related_name="questions", on_delete=fields.CASCADE
    )
    case_id: int
    number = fields.IntField()
    direction = fields.CharEnumField(Direction, max_length=12)
    topic = fields.CharEnumField(Topic, max_length=40, null=True)
    text = fields.TextField()
    asked_by: fields.ForeignKeyNullableRelation[Participant] = fields.ForeignKeyField(
        "casebot.Participant", related_name="questions_asked", null=True, on_delete=fields.SET_NULL
    )
    # Whether a family member asked it (their own question to the hospital), as it was when asked:
    # the asker's role may change later (a removed coordinator becomes family).
    asked_by_family = fields.BooleanField(default=False, db_default=False)
    created_at = fields.DatetimeField()
    answer = fields.TextField(null=True)
    answered_at = fields.DatetimeField(null=True)
    # The family's message that gave the answer (a reply or /reply): editing it corrects the answer.
    answer_message_id = fields.BigIntField(null=True)
    answered_by: fields.ForeignKeyNullableRelation[Participant] = fields.ForeignKeyField(
        "casebot.Participant", related_name="questions_answered", null=True, on_delete=fields.SET_NULL
    )
    # A coordinator's reading of the hospital's answer: ok clears a red flag, concern keeps it.
    verdict = fields.CharField(max_length=8, null=True)

    class Meta:
        table = "questions"
        unique_together = (("case", "number"),)
        ordering = ("number",)


class AuditEvent(Model):
    """One change to a case: who, when, what, from, to, and why. Kept, anonymised, after erasure."""

    id = fields.IntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "casebot.Case", related_name="audit_events", on_delete=fields.CASCADE
    )
    case_id: int
    actor: fields.ForeignKeyNullableRelation[Participant] = fields.ForeignKeyField(
        "casebot.Participant", related_name="audit_events", null=True, on_delete=fields.SET_NULL
    )
    actor_id: int | None
    actor_role = fields.CharField(max_length=20)
    action = fields.CharField(max_length=40)
    from_value = fields.CharField(max_length=64, null=True)
    to_value = fields.CharField(max_length=64, null=True)
    reason = fields.TextField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "audit_events"
        ordering = ("id",)


class Invite(Model):
    """A single-use invite to join a case, only the SHA-256 of its token is stored."""

    id = fields.IntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "casebot.Case", related_name="invites", on_delete=fields.CASCADE
    )
    case_id: int
    token_hash = fields.CharField(max_length=64, unique=True)
    created_by: fields.ForeignKeyNullableRelation[Participant] = fields.ForeignKeyField(
        "casebot.Participant", related_name="invites_created", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    used_by: fields.ForeignKeyNullableRelation[Participant] = fields.ForeignKeyField(
        "casebot.Participant", related_name="invites_used", null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "invites"


class Note(Model):
    """An internal note of a coordinator on a case, never shown to a family."""

    id = fields.IntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "casebot.Case", related_name="notes", on_delete=fields.CASCADE
    )
    case_id: int
    author: fields.ForeignKeyNullableRelation[Participant] = fields.ForeignKeyField(
        "casebot.Participant", related_name="notes", null=True, on_delete=fields.SET_NULL
    )
    text = fields.TextField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "notes"


class OutboxStatus(StrEnum):
    """Where an outgoing message stands."""

    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


class OutboxMessage(Model):
    """A message to send, written in the same transaction as the change that caused it.

    ``dedupe_key`` is unique, so the same notice or reminder is never enqueued twice.
    The text is rendered when sending, in the language the recipient has then.
    """

    id = fields.BigIntField(primary_key=True)
    dedupe_key = fields.CharField(max_length=200, unique=True)
    participant: fields.ForeignKeyRelation[Participant] = fields.ForeignKeyField(
        "casebot.Participant", related_name="outbox", on_delete=fields.CASCADE
    )
    participant_id: int
    case: fields.ForeignKeyNullableRelation[Case] = fields.ForeignKeyField(
        "casebot.Case", related_name="outbox", null=True, on_delete=fields.CASCADE
    )
    case_id: int | None
    kind = fields.CharField(max_length=40)
    # 0: someone is waiting for it (a reply, a state change, a reminder); 1: bulk (the weekly
    # digests). A sender takes every due row of priority 0 before any of priority 1.
    priority = fields.SmallIntField(default=0, db_default=0)
    payload: dict[str, Any] = fields.JSONField(default=dict)
    status = fields.CharEnumField(OutboxStatus, max_length=10, default=OutboxStatus.PENDING)
    attempts = fields.IntField(default=0)
    available_at = fields.DatetimeField()
    created_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)
    sent_message_id = fields.BigIntField(null=True)
    # A long message goes in parts: how many reached Telegram, and the id of the last one
    # (the part that says "reply to this message").
    parts_sent = fields.IntField(default=0, db_default=0)
    last_message_id = fields.BigIntField(null=True)
    # The id of every part, in order: a reply to any of them names this message, and nothing
    # sent between two parts (a retry later) is taken for one of them.
    part_message_ids: list[int] | None = fields.JSONField(null=True)
    last_error = fields.CharField(max_length=300, null=True)
    # A sender instance claims rows for a short lease; a crashed sender's rows come back after it.
    claimed_by = fields.CharField(max_length=64, null=True)
    claimed_until = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox"
        indexes = (
            ("status", "available_at"),
            ("participant_id", "sent_message_id"),
            ("participant_id", "last_message_id"),
        )


class CheckIn(Model):
    """A family answer to a home follow-up check-in (did the opinion reach the home oncologist)."""

    id = fields.IntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "casebot.Case", related_name="check_ins", on_delete=fields.CASCADE
    )
    case_id: int
    round = fields.IntField()
    answer = fields.CharField(max_length=16)
    participant: fields.ForeignKeyNullableRelation[Participant] = fields.ForeignKeyField(
        "casebot.Participant", related_name="check_ins", null=True, on_delete=fields.SET_NULL
    )
    answered_at = fields.DatetimeField()

    class Meta:
        table = "check_ins"
        unique_together = (("case", "round"),)
