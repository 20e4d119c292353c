"""Process-mining speed and results against pm4py on a ~1,000,000-event log.

A seeded random process (a start, an AND block of two branches in random interleaving, an
XOR choice, a rework loop that repeats with probability 0.3, an end) is played out until
about a million events and written to a CSV file in a temporary folder. Then these steps
are timed: import from CSV, DFG, performance DFG, inductive miner (IM and IMf), heuristics
miner, token-replay fitness (on a net the log fits and on nets it does not fit) and case
durations. When ``import pm4py`` works (it is AGPL, so only in a throwaway venv, never in
the project's) the same log and the same nets are given to pm4py in the same run, each
step's results are compared (identical DFG and start/end counts, identical trees, fitness
equal within 1e-9, ...) and the speed-up printed; target: every step at least 2x faster.
The exit status is non-zero when a comparison fails or a step is below the target.

    python benchmarks/mining.py [--events 1000000] [--seed 7] [--repeat 3]
    # with pm4py:
    python3 -m venv /tmp/pm4py-venv
    /tmp/pm4py-venv/bin/pip install pm4py==2.7.23.11 && /tmp/pm4py-venv/bin/pip install -e .
    /tmp/pm4py-venv/bin/python benchmarks/mining.py
"""

from __future__ import annotations

import _unshadow  # noqa: F401 - must come first, see its docstring

# isort: split

import argparse
import math
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from auterity_desktop.services.analytics.mining.discovery import (
    discover_dfg,
    discover_heuristics_net,
    discover_performance_dfg,
)
from auterity_desktop.services.analytics.mining.event_log import EventLog
from auterity_desktop.services.analytics.mining.importers import read_csv
from auterity_desktop.services.analytics.mining.inductive import (
    discover_from_variants,
    discover_process_tree_inductive,
)
from auterity_desktop.services.analytics.mining.performance import case_durations
from auterity_desktop.services.analytics.mining.petri import (
    read_pnml,
    tree_to_petri_net,
    write_pnml,
)
from auterity_desktop.services.analytics.mining.replay import token_replay

TARGET = 2.0
TOLERANCE = 1e-9
CSV_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
IMF_NOISE = 0.2
IMF = f"inductive miner IMf {IMF_NOISE}"


def generate(events: int, seed: int) -> pd.DataFrame:
    """Traces of a process with choice, parallelism and a loop; seconds-apart timestamps."""
    rng = np.random.default_rng(seed)
    cases: list[str] = []
    names: list[str] = []
    stamps: list[int] = []
    clock = 1_767_225_600  # 2026-01-01 UTC, seconds
    case = 0
    while len(names) < events:
        trace = ["receive order"]
        left, right = ["check credit", "approve credit"], ["pick items", "pack items"]
        while left or right:  # AND block: a random interleaving of the two branches
            side = left if (left and (not right or rng.random() < 0.5)) else right
            trace.append(side.pop(0))
        while True:  # rework loop
            trace.append(str(rng.choice(["ship standard", "ship express", "ship freight"],
                                        p=[0.6, 0.3, 0.1])))  # fmt: skip
            if rng.random() >= 0.3:
                break
            trace.append("handle complaint")
        trace.append(str(rng.choice(["send invoice", "close order"])))
        start = clock + case * 37
        gaps = np.cumsum(rng.integers(60, 86_400, size=len(trace)))
        cases += [f"c{case:07d}"] * len(trace)
        names += trace
        stamps += (start + gaps).tolist()
        case += 1
    return pd.DataFrame(
        {"case": cases, "activity": names, "timestamp": pd.to_datetime(stamps, unit="s", utc=True)}
    )


# -- sub-logs the deviating models are mined from -----------------------------------------
def credit_first(trace: tuple[str, ...]) -> bool:
    """The credit branch finished before picking started: the AND block as a sequence, so
    a model mined from these traces is violated by the other five interleavings."""
    return (
        "approve credit" in trace
        and "pick items" in trace
        and (trace.index("approve credit") < trace.index("pick items"))
    )


