"""Every error and refusal a person can meet reads in their language: en, ru and zh.

Each CasebotError names a template under templates/<locale>/errors/ (on its class, or as the ``key``
of a generic one); the scan below reads casebot's source, so an error added without one fails here.
"""

from __future__ import annotations

import ast
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

import pytest

import casebot
from casebot.domain.outcomes import Outcome, OutcomeNotFitting, OutcomeReasonRequired
from casebot.domain.reminders import WHY, Audience, Reminder
from casebot.domain.states import CaseState
from casebot.errors import (
    INVITE_MESSAGES,
    CasebotError,
    CaseClosed,
    CaseNotFound,
    InvalidInput,
    InvalidReference,
    InviteInvalid,
    ItemNotFound,
    ItemRef,
    OverrideRequired,
    QuestionAlreadyAnswered,
    QuestionNotFound,
    ReasonRequired,
    StateConflict,
    TransitionNotAllowed,
    UnknownState,
)
from casebot.rendering import Renderer
from casebot.telegram.errors import user_error_text

from ..telegram import conftest as emulated
from ..telegram.conftest import ADMIN, World
from ..telegram.test_case_journey import invite_token, join, say

# The end-to-end fixtures of tests/telegram/: the emulator, and casebot polling it.
telegram = emulated.telegram
settings_overrides = emulated.settings_overrides
world = emulated.world

SOURCE = Path(casebot.__file__).parent
LOCALES = ("en", "ru", "zh")
TRANSLATED = ("ru", "zh")

# Errors only the operator meets: printed by the `casebot` command, or stopping start-up, before
# any chat exists. They stay in English, like the settings and logs they are about.
OPERATOR_ONLY = frozenset({"SettingsError", "TemplateOverrideError"})

# Classes that name their template themselves from an argument: their templates, all of them.
KEYS_MADE_BY_CLASSES = {"InviteInvalid": {f"invite_{reason}" for reason in INVITE_MESSAGES}}

# The app's own name, as Russian and Chinese readers see it in the app.
PROPER_NAMES = frozenset({"Telegram"})


# --- the scan of casebot's source --------------------------------------------------------------


@dataclass
class ErrorClass:
    name: str
    template: str | None  # set on the class (or a parent)
    keys_itself: bool  # its __init__ hands ``key=`` to CasebotError


@dataclass
class Site:
    """A place in casebot that builds an error: where, which class, which template, which fields."""

    where: str
    cls: str
    key: str | None
    fields: tuple[str, ...] = field(default=())


@cache
def _trees() -> tuple[tuple[str, ast.Module], ...]:
    return tuple(
        (str(path.relative_to(SOURCE.parent)), ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(SOURCE.rglob("*.py"))
    )


def _class_template(node: ast.ClassDef) -> str | None:
    for statement in node.body:
        targets = (
            statement.targets
            if isinstance(statement, ast.Assign)
            else [statement.target]
            if isinstance(statement, ast.AnnAssign)
            else []
        )
        value = getattr(statement, "value", None)
        named = any(isinstance(t, ast.Name) and t.id == "template" for t in targets)
        if named and isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value.value
    return None


def _keys_itself(node: ast.ClassDef) -> bool:
    """Its __init__ hands CasebotError a key of its own making (not the caller's ``key``)."""
    for function in node.body:
        if isinstance(function, ast.FunctionDef) and function.name == "__init__":
            for call in ast.walk(function):
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "__init__"
                    and any(
                        k.arg == "key" and not (isinstance(k.value, ast.Name) and k.value.id == "key")
                        for k in call.keywords
                    )
                ):
                    return True
    return False


@cache
def error_classes() -> dict[str, ErrorClass]:
    """Every subclass of CasebotError defined in casebot, by name, with the template it inherits."""
    defs = {
        node.name: node for _, tree in _trees() for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
    }
    found = {"CasebotError": ErrorClass("CasebotError", None, False)}
    grew = True
    while grew:
        grew = False
        for name, node in defs.items():
            parents = [b.id for b in node.bases if isinstance(b, ast.Name) and b.id in found]
            if name in found or not parents:
                continue
            inherited = found[parents[0]]
            found[name] = ErrorClass(
                name,
                _class_template(node) or inherited.template,
                _keys_itself(node) or inherited.keys_itself,
            )
            grew = True
    return found


