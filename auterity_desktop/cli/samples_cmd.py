"""``auterity samples load``: the dealership sample pack without the window (a demo machine,
a training database, a script that sets up a new colleague's console)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from auterity_desktop.cli.local_actor import local_actor
from auterity_desktop.services.samples.loader import SampleReport


def register(commands: Any) -> None:
    samples = commands.add_parser("samples", help="load the dealership samples")
    actions = samples.add_subparsers(dest="samples_command", metavar="ACTION", required=True)
    load = actions.add_parser(
        "load", help="workflows, an event log, a data set and a monitored model"
    )
    load.set_defaults(handler=run_load)


async def _load() -> SampleReport:
    from auterity_desktop.platform import Platform

    def progress(text: str, done: float) -> None:
        print(f"[{done:4.0%}] {text}", file=sys.stderr)

    async with Platform.from_environment(background=False) as platform:
        return await platform.samples.load(local_actor(), progress)


def run_load(_args: argparse.Namespace) -> int:
    report = asyncio.run(_load())
    for name, workflow_id in sorted(report.workflows.items()):
        print(f"workflow  {name}: {workflow_id}")
    for label, path in (
        ("event log", report.event_log),
        ("reference", report.reference_log),
        ("data set", report.dataset),
    ):
        print(f"{label:<9} {path}")
    if report.model is not None:
        print(f"model     {' '.join(report.model)}")
    if report.skipped:
        print(f"already there, left as they were: {', '.join(report.skipped)}")
    return 0
