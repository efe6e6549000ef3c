"""A hostile read of the weekly digests (issue 9), through the emulator: each test names a defect a
family member or a coordinator would notice in Telegram, and fails on the code as it stands."""

from __future__ import annotations

import re

import pytest

from casebot.clock import ManualClock
from casebot.db.models import Participant

from .conftest import COORDINATOR_B, World
from .test_case_journey import say
from .test_digests import COORDINATOR_NINE, FAMILY, FAMILY_NINE, case_with_family, tick_at
from .test_reminders_e2e import sweep


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """The weekly digests on (the tests' worlds have them off unless a test turns them on)."""
    return {"digest": True}


QUESTION = "Are the pathology blocks available?"


def tapped(text: str, line_has: str) -> str:
    """What Telegram sends when the reader taps the command in the line holding ``line_has``: the
    bot_command entity only (letters, digits and _ after the slash), never the words after it."""
    line = next(line for line in text.splitlines() if line_has in line)
    match = re.search(r"/[A-Za-z0-9_]+", line)
    assert match, line
    return match.group(0)


async def test_tapping_the_digests_own_way_to_stop_it_stops_it(world: World, clock: ManualClock) -> None:
    """Both digests end with "/digest off" ("To stop these weekly updates: /digest off", "/digest off
    stops this digest"). In Telegram only "/digest" is a tappable command, and a tap sends just
    that: the bot answers with the usage line "/digest off|on" and the digest stays on. The
    coordinator's case links were made tappable for this very reason (/case_C0042); the way out
    of the digest was not."""
    t = world.telegram
    await case_with_family(world)
    await Participant.filter(telegram_user_id__in=[FAMILY, COORDINATOR_B]).update(quiet_hours="")
    await sweep(world)
    before = len(t.sent_to(COORDINATOR_B))
    await tick_at(world, clock, COORDINATOR_NINE)
    staff = (await t.wait_for(COORDINATOR_B, after=before, contains="Your weekly digest"))[0]
    before = len(t.sent_to(FAMILY))
    await tick_at(world, clock, FAMILY_NINE)
    family = (await t.wait_for(FAMILY, after=before, contains="Your weekly update"))[0]

    await say(t, FAMILY, tapped(family.text, "/digest"))
    await say(t, COORDINATOR_B, tapped(staff.text, "/digest"))
    enabled = dict(
        await Participant.filter(telegram_user_id__in=[FAMILY, COORDINATOR_B]).values_list(
            "telegram_user_id", "digest_enabled"
        )
    )
    assert enabled == {FAMILY: False, COORDINATOR_B: False}, "the tap only brought the usage line"


@pytest.mark.parametrize(
    ("locale", "below"),
    [
        ("en", "answer the hospital’s questions below"),
        ("ru", "ответьте на вопросы больницы ниже"),
        ("zh", "请回答下面医院提出的问题"),
    ],
)
async def test_the_next_step_points_to_the_hospitals_questions_where_they_are(
    world: World, clock: ManualClock, locale: str, below: str
) -> None:
    """The hospital asked the family a question. Their digest lists it under "The hospital asks you",
    then says "Next step, with you: please answer the hospital's questions below"; below that
    come only the disclaimer and the opt-out line. The reader looks below for the questions and
    finds none (the same in Russian "ниже" and Chinese "下面")."""
    t = world.telegram
    await case_with_family(world, locale)
    await Participant.filter(telegram_user_id=FAMILY).update(quiet_hours="")
    await say(t, COORDINATOR_B, f"/ask C-0001 {QUESTION}", "Q11")
    await sweep(world)
    before = len(t.sent_to(FAMILY))
    await tick_at(world, clock, FAMILY_NINE)
    digest = (await t.wait_for(FAMILY, after=before, contains=QUESTION))[0].plain_text
    assert not (below in digest and digest.index(QUESTION) < digest.index(below)), (
        "the text says the questions are below; they are above"
    )