@cache
def sites() -> tuple[Site, ...]:
    """Every call in casebot that builds a CasebotError (raised there or returned to be raised)."""
    classes = error_classes()
    found = []
    for path, tree in _trees():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name not in classes:
                continue
            keywords = {k.arg: k.value for k in node.keywords if k.arg is not None}
            key_node = keywords.pop("key", None)
            key = key_node.value if isinstance(key_node, ast.Constant) else None
            if key_node is not None and not isinstance(key, str):
                key = f"<not a constant string at {path}:{node.lineno}>"
            found.append(Site(f"{path}:{node.lineno}", name, key, tuple(sorted(keywords))))
    return tuple(found)


def all_keys() -> set[str]:
    """Every template an error of casebot can name."""
    keys = {c.template for c in error_classes().values() if c.template and c.name not in OPERATOR_ONLY}
    keys |= {site.key for site in sites() if site.key}
    for made in KEYS_MADE_BY_CLASSES.values():
        keys |= made
    return keys


# --- (a) no error without a template -----------------------------------------------------------


def test_the_scan_sees_casebots_errors_and_where_they_are_raised() -> None:
    """The scan itself works: it knows the generic errors and finds their raise sites."""
    names = {site.cls for site in sites()}
    assert {"InvalidInput", "NotAllowed", "InvalidText", "CaseNotFound", "OutcomeNotFitting"} <= names
    assert len(sites()) >= 50


def test_every_error_casebot_raises_names_a_template() -> None:
    classes = error_classes()
    missing = [
        f"{site.where}: {site.cls}(...) has no class template and no key="
        for site in sites()
        if site.cls not in OPERATOR_ONLY
        and site.key is None
        and classes[site.cls].template is None
        and not classes[site.cls].keys_itself
    ]
    assert not missing, "\n".join(missing)


def test_every_key_is_a_plain_string_the_tests_can_check() -> None:
    odd = [site.key for site in sites() if site.key and site.key.startswith("<")]
    assert not odd, odd


def test_classes_that_name_their_own_template_are_known_here() -> None:
    self_keyed = {c.name for c in error_classes().values() if c.keys_itself and c.template is None}
    assert self_keyed == set(KEYS_MADE_BY_CLASSES)


def test_a_generic_error_cannot_be_built_without_its_key() -> None:
    with pytest.raises(TypeError):
        InvalidInput("no key")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        InvalidInput("a reserved field", key="no_time", message="shadowed")


# --- (b) every key in every language -----------------------------------------------------------


@cache
def renderer() -> Renderer:
    return Renderer()


@pytest.mark.parametrize("locale", LOCALES)
def test_every_error_key_has_a_template_in_each_language(locale: str) -> None:
    lacking = sorted(key for key in all_keys() if not renderer().has(locale, f"errors/{key}"))
    assert not lacking, f"templates/{locale}/errors/ lacks: {lacking}"


def test_no_error_template_is_only_in_english() -> None:
    root = Path(renderer().env.loader.searchpath[0])  # type: ignore[union-attr]
    english = {p.stem for p in (root / "en" / "errors").glob("*.j2")}
    for locale in TRANSLATED:
        theirs = {p.stem for p in (root / locale / "errors").glob("*.j2")}
        assert english <= theirs, f"{locale} lacks {sorted(english - theirs)}"


# --- (c) every error reads without English in ru and zh ----------------------------------------

