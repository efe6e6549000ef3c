"""casebot's log lines: plain by default, one JSON object per line with CASEBOT_LOG_FORMAT=json."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest

from casebot.cli import main
from casebot.logs import JsonFormatter, configure_logging


def test_a_json_line_holds_the_time_level_logger_message_and_the_error() -> None:
    try:
        raise ConnectionError("database gone")
    except ConnectionError:
        record = logging.getLogger("casebot.sender").makeRecord(
            "casebot.sender", logging.ERROR, __file__, 1, "send failed for %s row(s)", (3,),
            sys.exc_info(), extra={"instance": "a1"},
        )  # fmt: skip
    entry = json.loads(JsonFormatter().format(record))
    assert entry["level"] == "ERROR" and entry["logger"] == "casebot.sender"
    assert entry["message"] == "send failed for 3 row(s)"
    assert entry["error"] == "ConnectionError" and "database gone" in entry["traceback"]
    assert entry["instance"] == "a1"
    assert entry["time"].endswith("+00:00")


@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_the_command_line_logs_in_the_chosen_format(
    log_format: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CASEBOT_LOG_FORMAT", log_format)
    monkeypatch.setenv("CASEBOT_DATABASE_URL", f"sqlite://{tmp_path}/logs.sqlite3")
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    try:
        assert main(["migrate"]) == 0
        logging.getLogger("casebot.sender").info("sent %s message(s)", 3)
    finally:
        root.handlers[:] = before
        root.setLevel(level)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert lines, "nothing was logged"
    if log_format == "json":
        entries = [json.loads(line) for line in lines]  # every line is one JSON object
        assert entries[-1]["message"] == "sent 3 message(s)" and entries[-1]["logger"] == "casebot.sender"
    else:
        assert lines[-1].endswith("INFO casebot.sender: sent 3 message(s)")


def test_configuring_twice_leaves_one_handler() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        configure_logging("json")
        configure_logging("plain")
        assert len(root.handlers) == 1
    finally:
        root.handlers[:] = before
