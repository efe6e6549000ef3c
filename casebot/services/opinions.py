"""Files a coordinator sends to the family through the bot: any document, the written opinion and
its translation; and the family's confirmation that the opinion reached them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from casebot.db.models import Case, CaseFile
from casebot.domain.refs import format_ref
from casebot.domain.text import clean_file_name, clean_text
from casebot.errors import InvalidInput, NotAllowed
from casebot.services.base import Actor, ServiceBase
from casebot.services.checklist import IncomingFile

PURPOSES = ("send", "opinion", "translation")
MB = 1024 * 1024
# Telegram's upload limits for a bot (its Bot FAQ): 50 MB for documents and videos, 10 MB for photos.
UPLOAD_LIMITS = {"document": 50 * MB, "video": 50 * MB, "photo": 10 * MB}
MAX_NOTE_LENGTH = 500
TRANSLATION_PENDING = "pending"
TRANSLATION_SENT = "sent"


def upload_refusal(kind: str, size: int | None) -> InvalidInput | None:
    """Why Telegram would not take this file from the bot (too large, or not a kind it re-sends), or None."""
    limit = UPLOAD_LIMITS.get(kind)
    if limit is None:
        return InvalidInput(
            "Send the file as a document, a photo or a video; this kind of file cannot go to the family.",
            key="file_kind_unsupported",
        )
    if size is not None and size > limit:
        shown = f"{size / MB:.1f}".rstrip("0").rstrip(".")
        what = "photos" if kind == "photo" else f"{kind}s"
        return InvalidInput(
            f"This file is {shown} MB: Telegram lets a bot send {what} of at most {limit // MB} MB. "
            "Nothing was sent. Share it with the family by a link, or send a smaller file"
            + (" (a photo sent as a document may be up to 50 MB)." if kind == "photo" else "."),
            key="file_too_large",
            kind=kind,
            size_mb=round(size / MB, 1),
            limit_mb=limit // MB,
        )
    return None


def file_payload(case_file: CaseFile) -> dict[str, Any]:
    """What a ``case_file`` outbox row carries: enough to re-send the file by its Telegram id."""
    return {
        "case_id": case_file.case_id,
        "file_id": case_file.id,
        "purpose": case_file.purpose,
        "file_kind": case_file.kind,
        "telegram_file_id": case_file.telegram_file_id,
        "note": case_file.note,
    }


@dataclass(frozen=True, slots=True)
class SentFile:
    """A file kept and queued for the family."""

    file: CaseFile
    reference: str
    recipients: int
    translation_status: str | None


class OpinionService(ServiceBase):
    """Sending files to the family, and the receipt of the written opinion."""

    async def send_file(
        self,
        actor: Actor,
        reference: str | int,
        purpose: str,
        incoming: IncomingFile,
        note: str | None = None,
    ) -> SentFile:
        """Keep a coordinator's file for a case and queue it for every family member.

        ``purpose``: send (any file), opinion (the written opinion) or translation (its
        translation). A file Telegram would not let the bot send is refused at once, and
        nothing is queued.
        """
        self.require_staff(actor)
        if purpose not in PURPOSES:
            raise InvalidInput(
                "A file goes with /send, /opinion or /opinion … translated.", key="file_purpose_unknown"
            )
        refusal = upload_refusal(incoming.kind, incoming.file_size)
        if refusal is not None:
            raise refusal
        note = clean_text(note, what="note", limit=MAX_NOTE_LENGTH) if note and note.strip() else None
        now = self.now()
        async with self.transaction():
            case = await self.locked_case(actor, reference)
            shown = format_ref(case.id)
            members = await self.family_ids(case)
            if not members:
                raise InvalidInput(
                    f"Nobody of the family has joined {shown} yet, so the file would reach no one. "
                    "Send it again once they have joined.",
                    key="family_not_joined",
                    reference=shown,
                )
            case_file = await CaseFile.create(
                case_id=case.id,
                sender_id=actor.participant_id,
                purpose=purpose,
                kind=incoming.kind,
                telegram_file_id=incoming.file_id,
                file_unique_id=incoming.file_unique_id,
                file_name=clean_file_name(incoming.file_name),
                file_size=incoming.file_size,
                mime_type=incoming.mime_type,
                note=note,
                created_at=now,
            )
            event = await self.audit(case, actor, "file_sent", to_value=f"{purpose}:{case_file.id}")
            status = await self._track_translation(case, actor, purpose)
            await self.notify(members, "case_file", event, file_payload(case_file))
        return SentFile(case_file, shown, len(members), status)

    async def _track_translation(self, case: Case, actor: Actor, purpose: str) -> str | None:
        """The translated summary's status after this file: pending once the opinion came without
        its translation, sent once the translation went out. Changed with its own audit row."""
        before = case.translation_status
        after = before
        if purpose == "translation":
            after = TRANSLATION_SENT
        elif purpose == "opinion" and before != TRANSLATION_SENT:
            after = TRANSLATION_PENDING
        if after != before:
            await Case.filter(id=case.id).update(translation_status=after)
            await self.audit(case, actor, "translation_status", from_value=before, to_value=after)
            case.translation_status = after
        return after

    async def confirm_receipt(self, actor: Actor, case_id: int, file_id: int) -> CaseFile | None:
        """A family member confirms the written opinion reached them; None when it was already
        confirmed (a doubled press records once)."""
        if actor.is_staff:
            raise NotAllowed(
                "Only the family confirms that they received the opinion.", key="family_confirms_only"
            )
        async with self.transaction():
            case = await self.locked_case(actor, case_id, writable=False)
            case_file = await CaseFile.get_or_none(id=file_id, case_id=case.id, purpose="opinion")
            if case_file is None:
                raise InvalidInput(
                    f"That file is not one of {format_ref(case.id)}. Nothing was recorded.",
                    key="file_not_of_case",
                    reference=format_ref(case.id),
                )
            now = self.now()
            changed = await CaseFile.filter(id=case_file.id, confirmed_at__isnull=True).update(
                confirmed_at=now, confirmed_by_id=actor.participant_id
            )
            if changed == 0:
                return None
            event = await self.audit(case, actor, "opinion_confirmed", to_value=str(case_file.id))
            await self.notify(
                self.coordinator_ids(case, actor), "opinion_confirmed", event, {"case_id": case.id}
            )
        case_file.confirmed_at = now
        case_file.confirmed_by_id = actor.participant_id
        return case_file
