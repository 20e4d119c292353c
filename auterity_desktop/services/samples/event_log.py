"""A service department's repair orders as an event log, for process mining.

Generated rather than shipped so its dates are recent and its size can be chosen; seeded, so
every machine mines the same map. Most orders go straight through; some wait for parts,
some fail the quality check and go back to the technician, a few skip the inspection —
the deviations a service manager wants the map to show.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

COLUMNS = "ro_number,activity,timestamp,technician"
WAITS = {"Parts received": 40.0, "Estimate approved": 5.0, "Vehicle picked up": 20.0}
TECHNICIANS = ("Ana", "Ben", "Chen", "Dev")


def repair_order_rows(
    cases: int = 400, *, clean: bool = False, start: datetime | None = None, seed: int = 7
) -> list[str]:
    """CSV lines (header first) of ``cases`` repair orders; ``clean`` leaves out skipped
    inspections and rework, which makes a reference log for conformance checking."""
    rng = random.Random(seed)
    begin = start or datetime(2024, 10, 1, 8)
    rows = [COLUMNS]
    for n in range(cases):
        at = begin + timedelta(hours=n * 1.7)
        steps = ["Write up RO", "Inspect vehicle", "Estimate approved"]
        if rng.random() < 0.08 and not clean:
            steps = ["Write up RO", "Estimate approved"]  # skipped the inspection
        if rng.random() < 0.3:
            steps += ["Order parts", "Parts received"]
        steps.append("Repair")
        while rng.random() < 0.18 and not clean:
            steps += ["Quality check", "Repair"]  # rework
        steps += ["Quality check", "Invoice", "Vehicle picked up"]
        technician = rng.choice(TECHNICIANS)
        for step in steps:
            at += timedelta(hours=rng.expovariate(1 / WAITS.get(step, 1.5)))
            rows.append(f"RO-{1000 + n},{step},{at:%Y-%m-%d %H:%M:%S},{technician}")
    return rows


def write_repair_orders(path: Path, cases: int = 400, *, clean: bool = False) -> Path:
    path.write_text("\n".join(repair_order_rows(cases, clean=clean)) + "\n", encoding="utf-8")
    return path
