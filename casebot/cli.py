"""The `casebot` command: migrate, makemigrations, digest, and (with the Telegram layer) run, webhook and demo."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from casebot.config import Settings, SettingsError, load_settings
from casebot.errors import CasebotError
from casebot.logs import configure_logging

log = logging.getLogger("casebot")

Command = Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]


async def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from casebot.db.database import migrate

    await migrate(settings.database_url)
    print("casebot: the database is up to date.")
    return 0


async def _makemigrations(_settings: Settings, args: argparse.Namespace) -> int:
    from casebot.db.migrations_tools import make_migrations

    written = await make_migrations(args.name)
    for path in written:
        print(f"casebot: wrote {path}")
    if not written:
        print("casebot: the models match the migrations; nothing to write.")
    return 0


def _bot(settings: Settings) -> Any:
    from aiogram import Bot
    from aiogram.client.default import DefaultBotProperties
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.enums import ParseMode

    if settings.bot_token is None:
        raise SettingsError(
            "CASEBOT_BOT_TOKEN is not set. Set it to the token from @BotFather, "
            "or try `casebot demo`, which needs no token."
        )
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    return Bot(
        settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


async def _run(settings: Settings, _args: argparse.Namespace) -> int:
    from aiogram import Dispatcher

    from casebot.plugin import setup_casebot

    bot = _bot(settings)
    dispatcher = Dispatcher()
    setup_casebot(dispatcher, settings, standalone=True)
    try:
        await bot.delete_webhook(drop_pending_updates=False)
        await dispatcher.start_polling(
            bot, tasks_concurrency_limit=settings.max_concurrent_updates, handle_signals=True
        )
    finally:
        await bot.session.close()
    return 0


async def _webhook(settings: Settings, _args: argparse.Namespace) -> int:
    from aiogram import Dispatcher
    from aiohttp import web

    from casebot.plugin import setup_casebot
    from casebot.webhook import webhook_app

    webhook_url = settings.webhook_url
    if not webhook_url or settings.webhook_secret is None:
        raise SettingsError(
            "CASEBOT_WEBHOOK_URL and CASEBOT_WEBHOOK_SECRET are needed for `casebot webhook`."
        )
    bot = _bot(settings)
    dispatcher = Dispatcher()
    setup_casebot(dispatcher, settings, standalone=True)
    app = webhook_app(
        dispatcher,
        bot,
        path=settings.webhook_path,
        secret=settings.webhook_secret.get_secret_value(),
        public_url=webhook_url,
    )
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, settings.webhook_host, settings.webhook_port).start()
    log.info("casebot webhook listening on %s:%s", settings.webhook_host, settings.webhook_port)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
    return 0


async def _demo(settings: Settings, _args: argparse.Namespace) -> int:
    from casebot.demo import play_demo

    # The demo prints the conversation itself; the emulator's access log would only add noise.
    for noisy in ("aiohttp.access", "aiogram", "apscheduler", "casebot"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    result: int = await play_demo()
    return result


async def _opened(settings: Settings, consequence: str = "") -> Any:
    """casebot's database, opened (migrated first); None, after one line on standard error naming
    the kind of failure and ``consequence``, when it cannot be."""
    from casebot.db.database import Database

    database = Database(settings.database_url)
    try:
        await database.open()
    except Exception as error:
        print(f"casebot: cannot open the database ({type(error).__name__}){consequence}.", file=sys.stderr)
        return None
    return database


async def _export(settings: Settings, args: argparse.Namespace) -> int:
    import os
    import tempfile
    from pathlib import Path

    from tqdm import tqdm

    from casebot.clock import SystemClock
    from casebot.plugin import build_services
    from casebot.services.base import SYSTEM

    target = Path(args.csv)
    database = await _opened(settings, "; nothing was written")
    if database is None:
        return 2
    try:
        # Written beside the target and renamed over it at the end: a failure leaves the old file.
        handle, temporary = tempfile.mkstemp(prefix=".casebot-export-", suffix=".csv", dir=target.parent)
    except OSError as error:
        await database.close()
        print(f"casebot: cannot write {target}: {error.strerror or error}", file=sys.stderr)
        return 2
    try:
        with database.bound(), os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            exports = build_services(settings, SystemClock()).exports
            total = await exports.count(SYSTEM)
            with tqdm(total=total, unit="case", file=sys.stderr, disable=not sys.stderr.isatty()) as bar:
                written = await exports.write_csv(SYSTEM, out, progress=bar.update)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise
    finally:
        await database.close()
    print(f"casebot: wrote {written} cases to {target}.")
    return 0


def _erase_confirmed(reference: str) -> bool:
    """On a terminal: the operator types the reference again (any spelling parse_ref takes)."""
    from casebot.domain.refs import format_ref, parse_ref
    from casebot.errors import InvalidReference

    print(
        f"casebot: this wipes the personal data of {reference} for good: its label, names, texts, "
        "notes, files, invite links and waiting messages (its states, dates and history stay).",
        file=sys.stderr,
    )
    print(f"Type {reference} again to erase it: ", end="", file=sys.stderr, flush=True)
    typed = sys.stdin.readline()
    if not typed.endswith("\n"):
        print(file=sys.stderr)  # end of input (Ctrl-D): what follows starts a line of its own
    try:
        return format_ref(parse_ref(typed.strip())) == reference
    except InvalidReference:
        return False


async def _erase(settings: Settings, args: argparse.Namespace) -> int:
    import signal

    from casebot.clock import SystemClock
    from casebot.db.models import Case
    from casebot.domain.refs import format_ref, parse_ref
    from casebot.errors import CaseAlreadyErased, CaseNotFound
    from casebot.services import Services
    from casebot.services.base import SYSTEM

    case_id = parse_ref(args.reference)  # a bad reference: main() prints the error's one line
    reference = format_ref(case_id)
    interactive = sys.stdin is not None and sys.stdin.isatty()
    if not args.yes and not interactive:
        print(
            f"casebot: erasing {reference} needs a confirmation: run it on a terminal, or add --yes. "
            "Nothing was erased.",
            file=sys.stderr,
        )
        return 2
    database = await _opened(settings, "; nothing was erased")
    if database is None:
        return 2
    try:
        with database.bound():
            case = await Case.get_or_none(id=case_id)
            if case is None:
                raise CaseNotFound(reference)
            if case.erased_at is None and not args.yes:
                # Ctrl-C at the question stops at once (asyncio's own handler would only cancel
                # the command and leave the question waiting for a line).
                previous = signal.signal(signal.SIGINT, signal.default_int_handler)
                try:
                    confirmed = _erase_confirmed(reference)
                finally:
                    signal.signal(signal.SIGINT, previous)
                if not confirmed:
                    print(f"casebot: that is not {reference}; nothing was erased.", file=sys.stderr)
                    return 2
            # Only the admins' Telegram ids matter to erasing (it acts as the system here).
            cases = Services.build(SystemClock(), admin_ids=frozenset(settings.admin_ids)).cases
            try:
                change = await cases.erase(SYSTEM, case_id)
            except CaseAlreadyErased:
                print(f"casebot: {reference} was already erased; nothing more was done.")
                return 0
    finally:
        await database.close()
    withdrawn = f" it was {change.source.value} and is now withdrawn;" if change is not None else ""
    print(
        f"casebot: {reference} erased:{withdrawn} its label, names, texts, notes, files, invite links "
        "and waiting messages are gone; its states, dates and history stay."
    )
    return 0


async def _digest(settings: Settings, args: argparse.Namespace) -> int:
    import html
    import re
    from pathlib import Path

    from tqdm import tqdm

    from casebot.clock import SystemClock
    from casebot.db.models import Participant
    from casebot.domain.digest import STAFF_DIGEST
    from casebot.plugin import build_services
    from casebot.rendering import Renderer
    from casebot.telegram.notices import digest_picture

    database = await _opened(settings)
    if database is None:
        return 2
    try:
        with database.bound():
            digests = build_services(settings, SystemClock()).digest
            if args.send_now and not settings.digest:
                print(
                    "casebot: digests are off service-wide (CASEBOT_DIGEST=off); nothing queued.",
                    file=sys.stderr,
                )
                return 2
            if args.send_now:
                total = await digests.eligible()
                with tqdm(
                    total=total, unit="person", file=sys.stderr, disable=not sys.stderr.isatty()
                ) as bar:
                    queued = await digests.send_now(progress=bar.update)
                print(f"casebot: {queued} {'digest' if queued == 1 else 'digests'} queued for this week.")
                return 0
            found = await digests.preview(args.preview)
            person = await Participant.get_or_none(telegram_user_id=args.preview)
            zone = person.timezone if person is not None else "UTC"
    finally:
        await database.close()
    if person is None:
        print(f"casebot: no participant with Telegram id {args.preview}", file=sys.stderr)
        return 2
    if found is None:
        print(f"casebot: {args.preview} would get no digest now (no open case).", file=sys.stderr)
        return 2
    if not person.digest_enabled:
        print(
            f"casebot: {args.preview} turned their digest off (/digest off): they get none.", file=sys.stderr
        )
    locale, kind, payload = found
    renderer = Renderer(settings.templates_dir)
    text = renderer.render(locale, f"notices/{kind}", zone=zone, **payload)
    print(html.unescape(re.sub(r"<[^<>]*>", "", text)))
    if kind == STAFF_DIGEST:
        picture = digest_picture(renderer, locale, payload)
        content = picture.make() if picture is not None and picture.make is not None else b""
        if content:
            path = Path(args.picture or f"digest-{args.preview}.png")
            await asyncio.to_thread(path.write_bytes, content)
            print(f"casebot: the picture is in {path}.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per job."""
    parser = argparse.ArgumentParser(prog="casebot", description=__doc__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser("run", help="run the bot on long polling").set_defaults(func=_run)
    commands.add_parser("webhook", help="run the bot behind a webhook").set_defaults(func=_webhook)
    commands.add_parser("demo", help="play one case against a local Telegram emulator").set_defaults(
        func=_demo
    )
    commands.add_parser("migrate", help="apply the database migrations").set_defaults(func=_migrate)
    export = commands.add_parser("export", help="write every case as CSV (no names or medical texts)")
    export.add_argument("--csv", required=True, metavar="FILE", help="the CSV file to write")
    export.set_defaults(func=_export)
    erase = commands.add_parser(
        "erase", help="wipe a case's personal data for good (its states, dates and history stay)"
    )
    erase.add_argument("reference", metavar="REF", help="the case, e.g. C-0042")
    erase.add_argument("--yes", action="store_true", help="do not ask to type the reference again to confirm")
    erase.set_defaults(func=_erase)
    make = commands.add_parser("makemigrations", help="(developers) write a migration for model changes")
    make.add_argument("name", nargs="?", default=None, help="a short name for the migration")
    make.set_defaults(func=_makemigrations)
    digest = commands.add_parser("digest", help="preview a weekly digest, or queue this week's now")
    action = digest.add_mutually_exclusive_group(required=True)
    action.add_argument(
        "--preview", type=int, metavar="TELEGRAM_ID", help="print the digest this person would get now"
    )
    action.add_argument(
        "--send-now", action="store_true", help="queue this week's digests for everyone now (idempotent)"
    )
    digest.add_argument("--picture", metavar="PATH", help="where --preview writes a coordinator's picture")
    digest.set_defaults(func=_digest)
    return parser


# The commands that import aiogram: its Telegram types are imported lean first (casebot.lean_import).
_WITH_AIOGRAM = frozenset({_run, _webhook, _demo, _export, _digest})


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a bad setting or a CasebotError ends with one readable line."""
    args = build_parser().parse_args(argv)
    configure_logging()
    try:
        settings = load_settings()
        configure_logging(settings.log_format)
        command: Command = args.func
        if command in _WITH_AIOGRAM:
            from casebot.lean_import import defer_aiogram_validators

            defer_aiogram_validators()
        return asyncio.run(command(settings, args))
    except (SettingsError, CasebotError) as exc:
        print(f"casebot: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
