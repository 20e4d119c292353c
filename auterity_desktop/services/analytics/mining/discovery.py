"""Directly-follows graphs, variants and the heuristics miner, computed on activity codes.

Every count here comes from numpy over the whole log at once: a directly-follows pair is
``codes[i] -> codes[i + 1]`` where row ``i + 1`` is still in the same case, and counting
pairs is a ``bincount`` on ``a * n + b``. A 1,000,000-event log therefore costs a few
array passes instead of a Python loop over events. The answers are pm4py's (2.7.x): the
same sort order (see ``event_log``), the same pair definition, pandas' sample standard
deviation, and the heuristics miner's measures, thresholds and quirks (``discover_
heuristics_net``), so the GUI can show our numbers next to a pm4py notebook's.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from auterity_desktop.services.analytics.mining.event_log import EventLog

# Above this many activity pairs (n * n) counting switches from a dense bincount to np.unique
# so a log with tens of thousands of distinct activities does not allocate a huge array.
_DENSE_LIMIT = 1 << 22
_NS = 1_000_000_000


# -- shared vectorised building blocks ----------------------------------------------------
def pair_rows(log: EventLog, gap: int = 1) -> np.ndarray:
    """Rows ``i`` whose event ``i + gap`` is in the same case (the log is sorted by case)."""
    n = log.n_events
    if n <= gap:
        return np.zeros(0, dtype=np.int64)
    ends = log.case_ends()
    case_end_of_row = np.repeat(ends, ends - log.case_starts())
    rows = np.arange(n - gap, dtype=np.int64)
    keep: np.ndarray = rows[rows + gap < case_end_of_row[: n - gap]]
    return keep


def _count_keys(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct non-negative integer keys below ``size`` and how often each occurs."""
    if size <= _DENSE_LIMIT:
        counts = np.bincount(keys, minlength=size)
        present = np.flatnonzero(counts)
        return present, counts[present]
    present, counts = np.unique(keys, return_counts=True)
    return present, counts


def _count_by_code(codes: np.ndarray, names: list[str]) -> dict[str, int]:
    present, counts = _count_keys(codes.astype(np.int64), len(names))
    return {names[int(c)]: int(k) for c, k in zip(present, counts, strict=True)}


def _edge_dict(
    keys: np.ndarray, counts: np.ndarray, names: list[str]
) -> dict[tuple[str, str], int]:
    n = len(names)
    return {
        (names[int(k) // n], names[int(k) % n]): int(c) for k, c in zip(keys, counts, strict=True)
    }


# -- directly-follows graph ---------------------------------------------------------------
@dataclass(frozen=True)
class DirectlyFollowsGraph:
    """pm4py's ``discover_dfg`` triple plus the activity counts a graph needs for its nodes."""

    edges: dict[tuple[str, str], int]
    start: dict[str, int]
    end: dict[str, int]
    activities: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "edges": [
                {"source": a, "target": b, "count": n} for (a, b), n in sorted(self.edges.items())
            ],
            "start": dict(self.start),
            "end": dict(self.end),
            "activities": dict(self.activities),
        }


def discover_dfg(log: EventLog) -> DirectlyFollowsGraph:
    """Count directly-follows pairs, first and last activities of cases, and activities."""
    names = log.activities()
    codes = log.activity_codes().astype(np.int64)
    n = len(names)
    rows = pair_rows(log)
    keys, counts = _count_keys(codes[rows] * n + codes[rows + 1], n * n)
    starts = log.case_starts()
    return DirectlyFollowsGraph(
        edges=_edge_dict(keys, counts, names),
        start=_count_by_code(codes[starts], names),
        end=_count_by_code(codes[log.case_ends() - 1], names),
        activities=_count_by_code(codes, names),
    )


# -- performance DFG ----------------------------------------------------------------------
@dataclass(frozen=True)
class EdgeStats:
    """Seconds from the completion of ``a`` to the completion of the next event ``b``.

    ``stdev`` is the sample standard deviation (ddof = 1), because pm4py aggregates with
    pandas' ``std``; with one observation it is undefined, which pm4py reports as NaN and
    we report as ``None`` so the value survives JSON."""

    mean: float
    median: float
    min: float
    max: float
    sum: float
    stdev: float | None
    count: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean": self.mean,
            "median": self.median,
            "min": self.min,
            "max": self.max,
            "sum": self.sum,
            "stdev": self.stdev,
            "count": self.count,
        }


def performance_dfg_to_dict(perf: dict[tuple[str, str], EdgeStats]) -> list[dict[str, Any]]:
    """The performance DFG as a JSON list (tuple keys are not JSON)."""
    return [{"source": a, "target": b, **s.to_dict()} for (a, b), s in sorted(perf.items())]


