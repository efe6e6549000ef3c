"""`casebot demo`: one case from /newcase to closed, played against the local emulator and printed."""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from aiogram import Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from pydantic import SecretStr

from casebot.config import Settings
from casebot.db.database import Database
from casebot.db.models import OutboxMessage, OutboxStatus
from casebot.plugin import setup_casebot
from casebot.testing import BotAPIEmulator, SentMessage

COORDINATOR, FAMILY = 1000, 3001
ANSWER_TIMEOUT = 30.0
_TAGS = re.compile(r"<[^>]+>")


def _plain(text: str) -> str:
    return html.unescape(_TAGS.sub("", text))


class Conversation:
    """Drives the two people of the demo and prints what each of them sees."""

    def __init__(self, telegram: BotAPIEmulator, out: Callable[[str], None], database: Database) -> None:
        self.database = database
        self.telegram = telegram
        self.out = out
        self.names = {COORDINATOR: "coordinator", FAMILY: "family"}
        self.seen = {COORDINATOR: 0, FAMILY: 0}

    async def delivered(self) -> None:
        """Wait until the outbox is empty: notices keep to Telegram's 1 message/s per chat."""
        with self.database.bound():
            for _ in range(600):
                if not await OutboxMessage.filter(status=OutboxStatus.PENDING).exists():
                    return
                await asyncio.sleep(0.05)
        raise DemoStalled("notices were still waiting to be sent after 30 s")

    async def show_new(self, settle: bool = True) -> list[SentMessage]:
        if settle:
            await self.telegram.settle(quiet=0.25)
            await self.delivered()
            await self.telegram.settle(quiet=0.25)
        shown: list[SentMessage] = []
        for chat, count in self.seen.items():
            for message in self.telegram.sent_to(chat)[count:]:
                self.out(f"  bot → {self.names[chat]}:")
                for line in _plain(message.text).splitlines():
                    self.out(f"      {line}")
                if message.flat_buttons:
                    self.out("      [" + "] [".join(text for text, _ in message.flat_buttons) + "]")
                shown.append(message)
            self.seen[chat] = len(self.telegram.sent_to(chat))
        return shown

    async def say(self, who: int, text: str) -> list[SentMessage]:
        """``who`` writes ``text``; wait for the bot's answer to them, then show what everyone got.

        Waiting for the answer (not for a quiet moment) keeps the demo right on a busy machine,
        where the first update can take longer than any fixed pause.
        """
        self.out(f"{self.names[who]}: {text}")
        before = len(self.telegram.sent_to(who))
        self.telegram.user(who).send_text(text)
        await self.expect(who, after=before, what=f"an answer to {text.split(maxsplit=1)[0]}")
        return await self.show_new()

    async def send_file(self, who: int, name: str, caption: str, *, to: int) -> SentMessage:
        """``who`` sends the file ``name`` with ``caption``; wait for the file to reach ``to``."""
        self.out(f"{self.names[who]}: (sends {name} with the caption {caption})")
        before = len(self.telegram.sent_to(to))
        self.telegram.user(who).send_document(name, size=300_000, caption=caption)
        arrived = await self.expect(
            to, after=before, what=f"{name} to arrive", predicate=lambda m: m.method == "sendDocument"
        )
        await self.show_new()
        return arrived[0]

    async def press(self, who: int, message: SentMessage, button: str) -> None:
        """``who`` presses the button whose label holds ``button``; show the message as the bot edits it."""
        label = next(text for text, _ in message.flat_buttons if button in text)
        self.out(f"{self.names[who]}: (presses “{label}”)")
        edits = message.edit_count
        self.telegram.user(who).press(message, text=button)
        edited = await self.expect(
            who,
            what="change to the pressed message",
            predicate=lambda m: m.message_id == message.message_id and m.edit_count > edits,
        )
        self.out(f"  bot → {self.names[who]} (edits its message):")
        for line in _plain(edited[0].text).splitlines():
            self.out(f"      {line}")
        await self.show_new()

    async def expect(
        self,
        who: int,
        *,
        after: int = 0,
        contains: str | None = None,
        predicate: Callable[[SentMessage], bool] | None = None,
        what: str = "",
    ) -> list[SentMessage]:
        """Wait for the bot's message to ``who``; DemoStalled when it does not come in time."""
        try:
            return await self.telegram.wait_for(
                who, after=after, contains=contains, predicate=predicate, timeout=ANSWER_TIMEOUT
            )
        except AssertionError as stalled:
            raise DemoStalled(f"no {what or repr(contains)} within {ANSWER_TIMEOUT:.0f} s") from stalled


class DemoStalled(Exception):
    """The bot did not answer in time; the demo reports it and stops."""


