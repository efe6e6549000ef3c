"""How `casebot` logs: plain lines by default, or one JSON object per line (CASEBOT_LOG_FORMAT=json)
for a log collector. Either way a line holds only what casebot's code put in it, and that code
never logs a token, a name or anything a person typed."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["plain", "json"]

PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# What a LogRecord carries besides what the caller passed in ``extra``.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, the exception's
    type and traceback when there is one, and whatever the caller passed in ``extra``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
            entry["traceback"] = self.formatException(record.exc_info)
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(log_format: LogFormat = "plain", level: int = logging.INFO) -> None:
    """The root logger's one handler, on standard error, in the chosen format (replacing any)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(PLAIN))
    logging.basicConfig(level=level, handlers=[handler], force=True)
