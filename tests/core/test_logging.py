from __future__ import annotations

import json
import logging
from pathlib import Path

from auterity_desktop.core.logging import (
    LOG_FILE_NAME,
    configure_logging,
    get_logger,
    shutdown_logging,
)


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_extra_fields_become_json_fields(tmp_path: Path) -> None:
    path = configure_logging(tmp_path / "logs")
    try:
        logger = get_logger("auterity_desktop.test")
        logger.info(
            "Operation completed",
            extra={"operation": "workflow_execution", "duration": 1.5, "status": "success"},
        )
        logger.warning("odd value", extra={"where": Path("/x"), "obj": object()})
    finally:
        shutdown_logging()
    assert path == tmp_path / "logs" / LOG_FILE_NAME
    first, second = read_lines(path)
    assert first["message"] == "Operation completed"
    assert first["level"] == "INFO"
    assert first["logger"] == "auterity_desktop.test"
    assert first["operation"] == "workflow_execution"
    assert first["duration"] == 1.5
    assert first["status"] == "success"
    assert first["time"].endswith("+00:00")
    assert second["where"] == "/x"
    assert second["obj"].startswith("<object object")


def test_exceptions_are_recorded_with_traceback(tmp_path: Path) -> None:
    path = configure_logging(tmp_path)
    try:
        try:
            raise ValueError("bad thing")
        except ValueError:
            logging.getLogger("x").exception("failed")
    finally:
        shutdown_logging()
    (entry,) = read_lines(path)
    assert entry["exception"]["type"] == "ValueError"
    assert entry["exception"]["message"] == "bad thing"
    assert "Traceback" in entry["exception"]["traceback"]


def test_reconfiguring_replaces_only_our_handlers(tmp_path: Path) -> None:
    root = logging.getLogger()
    foreign = logging.NullHandler()
    root.addHandler(foreign)
    try:
        configure_logging(tmp_path / "a")
        configure_logging(tmp_path / "b")
        ours = [h for h in root.handlers if getattr(h, "_auterity_handler", False)]
        assert len(ours) == 1
        assert foreign in root.handlers
        logging.getLogger("y").info("hello")
        shutdown_logging()
        assert not (tmp_path / "a" / LOG_FILE_NAME).exists()
        assert read_lines(tmp_path / "b" / LOG_FILE_NAME)[0]["message"] == "hello"
    finally:
        root.removeHandler(foreign)
        shutdown_logging()


def test_file_rotates(tmp_path: Path) -> None:
    path = configure_logging(tmp_path)
    try:
        handler = next(
            h for h in logging.getLogger().handlers if getattr(h, "_auterity_handler", False)
        )
        handler.maxBytes = 2000  # type: ignore[attr-defined]
        for i in range(100):
            logging.getLogger("z").info("line %d", i, extra={"pad": "x" * 50})
    finally:
        shutdown_logging()
    assert path.exists()
    assert (tmp_path / f"{LOG_FILE_NAME}.1").exists()
