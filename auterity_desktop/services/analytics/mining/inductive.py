"""Inductive Miner (IM) and Inductive Miner infrequent (IMf) on a log's variants.

The recursion follows pm4py 2.7 step for step so both give the same tree on the same log:
empty traces first (xor with tau; IMf keeps them only above the noise share), base cases
(empty log, single activity), cuts in the order xor, strict sequence, parallel, loop, each
found on the directly-follows graph of the current sub-log, then the sub-logs are split;
IMf retries the cuts once on a DFG with infrequent edges removed before falling through
(activity once per trace, activity concurrent, strict tau loop, tau loop, flower). Working
on a ``Counter`` of variants keeps the cost proportional to distinct traces, not cases.
Wherever pm4py's result depends on an order, the same order (sorted names) is used here.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise, product

from auterity_desktop.services.analytics.mining.discovery import variant_counts
from auterity_desktop.services.analytics.mining.event_log import EventLog
from auterity_desktop.services.analytics.mining.process_tree import (
    Operator,
    ProcessTree,
    fold,
    sort_tree,
)

Trace = tuple[str, ...]
Log = Counter[Trace]
Groups = list[set[str]]


@dataclass
class Dfg:
    """Directly-follows counts plus start and end counts of one (sub-)log."""

    graph: dict[tuple[str, str], int] = field(default_factory=dict)
    start: dict[str, int] = field(default_factory=dict)
    end: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, log: Log) -> Dfg:
        graph: Counter[tuple[str, str]] = Counter()
        start: Counter[str] = Counter()
        end: Counter[str] = Counter()
        for trace, n in log.items():
            if not trace:
                continue
            start[trace[0]] += n
            end[trace[-1]] += n
            for pair in pairwise(trace):
                graph[pair] += n
        return cls(dict(graph), dict(start), dict(end))

    def vertices(self) -> set[str]:
        nodes = set(self.start) | set(self.end)
        for a, b in self.graph:
            nodes.add(a)
            nodes.add(b)
        return nodes

    def successors(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {a: set() for a in self.vertices()}
        for a, b in self.graph:
            out[a].add(b)
        return out


def _reachable(adjacency: dict[str, set[str]]) -> dict[str, set[str]]:
    """Nodes reachable by one or more edges (the node itself only through... never, like
    networkx ``descendants``)."""
    result: dict[str, set[str]] = {}
    for source in adjacency:
        seen: set[str] = set()
        stack = list(adjacency[source])
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(adjacency[node])
        seen.discard(source)
        result[source] = seen
    return result


def _components(nodes: set[str], edges: list[tuple[str, str]]) -> Groups:
    """Connected components of the undirected graph."""
    neighbours: dict[str, set[str]] = {n: set() for n in nodes}
    for a, b in edges:
        if a in neighbours and b in neighbours:
            neighbours[a].add(b)
            neighbours[b].add(a)
    seen: set[str] = set()
    components: Groups = []
    for node in sorted(nodes):
        if node in seen:
            continue
        component = {node}
        stack = [node]
        while stack:
            for nxt in neighbours[stack.pop()]:
                if nxt not in component:
                    component.add(nxt)
                    stack.append(nxt)
        seen |= component
        components.append(component)
    return components


# -- cuts ---------------------------------------------------------------------------------
def _xor_cut(dfg: Dfg) -> Groups | None:
    groups = _components(dfg.vertices(), list(dfg.graph))
    if len(groups) <= 1:
        return None
    return sorted(groups, key=lambda g: sorted(g))


def _sequence_groups(dfg: Dfg) -> Groups | None:
    alphabet = dfg.vertices()
    succ = _reachable(dfg.successors())
    pred: dict[str, set[str]] = {a: set() for a in alphabet}
    for a, reach in succ.items():
        for b in reach:
            pred[b].add(a)
    groups: Groups = [{a} for a in sorted(alphabet)]
    if not groups:
        return None

    def mergeable(g1: set[str], g2: set[str]) -> bool:
        return any((b in succ[a]) == (a in succ[b]) for a in g1 for b in g2)

    old_size = -1
    while old_size != len(groups):
        old_size = len(groups)
        i = 0
        while i < len(groups):
            j = i + 1
            while j < len(groups):
                if mergeable(groups[i], groups[j]):
                    groups[i] = groups[i] | groups[j]
                    del groups[j]
                    continue
                j += 1
            i += 1
    n = len(alphabet)
    groups.sort(key=lambda g: len(pred[min(g)]) + n - len(succ[min(g)]))
    return groups if len(groups) > 1 else None


def _strict_sequence_cut(dfg: Dfg) -> Groups | None:
    """Sequence cut, then Leemans' strict-sequence merge of groups that can be skipped
    together (pm4py's default)."""
    cut = _sequence_groups(dfg)
    if cut is None:
        return None
    start, end = set(dfg.start), set(dfg.end)
    mf = [-sys.maxsize if g & start else sys.maxsize for g in cut]
    mt = [sys.maxsize if g & end else -sys.maxsize for g in cut]
    where = {a: i for i, g in enumerate(cut) for a in g}
    for a, b in dfg.graph:
        mf[where[b]] = min(mf[where[b]], where[a])
        mt[where[a]] = max(mt[where[a]], where[b])

    def skippable(p: int) -> bool:
        for i, j in product(range(p), range(p + 1, len(cut))):
            if any((a, b) in dfg.graph for a in cut[i] for b in cut[j]):
                return True
        if any(a in start for i in range(p + 1, len(cut)) for a in cut[i]):
            return True
        return any(a in end for i in range(p) for a in cut[i])

    for p in range(len(cut)):
        if skippable(p):
            q = p - 1
            while q >= 0 and mt[q] <= p:
                cut[p] = cut[p] | cut[q]
                cut[q] = set()
                q -= 1
            q = p + 1
            while q < len(mf) and mf[q] >= p:
                cut[p] = cut[p] | cut[q]
                cut[q] = set()
                q += 1
    groups = [g for g in cut if g]
    return groups


def _parallel_cut(dfg: Dfg) -> Groups | None:
    edges = set(dfg.graph)
    groups: Groups = [{a} for a in sorted(dfg.vertices())]
    if not groups:
        return None
    merged = True
    while merged:
        merged = False
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                if any(
                    (a, b) not in edges or (b, a) not in edges for a in groups[i] for b in groups[j]
                ):
                    groups[i] = groups[i] | groups[j]
                    del groups[j]
                    merged = True
                    break
            if merged:
                break
    groups.sort(key=len)
    start, end = set(dfg.start), set(dfg.end)
    i = 0
    while i < len(groups) and len(groups) > 1:
        if groups[i] & start and groups[i] & end:
            i += 1
            continue
        group = groups.pop(i)
        groups[0 if i == 0 else i - 1] |= group
    return groups if len(groups) > 1 else None


def _loop_cut(dfg: Dfg) -> Groups | None:
    start, end = set(dfg.start), set(dfg.end)
    if not dfg.graph:
        return None
    inner = dfg.vertices() - start - end
    inner_edges = [(a, b) for a, b in dfg.graph if a in inner and b in inner]
    groups: Groups = [start | end, *_components(inner, inner_edges)]

    def merge_into_do(a: str, b: str, groups: Groups) -> Groups:
        group_a = next(g for g in groups if a in g)
        group_b = next(g for g in groups if b in g)
        rest = [g for g in groups if g is not group_a and g is not group_b]
        return [group_a | group_b, *rest]

    for a in start - end:  # a redo part may not be entered from a start activity
        for x, b in dfg.graph:
            if x == a:
                groups = merge_into_do(a, b, groups)
    for b in end - start:  # nor left into an end activity
        for a, x in dfg.graph:
            if x == b:
                groups = merge_into_do(a, b, groups)

    def complete(group: set[str], to_start: bool) -> bool:
        for a in group:
            if to_start:
                if any(x == a and b in start for x, b in dfg.graph) and any(
                    (a, s) not in dfg.graph for s in start
                ):
                    return False
            elif any(x == a and b in end for b, x in dfg.graph) and any(
                (e, a) not in dfg.graph for e in end
            ):
                return False
        return True

    for to_start in (True, False):
        i = 1
        while i < len(groups):
            if not complete(groups[i], to_start):
                groups[0] = groups[0] | groups[i]
                del groups[i]
                continue
            i += 1
    groups = [g for g in groups if g]
    if len(groups) <= 1:
        return None
    return [groups[0], set().union(*groups[1:])]


# -- projections --------------------------------------------------------------------------
def _project_xor(log: Log, groups: Groups) -> list[Log]:
    logs: list[Log] = [Counter() for _ in groups]
    for trace, n in log.items():
        counts = [sum(1 for e in trace if e in g) for g in groups]
        best = max(range(len(groups)), key=lambda i: (counts[i], i))
        logs[best][tuple(e for e in trace if e in groups[best])] += n
    return logs


def _split_point(trace: Trace, group: set[str], start: int, ignore: set[str]) -> int:
    least, best, cost = 0, start, 0
    for i in range(start, len(trace)):
        if trace[i] in group:
            cost -= 1
        elif trace[i] not in ignore:
            cost += 1
        if cost < least:
            least, best = cost, i + 1
    return best


def _project_sequence(log: Log, groups: Groups) -> list[Log]:
    """Each group takes the trace segment that minimises its misplaced events (IMf-safe)."""
    logs: list[Log] = [Counter() for _ in groups]
    for trace, n in log.items():
        split = 0
        seen: set[str] = set()
        for i, group in enumerate(groups):
            new_split = _split_point(trace, group, split, seen)
            logs[i][tuple(e for e in trace[split:new_split] if e in group)] += n
            split = new_split
            seen |= group
    return logs


def _project_parallel(log: Log, groups: Groups) -> list[Log]:
    logs: list[Log] = [Counter() for _ in groups]
    for trace, n in log.items():
        for i, group in enumerate(groups):
            logs[i][tuple(e for e in trace if e in group)] += n
    return logs


def _project_loop(log: Log, groups: Groups) -> list[Log]:
    do, redo = groups
    do_log: Log = Counter()
    redo_log: Log = Counter()
    for trace, n in log.items():
        do_part: Trace = ()
        redo_part: Trace = ()
        for e in trace:
            if e in do:
                do_part += (e,)
                if redo_part:
                    redo_log[redo_part] += n
                    redo_part = ()
            elif e in redo:
                redo_part += (e,)
                if do_part:
                    do_log[do_part] += n
                    do_part = ()
            else:
                if do_part:
                    do_log[do_part] += n
                    do_part = ()
                if redo_part:
                    redo_log[redo_part] += n
                    redo_part = ()
        if redo_part:
            redo_log[redo_part] += n
        do_log[do_part] += n
    return [do_log, redo_log]


_Cut = Callable[[Dfg], "Groups | None"]
_Project = Callable[[Log, Groups], list[Log]]
_CUTS: list[tuple[Operator, _Cut, _Project]] = [
    (Operator.XOR, _xor_cut, _project_xor),
    (Operator.SEQUENCE, _strict_sequence_cut, _project_sequence),
    (Operator.PARALLEL, _parallel_cut, _project_parallel),
    (Operator.LOOP, _loop_cut, _project_loop),
]


def _find_cut(log: Log, dfg: Dfg) -> tuple[Operator, list[Log]] | None:
    for operator, detect, project in _CUTS:
        groups = detect(dfg)
        if groups is not None:
            return operator, project(log, groups)
    return None


# -- fall-throughs ------------------------------------------------------------------------
def _without(log: Log, keep: Callable[[str], bool]) -> Log:
    out: Log = Counter()
    for trace, n in log.items():
        out[tuple(e for e in trace if keep(e))] += n
    return out


def _split_off(log: Log, activity: str) -> tuple[Operator, list[Log]]:
    return Operator.PARALLEL, [
        _without(log, lambda e: e == activity),
        _without(log, lambda e: e != activity),
    ]


def _tau_loop_projection(log: Log, strict: bool) -> Log:
    starts = {t[0] for t in log if t}
    ends = {t[-1] for t in log if t}
    out: Log = Counter()
    for trace, n in log.items():
        x = 0
        for i in range(1, len(trace)):
            if trace[i] in starts and (not strict or trace[i - 1] in ends):
                out[trace[x:i]] += n
                x = i
        out[trace[x:]] += n
    return out


def _fall_through(log: Log) -> tuple[ProcessTree, list[Log]]:
    alphabet = sorted({e for t in log for e in t})
    once = set(alphabet)
    for trace in log:
        counts = Counter(trace)
        once &= {a for a, c in counts.items() if c == 1}
    if once:
        operator, logs = _split_off(log, min(once))
        return ProcessTree(operator), logs
    for activity in alphabet:
        reduced = _without(log, lambda e, a=activity: e != a)  # type: ignore[misc]
        if _find_cut(reduced, Dfg.of(reduced)) is not None:
            operator, logs = _split_off(log, activity)
            return ProcessTree(operator), logs
    total = sum(log.values())
    for strict in (True, False):
        projected = _tau_loop_projection(log, strict)
        if sum(projected.values()) > total:
            return ProcessTree(Operator.LOOP), [projected, Counter()]
    flower: Log = Counter({(a,): 1 for a in alphabet})
    return ProcessTree(Operator.LOOP), [Counter(), flower]


def _filter_dfg(dfg: Dfg, noise: float) -> Dfg:
    """IMf: keep an edge a→b only if it is more frequent than ``noise`` times a's most
    frequent outgoing edge (or a's end count); start activities below the noise share of
    the most frequent start are dropped too (pm4py 2.7.23)."""
    most: dict[str, int] = {}
    for (a, _), n in dfg.graph.items():
        most[a] = max(most.get(a, n), n)
        if a in dfg.end:
            most[a] = max(most[a], dfg.end[a])
    graph = {edge: n for edge, n in dfg.graph.items() if n > noise * most[edge[0]]}
    top = max(dfg.start.values()) if dfg.start else 0
    start = {a: n for a, n in dfg.start.items() if n >= top * noise}
    return Dfg(graph, start, dict(dfg.end))


class _Miner:
    def __init__(self, noise: float) -> None:
        self.noise = noise

    def recurse(self, node: ProcessTree, logs: list[Log]) -> ProcessTree:
        node.children.extend(self.mine(sub) for sub in logs)
        return node

    def mine(self, log: Log, dfg: Dfg | None = None, second: bool = False) -> ProcessTree:
        tree = self._mine(log, dfg, second)
        assert tree is not None  # only the IMf second pass may give up
        return tree

    def _mine(self, log: Log, dfg: Dfg | None, second: bool) -> ProcessTree | None:
        if () in log:
            rest: Log = Counter({t: n for t, n in log.items() if t})
            total = sum(log.values())
            if not rest:
                return ProcessTree()
            if self.noise == 0.0 or total - sum(rest.values()) > self.noise * total:
                return self.recurse(ProcessTree(Operator.XOR), [Counter(), rest])
            log, dfg = rest, None
        if not log:
            return ProcessTree()
        if len(log) == 1:
            (only,) = log
            if len(only) == 1:
                return ProcessTree(label=only[0])
        found = _find_cut(log, dfg or Dfg.of(log))
        if found is not None:
            return self.recurse(ProcessTree(found[0]), found[1])
        if self.noise > 0.0:
            if second:
                return None
            tree = self._mine(log, _filter_dfg(Dfg.of(log), self.noise), True)
            if tree is not None:
                return tree
        node, logs = _fall_through(log)
        return self.recurse(node, logs)


def discover_from_variants(variants: Counter[Trace], noise_threshold: float = 0.0) -> ProcessTree:
    """IM (``noise_threshold`` 0) or IMf on a variant → count mapping."""
    if not 0.0 <= noise_threshold <= 1.0:
        raise ValueError("noise_threshold must be in [0, 1]")
    tree = fold(_Miner(noise_threshold).mine(Counter(variants)))
    sort_tree(tree)
    return tree


def discover_process_tree_inductive(log: EventLog, noise_threshold: float = 0.0) -> ProcessTree:
    """pm4py's ``discover_process_tree_inductive``: IM when the threshold is 0, else IMf."""
    return discover_from_variants(variant_counts(log), noise_threshold)
