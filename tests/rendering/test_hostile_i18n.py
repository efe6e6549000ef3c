"""A hostile read of issue 9's rendering: operator overrides (CASEBOT_TEMPLATES_DIR) and labels.

Each test fails against the reviewed code because of a real defect its docstring names."""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from casebot.rendering import Renderer
from casebot.rendering.renderer import TemplateOverrideError

from ..language_checks import english_words

PACKAGED = Path(__file__).resolve().parents[2] / "templates"


def _override(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _packaged(name: str) -> str:
    return (PACKAGED / name).read_text(encoding="utf-8")


# --- 1. an override of the Russian labels that lacks a macro: English buttons and menus -----------


def test_a_russian_labels_override_without_a_macro_keeps_the_packaged_russian_label(tmp_path: Path) -> None:
    """An operator rewords one Russian button (the refusal) in their own ru/labels.j2, keeping only
    that macro, as one does with any override. Every other label of the Russian reader then comes
    in English, not in the packaged Russian: "This button no longer works here.", and the whole
    Russian command menu ("Where my case stands", "Answer a question"...). ``Renderer._label`` looks
    for a missing macro in English instead of in the packaged labels of the same language.
    Cause: rendering/renderer.py Renderer._label."""
    _override(
        tmp_path, "ru/labels.j2", "{% macro refused() %}Только координатор может это сделать.{% endmacro %}\n"
    )
    renderer, packaged = Renderer(tmp_path), Renderer()

    assert renderer.label("ru", "refused") == "Только координатор может это сделать."
    for key in ("button_gone", "menu_status", "snooze_1d", "send_now"):
        assert renderer.label("ru", key) == packaged.label("ru", key), key
        assert english_words(renderer.label("ru", key)) == [], key


# --- 2. an override of the macros that fails while rendering: no fallback ----------------------


def test_a_macros_override_that_fails_while_rendering_falls_back_to_the_packaged_text(tmp_path: Path) -> None:
    """The renderer promises that "an override that fails while rendering (a variable it should not
    use) is logged and the packaged text is sent instead". That holds only for the template named
    by the call: an override of ru/_macros.j2 (state names, item titles, the audit trail: imported by
    most texts) that uses a variable only some texts have raises out of every text that imports
    it, and the person gets "something went wrong" in place of their card, status or error.
    Cause: rendering/renderer.py Renderer.render (``_overridden(path)`` checks the top template only)."""
    macros = _packaged("ru/_macros.j2").replace(
        '"closed": "закрыт",', '"closed": "закрыт " ~ reader_title,', 1
    )
    _override(tmp_path, "ru/_macros.j2", macros)

    text = Renderer(tmp_path).render("ru", "errors/case_closed", reference="C-0001", state="closed")

    assert text == Renderer().render("ru", "errors/case_closed", reference="C-0001", state="closed")


# --- 3. an override edited (or added) while the bot runs, with a syntax error ---------------------


@pytest.mark.parametrize("added_later", [False, True])
def test_an_override_broken_while_the_bot_runs_changes_nothing_until_the_next_start(
    tmp_path: Path, added_later: bool
) -> None:
    """An operator who fixes a typo in ru/help.j2 on the running bot and leaves a ``{% if %}``
    unclosed, or drops in a new broken file, must not turn every /help into "something went
    wrong". Templates are compiled at start-up and kept: the running bot keeps answering with the
    text it started with, and the next start checks the new file (and refuses it)."""
    path = tmp_path / "ru" / "help.j2"
    if not added_later:
        _override(tmp_path, "ru/help.j2", "<b>Помощь</b>\n/status")
    renderer = Renderer(tmp_path)
    before = renderer.render("ru", "help", is_staff=False)
    _override(tmp_path, "ru/help.j2", "<b>Помощь</b>\n{% if is_staff %}/cases\n/status")
    later = time.time() + 5
    os.utime(path, (later, later))

    assert renderer.render("ru", "help", is_staff=False) == before
    with pytest.raises(TemplateOverrideError, match=r"help\.j2"):
        Renderer(tmp_path)


# --- 4. a symlinked override folder escapes the start-up check -----------------------------------


def test_an_override_folder_that_is_a_symlink_is_checked_at_start_up(tmp_path: Path) -> None:
    """Operators keep their wording in a folder of its own and link it in (``overrides/ru ->
    /etc/casebot/ru``). ``Path.rglob`` does not descend into a symlinked folder, so a syntax error
    there passes start-up unseen; the loader still reads the file, and at run time the text fails
    with TemplateSyntaxError on every use, with no fallback: the promised "stops start-up with the
    file and the line" never happens. Cause: rendering/renderer.py Renderer._check_overrides."""
    _override(tmp_path / "kept", "help.j2", "Помощь\n{% if %}\n")
    (tmp_path / "overrides").mkdir()
    (tmp_path / "overrides" / "ru").symlink_to(tmp_path / "kept", target_is_directory=True)

    with pytest.raises(TemplateOverrideError) as raised:
        Renderer(tmp_path / "overrides")
    assert "help.j2" in raised.value.message and "line 2" in raised.value.message


# --- 5. plural in an overridden label follows English rules --------------------------------------


@pytest.mark.parametrize(("count", "word"), [(5, "дел"), (11, "дел"), (21, "дело"), (111, "дел")])
def test_plural_in_a_russian_label_follows_russian_rules(tmp_path: Path, count: int, word: str) -> None:
    """``plural`` is the documented way to write "1 дело / 2 дела / 5 дел" in any template. In a
    label it silently uses English rules: labels are macros of a module made without the render's
    context, so ``locale`` is missing and ``_plural`` falls back to English, where 21 is "other"
    and 5 reads like 2. The pipeline picture then reads "5 дела" and "21 дела" under an
    operator's wording that is right. Cause: rendering/renderer.py Renderer._label (module without
    locale) and _plural."""
    labels = _packaged("ru/labels.j2").replace(
        "{% macro chart_overdue(count) %}просрочено: {{ count }}{% endmacro %}",
        "{% macro chart_overdue(count) %}просрочено {{ count }} "
        '{{ count|plural(one="дело", few="дела", many="дел", other="дела") }}{% endmacro %}',
    )
    _override(tmp_path, "ru/labels.j2", labels)

    assert Renderer(tmp_path).label("ru", "chart_overdue", count=count) == f"просрочено {count} {word}"


# --- 6. a checklist button cut inside an escaped character ---------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "МРТ & КТ & ПЭТ & УЗИ & биопсия & анализы & гистология & блоки",
        "Снимки <до> и <после> курса химиотерапии: КТ, МРТ, ПЭТ и УЗИ",
    ],
)
def test_a_checklist_button_shows_the_items_own_characters_cut_at_fifty(title: str) -> None:
    """A coordinator adds an item "МРТ & КТ & ПЭТ & УЗИ & биопсия & ..."; the family's "which item
    is this file?" buttons cut titles at 50 characters. The cut is made on the escaped text
    (``&amp;``, ``&lt;`` count 4-5 each) and only then unescaped, so the button reads
    "МРТ & КТ & ПЭТ & УЗИ & биопсия &a…" (a stray "&a") or is cut far short of 50 characters.
    Cause: templates/*/labels.j2 item_button (``m.item_title(item)|truncate`` on markup) with
    Renderer._label's html.unescape."""
    item = SimpleNamespace(status="missing", position=9, code=None, title=title)

    button = Renderer().label("ru", "item_button", item=item)

    assert button == f"☐ 9. {title[:49]}…", button  # jinja's truncate: 49 characters and the ellipsis
