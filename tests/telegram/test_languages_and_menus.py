"""Families read the bot in their own language; each role gets its own command menu."""

from __future__ import annotations

from .conftest import ADMIN, World
from .test_case_journey import invite_token, join, say


async def test_a_russian_speaking_family_reads_the_bot_in_russian(world: World) -> None:
    t = world.telegram
    opened = await say(t, world.admin.id, "/newcase Russian family", "opened")
    welcome = await join(t, 3101, invite_token(opened), "Ольга", "ru")
    assert "C-0001" in welcome and "медицинская консультация" in welcome
    status = await say(t, 3101, "/status", "C-0001")
    assert "сбор документов" in status or "Сбор" in status or "документ" in status
    await say(t, world.admin.id, "/advance C-0001 sent Family asked", "✅")
    notice = await t.wait_for(3101, contains="C-0001", after=3)
    assert "медицинская консультация" in notice[-1].text


async def test_a_used_invite_is_explained_in_chinese(world: World) -> None:
    t = world.telegram
    opened = await say(t, world.admin.id, "/newcase Chinese family", "opened")
    token = invite_token(opened)
    await join(t, 3201, token, "Li", "zh-hans")
    t.user(3202, "Wang", "zh").send_command("/start", token)
    answer = (await t.wait_for(3202))[0].text
    assert "已被使用" in answer


async def test_language_can_be_changed_and_the_menu_follows_each_role(world: World) -> None:
    t = world.telegram
    opened = await say(t, world.admin.id, "/newcase Menus", "opened")
    await join(t, 3301, invite_token(opened))
    saved = await say(t, 3301, "/language ru", "✅")
    assert "ru" in saved
    assert "status" in t.menu() and "newcase" not in t.menu()
    assert "status" in t.menu(language_code="ru")
    await say(t, 2002, "hello")  # the new coordinator has opened the bot
    await say(t, ADMIN, "/coordinator add 2002", "now a coordinator")
    assert "newcase" in t.menu(chat_id=2002)
    await say(t, ADMIN, "/coordinator remove 2002", "no longer")
    # Back to the family's commands, in the language they chose.
    assert "status" in t.menu(chat_id=2002) and "newcase" not in t.menu(chat_id=2002)


async def test_the_familys_menu_offers_their_own_commands_described_for_them(world: World) -> None:
    """A family's /ask puts their question to the hospital (a coordinator's logs the hospital's):
    the family menu describes it so, in each language, next to /homedoctor."""
    t = world.telegram
    await say(t, world.admin.id, "/help", "/newcase")  # the bot is up and its menus are set
    for language, ask_words in (
        ("", "Ask the hospital a question"),
        ("ru", "Задать вопрос больнице"),
        ("zh", "向医院提问"),
    ):
        described = dict(t.commands(None, language))
        assert described["ask"] == ask_words
        assert "homedoctor" in described and "newcase" not in described
    await say(t, 2002, "hello")  # a new coordinator who has opened the bot
    await say(t, ADMIN, "/coordinator add 2002", "now a coordinator")
    assert {"outcome", "arriving"} <= set(t.menu(chat_id=2002))
