"""Structured JSON logs in a rotating file in the data directory.

Services use the standard library: ``logger = get_logger(__name__)`` and
``logger.info("Operation completed", extra={"operation": "...", "duration": 1.5})``. Every
``extra`` key becomes a field of the JSON line, so logs can be filtered without regexes.
Values that are not JSON-serialisable are written as their ``repr`` rather than lost.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LOG_FILE_NAME = "auterity.log"
_MAX_BYTES = 5 * 1024 * 1024
_BACKUPS = 5
_HANDLER_TAG = "_auterity_handler"

# Attributes every LogRecord has; anything else came from ``extra``.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "taskName"}
)


def get_logger(name: str) -> logging.Logger:
    """The catalogue's ``Logger(__name__)``: a standard logger under the app's hierarchy."""
    return logging.getLogger(name)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return repr(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            exc_type, exc, tb = record.exc_info
            entry["exception"] = {
                "type": exc_type.__name__ if exc_type else None,
                "message": str(exc),
                "traceback": "".join(traceback.format_exception(exc_type, exc, tb)),
            }
        return json.dumps(entry, default=_json_default, ensure_ascii=False)


def configure_logging(
    log_dir: Path, level: int | str = logging.INFO, *, console: bool = False
) -> Path:
    """Send the root logger's records to ``log_dir/auterity.log`` as JSON lines.

    Idempotent: calling it again replaces the handlers it installed before (tests and the
    CLI reconfigure freely) and leaves other handlers, such as pytest's, alone.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / LOG_FILE_NAME
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_TAG, False):
            root.removeHandler(handler)
            handler.close()
    file_handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=_MAX_BYTES, backupCount=_BACKUPS, encoding="utf-8", delay=True
    )
    file_handler.setFormatter(JsonFormatter())
    setattr(file_handler, _HANDLER_TAG, True)
    root.addHandler(file_handler)
    if console:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        stream.setLevel(logging.WARNING)
        setattr(stream, _HANDLER_TAG, True)
        root.addHandler(stream)
    root.setLevel(level)
    return path


def shutdown_logging() -> None:
    """Flush and detach the handlers ``configure_logging`` installed."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_TAG, False):
            root.removeHandler(handler)
            handler.close()
