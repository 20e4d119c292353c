"""Layered auto-layout: geometry that never overlaps, flows left to right and untangles edges.

Pure Python, no Qt: the layout only sees ids, edges and sizes.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections import defaultdict
from collections.abc import Mapping, Sequence
from itertools import combinations, pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auterity_desktop.ui.editor import auto_layout
from auterity_desktop.ui.editor.auto_layout import count_crossings, layered_layout

ROOT = Path(__file__).resolve().parents[3]
EPS = 1e-6

Sizes = Mapping[str, tuple[float, float]]
Positions = Mapping[str, tuple[float, float]]
Edge = tuple[str, str]


def uniform_sizes(nodes: Sequence[str], width: float = 120.0, height: float = 50.0) -> Sizes:
    return {node: (width, height) for node in nodes}


def varied_sizes(nodes: Sequence[str], seed: int) -> Sizes:
    rng = random.Random(seed)
    return {node: (rng.uniform(40, 260), rng.uniform(20, 140)) for node in nodes}


def rects_overlap(
    a: tuple[float, float, float, float], b: tuple[float, float, float, float]
) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw - EPS and bx < ax + aw - EPS and ay < by + bh - EPS and by < ay + ah - EPS


def overlapping_pairs_brute(positions: Positions, sizes: Sizes) -> list[tuple[str, str]]:
    rects = {node: (*positions[node], *sizes[node]) for node in positions}
    return [(a, b) for a, b in combinations(rects, 2) if rects_overlap(rects[a], rects[b])]


def overlapping_pairs_grid(positions: Positions, sizes: Sizes) -> list[tuple[str, str]]:
    """Bucket rectangles into cells at least as large as any of them, so each rectangle lands
    in at most four cells and only rectangles sharing a cell need comparing."""
    rects = {node: (*positions[node], *sizes[node]) for node in positions}
    cell = max(max(w, h) for _, _, w, h in rects.values()) + 1.0
    buckets: dict[tuple[int, int], list[str]] = defaultdict(list)
    for node, (x, y, w, h) in rects.items():
        for cx in range(int(x // cell), int((x + w) // cell) + 1):
            for cy in range(int(y // cell), int((y + h) // cell) + 1):
                buckets[cx, cy].append(node)
    found = set()
    for members in buckets.values():
        for a, b in combinations(members, 2):
            if rects_overlap(rects[a], rects[b]):
                found.add((min(a, b), max(a, b)))
    return sorted(found)


def reaches(edges: Sequence[Edge], start: str, goal: str) -> bool:
    succ: dict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        succ[a].append(b)
    seen = {start}
    stack = [start]
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        for nxt in succ[node]:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False


def assert_left_to_right(
    positions: Positions, sizes: Sizes, edges: Sequence[Edge], layer_gap: float = 80.0
) -> None:
    for source, target in edges:
        if source not in positions or target not in positions or source == target:
            continue
        if reaches(edges, target, source):  # the edge closes a cycle: either way is fine
            continue
        assert positions[target][0] >= positions[source][0] + sizes[source][0] + layer_gap - EPS


def layered_graph(seed: int) -> tuple[list[str], list[Edge], list[list[str]]]:
    """Random graph whose edges all join consecutive layers and where every node past the first
    layer has a predecessor just left of it, so longest-path layering reproduces the layers.
    Returns the nodes in a shuffled document order, the edges and the layers in that order."""
    rng = random.Random(seed)
    layers = [
        [f"L{depth}n{i}" for i in range(rng.randint(1, 8))] for depth in range(rng.randint(2, 7))
    ]
    edges: set[Edge] = set()
    for upper, lower in pairwise(layers):
        for node in lower:
            edges.add((rng.choice(upper), node))
        for _ in range(rng.randint(0, len(upper) * len(lower) // 2)):
            edges.add((rng.choice(upper), rng.choice(lower)))
    nodes = [node for layer in layers for node in layer]
    rng.shuffle(nodes)
    rank = {node: i for i, node in enumerate(nodes)}
    naive = [sorted(layer, key=rank.__getitem__) for layer in layers]
    return nodes, sorted(edges, key=lambda _: rng.random()), naive


def result_layers(positions: Positions, layers: Sequence[Sequence[str]]) -> list[list[str]]:
    return [sorted(layer, key=lambda node: positions[node][1]) for layer in layers]


def workflow_graph(count: int, edge_count: int, seed: int) -> tuple[list[str], list[Edge]]:
    """Workflow-like DAG: each node hangs off a recent one, plus a few skip connections."""
    rng = random.Random(seed)
    pairs: set[tuple[int, int]] = {(rng.randrange(max(0, i - 10), i), i) for i in range(1, count)}
    while len(pairs) < edge_count:
        i = rng.randrange(count - 1)
        pairs.add((i, rng.randint(i + 1, min(count - 1, i + 30))))
    ordered = sorted(pairs, key=lambda _: rng.random())
    return [f"n{i}" for i in range(count)], [(f"n{a}", f"n{b}") for a, b in ordered]


# --- basics ------------------------------------------------------------------------------------


def test_empty_graph_has_empty_layout() -> None:
    assert layered_layout([], [], {}) == {}


def test_single_node_sits_at_the_origin() -> None:
    assert layered_layout(["a"], [], {"a": (10, 10)}, origin=(5.0, -3.0)) == {"a": (5.0, -3.0)}


def test_chain_runs_straight_left_to_right() -> None:
    nodes = ["a", "b", "c", "d"]
    sizes = {"a": (100, 50), "b": (60, 50), "c": (140, 50), "d": (80, 50)}
    edges = [("c", "d"), ("a", "b"), ("b", "c")]
    positions = layered_layout(nodes, edges, sizes, layer_gap=30)
    assert positions == {
        "a": (0.0, 0.0),
        "b": (130.0, 0.0),
        "c": (220.0, 0.0),
        "d": (390.0, 0.0),
    }


def test_layer_x_is_cumulative_widest_node_plus_gap() -> None:
    nodes = ["a", "b", "c", "d"]
    sizes = {"a": (100, 40), "b": (50, 40), "c": (170, 40), "d": (90, 40)}
    edges = [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]
    positions = layered_layout(nodes, edges, sizes, layer_gap=25)
    assert positions["a"][0] == 0
    assert positions["b"][0] == positions["c"][0] == 125
    assert positions["d"][0] == 125 + 170 + 25


def test_layer_members_are_stacked_at_least_node_gap_apart() -> None:
    nodes = ["root", *(f"leaf{i}" for i in range(6))]
    sizes = varied_sizes(nodes, seed=3)
    edges = [("root", f"leaf{i}") for i in range(6)]
    positions = layered_layout(nodes, edges, sizes, node_gap=17)
    column = sorted((positions[n][1], sizes[n][1]) for n in nodes if n != "root")
    for (top, height), (next_top, _) in pairwise(column):
        assert next_top >= top + height + 17 - EPS


def test_diamond_is_symmetric_and_its_ends_line_up() -> None:
    nodes = ["a", "b", "c", "d"]
    positions = layered_layout(
        nodes, [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")], uniform_sizes(nodes)
    )
    assert positions["a"][1] == pytest.approx(positions["d"][1])
    middle = (positions["b"][1] + positions["c"][1]) / 2
    assert positions["a"][1] == pytest.approx(middle)


def test_origin_moves_the_whole_drawing() -> None:
    nodes, edges = workflow_graph(40, 50, seed=1)
    sizes = varied_sizes(nodes, seed=1)
    plain = layered_layout(nodes, edges, sizes)
    shifted = layered_layout(nodes, edges, sizes, origin=(300.0, -120.0))
    assert min(x for x, _ in plain.values()) == 0
    assert min(y for _, y in plain.values()) == 0
    for node in nodes:
        assert shifted[node] == pytest.approx((plain[node][0] + 300, plain[node][1] - 120))


def test_components_are_stacked_in_document_order() -> None:
    nodes = ["p1", "q1", "p2", "r1", "q2", "p3"]
    edges = [("q1", "q2"), ("p1", "p2"), ("p2", "p3")]
    sizes = varied_sizes(nodes, seed=5)
    positions = layered_layout(nodes, edges, sizes, node_gap=10)

    def box(members: list[str]) -> tuple[float, float]:
        return (
            min(positions[n][1] for n in members),
            max(positions[n][1] + sizes[n][1] for n in members),
        )

    (p_top, p_bottom), (q_top, q_bottom), (r_top, _) = (
        box(["p1", "p2", "p3"]),
        box(["q1", "q2"]),
        box(["r1"]),
    )
    assert p_top == 0
    assert q_top == pytest.approx(p_bottom + 10)
    assert r_top == pytest.approx(q_bottom + 10)
    assert positions["p1"][0] == positions["q1"][0] == positions["r1"][0] == 0


def test_duplicate_ids_self_loops_and_unknown_endpoints_are_ignored() -> None:
    nodes = ["a", "b", "a", "c"]
    edges = [("a", "b"), ("a", "b"), ("b", "b"), ("ghost", "c"), ("c", "ghost"), ("b", "c")]
    positions = layered_layout(nodes, edges, uniform_sizes(["a", "b", "c"]))
    assert list(positions) == ["a", "b", "c"]
    assert positions == layered_layout(
        ["a", "b", "c"], [("a", "b"), ("b", "c")], uniform_sizes("abc")
    )


def test_a_node_without_a_size_is_an_error() -> None:
    with pytest.raises(ValueError, match="no size"):
        layered_layout(["a", "b"], [], {"a": (1, 1)})


def test_negative_gaps_are_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        layered_layout(["a"], [], {"a": (1, 1)}, node_gap=-1)


# --- cycles ------------------------------------------------------------------------------------


def test_two_cycle_puts_the_first_node_left() -> None:
    positions = layered_layout(["a", "b"], [("b", "a"), ("a", "b")], uniform_sizes("ab"))
    assert positions["a"][0] < positions["b"][0]


def test_loop_is_broken_at_the_edge_that_jumps_back() -> None:
    # Document order lists the loop body first; the flow still enters at a.
    nodes = ["c", "b", "a", "d"]
    edges = [("a", "b"), ("b", "c"), ("c", "b"), ("c", "d")]
    positions = layered_layout(nodes, edges, uniform_sizes(nodes))
    xs = [positions[n][0] for n in ["a", "b", "c", "d"]]
    assert xs == sorted(xs)
    assert len(set(xs)) == 4


def test_cycles_and_self_loops_do_not_break_the_layout() -> None:
    nodes = list("abcdefgh")
    edges = [
        ("a", "b"),
        ("b", "c"),
        ("c", "a"),
        ("c", "d"),
        ("d", "d"),
        ("d", "e"),
        ("e", "f"),
        ("f", "d"),
        ("g", "h"),
        ("h", "g"),
        ("f", "x"),
    ]
    sizes = varied_sizes(nodes, seed=8)
    positions = layered_layout(nodes, edges, sizes)
    assert set(positions) == set(nodes)
    assert overlapping_pairs_brute(positions, sizes) == []
    assert_left_to_right(positions, sizes, edges)
    # c -> d joins two loops without being part of either, so it must point right.
    assert positions["d"][0] >= positions["c"][0] + sizes["c"][0] + 80


def test_a_long_cycle_does_not_recurse() -> None:
    count = 5000
    nodes = [f"n{i}" for i in range(count)]
    edges = [(nodes[i], nodes[(i + 1) % count]) for i in range(count)]
    positions = layered_layout(nodes, edges, uniform_sizes(nodes))
    xs = [positions[node][0] for node in nodes]
    assert xs == sorted(xs)


# --- crossings ---------------------------------------------------------------------------------


def brute_force_crossings(layers: Sequence[Sequence[str]], edges: Sequence[Edge]) -> int:
    where = {node: (d, i) for d, layer in enumerate(layers) for i, node in enumerate(layer)}
    segments = []
    for a, b in edges:
        (da, ia), (db, ib) = where[a], where[b]
        if abs(da - db) == 1:
            segments.append((min(da, db), ia, ib) if da < db else (db, ib, ia))
    return sum(
        1
        for (d1, n1, s1), (d2, n2, s2) in combinations(segments, 2)
        if d1 == d2 and (n1 - n2) * (s1 - s2) < 0
    )


@pytest.mark.parametrize("sorted_list_limit", [0, auto_layout._SORTED_LIST_LIMIT])
@pytest.mark.parametrize("seed", range(8))
def test_count_crossings_matches_brute_force(
    seed: int, sorted_list_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A limit of 0 routes every layer pair through the accumulator tree instead.
    monkeypatch.setattr(auto_layout, "_SORTED_LIST_LIMIT", sorted_list_limit)
    rng = random.Random(seed)
    layers = [[f"{d}.{i}" for i in range(rng.randint(1, 12))] for d in range(4)]
    edges = [
        (rng.choice(layers[d]), rng.choice(layers[d + 1]))
        for d in range(3)
        for _ in range(rng.randint(0, 30))
    ]
    edges += [(b, a) for a, b in edges[:5]]  # direction does not matter, repeats count
    assert count_crossings(layers, edges) == brute_force_crossings(layers, edges)


def test_count_crossings_ignores_edges_that_skip_layers_or_name_unknown_ids() -> None:
    layers = [["a", "b"], ["c", "d"], ["e"]]
    assert count_crossings(layers, [("a", "d"), ("b", "c")]) == 1
    assert (
        count_crossings(layers, [("a", "d"), ("b", "c"), ("a", "e"), ("x", "c"), ("a", "b")]) == 1
    )
    assert count_crossings([], []) == 0


def test_a_shuffled_tree_is_drawn_without_crossings() -> None:
    rng = random.Random(11)
    nodes = [f"t{i}" for i in range(60)]
    parent = {i: rng.randrange(i) for i in range(1, 60)}
    edges = [(f"t{p}", f"t{c}") for c, p in parent.items()]
    depth = {0: 0}
    for child in range(1, 60):
        depth[child] = depth[parent[child]] + 1
    layers: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)]
    for node, d in depth.items():
        layers[d].append(f"t{node}")
    rng.shuffle(nodes)
    rank = {node: i for i, node in enumerate(nodes)}
    naive = [sorted(layer, key=rank.__getitem__) for layer in layers]
    assert count_crossings(naive, edges) > 0
    positions = layered_layout(nodes, edges, varied_sizes(nodes, seed=11))
    assert count_crossings(result_layers(positions, layers), edges) == 0


def test_interleaved_chains_are_untangled() -> None:
    nodes = ["a1", "b2", "b1", "a2", "b3", "a3", "a4", "b4"]
    edges = [("a1", "a2"), ("a2", "a3"), ("a3", "a4"), ("b1", "b2"), ("b2", "b3"), ("b3", "b4")]
    layers = [["a1", "b1"], ["b2", "a2"], ["b3", "a3"], ["a4", "b4"]]
    assert count_crossings(layers, edges) == 2  # document order within layers
    positions = layered_layout(nodes, edges, uniform_sizes(nodes))
    assert count_crossings(result_layers(positions, layers), edges) == 0
    # They are separate components, so each chain is also perfectly straight.
    assert len({positions[n][1] for n in nodes if n.startswith("a")}) == 1


@pytest.mark.parametrize("seed", range(25))
def test_crossings_never_exceed_document_order(seed: int) -> None:
    nodes, edges, naive = layered_graph(seed)
    positions = layered_layout(nodes, edges, varied_sizes(nodes, seed))
    assert count_crossings(result_layers(positions, naive), edges) <= count_crossings(naive, edges)


def test_crossings_drop_substantially_on_random_layered_graphs() -> None:
    before = after = 0
    for seed in range(25):
        nodes, edges, naive = layered_graph(seed)
        positions = layered_layout(nodes, edges, uniform_sizes(nodes))
        before += count_crossings(naive, edges)
        after += count_crossings(result_layers(positions, naive), edges)
    assert after <= before / 2


# --- determinism and scale ---------------------------------------------------------------------


def test_same_input_gives_the_same_layout() -> None:
    nodes, edges = workflow_graph(200, 260, seed=4)
    edges = [*edges, ("n150", "n20"), ("n30", "n30")]
    sizes = varied_sizes(nodes, seed=4)
    assert layered_layout(nodes, edges, sizes) == layered_layout(nodes, edges, sizes)


def test_layout_does_not_depend_on_string_hashing() -> None:
    code = (
        "from auterity_desktop.ui.editor.auto_layout import layered_layout\n"
        "from tests.ui.editor.test_auto_layout import varied_sizes, workflow_graph\n"
        "nodes, edges = workflow_graph(150, 200, seed=9)\n"
        "edges.append(('n120', 'n7'))\n"
        "print(sorted(layered_layout(nodes, edges, varied_sizes(nodes, 9)).items()))\n"
    )
    outputs = set()
    for hash_seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
        outputs.add(result.stdout)
    assert len(outputs) == 1


def test_overlap_checkers_find_an_overlap() -> None:
    positions = {"a": (0.0, 0.0), "b": (50.0, 30.0), "c": (500.0, 0.0)}
    sizes = {"a": (100.0, 40.0), "b": (10.0, 10.0), "c": (10.0, 10.0)}
    assert overlapping_pairs_brute(positions, sizes) == [("a", "b")]
    assert overlapping_pairs_grid(positions, sizes) == [("a", "b")]


def test_a_thousand_node_workflow_neither_overlaps_nor_points_backwards() -> None:
    nodes, edges = workflow_graph(1000, 1200, seed=2)
    sizes = varied_sizes(nodes, seed=2)
    positions = layered_layout(nodes, edges, sizes)
    assert set(positions) == set(nodes)
    assert overlapping_pairs_grid(positions, sizes) == []
    for source, target in edges:  # a DAG: every edge must point right
        assert positions[target][0] >= positions[source][0] + sizes[source][0] + 80 - EPS


def test_a_thousand_node_random_cyclic_graph_does_not_overlap() -> None:
    rng = random.Random(6)
    nodes = [f"n{i}" for i in range(1000)]
    edges = [(rng.choice(nodes), rng.choice(nodes)) for _ in range(1200)]
    sizes = varied_sizes(nodes, seed=6)
    positions = layered_layout(nodes, edges, sizes)
    assert set(positions) == set(nodes)
    assert overlapping_pairs_grid(positions, sizes) == []


# --- properties --------------------------------------------------------------------------------

size_strategy = st.tuples(
    st.floats(1, 300, allow_nan=False, allow_infinity=False),
    st.floats(1, 300, allow_nan=False, allow_infinity=False),
)


@st.composite
def graphs(
    draw: st.DrawFn, acyclic: bool
) -> tuple[list[str], list[Edge], dict[str, tuple[float, float]]]:
    count = draw(st.integers(1, 25))
    nodes = draw(st.permutations([f"v{i}" for i in range(count)]))
    pairs = draw(
        st.lists(st.tuples(st.integers(0, count - 1), st.integers(0, count - 1)), max_size=50)
    )
    if acyclic:  # orient by the (hidden) numbering, which document order does not reveal
        pairs = [(min(a, b), max(a, b)) for a, b in pairs if a != b]
    edges = [(f"v{a}", f"v{b}") for a, b in pairs]
    sizes = {node: draw(size_strategy) for node in nodes}
    return nodes, edges, sizes


@settings(deadline=None, max_examples=150)
@given(graph=graphs(acyclic=True), node_gap=st.sampled_from([0.0, 12.5, 40.0]))
def test_random_dags_never_overlap_and_always_flow_right(
    graph: tuple[list[str], list[Edge], dict[str, tuple[float, float]]], node_gap: float
) -> None:
    nodes, edges, sizes = graph
    positions = layered_layout(nodes, edges, sizes, node_gap=node_gap, layer_gap=30)
    assert list(positions) == nodes
    assert overlapping_pairs_brute(positions, sizes) == []
    for source, target in edges:
        assert positions[target][0] >= positions[source][0] + sizes[source][0] + 30 - EPS


@settings(deadline=None, max_examples=150)
@given(graph=graphs(acyclic=False))
def test_random_graphs_with_cycles_never_overlap(
    graph: tuple[list[str], list[Edge], dict[str, tuple[float, float]]],
) -> None:
    nodes, edges, sizes = graph
    positions = layered_layout(nodes, edges, sizes)
    assert list(positions) == nodes
    assert overlapping_pairs_brute(positions, sizes) == []
    assert_left_to_right(positions, sizes, edges)
    assert positions == layered_layout(nodes, edges, sizes)