_CODE = re.compile(r"<code>.*?</code>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_COMMAND = re.compile(r"/[a-z_]+\b")
_REFERENCE = re.compile(r"\bC-[0-9]+\b")
_WORD = re.compile(r"[A-Za-z]{3,}")


def english_words(text: str) -> list[str]:
    """Latin words of three letters or more, less what may stay as it is: what the person types
    literally (in <code>), commands, case references, acronyms and the app's name."""
    plain = html.unescape(_TAG.sub(" ", _CODE.sub(" ", text)))
    plain = _REFERENCE.sub(" ", _COMMAND.sub(" ", plain))
    return [w for w in _WORD.findall(plain) if not w.isupper() and w not in PROPER_NAMES]


def test_the_english_detector_finds_english_and_forgives_what_may_stay() -> None:
    assert english_words("⚠️ Nothing was changed.") == ["Nothing", "was", "changed"]
    assert english_words("Случай C-0042: /case, <code>ok …</code>, 60 MB, Telegram, Q11") == []
    assert english_words("Слово <b>reroute</b> не в code") == ["reroute", "code"]


# Values for the fields raise sites give, none of them Latin words (they are what a person typed
# or named, which is shown as it is).
SAMPLES: dict[str, object] = {
    "shown": "31.02",
    "reference": "C-0042",
    "day": date(2026, 1, 5),
    "what": "question",
    "length": 5000,
    "limit": 2000,
    "guesses": ("America/New_York", "America/Toronto"),
    "user_id": 4242,
    "position": 3,
    "status": "received",
    "kind": "photo",
    "size_mb": 12.5,
    "limit_mb": 10,
    "hospital": "复旦大学附属肿瘤医院",
    "department": "胸外科",
    "locales": ("en", "ru", "zh"),
    "number": 11,
    "days": 30,
}

# One of each error whose class always says the same sentence.
CLASS_SAMPLES: dict[str, list[CasebotError]] = {
    "CaseNotFound": [CaseNotFound("C-0099")],
    "InvalidReference": [InvalidReference("№42")],
    "TransitionNotAllowed": [
        TransitionNotAllowed("records_gathering", "opinion_received", ("sent", "withdrawn")),
        TransitionNotAllowed("closed", "sent", ()),
    ],
    "UnknownState": [UnknownState("готово", ("sent", "withdrawn"))],
    "OverrideRequired": [
        OverrideRequired(
            "sent", ("no_named_reviewer",), (ItemRef(2, "pathology", "-"), ItemRef(9, None, "ПЭТ"))
        )
    ],
    "StateConflict": [StateConflict("C-0042", "sent", "under_review")],
    "CaseClosed": [CaseClosed("C-0042", "withdrawn")],
    "ItemNotFound": [ItemNotFound("C-0042", "٣", 8), ItemNotFound("C-0042", "1", 0)],
    "QuestionNotFound": [QuestionNotFound("C-0042", "77")],
    "QuestionAlreadyAnswered": [QuestionAlreadyAnswered("C-0042", 11)],
    "ReasonRequired": [ReasonRequired("sent", "records_gathering")],
    "InviteInvalid": [InviteInvalid(reason) for reason in INVITE_MESSAGES],
    "OutcomeNotFitting": [
        OutcomeNotFitting("C-0042", Outcome.ACCEPTED, CaseState.RECORDS_GATHERING, (Outcome.REROUTED,)),
        OutcomeNotFitting("C-0042", Outcome.DECLINED, CaseState.HOME_FOLLOW_UP, ()),
    ],
    "OutcomeReasonRequired": [OutcomeReasonRequired(Outcome.NEEDS_MORE)],
}


def test_every_error_class_with_its_own_template_has_a_sample_here() -> None:
    templated = {
        c.name
        for c in error_classes().values()
        if (c.template or c.keys_itself) and c.name not in OPERATOR_ONLY
    }
    assert templated == set(CLASS_SAMPLES)


# The English ``message`` of a sample: seen in a text only if the template was not used.
FALLBACK_SENTINEL = "⟦the error's own message⟧"


def _site_error(site: Site) -> CasebotError:
    unknown = [name for name in site.fields if name not in SAMPLES]
    assert not unknown, f"{site.where}: give SAMPLES a value for {unknown}"
    return CasebotError(FALLBACK_SENTINEL, key=site.key, **{name: SAMPLES[name] for name in site.fields})


def _all_samples() -> list[tuple[str, CasebotError]]:
    samples = [(site.where, _site_error(site)) for site in sites() if site.key]
    samples += [(type(e).__name__, e) for errors in CLASS_SAMPLES.values() for e in errors]
    return samples


@pytest.mark.parametrize("locale", LOCALES)
def test_every_error_renders_in_each_language_with_the_fields_its_raise_site_gives(locale: str) -> None:
    """A template that reads a field its raise site does not give fails here (StrictUndefined)."""
    for where, error in _all_samples():
        text = user_error_text(renderer(), error, locale)
        assert text.strip() and FALLBACK_SENTINEL not in text, where


@pytest.mark.parametrize("locale", TRANSLATED)
def test_no_error_reads_in_english_in_russian_or_chinese(locale: str) -> None:
    found = {}
    for where, error in _all_samples():
        text = user_error_text(renderer(), error, locale)
        if english_words(text):
            found[f"{where} ({error.template})"] = (english_words(text), text)
    assert not found, "\n".join(f"{k}: {v}" for k, v in found.items())


@cache
def whats() -> set[str]:
    """The ``what=`` of every clean_text / clean_name call: the names of the texts refused."""
    return {
        k.value.value
        for _, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("clean_text", "clean_name")
        for k in node.keywords
        if k.arg == "what" and isinstance(k.value, ast.Constant)
    }


@pytest.mark.parametrize("locale", TRANSLATED)
def test_each_refused_text_is_named_in_russian_and_chinese(locale: str) -> None:
    assert {"question", "case label", "home oncologist"} <= whats()
    words = renderer().env.get_template(f"{locale}/errors/_parts.j2").make_module({"locale": locale}).words
    assert whats() <= set(words), sorted(whats() - set(words))
    for what in sorted(whats()):
        for key, fields in (
            ("text_empty", {}),
            ("text_invisible", {}),
            ("text_too_long", {"length": 5001, "limit": 5000}),
        ):
            text = user_error_text(renderer(), CasebotError("-", key=key, what=what, **fields), locale)
            assert not english_words(text), text


def test_a_russian_error_names_states_in_words_and_keeps_the_words_to_type() -> None:
    text = user_error_text(
        renderer(), TransitionNotAllowed("records_gathering", "opinion_received", ("sent", "withdrawn")), "ru"
    )
    assert "«сбор документов»" in text and "«заключение получено»" in text
    assert "«отправлен в больницу» (<code>sent</code>)" in text


@pytest.mark.parametrize(
    ("count", "words"), [(1, "1 символ,"), (3, "3 символа,"), (5, "5 символов,"), (21, "21 символ,")]
)
def test_a_russian_length_refusal_counts_characters_in_the_right_form(count: int, words: str) -> None:
    error = CasebotError("-", key="text_too_long", what="note", length=count, limit=0)
    assert words in user_error_text(renderer(), error, "ru")


@pytest.mark.parametrize(
    ("locale", "words"),
    [("en", "January 5, 2026"), ("ru", "5 января 2026\u202fг."), ("zh", "2026年1月5日")],
)
def test_a_past_date_is_written_as_the_reader_writes_dates(locale: str, words: str) -> None:
    error = InvalidInput("-", key="day_past", day=date(2026, 1, 5))
    assert words in user_error_text(renderer(), error, locale)


def test_a_locale_that_lacks_an_error_template_gets_english_and_the_check_above_says_so(
    tmp_path: Path,
) -> None:
    """The fallback exists (nobody gets a crash), and the per-language check catches it."""
    (tmp_path / "ru" / "errors").mkdir(parents=True)
    (tmp_path / "ru" / "errors" / "case_not_found.j2").write_text(
        "{% extends 'en/errors/case_not_found.j2' %}"
    )
    overridden = Renderer(overrides=tmp_path)
    assert "There is no case C-0042" in user_error_text(overridden, CaseNotFound("C-0042"), "ru")
    assert english_words(user_error_text(overridden, CaseNotFound("C-0042"), "ru"))
    assert not renderer().has("fr", "errors/case_not_found")
    assert "There is no case C-0042" in user_error_text(renderer(), CaseNotFound("C-0042"), "fr")


# --- the reasons /reminders gives ----------------------------------------------------------------

REMINDER_PAYLOAD: dict[str, object] = {"case_id": 42, "number": 11, "reminders": 2, "days": 5, "round": 7}


@cache
def reminder_kinds() -> set[str]:
    """Every kind of reminder domain/reminders.py makes."""
    tree = dict(_trees())["casebot/domain/reminders.py"]
    kinds = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Reminder" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant):
                kinds.add(first.value)
        named = isinstance(node, ast.keyword) and node.arg in ("kind", "escalation")
        if named and isinstance(node.value, ast.Constant):
            kinds.add(node.value.value)
    return kinds


def _schedule(locale: str) -> str:
    upcoming = [
        Reminder(kind, audience, f"k{n}", datetime(2026, 12, 1, 6, tzinfo=UTC), REMINDER_PAYLOAD, why)
        for n, (kind, why, audience) in enumerate(
            zip(
                sorted(reminder_kinds()) * 2,
                sorted(WHY),
                [Audience.FAMILY, Audience.COORDINATOR] * len(WHY),
                strict=False,
            )
        )
    ]
    return (
        renderer().render(
            locale,
            "staff/reminders",
            ref="C-0042",
            upcoming=upcoming[:10],
            paused_until=datetime(2026, 11, 30, tzinfo=UTC),
            zone="Asia/Shanghai",
        )
        + "\n"
        + renderer().render(
            locale,
            "staff/reminders",
            ref="C-0042",
            upcoming=upcoming[10:],
            paused_until=None,
            zone="Asia/Shanghai",
        )
    )


def test_every_reminder_kind_and_reason_is_covered_by_the_schedule_sample() -> None:
    assert len(reminder_kinds()) >= 10 and len(WHY) >= 12
    assert len(sorted(reminder_kinds()) * 2) >= len(WHY)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_the_schedule_reads_without_english_in_russian_and_chinese(locale: str) -> None:
    assert renderer().has(locale, "staff/reminders")
    text = _schedule(locale)
    assert not english_words(text), (english_words(text), text)


def test_the_schedule_says_each_reason_in_words_with_its_values() -> None:
    english, russian, chinese = (_schedule(locale) for locale in LOCALES)
    assert "the hospital's question Q11 is unanswered" in english
    assert "2 reminders went unanswered" in english
    assert "the 7-day home follow-up check-in" in english
    assert "вопрос больницы Q11 ещё без ответа" in russian
    assert "2 напоминания остались без ответа" in russian
    assert "уже 5 рабочих дней" in russian
    assert "→ семье" in russian and "→ координатору" in russian
    assert "医院的问题 Q11 尚未回答" in chinese and "→ 家属" in chinese
    for code in WHY:
        assert code not in english and code.replace("_", " ") not in russian


# --- (d) end to end: a person's mistake, answered in their language ------------------------------

FAMILY_RU = 3501
FAMILY_ZH = 3502


async def _family(world: World, user_id: int, language: str) -> None:
    opened = await say(world.telegram, ADMIN, f"/newcase Семья {user_id}", "opened")
    await join(world.telegram, user_id, invite_token(opened), "Ольга", language)


async def test_a_russian_family_member_who_mistypes_a_snooze_reads_why_in_russian(world: World) -> None:
    t = world.telegram
    await _family(world, FAMILY_RU, "ru")
    unreadable = await say(t, FAMILY_RU, "/snooze когда-нибудь", "⚠️")
    assert "Не могу понять, какая дата или срок имеется в виду: «когда-нибудь»" in unreadable
    assert "<code>3d</code> (3 дня)" in unreadable
    assert not english_words(unreadable), unreadable
    too_long = await say(t, FAMILY_RU, "/snooze 6w", "⚠️")
    assert "не больше чем на 30 дней" in too_long and not english_words(too_long)
    past = await say(t, FAMILY_RU, "/snooze 2020-01-01", "⚠️")
    assert "1 января 2020\u202fг. уже прошла" in past and not english_words(past)


async def test_a_chinese_family_member_reads_their_refusals_in_chinese(world: World) -> None:
    t = world.telegram
    await _family(world, FAMILY_ZH, "zh")
    zone = await say(t, FAMILY_ZH, "/timezone Mars/Olympus", "⚠️")
    assert "无法识别时区“Mars/Olympus”" in zone
    no_question = await say(t, FAMILY_ZH, "/reply 77 好的", "⚠️")
    assert "病例 C-0001 中没有问题“77”" in no_question and not english_words(no_question)
    no_time = await say(t, FAMILY_ZH, "/snooze 0d", "⚠️")
    assert "“0d”的时长为零" in no_time and not english_words(no_time)
    language = await say(t, FAMILY_ZH, "/language fr", "⚠️")
    assert "<code>ru</code>（俄语）" in language and not english_words(language)


async def test_a_coordinator_reading_russian_is_refused_in_russian(world: World) -> None:
    t = world.telegram
    await say(t, ADMIN, "/newcase Семья", "opened")
    await say(t, ADMIN, "/language ru", "✅")
    wrong_state = await say(t, ADMIN, "/advance C-0001 finished", "⚠️")
    assert "«finished» — это не статус случая" in wrong_state
    assert "«отправлен в больницу» (<code>sent</code>)" in wrong_state
    blocked = await say(t, ADMIN, "/advance C-0001 opinion_received", "⚠️")
    assert "нельзя перевести в статус «заключение получено»" in blocked
    assert not english_words(blocked), blocked
    quiet = await say(t, ADMIN, "/quiet 25:00-09:00", "⚠️")
    assert "Для тихих часов нужно реальное время суток" in quiet
