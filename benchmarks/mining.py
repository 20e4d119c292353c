"""Process-mining speed against pm4py on a ~1,000,000-event log.

A seeded random process (a start, an AND block of two branches in random interleaving, an
XOR choice, a rework loop that repeats with probability 0.3, an end) is played out until
about a million events; then our DFG, performance DFG, heuristics miner and case durations
are timed. When ``import pm4py`` works (it is AGPL, so only in a throwaway venv) the same
log is given to pm4py, the DFG and start/end counts are compared for equality and the
speed-ups printed (target: each step at least 2x faster).

    python benchmarks/mining.py [--events 1000000] [--seed 7]
    # with pm4py:
    /tmp/pm4py-venv2/bin/pip install -e /work/main
    /tmp/pm4py-venv2/bin/python benchmarks/mining.py
"""

from __future__ import annotations

import _unshadow  # noqa: F401 - must come first, see its docstring

# isort: split

import argparse
import math
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from auterity_desktop.services.analytics.mining.discovery import (
    discover_dfg,
    discover_heuristics_net,
    discover_performance_dfg,
)
from auterity_desktop.services.analytics.mining.event_log import EventLog
from auterity_desktop.services.analytics.mining.performance import case_durations

TARGET = 2.0


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


def timed(function: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    best, result = math.inf, None
    for _ in range(repeat):
        began = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - began)
    return best, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    began = time.perf_counter()
    frame = generate(args.events, args.seed)
    print(f"generated {len(frame):,} events, {frame['case'].nunique():,} cases "
          f"in {time.perf_counter() - began:.1f} s")  # fmt: skip
    load_s, log = timed(lambda: EventLog.from_frame(frame), repeat=1)
    print(f"EventLog.from_frame           {load_s * 1000:9.1f} ms")

    ours = {
        "dfg": lambda: discover_dfg(log),
        "performance dfg": lambda: discover_performance_dfg(log),
        "heuristics net": lambda: discover_heuristics_net(log),
        "case durations": lambda: case_durations(log),
    }
    our_times: dict[str, float] = {}
    our_results: dict[str, Any] = {}
    for name, function in ours.items():
        our_times[name], our_results[name] = timed(function)
        print(f"ours  {name:<24}{our_times[name] * 1000:9.1f} ms")

    try:
        import pm4py  # type: ignore[import-not-found]
    except ImportError:
        print("pm4py comparison skipped: pm4py is not importable here (it is AGPL, keep it out "
              "of the project venv). To run it:\n"
              "  /tmp/pm4py-venv2/bin/pip install -e /work/main && "
              "/tmp/pm4py-venv2/bin/python benchmarks/mining.py")  # fmt: skip
        return 0

    df = pm4py.format_dataframe(frame.copy(), case_id="case", activity_key="activity",
                                timestamp_key="timestamp")  # fmt: skip
    theirs = {
        "dfg": lambda: pm4py.discover_dfg(df),
        "performance dfg": lambda: pm4py.discover_performance_dfg(df),
        "heuristics net": lambda: pm4py.discover_heuristics_net(df),
        "case durations": lambda: pm4py.get_all_case_durations(df),
    }
    ok = True
    for name, function in theirs.items():
        seconds, result = timed(function)
        ratio = seconds / our_times[name]
        verdict = "ok" if ratio >= TARGET else f"BELOW {TARGET:.0f}x"
        print(f"pm4py {name:<24}{seconds * 1000:9.1f} ms   speed-up {ratio:6.1f}x  {verdict}")
        ok &= ratio >= TARGET
        if name == "dfg":
            same = (result[0], result[1], result[2]) == (
                our_results[name].edges,
                our_results[name].start,
                our_results[name].end,
            )
            print(f"      identical DFG, start and end counts: {same}")
            ok &= same
        elif name == "performance dfg":
            mine = our_results[name]
            same = set(result[0]) == set(mine) and all(
                math.isclose(result[0][k]["mean"], mine[k].mean, rel_tol=1e-9)
                and result[0][k]["median"] == mine[k].median
                for k in mine
            )
            print(f"      identical edges, means and medians: {same}")
            ok &= same
        elif name == "heuristics net":
            mine_edges = {(e.source, e.target): e.frequency for e in our_results[name].edges}
            their_edges = {
                (a, o.node_name): edge.dfg_value
                for a, node in result.nodes.items()
                for o, edges in node.output_connections.items()
                for edge in edges
            }
            same = mine_edges == their_edges and set(result.nodes) == set(our_results[name].nodes)
            print(f"      identical nodes and arcs: {same}")
            ok &= same
        else:
            same = result == our_results[name].sorted_seconds()
            print(f"      identical durations: {same}")
            ok &= same
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
