"""Settings read once from CASEBOT_* environment variables and .env, and checked before start-up."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from casebot.errors import CasebotError
from casebot.logs import LogFormat

Locale = Literal["en", "ru", "zh"]

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any) -> timedelta:
    """Read plain seconds or forms like 90s, 15m, 12h, 3d, 2w."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise ValueError(f"“{value}” is not a duration; use seconds or a form like 90s, 12h, 3d")
        seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    if seconds <= 0:
        raise ValueError("a duration must be longer than zero")
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def parse_business_days(value: Any) -> int:
    """Read a number of business days: 3, "3", "3d" or "3 business days"."""
    text = str(value).strip().lower().removesuffix("business days").removesuffix("d").strip()
    if not text.isdigit() or int(text) <= 0:
        raise ValueError(f"“{value}” is not a number of business days, such as 3")
    return int(text)


BusinessDays = Annotated[int, BeforeValidator(parse_business_days)]


def parse_days(value: Any) -> int:
    """Read a whole number of days: 30, "30" or "30d"."""
    text = str(value).strip().lower().removesuffix("days").removesuffix("d").strip()
    if not text.isdigit() or int(text) <= 0:
        raise ValueError(f"“{value}” is not a number of days, such as 30")
    return int(text)


Days = Annotated[int, BeforeValidator(parse_days)]

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def parse_weekday(value: Any) -> int:
    """Read a day of the week as ISO's number (1 Monday … 7 Sunday): "monday", "mon", "Mon" or "1"."""
    text = str(value).strip().lower()
    if text.isdigit() and 1 <= int(text) <= 7:
        return int(text)
    for number, name in enumerate(_WEEKDAYS, start=1):
        if len(text) >= 3 and name.startswith(text):
            return number
    raise ValueError(f"“{value}” is not a day of the week; use monday … sunday (or 1 … 7)")


Weekday = Annotated[int, BeforeValidator(parse_weekday)]


def parse_time_of_day(value: Any) -> str:
    """Read a local time of day as HH:MM: "9:00", "09:00", "9"."""
    text = str(value).strip()
    hours, _, minutes = text.partition(":")
    if hours.isdigit() and (minutes.isdigit() or not minutes) and len(minutes) in (0, 2):
        hour, minute = int(hours), int(minutes or 0)
        if hour < 24 and minute < 60:
            return f"{hour:02d}:{minute:02d}"
    raise ValueError(f"“{value}” is not a time of day; use HH:MM, such as 09:00")


TimeOfDay = Annotated[str, BeforeValidator(parse_time_of_day)]


def parse_switch(value: Any) -> bool:
    """Read on/off (also true/false, yes/no, 1/0)."""
    text = str(value).strip().lower()
    if text in ("on", "true", "yes", "1"):
        return True
    if text in ("off", "false", "no", "0"):
        return False
    raise ValueError(f"“{value}” is neither on nor off")


Switch = Annotated[bool, BeforeValidator(parse_switch)]


def _split_ids(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Every knob of casebot. Read once at the composition root and passed down."""

    model_config = SettingsConfigDict(
        env_prefix="CASEBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    bot_token: SecretStr | None = None
    database_url: str = "sqlite://casebot.sqlite3"
    telegram_api_url: str = "https://api.telegram.org"
    admin_ids: Annotated[list[int], NoDecode, BeforeValidator(_split_ids)] = Field(default_factory=list)
    default_timezone: str = "Asia/Shanghai"
    default_locale: Locale = "en"
    invite_ttl: Duration = timedelta(days=7)
    # Webhook mode (`casebot webhook`): the public base URL Telegram calls, the path, where to listen.
    webhook_url: str | None = None
    webhook_path: str = "/telegram/webhook"
    webhook_host: str = "0.0.0.0"
    webhook_port: int = 8080
    webhook_secret: SecretStr | None = None
    # Reminders (issue 4). Business days use the coordinator's time zone, weekends off.
    missing_items_every: Duration = timedelta(days=3)
    escalate_after: int = Field(default=3, ge=1, le=100)
    question_every: Duration = timedelta(days=2)
    hospital_answer_sla: BusinessDays = 3
    review_sla: BusinessDays = 10
    stale_after: Duration = timedelta(days=14)
    # Home follow-up check-ins come at 7 and 30 days, then every this many days until closed.
    check_in_every: Annotated[Days, Field(le=366)] = 30
    quiet_hours: str = "21:00-09:00"
    holidays: Annotated[list[date], NoDecode, BeforeValidator(_split_ids)] = Field(default_factory=list)
    sweep_every: Duration = timedelta(seconds=30)
    # Delivery: Telegram allows about 30 messages/s overall, 1/s to one chat, 20/min to one group.
    send_rate: float = Field(default=30.0, gt=0, le=1000)
    send_per_chat_interval: Duration = timedelta(seconds=1)
    send_group_per_minute: int = Field(default=20, ge=1, le=1000)
    send_concurrency: int = Field(default=8, ge=1, le=256)
    # Weekly digests (issue 9): on the reader's local day and time; off disables them service-wide.
    digest: Switch = True
    digest_day: Weekday = 1
    digest_time: TimeOfDay = "09:00"
    # A folder of templates that override the packaged ones (same <locale>/<name>.j2 layout).
    templates_dir: Path | None = None
    # Logs on standard error: plain lines, or one JSON object per line for a log collector.
    log_format: LogFormat = "plain"
    # Long polling: how many updates are handled at once (aiogram has no cap by default).
    max_concurrent_updates: int = Field(default=32, ge=1, le=1000)

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from casebot.domain.zones import parse_timezone

        try:
            return parse_timezone(value)
        except CasebotError as exc:
            raise ValueError(exc.message) from exc

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        from casebot.domain.quiet import parse_quiet_hours

        try:
            window = parse_quiet_hours(value)
        except CasebotError as exc:
            raise ValueError(exc.message) from exc
        return str(window) if window else ""

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("use 1 to 256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgres://", "asyncpg://", "psycopg://")):
            raise ValueError("use sqlite://PATH or postgres://USER@HOST:PORT/DB")
        return value


class SettingsError(CasebotError):
    """A setting with a bad value; the message names the variable."""


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning a validation failure into one line that names the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"CASEBOT_{field.upper()}: {message}") from exc
