from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from auterity_desktop import __version__
from auterity_desktop.cli import main
from auterity_desktop.core.db import head_revision

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auterity_desktop", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_version_via_python_dash_m() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"Auterity Desktop {__version__}"


def test_config_prints_values_and_sources(
    capsys: pytest.CaptureFixture[str], data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_CONNECTIONS", "42")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if not line.startswith("#")}
    assert lines["MAX_CONNECTIONS"].split() == ["MAX_CONNECTIONS", "42", "(environment)"]
    assert lines["API_GATEWAY_PORT"].split() == ["API_GATEWAY_PORT", "8000", "(default)"]
    assert f"# database in use: sqlite:///{data_dir / 'auterity.db'}" in out


def test_config_json_and_password_redaction(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "settings.toml"
    config.write_text('AUTERITY_DATABASE_URL = "postgresql://ops:s3cret@db.local/team"\n')
    monkeypatch.setenv("AUTERITY_CONFIG_FILE", str(config))
    assert main(["config"]) == 0
    text_out = capsys.readouterr().out
    assert "s3cret" not in text_out
    assert "postgresql://ops:***@db.local/team" in text_out
    assert main(["config", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["settings"]["AUTERITY_DATABASE_URL"]["source"] == f"file {config}"
    assert data["settings"]["ALERT_THRESHOLD"] == {"value": 0.95, "source": "default"}


def test_bad_setting_exits_2_with_one_line_and_no_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "auterity_desktop", "config"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**__import__("os").environ, "WORKFLOW_ENGINE_WORKERS": "many"},
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "auterity: Invalid setting WORKFLOW_ENGINE_WORKERS='many' (from environment): "
        "allowed is an integer from 1 to 256."
    ]


def test_db_upgrade_and_current(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    assert main(["db", "current"]) == 0
    assert "empty" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    head = head_revision()
    assert f"upgraded empty → {head}" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert f"already at {head}" in capsys.readouterr().out
    assert main(["db", "current"]) == 0
    assert f"{head} (code head {head})" in capsys.readouterr().out


def test_db_upgrade_on_postgresql(
    capsys: pytest.CaptureFixture[str], postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTERITY_DATABASE_URL", postgres_url)
    assert main(["db", "upgrade"]) == 0
    assert "PostgreSQL" in capsys.readouterr().out


def test_service_errors_exit_1_with_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTERITY_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert main(["db", "upgrade"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("auterity: error DATABASE_ERROR: Cannot open the database")


def test_unknown_command_is_a_usage_error() -> None:
    result = run_cli("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
