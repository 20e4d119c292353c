"""What the process map shows, without Qt: the Disco-style thinning of a directly-follows
graph by the two sliders, and the layered left-to-right layout.

Activities % keeps the most frequent activities (the busiest start and end activity
always stay, so the map still begins and ends somewhere); Paths % keeps the strongest
paths between them by the chosen measure, yet every shown activity keeps its strongest
way in and out so nothing floats unconnected. The layout sets back-edges (rework loops)
found by a depth-first search from the artificial Start aside, puts each activity in the
layer of its longest distance from Start, and orders the layers by a few barycentre
sweeps to uncross edges.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

START = "\u0000start"  # the artificial nodes; no activity name starts with NUL
END = "\u0000end"
FREQUENCY, TIME = "frequency", "time"
SWEEPS = 6


def human_duration(seconds: float | None) -> str:
    """Seconds in the largest unit that keeps the number readable: "45 s", "3.2 h"."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    s = abs(float(seconds))
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if s >= size:
            value = s / size
            return f"{value:.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}"
    return f"{s:.0f} s" if s >= 1 or s == 0 else f"{s:.2f} s"


# -- filtering ---------------------------------------------------------------------------
@dataclass
class MapEdge:
    source: str
    target: str
    count: int
    mean: float | None = None  # seconds; None for the Start/End edges
    median: float | None = None
    total: float | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.target)

    @property
    def real(self) -> bool:
        """Between two activities, so ``edge_cases`` can answer for it."""
        return self.source not in (START, END) and self.target not in (START, END)


@dataclass
class FilteredMap:
    activities: dict[str, int]  # shown activity → events
    edges: list[MapEdge]
    total_activities: int = 0
    total_edges: int = 0
    node_time: dict[str, float] = field(default_factory=dict)  # mean wait before each


def all_edges(data: Mapping[str, Any]) -> list[MapEdge]:
    """The map's paths plus the Start→first and last→End paths."""
    edges = [
        MapEdge(
            str(e["source"]), str(e["target"]), int(e["count"]),
            e.get("mean"), e.get("median"), e.get("total"),
        )
        for e in data.get("edges", [])
    ]  # fmt: skip
    edges += [MapEdge(START, str(a), int(n)) for a, n in (data.get("start") or {}).items()]
    edges += [MapEdge(str(a), END, int(n)) for a, n in (data.get("end") or {}).items()]
    return edges


def _strength(edge: MapEdge, measure: str) -> tuple[float, int]:
    if measure == TIME:
        return (edge.mean if edge.mean is not None else -1.0, edge.count)
    return (float(edge.count), -int(edge.mean or 0))


def filter_map(
    data: Mapping[str, Any],
    activities_pct: float,
    paths_pct: float,
    measure: str = FREQUENCY,
    always: Iterable[tuple[str, str]] = (),
) -> FilteredMap:
    """What the sliders leave of ``data`` (a ``process_map`` result). ``always``: paths to
    show whenever both their ends are shown (deviating ones after a conformance check)."""
    counts = {str(a["name"]): int(a["count"]) for a in data.get("activities", [])}
    ranked = sorted(counts, key=lambda a: (-counts[a], a))
    keep_n = max(1, math.ceil(len(ranked) * max(0.0, min(100.0, activities_pct)) / 100.0))
    kept = set(ranked[:keep_n])
    for ends in (data.get("start") or {}, data.get("end") or {}):
        if ends:  # the busiest start and end activity: the map must begin and end
            kept.add(max(ends, key=lambda a: (ends[a], a)))
    kept &= set(counts) if counts else kept
    nodes = kept | {START, END}
    candidates = [e for e in all_edges(data) if e.source in nodes and e.target in nodes]
    by_strength = sorted(candidates, key=lambda e: _strength(e, measure), reverse=True)
    keep_e = math.ceil(len(by_strength) * max(0.0, min(100.0, paths_pct)) / 100.0)
    chosen = {e.key for e in by_strength[:keep_e]}
    wanted = set(always)
    chosen |= {e.key for e in candidates if e.key in wanted}
    # Every shown activity keeps its strongest way in and out, when it has one.
    for node in kept:
        for side in ("target", "source"):
            mine = [e for e in by_strength if getattr(e, side) == node and e.source != e.target]
            if mine and not any(e.key in chosen for e in mine):
                chosen.add(mine[0].key)
    edges = [e for e in by_strength if e.key in chosen]
    node_time: dict[str, float] = {}
    for node in kept:
        incoming = [e for e in all_edges(data) if e.target == node and e.mean is not None]
        weight = sum(e.count for e in incoming)
        if weight:
            node_time[node] = sum(float(e.mean or 0.0) * e.count for e in incoming) / weight
    return FilteredMap(
        activities={a: counts.get(a, 0) for a in kept},
        edges=edges,
        total_activities=len(counts),
        total_edges=len(data.get("edges", [])),
        node_time=node_time,
    )


