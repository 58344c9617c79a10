"""Settings: one documented order, every setting documented, clear errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from errorsift.errors import ConfigError
from errorsift.settings import SETTINGS, load_settings, parse_duration

DOCS = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_documented(setting):
    text = DOCS.read_text()
    assert f"`{setting.name}`" in text
    if not isinstance(setting.default, dict | list):
        assert f"`{setting.env_var}`" in text


@pytest.mark.parametrize(
    "text,expected",
    [
        ("24h", timedelta(hours=24)),
        ("90m", timedelta(minutes=90)),
        ("7d", timedelta(days=7)),
        ("30", timedelta(seconds=30)),
    ],
)
def test_durations(text, expected):
    assert parse_duration(text) == expected


def test_bad_duration_is_a_config_error():
    with pytest.raises(ConfigError, match="invalid duration"):
        parse_duration("soon")


def test_order_default_file_env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_settings(env={}).baseline_days == 7
    (tmp_path / "errorsift.toml").write_text("[errorsift]\nbaseline_days = 3\nwindow = '12h'\n")
    s = load_settings(env={})
    assert s.baseline_days == 3 and s.window == "12h" and s.config_file == "errorsift.toml"
    assert load_settings(env={"ERRORSIFT_BASELINE_DAYS": "5"}).baseline_days == 5
    assert load_settings(env={}).with_overrides(baseline_days=2, window=None).window == "12h"


def test_unknown_key_and_bad_type_are_clear(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("baseline_dayz = 3\n")
    with pytest.raises(ConfigError, match="unknown setting 'baseline_dayz'"):
        load_settings(str(bad), env={})
    with pytest.raises(ConfigError, match="must be an integer"):
        load_settings(None, env={"ERRORSIFT_BASELINE_DAYS": "many"})
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(str(tmp_path / "missing.toml"), env={})
