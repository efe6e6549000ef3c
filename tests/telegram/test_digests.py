"""Issue 9, done when: through the emulator, a coordinator and a family member each get their weekly
digest at their own local Monday 09:00, in English, Russian and Chinese, the coordinator's with the
pipeline picture; /digest off stops it; a restart in the middle of a digest run sends no digest twice;
a digest longer than Telegram's 4,096 characters arrives in parts cut at line ends."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest

from casebot.clock import ManualClock
from casebot.db.models import Case, CaseMember, ChecklistItem, OutboxMessage, Participant, Question
from casebot.delivery import OutboxSender
from casebot.domain.checklist import ItemStatus
from casebot.domain.questions import Direction
from casebot.rendering.renderer import TELEGRAM_TEXT_LIMIT
from casebot.telegram.notices import notice_composer
from casebot.testing import SentMessage

from .conftest import ADMIN, COORDINATOR_B, World, emulator_settings
from .test_case_journey import invite_token, join, say
from .test_reminders_e2e import sweep


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """The weekly digests on (the tests' worlds have them off unless a test turns them on)."""
    return {"digest": True}


FAMILY = 3001
MONDAY = datetime(2026, 11, 23, tzinfo=UTC)  # the clock starts at 01:00 UTC: 09:00 in Shanghai
# Monday 09:00 at home: 05:00 UTC in Dubai (the coordinator), 06:00 UTC in Moscow (the family).
COORDINATOR_NINE = MONDAY + timedelta(hours=5)
FAMILY_NINE = MONDAY + timedelta(hours=6)

WORDS = {
    "en": {
        "family": "Your weekly update",
        "staff": "Your weekly digest",
        "state": "gathering records",
        "disclaimer": "not medical advice",
        "refused": "Only a coordinator can do that",
    },
    "ru": {
        "family": "Ваша сводка за неделю",
        "staff": "Ваша сводка за неделю",
        "state": "сбор документов",
        "disclaimer": "не медицинская консультация",
        "refused": "координатор",
    },
    "zh": {
        "family": "您的每周摘要",
        "staff": "您的每周摘要",
        "state": "正在收集病历资料",
        "disclaimer": "不是医疗建议",
        "refused": "协调员",
    },
}


def is_digest(message: SentMessage, words: dict[str, str]) -> bool:
    return words["family"] in message.text or words["staff"] in message.text


async def case_with_family(world: World, locale: str = "en") -> None:
    """Coordinator B opens C-0001 and a family member joins it; both read in ``locale``, the
    coordinator lives in Dubai and the family in Moscow; the admin is far away in Los Angeles."""
    t = world.telegram
    await say(t, ADMIN, f"/coordinator add {COORDINATOR_B}", "coordinator")
    await say(t, COORDINATOR_B, "/help")
    opened = await say(t, COORDINATOR_B, "/newcase Lung, Mrs Ivanova", "opened")
    await join(t, FAMILY, invite_token(opened))
    await Participant.filter(telegram_user_id=FAMILY).update(locale=locale, timezone="Europe/Moscow")
    await Participant.filter(telegram_user_id=COORDINATOR_B).update(locale=locale, timezone="Asia/Dubai")
    await Participant.filter(telegram_user_id=ADMIN).update(timezone="America/Los_Angeles")


async def tick_at(world: World, clock: ManualClock, moment: datetime) -> None:
    clock.set(moment)
    await sweep(world)
    await world.telegram.settle()


@pytest.mark.parametrize("locale", ["en", "ru", "zh"])
async def test_a_coordinator_and_a_family_get_their_digest_at_their_own_monday_nine(
    world: World, clock: ManualClock, locale: str
) -> None:
    t = world.telegram
    words = WORDS[locale]
    await case_with_family(world, locale)
    await sweep(world)  # schedules everyone at their own next Monday 09:00
    due = dict(await Participant.all().values_list("telegram_user_id", "next_digest_at"))
    assert (due[COORDINATOR_B], due[FAMILY]) == (COORDINATOR_NINE, FAMILY_NINE)

    coordinator_before, family_before = len(t.sent_to(COORDINATOR_B)), len(t.sent_to(FAMILY))
    await tick_at(world, clock, COORDINATOR_NINE - timedelta(minutes=1))
    assert len(t.sent_to(COORDINATOR_B)) == coordinator_before  # 08:59 in Dubai: not yet

    await tick_at(world, clock, COORDINATOR_NINE)
    picture = (
        await t.wait_for(COORDINATOR_B, after=coordinator_before, predicate=lambda m: m.method == "sendPhoto")
    )[0]
    assert words["staff"] in picture.caption
    assert picture.photo is not None
    digest = "\n".join(m.text for m in t.sent_to(COORDINATOR_B)[coordinator_before:])
    assert "/case_C0001" in digest and words["state"] in digest
    assert "Ivanova" not in digest
    assert len(t.sent_to(FAMILY)) == family_before  # 08:00 in Moscow: theirs waits for their hour

    # The case in the digest is a command: tapping it opens the card, as /case C-0001 does.
    tapped = await say(t, COORDINATOR_B, "/case_C0001", "C-0001")
    typed = await say(t, COORDINATOR_B, "/case C-0001", "C-0001")
    assert tapped == typed

    await tick_at(world, clock, FAMILY_NINE)
    theirs = (await t.wait_for(FAMILY, after=family_before, contains=words["family"]))[0]
    assert theirs.method == "sendMessage"
    for word in ("C-0001", words["state"], words["disclaimer"]):
        assert word in theirs.plain_text, word
    assert sum(is_digest(m, words) for m in t.sent_to(FAMILY)) == 1
    assert sum(m.method == "sendPhoto" for m in t.sent_to(FAMILY)) == 0  # the picture is for staff

    # A family member cannot open a staff card by its command.
    refused = await say(t, FAMILY, "/case_C0001")
    assert words["refused"] in refused and "C-0001" not in refused

    # The rest of the week, and the next pass, send no second digest.
    await tick_at(world, clock, FAMILY_NINE + timedelta(days=3))
    assert sum(is_digest(m, words) for m in t.sent_to(FAMILY)) == 1
    assert sum(m.method == "sendPhoto" for m in t.sent_to(COORDINATOR_B)) == 1


async def test_digest_off_stops_it_and_on_brings_it_back(world: World, clock: ManualClock) -> None:
    t = world.telegram
    await case_with_family(world)
    assert "/digest off|on" in await say(t, FAMILY, "/digest sometimes", "Usage")
    await say(t, FAMILY, "/digest off", "off")
    await sweep(world)
    await tick_at(world, clock, FAMILY_NINE)
    assert not any("Your weekly update" in m.text for m in t.sent_to(FAMILY))
    assert await OutboxMessage.filter(kind="digest_family").count() == 0

    on = await say(t, FAMILY, "/digest on", "on")
    assert "every Monday at 09:00" in on and "Europe/Moscow" in on
    await tick_at(world, clock, FAMILY_NINE + timedelta(days=7))
    await t.wait_for(FAMILY, contains="Your weekly update")


@pytest.mark.parametrize("settings_overrides", [{"digest": False}])
async def test_digests_off_service_wide_send_none_and_say_so(world: World, clock: ManualClock) -> None:
    t = world.telegram
    await case_with_family(world)
    assert "turned off for the whole service" in await say(t, FAMILY, "/digest on")
    await tick_at(world, clock, FAMILY_NINE)
    await sweep(world)
    assert await OutboxMessage.filter(kind__startswith="digest_").count() == 0


async def seed_families(count: int, now: datetime) -> list[int]:
    """``count`` families, each with an open case of coordinator B, their digest due now."""
    holder = await Participant.get(telegram_user_id=COORDINATOR_B)
    ids = list(range(7001, 7001 + count))
    await Participant.bulk_create(
        [
            Participant(
                telegram_user_id=i,
                chat_id=i,
                locale="en",
                timezone="Asia/Shanghai",
                created_at=now,
                quiet_hours="",
            )
            for i in ids
        ]
    )
    people = await Participant.filter(telegram_user_id__in=ids).order_by("id").values_list("id", flat=True)
    await Case.bulk_create(
        [
            Case(
                label="x",
                coordinator_id=holder.id,
                created_at=now,
                state_changed_at=now,
                last_activity_at=now,
            )
            for _ in ids
        ]
    )
    cases = await Case.filter(label="x").order_by("id").values_list("id", flat=True)
    await CaseMember.bulk_create(
        [CaseMember(case_id=c, participant_id=p, joined_at=now) for c, p in zip(cases, people, strict=True)]
    )
    await Participant.all().update(next_digest_at=now)
    return ids


async def test_a_restart_in_the_middle_of_a_digest_run_sends_no_digest_twice(
    world: World, clock: ManualClock, database_url: str
) -> None:
    t = world.telegram
    await say(t, ADMIN, f"/coordinator add {COORDINATOR_B}", "coordinator")
    await say(t, COORDINATOR_B, "/help")
    families = await seed_families(60, clock.now())
    for user_id in families:
        t.user(user_id).open_chat()

    def received() -> int:
        return sum(1 for user_id in families for m in t.sent_to(user_id) if "Your weekly update" in m.text)

    await sweep(world)  # 60 family digests, the coordinator's and the admin's queued
    assert await OutboxMessage.filter(kind__startswith="digest_").count() == 62
    await t.wait_until(lambda: received() >= 10, timeout=30)
    instance = world.dispatcher["casebot"]
    assert instance.sender is not None
    await instance.sender.stop()  # the bot stops in the middle of the run
    stopped_at = received()
    assert stopped_at < 60, "the run finished before the restart"

    # A new instance starts: a new sender over the same outbox, and a new pass.
    runtime = instance.runtime
    sender = OutboxSender.from_settings(
        world.bot,
        runtime.database,
        clock,
        emulator_settings(t, database_url),
        compose=notice_composer(runtime.renderer),
        check=runtime.services.outbox.check,
        on_blocked=runtime.services.outbox.recipient_blocked,
        on_dead=runtime.services.outbox.row_dead,
    )
    instance.sender = sender
    sender.start()
    await sweep(world)
    assert await runtime.services.digest.send_now() == 0  # and an operator's `casebot digest --send-now`
    await t.wait_until(lambda: received() >= 60, timeout=60)
    await t.settle()
    per_family = [sum("Your weekly update" in m.text for m in t.sent_to(user_id)) for user_id in families]
    assert per_family == [1] * 60
    assert await OutboxMessage.filter(kind__startswith="digest_").count() == 62


async def test_a_digest_longer_than_a_message_arrives_in_parts_cut_at_line_ends(
    world: World, clock: ManualClock
) -> None:
    t = world.telegram
    await case_with_family(world)
    member = await Participant.get(telegram_user_id=FAMILY)
    coordinator = await Participant.get(telegram_user_id=COORDINATOR_B)
    now = clock.now()
    # Two more cases for the same family; each case has long custom items and long questions.
    for _ in range(2):
        case = await Case.create(
            label="More",
            coordinator_id=coordinator.id,
            created_at=now,
            state_changed_at=now,
            last_activity_at=now,
        )
        await CaseMember.create(case_id=case.id, participant_id=member.id, joined_at=now)
    for case_id in await Case.all().values_list("id", flat=True):
        start = await ChecklistItem.filter(case_id=case_id).count()
        await ChecklistItem.bulk_create(
            [
                ChecklistItem(
                    case_id=case_id,
                    position=start + n,
                    title=f"Record {n}: " + "a scan report from the regional hospital " * 5,
                    status=ItemStatus.MISSING,
                    status_changed_at=now,
                )
                for n in range(1, 31)
            ]
        )
        await Question.bulk_create(
            [
                Question(
                    case_id=case_id,
                    number=100 + n,
                    direction=Direction.TO_FAMILY,
                    text=f"Question {n}: " + "is the earlier biopsy available as blocks or slides? " * 4,
                    created_at=now,
                )
                for n in range(1, 31)
            ]
        )
    before = len(t.sent_to(FAMILY))
    await sweep(world)
    await tick_at(world, clock, FAMILY_NINE)
    row = await OutboxMessage.get(kind="digest_family")
    await t.wait_for(FAMILY, after=before, contains="not medical advice", timeout=30)  # the last part
    await t.settle()
    parts = [m for m in t.sent_to(FAMILY)[before:] if m.method == "sendMessage"]
    assert len(parts) >= 3
    assert all(len(m.text) <= TELEGRAM_TEXT_LIMIT for m in parts)
    whole = world.dispatcher["casebot"].runtime.renderer.render(
        "en", "notices/digest_family", zone="Europe/Moscow", **row.payload
    )
    assert len(whole) > TELEGRAM_TEXT_LIMIT
    # Cut only at line ends: the parts, joined by the line breaks cut at, are the whole text.
    assert "\n".join(m.text for m in parts) == whole
    assert "Your weekly update" in parts[0].text and "not medical advice" in parts[-1].text
    # Long lists are summarised: ten items of each case shown, the rest counted.
    plain = html.unescape(re.sub(r"<[^<>]*>", "", whole))
    assert plain.count("… and 28 more") == 1  # C-0001 has its 8 standard items besides the 30
    assert plain.count("… and 20 more") >= 3


async def test_a_picture_that_cannot_be_drawn_does_not_hold_back_the_digest(
    world: World, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = world.telegram

    def broken(*args: object, **kwargs: object) -> bytes:
        raise RuntimeError("no font")

    monkeypatch.setattr("casebot.rendering.pipeline_chart.pipeline_png", broken)
    await case_with_family(world)
    await sweep(world)
    before = len(t.sent_to(COORDINATOR_B))
    await tick_at(world, clock, COORDINATOR_NINE)
    digest = (await t.wait_for(COORDINATOR_B, after=before, contains="Your weekly digest"))[0]
    assert digest.method == "sendMessage" and "/case_C0001" in digest.text
    assert not [m for m in t.sent_to(COORDINATOR_B) if m.method == "sendPhoto"]


@pytest.mark.parametrize(
    ("locale", "off", "on"),
    [("ru", "сводка отключена", "по понедельникам в 09:00"), ("zh", "每周摘要已关闭", "每周一 09:00")],
)
async def test_digest_on_and_off_answer_in_the_readers_language(
    world: World, locale: str, off: str, on: str
) -> None:
    t = world.telegram
    await case_with_family(world, locale)
    assert off in await say(t, FAMILY, "/digest off", "✅")
    assert on in await say(t, FAMILY, "/digest on", "✅")
    assert (await Participant.get(telegram_user_id=FAMILY)).digest_enabled
