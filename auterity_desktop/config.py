"""One settings object, read from the environment and an optional settings file.

Names are the platform catalogue's environment variables (``API_GATEWAY_PORT`` …) plus
``AUTERITY_DATABASE_URL``, ``AUTERITY_DATA_DIR`` and ``AUTERITY_LOG_LEVEL``. The settings
file is TOML with the same names as keys, at ``<user config dir>/settings.toml`` or wherever
``AUTERITY_CONFIG_FILE`` points. The environment wins over the file, the file over defaults,
and ``load_settings`` remembers which one supplied each value so ``auterity config`` and the
Settings page can say so. A bad value stops start-up with one line naming the variable, the
value, where it came from and what is allowed.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict

from auterity_desktop import APP_ID
from auterity_desktop.core.errors import ErrorCode, ServiceError

CONFIG_FILE_VAR = "AUTERITY_CONFIG_FILE"
_DB_URL = re.compile(r"^(sqlite|postgresql|postgres)(\+(aiosqlite|asyncpg|psycopg))?://", re.I)


def default_config_file(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get(CONFIG_FILE_VAR):
        return Path(env[CONFIG_FILE_VAR]).expanduser()
    return Path(platformdirs.user_config_dir(APP_ID, appauthor=False)) / "settings.toml"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_ID, appauthor=False))


def _setting(default: Any, name: str, allowed: str, description: str, **constraints: Any) -> Any:
    return Field(
        default,
        validation_alias=name,
        description=description,
        json_schema_extra={"allowed": allowed},
        **constraints,
    )


class Settings(BaseSettings):
    """Effective configuration. Build it with ``load_settings()``, which records sources."""

    model_config = SettingsConfigDict(frozen=True, case_sensitive=True, extra="forbid")

    api_gateway_port: int = _setting(
        8000,
        "API_GATEWAY_PORT",
        "an integer from 1 to 65535",
        "TCP port of the local REST API (bound to AUTERITY_API_HOST, 127.0.0.1 by default).",
        ge=1,
        le=65535,
    )
    api_host: str = _setting(
        "127.0.0.1",
        "AUTERITY_API_HOST",
        "an IP address or host name",
        "Address the REST API listens on; anything but loopback is logged as a warning.",
        min_length=1,
        max_length=255,
        pattern=r"^[A-Za-z0-9.:_-]+$",
    )
    api_rate_limit: float = _setting(
        20.0,
        "AUTERITY_API_RATE_LIMIT",
        "a number of requests per second from 0.1 to 100000",
        "REST requests a second allowed per client (token bucket; bursts up to the burst).",
        ge=0.1,
        le=100_000,
    )
    api_rate_burst: int = _setting(
        40,
        "AUTERITY_API_RATE_BURST",
        "an integer from 1 to 1000000",
        "REST requests a client may send at once before the rate limit applies.",
        ge=1,
        le=1_000_000,
    )
    api_max_body: int = _setting(
        10 * 1024 * 1024,
        "AUTERITY_API_MAX_BODY",
        "a number of bytes from 1024 to 1073741824",
        "Largest REST request body accepted (413 above it).",
        ge=1024,
        le=1024**3,
    )
    workflow_engine_workers: int = _setting(
        4,
        "WORKFLOW_ENGINE_WORKERS",
        "an integer from 1 to 256",
        "Workflow runs executed at the same time.",
        ge=1,
        le=256,
    )
    ai_model_cache_size: int = _setting(
        1000,
        "AI_MODEL_CACHE_SIZE",
        "an integer from 0 to 1000000 (0 turns caching off)",
        "Entries kept in the AI response cache.",
        ge=0,
        le=1_000_000,
    )
    ai_request_timeout: float = _setting(
        30.0,
        "AI_REQUEST_TIMEOUT",
        "a number of seconds above 0 and at most 3600",
        "Seconds an AI provider call may take.",
        gt=0,
        le=3600,
    )
    analytics_batch_size: int = _setting(
        100,
        "ANALYTICS_BATCH_SIZE",
        "an integer from 1 to 1000000",
        "Rows processed per analytics batch.",
        ge=1,
        le=1_000_000,
    )
    process_mining_workers: int = _setting(
        2,
        "PROCESS_MINING_WORKERS",
        "an integer from 1 to 64",
        "Worker processes for process-mining jobs (each holds a copy of the log it mines).",
        ge=1,
        le=64,
    )
    max_connections: int = _setting(
        100,
        "MAX_CONNECTIONS",
        "an integer from 1 to 10000",
        "Upper bound of each integration's connection pool.",
        ge=1,
        le=10_000,
    )
    message_queue_size: int = _setting(
        1000,
        "MESSAGE_QUEUE_SIZE",
        "an integer from 1 to 10000000",
        "Messages each queue may hold before publishers are refused (or the oldest dropped).",
        ge=1,
        le=10_000_000,
    )
    auth_token_expiry: int = _setting(
        3600,
        "AUTH_TOKEN_EXPIRY",
        "an integer number of seconds from 60 to 31536000",
        "Seconds of inactivity after which a session expires.",
        ge=60,
        le=31_536_000,
    )
    audit_log_retention: int = _setting(
        30,
        "AUDIT_LOG_RETENTION",
        "an integer number of days from 1 to 36500",
        "Days audit entries are kept before pruning.",
        ge=1,
        le=36_500,
    )
    metrics_collection_interval: float = _setting(
        60.0,
        "METRICS_COLLECTION_INTERVAL",
        "a number of seconds from 1 to 86400",
        "Seconds between two metric collections.",
        ge=1,
        le=86_400,
    )
    alert_threshold: float = _setting(
        0.95,
        "ALERT_THRESHOLD",
        "a number above 0 and at most 1",
        "Ratio (e.g. memory or CPU use) above which default alerts fire.",
        gt=0,
        le=1,
    )
    session_max_age: int = _setting(
        28_800,
        "AUTERITY_SESSION_MAX_AGE",
        "an integer number of seconds from 300 to 604800",
        "Seconds after sign-in at which a session ends however active it is.",
        ge=300,
        le=604_800,
    )
    lockout_threshold: int = _setting(
        5,
        "AUTERITY_LOCKOUT_THRESHOLD",
        "an integer from 1 to 100",
        "Failed sign-ins within the lockout window before an account is locked.",
        ge=1,
        le=100,
    )
    lockout_window: int = _setting(
        900,
        "AUTERITY_LOCKOUT_WINDOW",
        "an integer number of seconds from 10 to 86400",
        "Seconds over which failed sign-ins are counted.",
        ge=10,
        le=86_400,
    )
    run_lease: float = _setting(
        45.0,
        "AUTERITY_RUN_LEASE",
        "a number of seconds from 2 to 3600",
        "Seconds without a heartbeat after which another process takes a run over.",
        ge=2,
        le=3600,
    )
    resume_interrupted: bool = _setting(
        True,
        "AUTERITY_RESUME_INTERRUPTED",
        "true or false",
        "At start-up, resume runs a crash cut off (false: list them as interrupted).",
    )
    database_url: str | None = _setting(
        None,
        "AUTERITY_DATABASE_URL",
        "a sqlite:// or postgresql:// URL, or empty for the built-in SQLite database",
        "Database to use; empty means SQLite in the data directory.",
    )
    data_dir: Path = _setting(
        None,
        "AUTERITY_DATA_DIR",
        "a directory path",
        "Where the database, logs and window state live.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = _setting(
        "INFO",
        "AUTERITY_LOG_LEVEL",
        "one of DEBUG, INFO, WARNING, ERROR",
        "Lowest level written to the log file.",
    )

    @classmethod
    def settings_customise_sources(  # type: ignore[override]
        cls, settings_cls: type[BaseSettings], init_settings: Any, **_: Any
    ) -> tuple[Any, ...]:
        # load_settings gathers environment and file values itself, so that it knows where
        # each came from and can take an explicit environment mapping in tests.
        return (init_settings,)

    @field_validator("database_url", mode="before")
    @classmethod
    def _check_url(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str) or not _DB_URL.match(value.strip()):
            raise ValueError("unsupported database URL")
        return value.strip()

    @field_validator("data_dir", mode="before")
    @classmethod
    def _check_dir(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return default_data_dir()
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("path contains a NUL byte")
        return Path(value).expanduser().absolute()

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    # -- derived values ---------------------------------------------------------------
    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'auterity.db'}"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"


@dataclass(frozen=True)
class SettingInfo:
    """One row of ``auterity config`` and the Settings page."""

    name: str
    value: Any
    source: str
    allowed: str
    description: str


class SettingsError(ServiceError):
    """A setting has a value that is not allowed; ``lines`` holds one sentence per problem."""

    def __init__(self, lines: list[str], problems: list[dict[str, Any]]) -> None:
        super().__init__(ErrorCode.CONFIG_INVALID, lines[0], {"problems": problems})
        self.lines = lines


def setting_names() -> list[str]:
    return [str(f.validation_alias) for f in Settings.model_fields.values()]


def _field_by_alias() -> dict[str, tuple[str, Any]]:
    return {str(f.validation_alias): (name, f) for name, f in Settings.model_fields.items()}


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping instead of os.environ."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._mapping = dict(env)
        super().__init__(Settings, case_sensitive=True)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return self._mapping


def _read_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        line = f"Settings file {path} cannot be read: {exc}"
        raise SettingsError([line], [{"file": str(path), "reason": str(exc)}]) from None
    known = _field_by_alias()
    unknown = sorted(k for k in data if k not in known)
    if unknown:
        lines = [
            f"Unknown setting {key} in {path}; known settings: {', '.join(known)}"
            for key in unknown
        ]
        raise SettingsError(lines, [{"variable": k, "source": str(path)} for k in unknown])
    return data


def load_settings(
    env: Mapping[str, str] | None = None, config_file: Path | None = None
) -> tuple[Settings, dict[str, str]]:
    """Return the settings and, for each variable, ``default``, ``environment`` or the file."""
    env = os.environ if env is None else env
    path = config_file or default_config_file(env)
    file_values = _read_file(path)
    env_values = {k: v for k, v in _MappingEnvSource(env)().items() if v is not None}
    sources: dict[str, str] = {}
    merged: dict[str, Any] = {}
    for alias in _field_by_alias():
        if alias in env_values:
            merged[alias], sources[alias] = env_values[alias], "environment"
        elif alias in file_values:
            merged[alias], sources[alias] = file_values[alias], f"file {path}"
        else:
            sources[alias] = "default"
    try:
        settings = Settings(**merged)
    except ValidationError as exc:
        lines, problems = [], []
        fields = _field_by_alias()
        for error in exc.errors():
            alias = str(error["loc"][0]) if error["loc"] else "?"
            allowed = (
                (fields[alias][1].json_schema_extra or {}).get("allowed", "")
                if alias in fields
                else ""
            )
            value = merged.get(alias)
            shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "…"
            source = sources.get(alias, "?")
            lines.append(f"Invalid setting {alias}={shown} (from {source}): allowed is {allowed}.")
            problems.append(
                {"variable": alias, "value": shown, "source": source, "allowed": allowed}
            )
        raise SettingsError(lines, problems) from None
    return settings, sources


def describe_settings(settings: Settings, sources: Mapping[str, str]) -> list[SettingInfo]:
    rows = []
    for alias, (name, field) in _field_by_alias().items():
        extra = field.json_schema_extra or {}
        rows.append(
            SettingInfo(
                name=alias,
                value=getattr(settings, name),
                source=sources.get(alias, "default"),
                allowed=str(extra.get("allowed", "")),
                description=field.description or "",
            )
        )
    return rows
