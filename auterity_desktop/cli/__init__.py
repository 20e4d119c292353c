"""The ``auterity`` command. With no arguments it opens the GUI.

Each command group lives in its own module and registers its sub-parser here; commands run
against the same ``Platform`` the GUI uses. Expected failures print one line and exit
non-zero (2 for bad settings or usage, 1 for other ServiceErrors); no tracebacks.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from auterity_desktop import APP_NAME, __version__
from auterity_desktop.cli import (
    audit_cmd,
    config_cmd,
    db_cmd,
    mine_cmd,
    samples_cmd,
    serve_cmd,
    user_cmd,
    worker_cmd,
    workflow_cmd,
)
from auterity_desktop.config import SettingsError
from auterity_desktop.core.errors import ServiceError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
SMOKE_TEST_TIMEOUT = 60.0

_COMMAND_MODULES = (
    config_cmd,
    db_cmd,
    user_cmd,
    audit_cmd,
    workflow_cmd,
    mine_cmd,
    samples_cmd,
    serve_cmd,
    worker_cmd,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="auterity",
        description=f"{APP_NAME}: operations console of the Auterity automation platform. "
        "Run without a command to open the application window.",
    )
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    gui = commands.add_parser("gui", help="open the application window (the default)")
    # Hidden: open the window, wait for the services, print what was found and exit (0 = it
    # works) — the packaged application's smoke test. The value is a time limit in seconds.
    gui.add_argument(
        "--smoke-test",
        nargs="?",
        type=float,
        const=SMOKE_TEST_TIMEOUT,
        default=None,
        metavar="SECONDS",
        help=argparse.SUPPRESS,
    )
    gui.set_defaults(handler=_run_gui)
    for module in _COMMAND_MODULES:
        module.register(commands)
    return parser


def _run_gui(args: argparse.Namespace) -> int:
    from auterity_desktop.ui.app import run_gui  # Qt is loaded only for the GUI

    smoke_test = getattr(args, "smoke_test", None)
    if smoke_test is None:
        return run_gui()
    if not smoke_test > 0:  # NaN too
        print("auterity: --smoke-test needs a time limit above 0 seconds", file=sys.stderr)
        return EXIT_USAGE
    return run_gui(smoke_test=smoke_test)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    handler = getattr(args, "handler", _run_gui)
    try:
        return int(handler(args))
    except SettingsError as exc:
        for line in exc.lines:
            print(f"auterity: {line}", file=sys.stderr)
        return EXIT_USAGE
    except ServiceError as exc:
        print(f"auterity: error {exc.code.value}: {exc.message}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("auterity: interrupted", file=sys.stderr)
        return 130
