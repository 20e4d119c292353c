"""``auterity mine LOG``: process mining on a local event log, headless.

The log (CSV, XES, XES.GZ or Parquet) is read and mined in this process with the same
functions the ``process_mining`` service runs; no database, keyring or sign-in is needed,
since the command only reads the file it is given. Bad input (a missing or unreadable file,
an unknown type, a column that is not there) prints one line and exits 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from auterity_desktop.core.errors import ErrorCode, ServiceError

EXIT_BAD_INPUT = 2
TOP_VARIANTS = 5
TOP_EDGES = 10
TOP_BOTTLENECKS = 5
_BAD_INPUT = (ErrorCode.INVALID_INPUT, ErrorCode.NOT_FOUND)


def register(commands: Any) -> None:
    mine = commands.add_parser(
        "mine",
        help="summarise, discover, check and time an event log (CSV, XES, Parquet)",
        description="Read an event log and print its summary; add --discover, --conformance "
        "or --performance for a model, fitness and precision, or case times.",
    )
    mine.add_argument("log", metavar="LOG", help="a .csv, .xes, .xes.gz or .parquet file")
    mine.add_argument(
        "--discover",
        choices=("dfg", "heuristics", "inductive"),
        help="discover a model with this algorithm",
    )
    mine.add_argument(
        "--noise", type=float, default=0.0, help="noise threshold from 0 to 1 (default 0)"
    )
    mine.add_argument("--conformance", metavar="MODEL.pnml", help="fitness and precision")
    mine.add_argument("--performance", action="store_true", help="case durations, bottlenecks")
    mine.add_argument("--json", action="store_true", help="print one JSON document")
    mine.add_argument("--case", metavar="COL", help="case id column (CSV and Parquet)")
    mine.add_argument("--activity", metavar="COL", help="activity column")
    mine.add_argument("--timestamp", metavar="COL", help="timestamp column")
    mine.set_defaults(handler=run_mine)


def _mapping(args: argparse.Namespace) -> dict[str, str | None] | None:
    given = {"case": args.case, "activity": args.activity, "timestamp": args.timestamp}
    if not any(given.values()):
        return None
    missing = [role for role, column in given.items() if not column]
    if missing:
        raise ServiceError(
            ErrorCode.INVALID_INPUT,
            "--case, --activity and --timestamp go together; missing "
            + ", ".join(f"--{role}" for role in missing),
            {"missing": missing},
        )
    return dict(given)


def mine_document(args: argparse.Namespace) -> dict[str, Any]:
    from auterity_desktop.services.analytics.mining import documents

    log = documents.load_log(args.log, _mapping(args))
    document: dict[str, Any] = {"log": documents.log_summary(log)}
    if args.discover:
        found = documents.discovery_document(log, args.discover, args.noise)
        document["discovery"] = {k: v for k, v in found.items() if k != "log"}
    if args.conformance:
        document["conformance"] = documents.conformance_document(log, args.conformance)
    if args.performance:
        found = documents.performance_document(log)
        found.pop("case_duration_values")  # one number per case: the summary says it
        document["performance"] = found
    return document


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.1f} d"


def _trace(activities: list[str]) -> str:
    return " -> ".join(activities)


def format_text(document: dict[str, Any]) -> list[str]:
    log = document["log"]
    lines = [
        f"Log {log['name']!r}: {log['events']} events, {log['cases']} cases, "
        f"{len(log['activities'])} activities, {log['variant_count']} variants",
        f"Top {min(TOP_VARIANTS, len(log['variants']))} variants:",
    ]
    for v in log["variants"][:TOP_VARIANTS]:
        lines.append(f"  {v['count']:>6}  {_trace(v['activities'])}")
    discovery = document.get("discovery")
    if discovery is not None:
        algorithm = discovery["algorithm"]
        lines.append(f"Discovery ({algorithm}, noise {discovery['noise_threshold']:g}):")
        if algorithm == "dfg":
            edges = discovery["dfg"]["edges"]
            lines.append(
                f"  {len(edges)} directly-follows edges; top {min(TOP_EDGES, len(edges))}:"
            )
            for e in edges[:TOP_EDGES]:
                lines.append(f"  {e['count']:>6}  {e['source']} -> {e['target']}")
        elif algorithm == "heuristics":
            net = discovery["heuristics"]
            edges = sorted(net["edges"], key=lambda e: (-e["frequency"], e["source"], e["target"]))
            lines.append(f"  {len(net['nodes'])} activities, {len(edges)} arcs; top arcs:")
            for e in edges[:TOP_EDGES]:
                lines.append(
                    f"  {e['frequency']:>6}  {e['source']} -> {e['target']} "
                    f"(dependency {e['dependency']:.3f})"
                )
            ands = [r for r in net["splits"] + net["joins"] if r["kind"] == "and"]
            for r in ands:
                lines.append(f"  parallel at {r['node']}: {r['a']} and {r['b']}")
        else:
            tree = discovery["inductive"]
            lines.append(f"  {tree['tree']}")
            lines.append(f"  Petri net: {tree['places']} places, {tree['transitions']} transitions")
    conformance = document.get("conformance")
    if conformance is not None:
        lines.append(
            f"Conformance with {conformance['model']}: fitness {conformance['fitness']:.4f}, "
            f"precision {conformance['precision']:.4f}, "
            f"{conformance['percentage_of_fitting_traces']:.1f}% of cases fit "
            f"({conformance['unfit_cases']} of {conformance['cases']} do not)"
        )
    performance = document.get("performance")
    if performance is not None:
        durations = performance["case_durations"]
        lines.append(
            f"Case duration: median {_duration(durations['median'])}, "
            f"mean {_duration(durations['mean'])}, min {_duration(durations['min'])}, "
            f"max {_duration(durations['max'])}"
        )
        lines.append("Top bottlenecks (mean wait x cases):")
        for b in performance["bottlenecks"][:TOP_BOTTLENECKS]:
            lines.append(
                f"  {b['source']} -> {b['target']}: {b['count']} x "
                f"{_duration(b['mean_seconds'])} = {_duration(b['total_seconds'])}"
            )
        rework = performance["rework"]
        if rework:
            parts = [f"{name} ({n} cases)" for name, n in sorted(rework.items())]
            lines.append("Rework: " + ", ".join(parts))
    return lines


def run_mine(args: argparse.Namespace) -> int:
    try:
        document = mine_document(args)
    except ServiceError as exc:
        if exc.code not in _BAD_INPUT:
            raise
        print(f"auterity: error {exc.code.value}: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        print(json.dumps(document, indent=2, allow_nan=False))
    else:
        print("\n".join(format_text(document)))
    return 0