async def play_demo(out: Callable[[str], None] = print) -> int:
    """Play the demo; return 0 when the case reached closed."""
    with tempfile.TemporaryDirectory() as folder:
        async with BotAPIEmulator(username="casebot_demo_bot") as telegram:
            settings = Settings(
                bot_token=SecretStr(telegram.token),
                database_url=f"sqlite://{Path(folder) / 'demo.sqlite3'}",
                telegram_api_url=telegram.base_url,
                admin_ids=[COORDINATOR],
                # The demo runs at whatever hour it is: no quiet hours, so nothing waits for morning.
                quiet_hours="off",
            )
            bot = telegram.create_bot(default=DefaultBotProperties(parse_mode=ParseMode.HTML))
            dispatcher = Dispatcher()
            setup_casebot(dispatcher, settings, standalone=True)
            polling = asyncio.create_task(
                dispatcher.start_polling(bot, handle_signals=False, polling_timeout=1)
            )
            try:
                database = dispatcher["casebot"].runtime.database
                return await _play(Conversation(telegram, out, database), telegram)
            except DemoStalled as stalled:
                out(f"demo stopped: {stalled}")
                return 1
            finally:
                await dispatcher.stop_polling()
                with contextlib.suppress(asyncio.CancelledError):
                    await polling
                await bot.session.close()


async def _play(talk: Conversation, telegram: BotAPIEmulator) -> int:
    telegram.user(COORDINATOR, "Mei (coordinator)")
    family = telegram.user(FAMILY, "Anna")
    opened = await talk.say(COORDINATOR, "/newcase Lung cancer, second opinion")
    token = re.search(r"start=(cb_[A-Za-z0-9_-]+)", "\n".join(message.text for message in opened))
    if token is None:
        return 1
    await talk.say(FAMILY, f"/start {token.group(1)}")
    language = (await talk.expect(FAMILY, contains="Which language"))[-1]
    await talk.press(FAMILY, language, "English")
    await talk.say(FAMILY, "Singapore")
    await talk.say(COORDINATOR, "/hospital C-0001 Shanghai Cancer Center | Thoracic oncology | Dr Li")
    talk.out("family: (sends pathology.pdf)")
    before = len(telegram.sent_to(FAMILY))
    family.send_document("pathology.pdf", size=250_000)
    chooser = (await talk.expect(FAMILY, after=before, contains="Which record"))[0]
    await talk.show_new()
    await talk.press(FAMILY, chooser, "2. ")
    await talk.say(COORDINATOR, "/ask C-0001 Are the pathology blocks available for review?")
    question = (await talk.expect(FAMILY, contains="The hospital asks"))[-1]
    talk.out("family: (replies to the question) Yes, the local hospital keeps them.")
    before = len(telegram.sent_to(FAMILY))
    family.reply_to(question, "Yes, the local hospital keeps them.")
    await talk.expect(FAMILY, after=before, contains="is recorded")
    await talk.show_new()
    await talk.say(COORDINATOR, "/advance C-0001 sent")
    await talk.say(COORDINATOR, "/advance C-0001 sent The family asked to send now; the rest follows")
    return await _second_half(talk, telegram)


async def _second_half(talk: Conversation, telegram: BotAPIEmulator) -> int:
    """The hospital asks for more, the case is re-routed and accepted, the opinion and its
    translation reach the family, who confirm it and name their home oncologist."""
    family = telegram.user(FAMILY)
    await talk.say(
        COORDINATOR, "/outcome C-0001 needs_more The slides cannot be read | Pathology blocks report"
    )
    await talk.say(COORDINATOR, "/advance C-0001 sent The blocks report follows by courier")
    await talk.say(
        COORDINATOR, "/outcome C-0001 reroute Zhongshan Hospital | Thoracic surgery | Dr Wang | 5bd"
    )
    await talk.say(COORDINATOR, "/outcome C-0001 accepted")
    opinion = await talk.send_file(COORDINATOR, "opinion.pdf", "/opinion C-0001", to=FAMILY)
    await talk.say(COORDINATOR, "/advance C-0001 opinion_received The hospital reviewed the records it had")
    await talk.press(FAMILY, opinion, "received")
    await talk.send_file(COORDINATOR, "opinion-en.pdf", "/opinion C-0001 translated", to=FAMILY)
    home = (await talk.expect(FAMILY, contains="Who will take it on at home"))[-1]
    talk.out("family: (replies) Dr Petrova, City Oncology Centre")
    before = len(telegram.sent_to(FAMILY))
    family.reply_to(home, "Dr Petrova, City Oncology Centre")
    await talk.expect(FAMILY, after=before, contains="Recorded")
    await talk.show_new()
    await talk.say(COORDINATOR, "/advance C-0001 home_follow_up")
    asked = await talk.say(FAMILY, "/ask Should the CT be repeated in three months?")
    number = re.search(r"Q(\d+)", "\n".join(message.text for message in asked))
    if number is None:
        return 1
    await talk.say(COORDINATOR, f"/answer C-0001 {number.group(1)} Yes, at three months, at home")
    await talk.say(COORDINATOR, "/advance C-0001 closed")
    final = await talk.say(FAMILY, "/status")
    return 0 if final and "closed" in final[-1].text else 1
