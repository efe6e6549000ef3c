"""Coordinators read the bot in the language they choose, like families: every answer of a working
day (a new case, the card, the list, a move, a mistyped command) comes in Russian or Chinese, with
dates in their own form and time zone."""

from __future__ import annotations

import pytest

from ..language_checks import english_words
from .conftest import ADMIN, World
from .test_case_journey import invite_token, join, say

# What a coordinator may see in Latin letters whatever their language: the label and names they
# typed themselves, and the hospital's names.
TYPED = frozenset({"ann", "lung", "mrs", "ivanova", "fudan", "thoracic", "oncology"})


@pytest.mark.parametrize(
    ("language", "reason", "card_words"),
    [
        ("ru", "семья просила отправить то, что есть", "Статус"),
        ("zh", "家属要求先发送已有资料", "状态"),
    ],
)
async def test_a_coordinator_who_chooses_russian_or_chinese_works_in_it(
    world: World, language: str, reason: str, card_words: str
) -> None:
    t = world.telegram
    await say(t, ADMIN, f"/language {language}", "✅")
    await say(t, ADMIN, "/timezone Europe/Moscow" if language == "ru" else "/timezone Asia/Shanghai", "✅")

    replies = [await say(t, ADMIN, "/newcase Lung, Mrs Ivanova", "C-0001")]
    await join(t, 3501, invite_token(replies[0]))
    replies.append(await say(t, ADMIN, "/hospital C-0001 Fudan | Thoracic oncology | Dr Li | 7bd", "Fudan"))
    replies.append(await say(t, ADMIN, f"/advance C-0001 sent {reason}", "✅"))
    card = await say(t, ADMIN, "/case C-0001", card_words)  # not the notice of the family joining
    replies.append(card)
    replies.append(await say(t, ADMIN, "/cases"))
    replies.append(await say(t, ADMIN, "/advance C-0001"))  # mistyped: the usage line
    replies.append(await say(t, ADMIN, "/advance C-0099 under_review"))  # no such case
    replies.append(await say(t, ADMIN, "/reminders C-0001"))

    assert "C-0001" in card
    for reply in replies:
        assert english_words(reply, TYPED) == [], reply