# -- layout ------------------------------------------------------------------------------
def layered_layout(
    nodes: Sequence[str], edges: Sequence[tuple[str, str, float]]
) -> tuple[dict[str, tuple[int, int]], set[tuple[str, str]]]:
    """Each node's (layer, position in layer) and the back-edges set aside to get a DAG.

    ``edges`` carry a weight: the depth-first search follows heavy edges first, so the main
    flow becomes the spine and the rarer returns are the ones counted as going back."""
    out: dict[str, list[tuple[float, str]]] = {n: [] for n in nodes}
    for a, b, w in edges:
        if a in out and b in out and a != b:
            out[a].append((w, b))
    for children in out.values():
        children.sort(key=lambda item: (-item[0], item[1]))
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    order: list[str] = []  # reverse post-order = a topological order of the DAG
    roots = [START] if START in out else []
    roots += [n for n in nodes if n not in (START, END)] + ([END] if END in out else [])
    for root in roots:
        if root in state:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        state[root] = 1
        while stack:
            node, i = stack[-1]
            children = out[node]
            if i < len(children):
                stack[-1] = (node, i + 1)
                child = children[i][1]
                if child == START or node == END or state.get(child) == 1:
                    back.add((node, child))
                elif child not in state:
                    state[child] = 1
                    stack.append((child, 0))
            else:
                state[node] = 2
                order.append(node)
                stack.pop()
    order.reverse()
    layer: dict[str, int] = {n: 0 for n in nodes}
    forward: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b, _w in edges:
        if a in out and b in out and a != b and (a, b) not in back:
            forward[a].append(b)
    for node in order:
        for child in forward[node]:
            layer[child] = max(layer[child], layer[node] + 1)
    if START in layer:
        layer[START] = 0
    if END in layer:
        layer[END] = max((v for k, v in layer.items() if k != END), default=0) + 1
    layers: dict[int, list[str]] = {}
    for node in order:
        layers.setdefault(layer[node], []).append(node)
    preds: dict[str, list[str]] = {n: [] for n in nodes}
    succs: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in ((a, b) for a, targets in forward.items() for b in targets):
        preds[b].append(a)
        succs[a].append(b)
    position = {n: float(i) for members in layers.values() for i, n in enumerate(members)}
    numbers = sorted(layers)

    def centred(members: list[str]) -> None:
        for i, n in enumerate(members):
            position[n] = i - (len(members) - 1) / 2

    for members in layers.values():
        centred(members)
    for sweep in range(SWEEPS):
        sequence = numbers if sweep % 2 == 0 else list(reversed(numbers))
        neighbours = preds if sweep % 2 == 0 else succs
        for number in sequence:
            members = layers[number]

            def barycentre(n: str, near: dict[str, list[str]] = neighbours) -> float:
                linked = near[n]
                return sum(position[m] for m in linked) / len(linked) if linked else position[n]

            members.sort(key=lambda n: (barycentre(n), position[n]))
            centred(members)
    return {n: (layer[n], members.index(n)) for members in layers.values() for n in members}, back