def credit_first_no_rework(trace: tuple[str, ...]) -> bool:
    """As ``credit_first``, and no rework and no freight: the model also lacks the loop and
    two activities, so replay meets unknown labels and events the model cannot repeat."""
    return credit_first(trace) and "handle complaint" not in trace and "ship freight" not in trace


SUBSETS: dict[str, Callable[[tuple[str, ...]], bool]] = {
    "credit first": credit_first,
    "credit first, no rework": credit_first_no_rework,
}


def timed(function: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    best, result = math.inf, None
    for _ in range(repeat):
        began = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - began)
    return best, result


@dataclass
class Row:
    name: str
    ours: float
    theirs: float | None = None
    same: bool | None = None
    detail: str = ""

    def line(self) -> str:
        text = f"{self.name:<40} ours {self.ours:8.3f} s"
        if self.theirs is None:
            return text + ("   " + self.detail if self.detail else "")
        ratio = self.theirs / self.ours if self.ours > 0 else math.inf
        speed = "ok" if ratio >= TARGET else f"BELOW {TARGET:.0f}x"
        match = "match" if self.same else "MISMATCH"
        return (f"{text}   pm4py {self.theirs:8.3f} s   pm4py/ours {ratio:6.1f}x {speed:<9} "
                f"{match}: {self.detail}")  # fmt: skip

    @property
    def fast(self) -> bool:
        return self.theirs is None or self.theirs >= TARGET * self.ours


