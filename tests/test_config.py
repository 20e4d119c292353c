from __future__ import annotations

from pathlib import Path

import pytest

from auterity_desktop.config import (
    SettingsError,
    default_config_file,
    describe_settings,
    load_settings,
    setting_names,
)
from auterity_desktop.core.errors import ErrorCode

CATALOGUE_DEFAULTS = {
    "API_GATEWAY_PORT": 8000,
    "WORKFLOW_ENGINE_WORKERS": 4,
    "AI_MODEL_CACHE_SIZE": 1000,
    "AI_REQUEST_TIMEOUT": 30,
    "ANALYTICS_BATCH_SIZE": 100,
    "PROCESS_MINING_WORKERS": 2,
    "MAX_CONNECTIONS": 100,
    "MESSAGE_QUEUE_SIZE": 1000,
    "AUTH_TOKEN_EXPIRY": 3600,
    "AUDIT_LOG_RETENTION": 30,
    "METRICS_COLLECTION_INTERVAL": 60,
    "ALERT_THRESHOLD": 0.95,
}


def values(env: dict[str, str], config_file: Path) -> dict[str, object]:
    settings, sources = load_settings(env, config_file)
    return {row.name: row.value for row in describe_settings(settings, sources)}


def test_catalogue_defaults(tmp_path: Path) -> None:
    got = values({}, tmp_path / "none.toml")
    for name, default in CATALOGUE_DEFAULTS.items():
        assert got[name] == default, name
    assert set(CATALOGUE_DEFAULTS) | {"AUTERITY_DATABASE_URL", "AUTERITY_DATA_DIR"} <= set(
        setting_names()
    )


def test_environment_beats_file_beats_default_and_sources_are_recorded(tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text(
        'API_GATEWAY_PORT = 9001\nALERT_THRESHOLD = 0.8\nAUTERITY_LOG_LEVEL = "debug"\n'
    )
    settings, sources = load_settings(
        {"API_GATEWAY_PORT": "9100", "AUTERITY_DATA_DIR": str(tmp_path)}, config
    )
    assert settings.api_gateway_port == 9100
    assert settings.alert_threshold == 0.8
    assert settings.log_level == "DEBUG"
    assert settings.workflow_engine_workers == 4
    assert sources["API_GATEWAY_PORT"] == "environment"
    assert sources["ALERT_THRESHOLD"] == f"file {config}"
    assert sources["WORKFLOW_ENGINE_WORKERS"] == "default"
    assert settings.data_dir == tmp_path
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'auterity.db'}"


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("API_GATEWAY_PORT", "abc", "an integer from 1 to 65535"),
        ("API_GATEWAY_PORT", "70000", "an integer from 1 to 65535"),
        ("WORKFLOW_ENGINE_WORKERS", "0", "an integer from 1 to 256"),
        ("AI_REQUEST_TIMEOUT", "-3", "a number of seconds above 0"),
        ("ALERT_THRESHOLD", "1.5", "a number above 0 and at most 1"),
        ("ALERT_THRESHOLD", "nan", "a number above 0 and at most 1"),
        ("AUTH_TOKEN_EXPIRY", "10", "from 60"),
        ("AUTERITY_DATABASE_URL", "mysql://db/x", "a sqlite:// or postgresql:// URL"),
        ("AUTERITY_LOG_LEVEL", "LOUD", "one of DEBUG, INFO, WARNING, ERROR"),
    ],
)
def test_bad_value_is_one_clear_line(tmp_path: Path, name: str, value: str, allowed: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({name: value}, tmp_path / "none.toml")
    error = info.value
    assert error.code is ErrorCode.CONFIG_INVALID
    assert len(error.lines) == 1
    line = error.lines[0]
    assert "\n" not in line
    assert line.startswith(f"Invalid setting {name}={value!r} (from environment): allowed is ")
    assert allowed in line
    assert error.details["problems"][0]["variable"] == name


def test_several_bad_values_give_one_line_each(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({"API_GATEWAY_PORT": "x", "MAX_CONNECTIONS": "-1"}, tmp_path / "none.toml")
    assert [line.split("=")[0] for line in info.value.lines] == [
        "Invalid setting API_GATEWAY_PORT",
        "Invalid setting MAX_CONNECTIONS",
    ]


def test_bad_value_in_file_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text('MAX_CONNECTIONS = "lots"\n')
    with pytest.raises(SettingsError) as info:
        load_settings({}, config)
    assert info.value.lines == [
        f"Invalid setting MAX_CONNECTIONS='lots' (from file {config}): "
        "allowed is an integer from 1 to 10000."
    ]


def test_malformed_or_unknown_file_content(tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text("API_GATEWAY_PORT = = 3\n")
    with pytest.raises(SettingsError, match="cannot be read"):
        load_settings({}, config)
    config.write_text("API_GATEWAY_PROT = 3\n")
    with pytest.raises(SettingsError) as info:
        load_settings({}, config)
    assert info.value.lines[0].startswith(f"Unknown setting API_GATEWAY_PROT in {config}")
    config.write_bytes(b"\xff\xfe garbage")
    with pytest.raises(SettingsError):
        load_settings({}, config)


def test_huge_hostile_value_is_shortened_in_the_message(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({"API_GATEWAY_PORT": "9" * 100_000}, tmp_path / "none.toml")
    assert len(info.value.lines[0]) < 300


def test_config_file_location_can_be_overridden(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.toml"
    target.write_text("PROCESS_MINING_WORKERS = 8\n")
    env = {"AUTERITY_CONFIG_FILE": str(target)}
    assert default_config_file(env) == target
    settings, sources = load_settings(env)
    assert settings.process_mining_workers == 8
    assert sources["PROCESS_MINING_WORKERS"] == f"file {target}"


def test_settings_are_immutable(tmp_path: Path) -> None:
    settings, _ = load_settings({}, tmp_path / "none.toml")
    with pytest.raises(Exception, match="frozen"):
        settings.api_gateway_port = 1  # type: ignore[misc]
