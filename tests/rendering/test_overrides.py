"""An operator's own wording (CASEBOT_TEMPLATES_DIR): used when good, refused at start-up when broken,
never a broken message from a running bot; and a text a language lacks falls back to English."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from casebot.cli import main
from casebot.rendering import Renderer
from casebot.rendering.renderer import TemplateOverrideError


def _override(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_an_override_replaces_the_packaged_text_of_its_language_only(tmp_path: Path) -> None:
    _override(tmp_path, "en/usage.j2", "Try it like this, please: <code>{{ usage }}</code>")

    renderer = Renderer(tmp_path)

    assert renderer.render("en", "usage", usage="/case C-0001") == (
        "Try it like this, please: <code>/case C-0001</code>"
    )
    assert renderer.render("ru", "usage", usage="/case C-0001") == Renderer().render(
        "ru", "usage", usage="/case C-0001"
    )


def test_an_overridden_label_is_used_for_buttons(tmp_path: Path) -> None:
    packaged = (Path(__file__).resolve().parents[2] / "templates" / "en" / "labels.j2").read_text("utf-8")
    _override(tmp_path, "en/labels.j2", packaged.replace("Snooze 1 day", "Remind me tomorrow"))

    assert Renderer(tmp_path).label("en", "snooze_1d") == "Remind me tomorrow"


def test_an_override_with_a_syntax_error_stops_start_up_naming_the_file_and_line(tmp_path: Path) -> None:
    path = _override(
        tmp_path, "ru/family/asked.j2", "Спасибо.\n{% if question %}Вопрос {{ question.number }\n"
    )

    with pytest.raises(TemplateOverrideError) as raised:
        Renderer(tmp_path)

    assert str(path) in raised.value.message
    assert "line 2" in raised.value.message


def test_the_command_line_refuses_to_start_with_a_broken_override_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _override(tmp_path / "overrides", "en/help.j2", "{% for x in %}")
    monkeypatch.setenv("CASEBOT_TEMPLATES_DIR", str(tmp_path / "overrides"))
    monkeypatch.setenv("CASEBOT_DATABASE_URL", f"sqlite://{tmp_path / 'db.sqlite3'}")
    monkeypatch.setenv("CASEBOT_BOT_TOKEN", "123:not-used")
    monkeypatch.setenv("CASEBOT_TELEGRAM_API_URL", "http://127.0.0.1:9")

    assert main(["run"]) == 2

    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1
    assert "CASEBOT_TEMPLATES_DIR" in error[0] and "help.j2, line 1" in error[0]


def test_a_missing_override_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TemplateOverrideError, match="is not a folder"):
        Renderer(tmp_path / "nowhere")


def test_an_override_that_fails_while_rendering_sends_the_packaged_text_and_logs_no_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # It compiles, but names a variable the bot never gives this text.
    _override(tmp_path, "en/usage.j2", "SECRET-WORDING {{ patient_name }} {{ usage }}")
    renderer = Renderer(tmp_path)

    with caplog.at_level(logging.ERROR, logger="casebot.rendering"):
        text = renderer.render("en", "usage", usage="/case C-0001")

    assert text == Renderer().render("en", "usage", usage="/case C-0001")
    assert "en/usage.j2" in caplog.text
    assert "SECRET-WORDING" not in caplog.text and "/case C-0001" not in caplog.text


def test_a_text_a_language_lacks_falls_back_to_english_and_says_so_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _override(tmp_path, "en/only_english_here.j2", "Hello {{ who }}")
    renderer = Renderer(tmp_path)

    with caplog.at_level(logging.WARNING, logger="casebot.rendering"):
        first = renderer.render("zh", "only_english_here", who="x")
        renderer.render("zh", "only_english_here", who="y")

    assert first == "Hello x"
    assert caplog.text.count("no zh text for only_english_here") == 1
