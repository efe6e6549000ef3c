"""The record packet of a case: marking items received, waived or missing, adding items, attaching files."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from casebot.db.models import Case, ChecklistItem, RecordFile
from casebot.domain.checklist import ItemStatus
from casebot.domain.numbers import parse_count
from casebot.domain.refs import format_ref
from casebot.domain.reminders import parse_arrival_date, parse_arrival_route
from casebot.domain.text import clean_file_name, clean_text
from casebot.errors import InvalidInput, ItemNotFound
from casebot.services.base import Actor, ServiceBase

# Telegram lets bots download files up to 20 MB; bigger ones are kept by file_id only.
TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class IncomingFile:
    """A file as Telegram described it."""

    file_id: str
    file_unique_id: str
    file_name: str | None
    file_size: int | None
    mime_type: str | None
    kind: str = "document"

    @property
    def downloadable(self) -> bool:
        """Whether the bot could fetch it (Telegram refuses getFile over 20 MB)."""
        return self.file_size is None or self.file_size <= TELEGRAM_DOWNLOAD_LIMIT


@dataclass(frozen=True, slots=True)
class FiledRecord:
    """A file kept against a case; ``new`` is False when the same file was already kept (a doubled press)."""

    record: RecordFile
    new: bool


def parse_item_number(text: str | int) -> int | None:
    """An item number typed by a person (or carried by a button), or None when it is not one."""
    return parse_count(text, limit=10_000)


class ChecklistService(ServiceBase):
    """Calls on the checklist items of a case."""

    async def _item(self, case: Case, item: str | int) -> ChecklistItem:
        number = parse_item_number(item)
        found = await ChecklistItem.get_or_none(case_id=case.id, position=number) if number else None
        if found is None:
            count = await ChecklistItem.filter(case_id=case.id).count()
            raise ItemNotFound(format_ref(case.id), str(item), count)
        return found

    async def _mark(
        self, actor: Actor, reference: str | int, item: str | int, status: ItemStatus, reason: str | None
    ) -> ChecklistItem:
        self.require_staff(actor)
        async with self.transaction():
            case = await self.locked_case(actor, reference)
            found = await self._item(case, item)
            if found.status == status and found.waive_reason == reason:
                return found
            await ChecklistItem.filter(id=found.id).update(
                status=status, waive_reason=reason, status_changed_at=self.now()
            )
            if status != ItemStatus.MISSING:
                await Case.filter(id=case.id).update(records_activity_at=self.now())
            await self.audit(
                case,
                actor,
                f"item_{status.value}",
                from_value=f"{found.position}:{found.status.value}",
                to_value=f"{found.position}:{status.value}",
                reason=reason,
            )
        return await ChecklistItem.get(id=found.id)

    async def mark_received(self, actor: Actor, reference: str | int, item: str | int) -> ChecklistItem:
        """The coordinator has the item."""
        return await self._mark(actor, reference, item, ItemStatus.RECEIVED, None)

    async def waive(self, actor: Actor, reference: str | int, item: str | int, reason: str) -> ChecklistItem:
        """The item does not apply or cannot be had; the reason is kept."""
        reason = clean_text(reason, what="reason for waiving")
        return await self._mark(actor, reference, item, ItemStatus.WAIVED, reason)

    async def mark_missing(self, actor: Actor, reference: str | int, item: str | int) -> ChecklistItem:
        """The item is missing again (a wrong or unreadable file came)."""
        return await self._mark(actor, reference, item, ItemStatus.MISSING, None)

    async def add_item(self, actor: Actor, reference: str | int, title: str) -> ChecklistItem:
        """Add a case-specific item at the end of the checklist."""
        self.require_staff(actor)
        title = clean_text(title, what="item")
        async with self.transaction():
            case = await self.locked_case(actor, reference)
            last = await ChecklistItem.filter(case_id=case.id).order_by("-position").first()
            item = await ChecklistItem.create(
                case_id=case.id,
                position=(last.position if last else 0) + 1,
                title=title,
                status_changed_at=self.now(),
            )
            await self.audit(case, actor, "item_added", to_value=str(item.position))
        return item

    async def attach_file(
        self, actor: Actor, reference: str | int, item: str | int | None, incoming: IncomingFile
    ) -> FiledRecord:
        """Keep a file a family member (or coordinator) sent; it marks its item received.

        ``item`` None files it under "other". The coordinator can mark the item missing
        again if the file was not the right one. The same file (Telegram's unique id) sent
        or filed twice is kept once, with one notice.
        """
        async with self.transaction():
            case = await self.locked_case(actor, reference)
            found = await self._item(case, item) if item is not None else None
            kept = await RecordFile.get_or_none(case_id=case.id, file_unique_id=incoming.file_unique_id)
            if kept is not None:
                return FiledRecord(kept, new=False)
            now = self.now()
            record = await RecordFile.create(
                case_id=case.id,
                item_id=found.id if found else None,
                sender_id=actor.participant_id,
                telegram_file_id=incoming.file_id,
                file_unique_id=incoming.file_unique_id,
                file_name=clean_file_name(incoming.file_name),
                file_size=incoming.file_size,
                mime_type=(incoming.mime_type or "")[:100] or None,
                kind=incoming.kind,
                downloadable=incoming.downloadable,
                created_at=now,
            )
            await Case.filter(id=case.id).update(records_activity_at=now)
            # A file too large for the bot is kept, but the record has not come: the item stays
            # missing until it arrives another way (a link, a courier).
            if found is not None and found.status != ItemStatus.RECEIVED and record.downloadable:
                await ChecklistItem.filter(id=found.id).update(
                    status=ItemStatus.RECEIVED, waive_reason=None, status_changed_at=now
                )
            event = await self.audit(
                case,
                actor,
                "file_received",
                from_value=f"{found.position}:{found.status.value}" if found else None,
                to_value=f"{found.position}:{'received' if record.downloadable else found.status.value}"
                if found
                else "other",
            )
            payload = {
                "case_id": case.id,
                "item": found.position if found else None,
                "file_name": record.file_name,
                "kind": record.kind,
                "downloadable": record.downloadable,
                "file_id": record.telegram_file_id,
            }
            await self.notify(self.coordinator_ids(case, actor), "file_arrived", event, payload)
        return FiledRecord(record, new=True)

    async def choose_arrival_route(
        self, actor: Actor, reference: str | int, item: str | int, route: str
    ) -> tuple[ChecklistItem, bool]:
        """A family member says how a record too large for the bot will come (a link, a courier);
        the coordinator is told, to agree a date. Returns the item and whether anything changed
        (the same choice again, a doubled press, changes nothing)."""
        chosen = parse_arrival_route(route)
        async with self.transaction():
            case = await self.locked_case(actor, reference)
            found = await self._item(case, item)
            if found.status != ItemStatus.MISSING:
                raise InvalidInput(
                    f"Item {found.position} of {format_ref(case.id)} is already {found.status.value}.",
                    key="item_not_missing",
                    reference=format_ref(case.id),
                    position=found.position,
                    status=found.status.value,
                )
            if found.arrival_route == chosen.value:
                return found, False
            await ChecklistItem.filter(id=found.id).update(arrival_route=chosen.value)
            event = await self.audit(
                case,
                actor,
                "arrival_route_chosen",
                from_value=f"{found.position}:{found.arrival_route or '-'}",
                to_value=f"{found.position}:{chosen.value}",
            )
            payload = {"case_id": case.id, "item": found.position, "route": chosen.value}
            await self.notify(self.coordinator_ids(case, actor), "arrival_route_chosen", event, payload)
        found.arrival_route = chosen.value
        return found, True

    async def mark_arriving(
        self, actor: Actor, reference: str | int, item: str | int, route: str, day: str, *, zone: str
    ) -> ChecklistItem:
        """The coordinator expects a missing record by link or courier by a date (YYYY-MM-DD, in
        their time zone's today or later): its reminders wait until that date has passed, and
        resume after it if the record is still missing."""
        self.require_staff(actor)
        chosen = parse_arrival_route(route)
        expected = parse_arrival_date(day, self.now().astimezone(ZoneInfo(zone)).date())
        async with self.transaction():
            case = await self.locked_case(actor, reference)
            found = await self._item(case, item)
            if found.status != ItemStatus.MISSING:
                raise InvalidInput(
                    f"Item {found.position} of {format_ref(case.id)} is already {found.status.value}; "
                    "nothing is awaited.",
                    key="item_not_awaited",
                    reference=format_ref(case.id),
                    position=found.position,
                    status=found.status.value,
                )
            if found.arrival_route == chosen.value and found.arrival_expected_at == expected:
                return found
            await ChecklistItem.filter(id=found.id).update(
                arrival_route=chosen.value, arrival_expected_at=expected
            )
            await self.audit(
                case,
                actor,
                "arrival_expected",
                from_value=f"{found.position}:{found.arrival_route or '-'}",
                to_value=f"{found.position}:{chosen.value}:{expected.date().isoformat()}",
            )
        return await ChecklistItem.get(id=found.id)