def discover_performance_dfg(log: EventLog) -> dict[tuple[str, str], EdgeStats]:
    """Per directly-follows edge, statistics of the time between the two completions.

    This is pm4py's ``discover_performance_dfg`` on a frame without a ``start_timestamp``
    column (pm4py switches to "next start minus this completion" when one exists)."""
    names = log.activities()
    n = len(names)
    codes = log.activity_codes().astype(np.int64)
    stamps = log.timestamps_ns()
    rows = pair_rows(log)
    if len(rows) == 0:
        return {}
    keys = codes[rows] * n + codes[rows + 1]
    seconds = (stamps[rows + 1] - stamps[rows]) / _NS
    order = np.lexsort((seconds, keys))  # by edge, then by duration (for the median)
    keys, seconds = keys[order], seconds[order]
    bounds = np.flatnonzero(np.diff(keys)) + 1
    first = np.concatenate(([0], bounds))
    count = np.diff(np.append(first, len(keys)))
    total = np.add.reduceat(seconds, first)
    mean = total / count
    deviation = seconds - np.repeat(mean, count)
    squares = np.add.reduceat(deviation * deviation, first)
    with np.errstate(invalid="ignore", divide="ignore"):
        stdev = np.sqrt(squares / (count - 1))
    middle = first + count // 2
    median = np.where(count % 2 == 1, seconds[middle], (seconds[middle - 1] + seconds[middle]) / 2)
    result: dict[tuple[str, str], EdgeStats] = {}
    for i, key in enumerate(keys[first].tolist()):
        result[(names[key // n], names[key % n])] = EdgeStats(
            mean=float(mean[i]),
            median=float(median[i]),
            min=float(seconds[first[i]]),
            max=float(seconds[first[i] + count[i] - 1]),
            sum=float(total[i]),
            stdev=float(stdev[i]) if count[i] > 1 else None,
            count=int(count[i]),
        )
    return result


# -- variants -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Variant:
    activities: tuple[str, ...]
    count: int
    cases: list[str] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"activities": list(self.activities), "count": self.count, "cases": self.cases}


def _case_variant_ids(log: EventLog) -> np.ndarray:
    """A variant number per case: equal numbers exactly when the activity sequences are equal.

    Each case's code sequence is hashed as a polynomial (mod 2**64) together with its length,
    then every case is compared element by element with the first case of its hash group, so
    a hash collision is detected rather than trusted; it falls back to exact tuples."""
    starts, ends = log.case_starts(), log.case_ends()
    lengths = ends - starts
    codes = log.activity_codes().astype(np.uint64) + np.uint64(1)
    position = np.arange(log.n_events, dtype=np.int64) - np.repeat(starts, lengths)
    powers = np.ones(int(lengths.max()), dtype=np.uint64)
    powers[1:] = np.uint64(1_000_003)
    with np.errstate(over="ignore"):
        powers = np.cumprod(powers, dtype=np.uint64)
        hashes = np.add.reduceat(codes * powers[position], starts)
    _, first_case, ids = np.unique(
        np.stack([hashes, lengths.astype(np.uint64)], axis=1),
        axis=0,
        return_index=True,
        return_inverse=True,
    )
    ids = ids.reshape(-1)
    representative_start = np.repeat(starts[first_case[ids]], lengths)
    if np.array_equal(codes, codes[representative_start + position]):
        return ids.astype(np.int64)
    exact: dict[tuple[str, ...], int] = {}
    return np.array([exact.setdefault(t, len(exact)) for t in log.traces()], dtype=np.int64)


def _variant_sequences(log: EventLog) -> tuple[np.ndarray, np.ndarray, list[tuple[str, ...]]]:
    """Each case's variant number, each variant's case count and activity sequence (read
    once from its first case, not built per case)."""
    ids = _case_variant_ids(log)
    counts = np.bincount(ids)
    first_case = np.full(len(counts), -1, dtype=np.int64)
    first_case[ids[::-1]] = np.arange(len(ids) - 1, -1, -1)
    names = log.activities()
    codes = log.activity_codes()
    starts, ends = log.case_starts(), log.case_ends()
    sequences = [
        tuple(names[c] for c in codes[starts[first] : ends[first]]) for first in first_case
    ]
    return ids, counts, sequences


def variant_counts(log: EventLog) -> Counter[tuple[str, ...]]:
    """Activity sequence → number of cases, without the case lists (what the inductive
    miner reads; ``log.variants()`` builds a tuple per case and is several times slower)."""
    if log.n_cases == 0:
        return Counter()
    _, counts, sequences = _variant_sequences(log)
    return Counter(dict(zip(sequences, counts.tolist(), strict=True)))


def variants(log: EventLog) -> list[Variant]:
    """Distinct activity sequences with how many cases follow each, most frequent first
    (ties by the sequence, so the order is stable across runs)."""
    if log.n_cases == 0:
        return []
    ids, counts, sequences = _variant_sequences(log)
    case_ids = np.array(log.case_ids(), dtype=object)
    order = np.argsort(ids, kind="stable")
    groups = np.split(case_ids[order], np.cumsum(counts)[:-1])
    found = [
        Variant(sequences[v], int(counts[v]), [str(c) for c in groups[v]])
        for v in range(len(counts))
    ]
    found.sort(key=lambda v: (-v.count, v.activities))
    return found


# -- heuristics miner ---------------------------------------------------------------------
@dataclass(frozen=True)
class HeuristicsEdge:
    """An arc of the net. ``dependency`` is 0 for arcs added only because of a length-two
    loop (as in pm4py), ``frequency`` the directly-follows count source -> target."""

    source: str
    target: str
    dependency: float
    frequency: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "dependency": self.dependency,
            "frequency": self.frequency,
        }


