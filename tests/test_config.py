"""Settings: a bad value stops start-up with one line naming the variable."""

from __future__ import annotations

import pytest

from casebot.config import SettingsError, load_settings


@pytest.mark.parametrize("zone", ["Europe", "Z" * 300, "localtime"])
def test_a_default_time_zone_that_is_no_zone_is_one_readable_line(zone: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(default_timezone=zone)
    assert raised.value.message.startswith("CASEBOT_DEFAULT_TIMEZONE: “")
    assert "is not a time zone I know" in raised.value.message and len(raised.value.message) < 200


def test_a_default_time_zone_is_read_in_its_canonical_spelling() -> None:
    assert load_settings(default_timezone="europe/moscow").default_timezone == "Europe/Moscow"