def close(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE


def replay_numbers(result: Any) -> tuple[float, float, float]:
    """(log fitness, average trace fitness, % fitting traces) of ours or pm4py's answer."""
    if isinstance(result, dict):
        return (result["log_fitness"], result["average_trace_fitness"],
                result["percentage_of_fitting_traces"])  # fmt: skip
    return (result.log_fitness, result.average_trace_fitness,
            result.percentage_of_fitting_traces)  # fmt: skip


def describe_replay(result: Any) -> str:
    return "fitness {:.12f} / avg {:.12f} / fit {:.4f}%".format(*replay_numbers(result))


def compare_replay(mine: Any, theirs: Any) -> tuple[bool, str]:
    a, b = replay_numbers(mine), replay_numbers(theirs)
    same = all(close(x, y) for x, y in zip(a, b, strict=True))
    text = describe_replay(mine)
    if not same:
        text += "  vs pm4py {:.12f} / {:.12f} / {:.4f}%".format(*b)
    return same, text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per fast step (best is kept); slow steps run once")  # fmt: skip
    args = parser.parse_args()
    fast, slow = max(1, args.repeat), 1

    began = time.perf_counter()
    frame = generate(args.events, args.seed)
    print(f"generated {len(frame):,} events, {frame['case'].nunique():,} cases "
          f"in {time.perf_counter() - began:.1f} s")  # fmt: skip
    folder = tempfile.TemporaryDirectory(prefix="mining-benchmark-")
    tmp = Path(folder.name)
    csv_path = tmp / "log.csv"
    frame.to_csv(csv_path, index=False, date_format=CSV_DATE_FORMAT)
    print(f"wrote {csv_path.stat().st_size / 1e6:.0f} MB of CSV to {csv_path}")
    load_s, log = timed(lambda: EventLog.from_frame(frame), repeat=1)
    print(f"EventLog.from_frame {load_s:.3f} s (not compared; every step below uses this log)")

    # -- ours -----------------------------------------------------------------------------
    variants = log.variants()
    tree = discover_process_tree_inductive(log)
    nets = {"IM net (ours)": tree_to_petri_net(tree)}
    subsets = {}
    for label, keep in SUBSETS.items():
        subsets[label] = Counter({v: n for v, n in variants.items() if keep(v)})
        nets[f"{label} (ours)"] = tree_to_petri_net(discover_from_variants(subsets[label]))
    mapping = {"case": "case", "activity": "activity", "timestamp": "timestamp"}
    steps: dict[str, tuple[Callable[[], Any], int]] = {
        "import from csv": (lambda: read_csv(csv_path, mapping), slow),
        "dfg": (lambda: discover_dfg(log), fast),
        "performance dfg": (lambda: discover_performance_dfg(log), fast),
        "inductive miner": (lambda: discover_process_tree_inductive(log), fast),
        IMF: (lambda: discover_process_tree_inductive(log, IMF_NOISE), fast),
        "heuristics net": (lambda: discover_heuristics_net(log), fast),
        "case durations": (lambda: case_durations(log), fast),
    }
    for net_name, (net, im, fm) in nets.items():
        steps[f"replay, {net_name}"] = (
            lambda net=net, im=im, fm=fm: token_replay(log, net, im, fm), slow)  # fmt: skip
    rows: dict[str, Row] = {}
    results: dict[str, Any] = {}
    for name, (function, repeat) in steps.items():
        seconds, results[name] = timed(function, repeat)
        rows[name] = Row(name, seconds)
    rows["import from csv"].detail = (f"{results['import from csv'].n_events:,} events, "
                                      f"{results['import from csv'].n_cases:,} cases")  # fmt: skip
    for name in steps:
        if name.startswith("replay"):
            rows[name].detail = describe_replay(results[name])
        elif name.startswith("inductive"):
            rows[name].detail = str(results[name])

    os.environ.setdefault("PM4PY_SHOW_PROGRESS_BAR", "False")  # read when pm4py is imported
    try:
        import pm4py  # type: ignore[import-not-found]
        from pm4py.objects.process_tree.utils.generic import (  # type: ignore[import-not-found]
            get_leaves,
        )
    except ImportError:
        for row in rows.values():
            print(row.line())
        print("pm4py comparison skipped: pm4py is not importable here (it is AGPL, keep it out "
              "of the project venv). To run it:\n"
              "  python3 -m venv /tmp/pm4py-venv && /tmp/pm4py-venv/bin/pip install "
              "pm4py==2.7.23.11 && /tmp/pm4py-venv/bin/pip install -e . && "
              "/tmp/pm4py-venv/bin/python benchmarks/mining.py")  # fmt: skip
        folder.cleanup()
        return 0

    # -- pm4py, same log, same nets ---------------------------------------------------------
    def pm4py_import() -> pd.DataFrame:
        raw = pd.read_csv(csv_path)
        return pm4py.format_dataframe(raw, case_id="case", activity_key="activity",
                                      timestamp_key="timestamp",
                                      timest_format=CSV_DATE_FORMAT)  # fmt: skip

    df = pm4py.format_dataframe(frame.copy(), case_id="case", activity_key="activity",
                                timestamp_key="timestamp")  # fmt: skip
    case_traces = list(zip(log.case_ids(), log.traces(), strict=True))
    pm4py_nets: dict[str, Any] = {}
    for net_name, (net, im, fm) in nets.items():  # our nets, through our PNML writer
        path = tmp / f"{len(pm4py_nets)}.pnml"
        write_pnml(net, im, fm, path)
        pm4py_nets[net_name] = pm4py.read_pnml(str(path))
    # pm4py's own (reduced) nets for its trees, read with our PNML reader for our side
    pm4py_trees = {"IM net (pm4py)": pm4py.discover_process_tree_inductive(df)}
    for label, keep in SUBSETS.items():
        kept = [case for case, trace in case_traces if keep(trace)]
        pm4py_trees[f"{label} (pm4py)"] = pm4py.discover_process_tree_inductive(
            df[df["case:concept:name"].isin(kept)]
        )
    for net_name, pm_tree in pm4py_trees.items():
        pm_net = pm4py.convert_to_petri_net(pm_tree)
        path = tmp / f"{len(pm4py_nets)}.pnml"
        pm4py.write_pnml(*pm_net, str(path))
        pm4py_nets[net_name] = pm_net
        mine = read_pnml(path)
        name = f"replay, {net_name}"
        seconds, results[name] = timed(lambda mine=mine: token_replay(log, *mine), slow)
        rows[name] = Row(name, seconds)
        steps[name] = (lambda: None, slow)
    for label, subset in subsets.items():  # both miners agree on the sub-logs' trees too
        ours_tree = str(discover_from_variants(subset))
        theirs_tree = str(pm4py_trees[f"{label} (pm4py)"])
        if ours_tree != theirs_tree:
            print(f"MISMATCH inductive miner on the {label!r} sub-log:\n  ours  {ours_tree}\n"
                  f"  pm4py {theirs_tree}")  # fmt: skip
            rows["inductive miner"].same = False

    theirs: dict[str, Callable[[], Any]] = {
        "import from csv": pm4py_import,
        "dfg": lambda: pm4py.discover_dfg(df),
        "performance dfg": lambda: pm4py.discover_performance_dfg(df),
        "inductive miner": lambda: pm4py.discover_process_tree_inductive(df),
        IMF: lambda: pm4py.discover_process_tree_inductive(df, noise_threshold=IMF_NOISE),
        "heuristics net": lambda: pm4py.discover_heuristics_net(df),
        "case durations": lambda: pm4py.get_all_case_durations(df),
    }
    for net_name, pm_net in pm4py_nets.items():
        theirs[f"replay, {net_name}"] = (
            lambda pm_net=pm_net: pm4py.fitness_token_based_replay(df, *pm_net))  # fmt: skip

    for name, function in theirs.items():
        row = rows[name]
        row.theirs, result = timed(function, steps[name][1])
        mine = results[name]
        if name == "import from csv":
            counts = (len(result), result["case:concept:name"].nunique())
            row.same = counts == (mine.n_events, mine.n_cases) and (
                pm4py.discover_dfg(result) == pm4py.discover_dfg(df)
            )
            row.detail = f"{counts[0]:,} events, {counts[1]:,} cases, same DFG as the frame"
            if not row.same:
                row.detail = (f"ours {mine.n_events:,} events, {mine.n_cases:,} cases; pm4py "
                              f"{counts[0]:,} events, {counts[1]:,} cases")  # fmt: skip
        elif name == "dfg":
            parts = {"edges": (result[0], mine.edges), "start": (result[1], mine.start),
                     "end": (result[2], mine.end)}  # fmt: skip
            bad = [k for k, (a, b) in parts.items() if dict(a) != dict(b)]
            row.same = not bad
            row.detail = (f"{len(mine.edges)} edges, start {dict(mine.start)}, "
                          f"end {dict(mine.end)}") if not bad else f"differ: {bad}"  # fmt: skip
        elif name == "performance dfg":
            row.same = set(result[0]) == set(mine) and all(
                math.isclose(result[0][k]["mean"], mine[k].mean, rel_tol=TOLERANCE)
                and result[0][k]["median"] == mine[k].median
                for k in mine
            )
            row.detail = "edges, means and medians"
        elif name.startswith("inductive"):
            same_tree = str(result) == str(mine)
            theirs_acts = {leaf.label for leaf in get_leaves(result) if leaf.label is not None}
            row.same = same_tree and theirs_acts == mine.activities() and row.same is not False
            row.detail = str(mine) if same_tree else f"ours {mine}  pm4py {result}"
        elif name == "heuristics net":
            mine_edges = {(e.source, e.target): e.frequency for e in mine.edges}
            their_edges = {
                (a, o.node_name): edge.dfg_value
                for a, node in result.nodes.items()
                for o, edges in node.output_connections.items()
                for edge in edges
            }
            row.same = mine_edges == their_edges and set(result.nodes) == set(mine.nodes)
            row.detail = f"{len(mine_edges)} arcs, nodes and arc counts"
        elif name == "case durations":
            row.same = result == mine.sorted_seconds()
            row.detail = f"{len(result):,} durations"
        else:
            row.same, row.detail = compare_replay(mine, result)

    for row in rows.values():
        print(row.line())
    failed = [r.name for r in rows.values() if not r.same]
    slow_steps = [r.name for r in rows.values() if not r.fast]
    print(f"results: {'all match' if not failed else 'MISMATCH in ' + ', '.join(failed)}; "
          f"speed: {'every step' if not slow_steps else 'BELOW target: ' + ', '.join(slow_steps)}"
          f" at least {TARGET:.0f}x faster")  # fmt: skip
    folder.cleanup()
    return 0 if not failed and not slow_steps else 1


if __name__ == "__main__":
    sys.exit(main())