@dataclass(frozen=True)
class Relation:
    """Two outputs (a split) or two inputs (a join) of ``node`` and how they relate: "and"
    when the and-measure reaches the threshold, otherwise "xor"."""

    node: str
    a: str
    b: str
    measure: float
    kind: str

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node, "a": self.a, "b": self.b, "measure": self.measure,
                "kind": self.kind}  # fmt: skip


@dataclass
class HeuristicsNet:
    """pm4py's HeuristicsNet reduced to plain data: nodes with occurrence counts, arcs,
    splits and joins, length-two loops and the start and end activities of the log."""

    nodes: dict[str, int]
    edges: list[HeuristicsEdge]
    start: dict[str, int]
    end: dict[str, int]
    splits: list[Relation]
    joins: list[Relation]
    loops_two: dict[str, dict[str, int]]  # node -> partner -> |node > partner| (pm4py's value)
    dependency: dict[tuple[str, str], float]

    def and_splits(self) -> dict[str, dict[str, dict[str, float]]]:
        """The splits in pm4py's ``and_measures_out`` shape (AND pairs only)."""
        return _and_shape(self.splits)

    def and_joins(self) -> dict[str, dict[str, dict[str, float]]]:
        return _and_shape(self.joins)

    def to_dict(self) -> dict[str, Any]:
        return {
            "nodes": dict(self.nodes),
            "edges": [e.to_dict() for e in self.edges],
            "start": dict(self.start),
            "end": dict(self.end),
            "splits": [r.to_dict() for r in self.splits],
            "joins": [r.to_dict() for r in self.joins],
            "loops_two": {k: dict(v) for k, v in self.loops_two.items()},
            "dependency": [
                {"source": a, "target": b, "value": v}
                for (a, b), v in sorted(self.dependency.items())
            ],
        }


def _and_shape(relations: list[Relation]) -> dict[str, dict[str, dict[str, float]]]:
    shaped: dict[str, dict[str, dict[str, float]]] = {}
    for r in relations:
        if r.kind == "and":
            shaped.setdefault(r.node, {}).setdefault(r.a, {})[r.b] = r.measure
    return shaped


def _loop_two_triples(log: EventLog) -> dict[tuple[str, str], int]:
    """How often ``a b a`` (a != b) occurs inside a case: the evidence for a length-two loop."""
    names = log.activities()
    n = len(names)
    codes = log.activity_codes().astype(np.int64)
    rows = pair_rows(log, gap=2)
    a, b, c = codes[rows], codes[rows + 1], codes[rows + 2]
    keep = (a == c) & (a != b)
    keys, counts = _count_keys(a[keep] * n + b[keep], n * n)
    return _edge_dict(keys, counts, names)


def _clean_dfg(dfg: dict[tuple[str, str], int], noise: float) -> dict[tuple[str, str], int]:
    """pm4py's pre-cleaning: drop an arc rarer than ``noise`` times the busiest arc at both
    of its ends."""
    if noise <= 0.0:
        return dict(dfg)
    busiest: dict[str, int] = {}
    for (a, b), v in dfg.items():
        busiest[a] = max(busiest.get(a, -1), v)
        busiest[b] = max(busiest.get(b, -1), v)
    return {
        (a, b): v
        for (a, b), v in dfg.items()
        if not v < min(busiest[a] * noise, busiest[b] * noise)
    }


