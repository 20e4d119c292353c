"""Layered ("Sugiyama") auto-layout for the node-graph editor, flowing left to right.

Kept free of Qt and of anything outside the standard library so that it can be unit-tested and
benchmarked headless, and so the editor can run it off the GUI thread on a plain snapshot of
node ids, edges and sizes.

The pipeline is the classic one, chosen for predictable, readable workflow diagrams:

1. Cycles are broken by reversing the back edges of a depth-first search (from the sources
   first, then in document order), so only edges that really close a loop point right to left.
2. Longest-path layering from the sources puts every node one layer right of its deepest
   predecessor; edges spanning several layers get zero-width dummy vertices so that crossing
   reduction and straightening treat them like chains of short edges.
3. Barycenter sweeps (down, then up, repeated) reorder each layer; every ordering is scored by
   counting crossings exactly and the best one is kept, because barycenter sweeps can oscillate
   and make things worse again. Swapping neighbours then removes crossings the sweeps missed.
4. Layers get x from the widest node of all layers to their left; within a layer nodes keep
   their order and alignment sweeps pull each node towards its neighbours, straightening
   chains and long edges. Each sweep is a weighted isotonic regression (pool adjacent
   violators), which finds the closest non-overlapping placement in linear time instead of
   nudging nodes pairwise.

Every stage has a work budget, so a pathological graph (say 10,000 random edges producing
half a million dummies) degrades to fewer refinement passes instead of minutes of work.

Connected components are laid out independently and stacked top to bottom in the order of
their first node in the document, so unrelated flows never interleave. Nothing depends on
hash order of the caller's ids, so the same input always yields the same positions.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise
from operator import mul

__all__ = ["count_crossings", "layered_layout"]

# Weight of an edge segment's vertical offset by how many of its ends are dummies: long edges
# should run straight before anything else does.
_EDGE_WEIGHTS = (1.0, 2.0, 8.0)
# Refinement stops at these counts, or earlier once the stage's budget of vertex and edge
# visits (per component) is spent; the budgets keep huge or pathological graphs at seconds.
_ALIGN_ROUNDS = 8  # each one sweep down and one up; enough to settle visually
_ALIGN_WORK_BUDGET = 1_500_000
_MAX_ORDER_ITERATIONS = 12
_ORDER_WORK_BUDGET = 600_000
_TRANSPOSE_PASSES = 8  # huge graphs skip swapping altogether
_TRANSPOSE_WORK_BUDGET = 1_000_000
# Crossing reduction also stops when this many iterations in a row found nothing better.
_PATIENCE = 3
# Up to this many edges between two layers, inversions are counted by insertion into a sorted
# list (C-level bisect and memmove, fastest in CPython); beyond it the accumulator tree's
# O(m log n) avoids the quadratic memmove.
_SORTED_LIST_LIMIT = 8192


def layered_layout(
    nodes: Sequence[str],
    edges: Sequence[tuple[str, str]],
    sizes: Mapping[str, tuple[float, float]],
    *,
    layer_gap: float = 80.0,
    node_gap: float = 40.0,
    origin: tuple[float, float] = (0.0, 0.0),
) -> dict[str, tuple[float, float]]:
    """Top-left position for every node, flowing left to right with few edge crossings.

    Repeated ids in ``nodes`` count once. Self-loops, repeated edges and edges naming an id
    that is not in ``nodes`` are ignored rather than rejected, because a document being edited
    can be briefly inconsistent and the layout should still work. Every node needs a size.
    """
    if layer_gap < 0 or node_gap < 0:
        raise ValueError("layer_gap and node_gap must not be negative")
    ids = list(dict.fromkeys(nodes))
    count = len(ids)
    index = {node: i for i, node in enumerate(ids)}
    missing = [node for node in ids if node not in sizes]
    if missing:
        raise ValueError(f"no size for node(s): {', '.join(map(repr, missing[:5]))}")
    widths = [max(0.0, float(sizes[node][0])) for node in ids]
    heights = [max(0.0, float(sizes[node][1])) for node in ids]

    succ = _known_edges(edges, index, count)
    dag = _break_cycles(succ)
    layer = _longest_path_layers(dag)

    positions: list[tuple[float, float]] = [(0.0, 0.0)] * count
    left, top = float(origin[0]), float(origin[1])
    for members in _components(dag):
        bottom = _layout_component(
            members, dag, layer, widths, heights, layer_gap, node_gap, left, top, positions
        )
        top = bottom + node_gap
    return {node: positions[i] for i, node in enumerate(ids)}


def count_crossings(layers: Sequence[Sequence[str]], edges: Iterable[tuple[str, str]]) -> int:
    """Number of pairwise crossings among edges that join adjacent layers.

    Edges are straight segments between consecutive layers; edges within a layer, spanning
    more than one layer, or naming unknown ids are not counted. Each listed edge counts, so a
    repeated edge crosses another edge twice. Shared by the layout and by tests that compare
    orderings.
    """
    where: dict[str, tuple[int, int]] = {}
    for depth, layer in enumerate(layers):
        for position, node in enumerate(layer):
            where[node] = (depth, position)
    between: list[list[tuple[int, int]]] = [[] for _ in range(max(len(layers) - 1, 0))]
    for source, target in edges:
        a, b = where.get(source), where.get(target)
        if a is None or b is None:
            continue
        if a[0] > b[0]:
            a, b = b, a
        if b[0] == a[0] + 1:
            between[a[0]].append((a[1], b[1]))
    total = 0
    for depth, pairs in enumerate(between):
        pairs.sort()
        total += _inversions([south for _, south in pairs], len(layers[depth + 1]))
    return total


def _known_edges(
    edges: Iterable[tuple[str, str]], index: Mapping[str, int], count: int
) -> list[list[int]]:
    """Successor lists over node indices, without self-loops, duplicates or unknown ends."""
    succ: list[list[int]] = [[] for _ in range(count)]
    seen: set[tuple[int, int]] = set()
    for source, target in edges:
        u, v = index.get(source), index.get(target)
        if u is None or v is None or u == v or (u, v) in seen:
            continue
        seen.add((u, v))
        succ[u].append(v)
    return succ


def _break_cycles(succ: list[list[int]]) -> list[list[int]]:
    """Acyclic successor lists: DFS back edges reversed, duplicates that creates dropped.

    Only an edge inside a cycle can be a back edge, so every other edge keeps its direction.
    The search is iterative so that a 10,000-node chain cannot hit the recursion limit.
    """
    count = len(succ)
    state = bytearray(count)  # 0 unseen, 1 on the DFS stack, 2 finished
    dag: list[list[int]] = [[] for _ in range(count)]
    kept: set[tuple[int, int]] = set()

    def keep(u: int, v: int) -> None:
        if (u, v) not in kept:
            kept.add((u, v))
            dag[u].append(v)

    has_predecessor = bytearray(count)
    for out in succ:
        for v in out:
            has_predecessor[v] = 1
    # Sources first: a loop is then entered where the flow enters it, and the edge reversed is
    # the one jumping back, not the one leading into the loop.
    roots = [v for v in range(count) if not has_predecessor[v]]
    roots.extend(v for v in range(count) if has_predecessor[v])
    for root in roots:
        if state[root]:
            continue
        state[root] = 1
        stack_nodes = [root]
        stack_next = [0]
        while stack_nodes:
            u = stack_nodes[-1]
            i = stack_next[-1]
            out = succ[u]
            if i == len(out):
                state[u] = 2
                stack_nodes.pop()
                stack_next.pop()
                continue
            stack_next[-1] = i + 1
            v = out[i]
            if state[v] == 1:
                keep(v, u)
            else:
                keep(u, v)
                if state[v] == 0:
                    state[v] = 1
                    stack_nodes.append(v)
                    stack_next.append(0)
    return dag


def _longest_path_layers(dag: list[list[int]]) -> list[int]:
    """Layer of each node: the length of the longest path reaching it from any source."""
    count = len(dag)
    indegree = [0] * count
    for out in dag:
        for v in out:
            indegree[v] += 1
    layer = [0] * count
    queue = [v for v in range(count) if indegree[v] == 0]
    for u in queue:  # the list grows while iterating: Kahn's topological order
        next_layer = layer[u] + 1
        for v in dag[u]:
            if layer[v] < next_layer:
                layer[v] = next_layer
            indegree[v] -= 1
            if indegree[v] == 0:
                queue.append(v)
    return layer


def _components(dag: list[list[int]]) -> list[list[int]]:
    """Weakly connected components, each in document order, ordered by their first node."""
    count = len(dag)
    neighbours: list[list[int]] = [[] for _ in range(count)]
    for u, out in enumerate(dag):
        for v in out:
            neighbours[u].append(v)
            neighbours[v].append(u)
    component = [-1] * count
    result: list[list[int]] = []
    for root in range(count):
        if component[root] >= 0:
            continue
        label = len(result)
        component[root] = label
        members = [root]
        for u in members:
            for v in neighbours[u]:
                if component[v] < 0:
                    component[v] = label
                    members.append(v)
        members.sort()
        result.append(members)
    return result


def _layout_component(
    members: list[int],
    dag: list[list[int]],
    layer: list[int],
    widths: list[float],
    heights: list[float],
    layer_gap: float,
    node_gap: float,
    left: float,
    top: float,
    positions: list[tuple[float, float]],
) -> float:
    """Place one connected component with its top edge at ``top``; return its bottom edge."""
    if len(members) == 1:
        node = members[0]
        positions[node] = (left, top)
        return top + heights[node]

    # Vertices are renumbered locally: real nodes first (document order), then dummies.
    local = {node: i for i, node in enumerate(members)}
    real = len(members)
    depth = max(layer[node] for node in members) + 1
    layers: list[list[int]] = [[] for _ in range(depth)]
    vertex_layer = [layer[node] for node in members]
    for i, depth_of_node in enumerate(vertex_layer):
        layers[depth_of_node].append(i)
    up: list[list[int]] = [[] for _ in range(real)]
    down: list[list[int]] = [[] for _ in range(real)]
    for i, node in enumerate(members):
        for target in dag[node]:
            j = local[target]
            previous = i
            for dummy_layer in range(vertex_layer[i] + 1, vertex_layer[j]):
                dummy = len(up)
                up.append([previous])
                down.append([])
                vertex_layer.append(dummy_layer)
                layers[dummy_layer].append(dummy)
                down[previous].append(dummy)
                previous = dummy
            down[previous].append(j)
            up[j].append(previous)

    layers = _minimise_crossings(layers, up, down)

    vertex_heights = [heights[node] for node in members]
    vertex_heights.extend([0.0] * (len(up) - real))
    centers = _align(layers, up, down, vertex_heights, real, node_gap)

    x = left
    layer_left: list[float] = []
    for vertices in layers:
        layer_left.append(x)
        widest = max((widths[members[v]] for v in vertices if v < real), default=0.0)
        x += widest + layer_gap
    shift = top - min(centers[i] - vertex_heights[i] / 2 for i in range(real))
    bottom = top
    for i, node in enumerate(members):
        y = centers[i] - vertex_heights[i] / 2 + shift
        positions[node] = (layer_left[vertex_layer[i]], y)
        bottom = max(bottom, y + vertex_heights[i])
    return bottom


def _minimise_crossings(
    layers: list[list[int]], up: list[list[int]], down: list[list[int]]
) -> list[list[int]]:
    """Best layer ordering found by alternating barycenter sweeps, starting from ``layers``.

    The starting ordering is a candidate too, so the result never has more crossings than
    document order had.
    """
    position = [0] * len(up)
    _number(layers, position)
    best = [list(vertices) for vertices in layers]
    best_crossings = _total_crossings(layers, down, position)
    edge_count = sum(len(out) for out in down)
    iterations = max(1, min(_MAX_ORDER_ITERATIONS, _ORDER_WORK_BUDGET // (4 * edge_count + 1)))
    stale = 0
    for _ in range(iterations):
        if best_crossings == 0:
            break
        improved = False
        for downward in (True, False):
            if downward:
                _sweep(layers, up, position, range(1, len(layers)))
            else:
                _sweep(layers, down, position, range(len(layers) - 2, -1, -1))
            crossings = _total_crossings(layers, down, position)
            if crossings < best_crossings:
                best_crossings = crossings
                best = [list(vertices) for vertices in layers]
                improved = True
        stale = 0 if improved else stale + 1
        if stale >= _PATIENCE:
            break
    if best_crossings:
        _number(best, position)
        _transpose(best, up, down, position)
    return best


def _transpose(
    layers: list[list[int]], up: list[list[int]], down: list[list[int]], position: list[int]
) -> None:
    """Swap neighbouring vertices while that removes crossings.

    Barycenter sweeps stall in local optima that a single swap escapes; checking a swap only
    needs the edges of the two vertices, so passes are cheap on sparse graphs.
    """
    work = len(position) + 2 * sum(map(len, down))
    for _ in range(min(_TRANSPOSE_PASSES, _TRANSPOSE_WORK_BUDGET // work)):
        swapped = False
        for vertices in layers:
            for i in range(len(vertices) - 1):
                v, w = vertices[i], vertices[i + 1]
                kept = _pair_crossings(up[v], up[w], position) + _pair_crossings(
                    down[v], down[w], position
                )
                if not kept:
                    continue
                flipped = _pair_crossings(up[w], up[v], position) + _pair_crossings(
                    down[w], down[v], position
                )
                if flipped < kept:
                    vertices[i], vertices[i + 1] = w, v
                    position[v], position[w] = i + 1, i
                    swapped = True
        if not swapped:
            return


def _pair_crossings(first: list[int], second: list[int], position: list[int]) -> int:
    """Crossings between the edges of two neighbouring vertices, ``first`` above ``second``."""
    if len(first) * len(second) <= 16:
        total = 0
        for a in first:
            pa = position[a]
            for b in second:
                if pa > position[b]:
                    total += 1
        return total
    # Busy vertices (a fan-out next to another) would make the pairwise loop quadratic.
    lower = sorted([position[b] for b in second])
    return sum([bisect_left(lower, position[a]) for a in first])


def _number(layers: list[list[int]], position: list[int]) -> None:
    for vertices in layers:
        for i, v in enumerate(vertices):
            position[v] = i


def _sweep(
    layers: list[list[int]], reference: list[list[int]], position: list[int], order: range
) -> None:
    """Reorder each layer by the mean position of its neighbours in the layer just swept.

    Vertices without such neighbours keep their slots and the others are sorted around them,
    which stops them from drifting to one end for lack of a meaningful key.
    """
    for depth in order:
        vertices = layers[depth]
        keyed: list[tuple[float, int, int]] = []
        for i, v in enumerate(vertices):
            neighbours = reference[v]
            if len(neighbours) == 1:
                keyed.append((position[neighbours[0]], i, v))
            elif neighbours:
                total = 0
                for w in neighbours:
                    total += position[w]
                keyed.append((total / len(neighbours), i, v))
        keyed.sort()
        if len(keyed) == len(vertices):
            reordered = [v for _, _, v in keyed]
        else:
            movable = iter(keyed)
            reordered = [next(movable)[2] if reference[v] else v for v in vertices]
        layers[depth] = reordered
        for i, v in enumerate(reordered):
            position[v] = i


def _total_crossings(layers: list[list[int]], down: list[list[int]], position: list[int]) -> int:
    total = 0
    for depth in range(len(layers) - 1):
        south: list[int] = []
        for v in layers[depth]:
            out = down[v]
            if len(out) == 1:
                south.append(position[out[0]])
            elif out:
                south.extend(sorted([position[w] for w in out]))
        total += _inversions(south, len(layers[depth + 1]))
    return total


def _inversions(sequence: list[int], bound: int) -> int:
    """Pairs i < j with sequence[i] > sequence[j], for values in ``range(bound)``.

    With edges sorted by their upper end (then lower end), these are exactly the crossings
    between two layers.
    """
    if len(sequence) <= _SORTED_LIST_LIMIT:
        seen: list[int] = []
        total = 0
        for count, value in enumerate(sequence):
            i = bisect_right(seen, value)
            total += count - i
            seen.insert(i, value)
        return total
    return _inversions_accumulator(sequence, bound)


def _inversions_accumulator(sequence: list[int], bound: int) -> int:
    """Accumulator-tree count (Barth, Jünger and Mutzel 2002) for large layer pairs."""
    leaves = 1
    while leaves < bound:
        leaves *= 2
    tree = [0] * (2 * leaves)
    total = 0
    for value in sequence:
        node = value + leaves
        tree[node] += 1
        while node > 1:
            if node % 2 == 0:  # a left child: everything under the right sibling is larger
                total += tree[node + 1]
            node //= 2
            tree[node] += 1
    return total


def _align(
    layers: list[list[int]],
    up: list[list[int]],
    down: list[list[int]],
    heights: list[float],
    real: int,
    node_gap: float,
) -> list[float]:
    """Vertical centres: layers stacked in order, then edges straightened as far as spacing allows.

    The target is the least total of weighted squared vertical edge offsets, subject to every
    layer keeping its order and gaps. That problem is convex, so solving it exactly one layer at
    a time (block coordinate descent, sweeping down and up) only ever improves the drawing and
    settles quickly, unlike median pulls that can oscillate. Edges between dummies weigh most,
    so long edges run straight (the weights are those of Gansner et al.'s dot). Dummies are
    spaced by half a node gap, so bundles of long edges do not inflate the drawing.
    """
    half_gap = node_gap / 2
    # Per layer, each vertex's centre minus its smallest possible distance from the first one;
    # order and spacing then just mean that these shifted values never decrease.
    offsets: list[list[float]] = []
    centers = [0.0] * len(up)
    for vertices in layers:
        shifts = [0.0]
        for a, b in pairwise(vertices):
            gap = node_gap if a < real and b < real else half_gap
            shifts.append(shifts[-1] + (heights[a] + heights[b]) / 2 + gap)
        offsets.append(shifts)
        # Start every layer centred on the same line, so the first sweep has a sane reference.
        middle = shifts[-1] / 2
        for v, shift in zip(vertices, shifts, strict=True):
            centers[v] = shift - middle
    neighbours = [above + below for above, below in zip(up, down, strict=True)]
    weights = [
        [_EDGE_WEIGHTS[(v >= real) + (w >= real)] for w in near]
        for v, near in enumerate(neighbours)
    ]
    totals = [sum(near) for near in weights]
    work = len(up) + sum(map(len, neighbours))
    rounds = max(1, min(_ALIGN_ROUNDS, _ALIGN_WORK_BUDGET // (2 * work + 1)))
    last = len(layers) - 1
    order = [*range(1, last + 1), *range(last - 1, -1, -1)]
    for _ in range(rounds):
        for depth in order:
            _place_layer(layers[depth], offsets[depth], neighbours, weights, totals, centers)
    return centers


def _place_layer(
    vertices: list[int],
    offsets: list[float],
    neighbours: list[list[int]],
    weights: list[list[float]],
    totals: list[float],
    centers: list[float],
) -> None:
    """Optimal centres for one layer with the others fixed: each vertex wants the weighted mean
    of its neighbours, and pool-adjacent-violators on the centres shifted by ``offsets`` turns
    that into the closest placement keeping order and spacing, in linear time.
    """
    center_of = centers.__getitem__
    # Blocks of pooled vertices as parallel stacks: weighted mean target, weight, size.
    means: list[float] = []
    block_weights: list[float] = []
    sizes: list[int] = []
    for v, offset in zip(vertices, offsets, strict=True):
        weight = totals[v]
        if weight:
            mean = sum(map(mul, weights[v], map(center_of, neighbours[v]))) / weight - offset
        else:
            mean, weight = centers[v] - offset, 1.0
        size = 1
        while means and means[-1] > mean:
            previous_weight = block_weights.pop()
            mean = (means.pop() * previous_weight + mean * weight) / (previous_weight + weight)
            weight += previous_weight
            size += sizes.pop()
        means.append(mean)
        block_weights.append(weight)
        sizes.append(size)
    i = 0
    for mean, size in zip(means, sizes, strict=True):
        for _ in range(size):
            centers[vertices[i]] = mean + offsets[i]
            i += 1
