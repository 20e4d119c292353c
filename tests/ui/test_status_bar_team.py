"""The team database indicator: shown in team mode only, and it follows the relay's connection."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from auterity_desktop.core.events import Event
from auterity_desktop.core.service import Health, HealthState
from auterity_desktop.ui.status_bar import PlatformStatusBar
from tests.conftest import postgres_admin_url

CONNECTED = "Team database: connected"
RECONNECTING = "Team database: reconnecting…"


def relay_health(team: bool, connected: bool = True) -> dict[str, Health]:
    data = {"team": True, "connected": connected} if team else {"team": False}
    state = HealthState.OK if connected or not team else HealthState.DEGRADED
    return {"database": Health(HealthState.OK), "team_relay": Health(state, "", data)}


def test_indicator_follows_connection_events(qtbot: Any) -> None:
    bar = PlatformStatusBar()
    qtbot.addWidget(bar)
    assert bar.team_label.isHidden()
    bar.show_health(relay_health(team=True))  # the initial state, from the relay's health
    assert not bar.team_label.isHidden()
    assert bar.team_label.text() == CONNECTED
    bar.on_event(Event("team_connection_changed", {"connected": False}))
    assert bar.team_label.text() == RECONNECTING
    assert bar.team_label.objectName() == "HealthWarning"
    bar.on_event(Event("run_finished", {"run_id": "r"}))
    assert bar.team_label.text() == RECONNECTING
    bar.on_event(Event("team_connection_changed", {"connected": True}))
    assert bar.team_label.text() == CONNECTED
    assert bar.team_label.objectName() == "HealthOk"


def test_indicator_is_hidden_outside_team_mode(qtbot: Any) -> None:
    bar = PlatformStatusBar()
    qtbot.addWidget(bar)
    bar.show_health(relay_health(team=True))
    bar.show_health(relay_health(team=False))
    assert bar.team_label.isHidden()
    assert "All 2 services healthy" in bar.health_label.text()


async def _admin(sql: str) -> None:
    admin = make_url(postgres_admin_url()).set(drivername="postgresql")
    conn = await asyncpg.connect(admin.render_as_string(hide_password=False), timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def test_window_shows_the_team_connection_dropping_and_returning(
    make_app: Any, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The relay's server process is terminated while the database refuses new connections,
    so "reconnecting" lasts until it is allowed again. (The shared test server is not
    restarted: other tests use it; to the relay, both close its socket the same way.)"""
    monkeypatch.setenv("AUTERITY_DATABASE_URL", postgres_url)
    name = make_url(postgres_url).database
    app = make_app()
    app.window.show()
    app.start_platform()
    assert app.bridge.state == "running"
    label = app.window.status.team_label
    app.until(lambda: label.text() == CONNECTED and label.isVisible())
    relay = app.bridge.platform.team_relay
    try:
        app.run(_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        app.run(
            _admin(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE application_name = '{relay.application_name}'"
            )
        )
        app.until(lambda: label.text() == RECONNECTING)
    finally:
        app.run(_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    app.until(lambda: label.text() == CONNECTED, timeout=30)