def _pair_relations(
    node: str,
    others: list[str],
    dfg: dict[tuple[str, str], int],
    threshold: float,
    outgoing: bool,
) -> list[Relation]:
    """The and-measure (|a>b| + |b>a|) / (|node>a| + |node>b| + 1) for every pair of
    outputs (or (|a>node| + |b>node|) for inputs), pairs by name as pm4py walks them."""
    found: list[Relation] = []
    names = sorted(others)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            together = dfg.get((a, b), 0) + dfg.get((b, a), 0)
            if outgoing:
                apart = dfg.get((node, a), 0) + dfg.get((node, b), 0)
            else:
                apart = dfg.get((a, node), 0) + dfg.get((b, node), 0)
            measure = together / (apart + 1)
            kind = "and" if measure >= threshold else "xor"
            found.append(Relation(node, a, b, measure, kind))
    return found


def discover_heuristics_net(
    log: EventLog,
    dependency_threshold: float = 0.5,
    and_threshold: float = 0.65,
    loop_two_threshold: float = 0.5,
    min_act_count: int = 1,
    min_dfg_occurrences: int = 1,
    dfg_pre_cleaning_noise_threshold: float = 0.05,
) -> HeuristicsNet:
    """The heuristics miner with pm4py's semantics (``algo/discovery/heuristics/variants/
    classic.py``): the DFG is first cleaned of arcs below 5 % of their ends' busiest arc
    (pm4py's fixed pre-cleaning, kept so the nets match); an arc a -> b is kept when both
    activities occur ``min_act_count`` times, it occurs ``min_dfg_occurrences`` times and its
    dependency (|a>b| - |b>a|) / (|a>b| + |b>a| + 1), or |a>a| / (|a>a| + 1) for a self-loop,
    reaches ``dependency_threshold``. Length-two loops (a b a seen often enough) add the
    arcs both ways with dependency 0 when neither direction was kept."""
    dfg_all = discover_dfg(log)
    occurrences = dfg_all.activities
    dfg = _clean_dfg(dfg_all.edges, dfg_pre_cleaning_noise_threshold)

    dependency: dict[tuple[str, str], float] = {}
    for (a, b), v in dfg.items():
        if a == b:
            dependency[(a, b)] = v / (v + 1)
        else:
            back = dfg.get((b, a))
            dependency[(a, b)] = (v - back) / (v + back + 1) if back is not None else v / (v + 1)

    def frequent(activity: str) -> bool:
        return occurrences.get(activity, 0) >= min_act_count

    nodes: dict[str, int] = {}
    outputs: dict[str, list[str]] = {}
    inputs: dict[str, list[str]] = {}
    edges: list[HeuristicsEdge] = []
    for (a, b), dep in dependency.items():  # pm4py walks arcs in DFG order
        kept = frequent(a) and frequent(b) and dfg[(a, b)] >= min_dfg_occurrences
        if kept and dep >= dependency_threshold:
            nodes.setdefault(a, occurrences[a])
            nodes.setdefault(b, occurrences[b])
            edges.append(HeuristicsEdge(a, b, dep, dfg[(a, b)]))
            outputs.setdefault(a, []).append(b)
            inputs.setdefault(b, []).append(a)

    splits: list[Relation] = []
    joins: list[Relation] = []
    for node in nodes:
        splits += _pair_relations(node, sorted(set(outputs.get(node, []))), dfg, and_threshold,
                                  outgoing=True)  # fmt: skip
        joins += _pair_relations(node, sorted(set(inputs.get(node, []))), dfg, and_threshold,
                                 outgoing=False)  # fmt: skip

    triples = _loop_two_triples(log)
    loops_two: dict[str, dict[str, int]] = {}
    for n1 in nodes:
        for (x, n2), v1 in triples.items():
            if x != n1:
                continue
            v2 = triples.get((n2, n1), 0)
            if (v1 + v2) / (v1 + v2 + 1) >= loop_two_threshold:
                loops_two.setdefault(n1, {})[n2] = dfg.get((n1, n2), 0)

    added: set[tuple[str, str]] = set()
    for n1 in list(nodes):
        for n2 in loops_two.get(n1, {}):
            if not (dfg.get((n1, n2), 0) >= min_dfg_occurrences and (n1, n2) in dfg):
                continue
            if not (frequent(n1) and frequent(n2)):
                continue
            if (
                dependency.get((n1, n2), -math.inf) >= dependency_threshold
                or dependency.get((n2, n1), -math.inf) >= dependency_threshold
            ):
                continue
            nodes.setdefault(n2, occurrences[n2])
            for a, b in ((n1, n2), (n2, n1)):
                if (a, b) not in added:
                    added.add((a, b))
                    edges.append(HeuristicsEdge(a, b, 0.0, dfg.get((a, b), 0)))

    if not nodes:
        nodes = dict(occurrences)
    return HeuristicsNet(
        nodes=nodes,
        edges=edges,
        start=dict(dfg_all.start),
        end=dict(dfg_all.end),
        splits=splits,
        joins=joins,
        loops_two=loops_two,
        dependency=dependency,
    )
