"""Token-based replay (fitness and ETConformance precision) as pm4py computes it.

Per trace: the initial marking's tokens count as produced; each event fires a transition
with its label; if that transition is not enabled, silent transitions are fired first when
a short sequence of them enables it (breadth-first, so the shortest), otherwise the missing
tokens are inserted and counted. At the end silent transitions are fired to reach the final
marking if possible, the final marking's tokens are consumed, and whatever is left is
remaining. Trace fitness = ½(1 − m/c) + ½(1 − r/p); log fitness uses the sums over all
traces. Each variant is replayed once and weighted by its count.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from auterity_desktop.services.analytics.mining.event_log import EventLog
from auterity_desktop.services.analytics.mining.petri import Marking, PetriNet, Transition

_MAX_SILENT_STATES = 2000  # bound on the silent search per event, keeps replay linear-ish


@dataclass
class TraceReplay:
    """Diagnostics for one trace (one case, or one variant before weighting)."""

    case_id: str
    fitness: float
    missing: int
    remaining: int
    consumed: int
    produced: int
    is_fit: bool
    problem_transitions: list[str] = field(default_factory=list)  # fired while not enabled
    enabled_labels: frozenset[str] = frozenset()  # visible labels reachable at the end


@dataclass
class ReplayResult:
    log_fitness: float
    average_trace_fitness: float
    percentage_of_fitting_traces: float  # 0–100, as pm4py reports it
    traces: list[TraceReplay]


def _enabled(t: Transition, marking: Marking) -> bool:
    need = Counter(t.inputs)
    return all(marking.get(p, 0) >= n for p, n in need.items())


def _fire(t: Transition, marking: Marking) -> Marking:
    out = Marking(marking)
    for p in t.inputs:
        out[p] -= 1
        if out[p] == 0:
            del out[p]
    for p in t.outputs:
        out[p] += 1
    return out


def _silent_path(
    net: PetriNet, marking: Marking, goal: Transition | Marking
) -> list[Transition] | None:
    """Shortest sequence of silent firings after which ``goal`` (a transition) is enabled,
    or the marking equals ``goal`` (a marking). ``[]`` when it already holds."""
    silent = [t for t in net.transitions if t.label is None]

    def done(m: Marking) -> bool:
        if isinstance(goal, Transition):
            return _enabled(goal, m)
        return m.key() == goal.key()

    if done(marking):
        return []
    queue: deque[tuple[Marking, list[Transition]]] = deque([(marking, [])])
    seen = {marking.key()}
    while queue and len(seen) < _MAX_SILENT_STATES:
        current, path = queue.popleft()
        for t in silent:
            if _enabled(t, current):
                nxt = _fire(t, current)
                key = nxt.key()
                if key in seen:
                    continue
                if done(nxt):
                    return [*path, t]
                seen.add(key)
                queue.append((nxt, [*path, t]))
    return None


def _visible_reachable(net: PetriNet, marking: Marking) -> frozenset[str]:
    """Labels of visible transitions enabled now or after silent firings."""
    labels: set[str] = set()
    queue: deque[Marking] = deque([marking])
    seen = {marking.key()}
    while queue and len(seen) < _MAX_SILENT_STATES:
        current = queue.popleft()
        for t in net.transitions:
            if not _enabled(t, current):
                continue
            if t.label is not None:
                labels.add(t.label)
                continue
            nxt = _fire(t, current)
            if nxt.key() not in seen:
                seen.add(nxt.key())
                queue.append(nxt)
    return frozenset(labels)


def replay_trace(
    trace: Iterable[str],
    net: PetriNet,
    im: Marking,
    fm: Marking,
    case_id: str = "",
    to_end: bool = True,
) -> TraceReplay:
    """Replay one trace; ``to_end`` False stops after the last event (prefix replay for
    precision, where the final marking is not expected)."""
    by_label: dict[str, Transition] = {}
    for t in net.transitions:
        if t.label is not None:
            by_label.setdefault(t.label, t)
    marking = Marking(im)
    produced = sum(im.values())
    consumed = missing = 0
    problems: list[str] = []
    for activity in trace:
        found = by_label.get(activity)
        if found is None:  # an activity the model does not know: pm4py skips it
            problems.append(activity)
            continue
        t = found
        if not _enabled(t, marking):
            path = _silent_path(net, marking, t)
            for silent in path or []:
                consumed += len(silent.inputs)
                produced += len(silent.outputs)
                marking = _fire(silent, marking)
            if not _enabled(t, marking):
                problems.append(t.label or t.name)
                for p, n in Counter(t.inputs).items():
                    lacking = n - marking.get(p, 0)
                    if lacking > 0:
                        missing += lacking
                        marking[p] += lacking
        consumed += len(t.inputs)
        produced += len(t.outputs)
        marking = _fire(t, marking)
    enabled = _visible_reachable(net, marking)
    if not to_end:
        return TraceReplay(case_id, _fitness(missing, consumed, 0, produced), missing, 0,
                           consumed, produced, missing == 0 and not problems, problems,
                           enabled)  # fmt: skip
    if marking.key() != fm.key():
        path = _silent_path(net, marking, fm)
        for silent in path or []:
            consumed += len(silent.inputs)
            produced += len(silent.outputs)
            marking = _fire(silent, marking)
    # pm4py decides "fit" here, before the final marking's missing tokens are counted, and
    # (consider_activities_not_in_model_in_fitness=False) ignores activities not in the model
    fits = missing == 0
    for p, n in fm.items():
        have = marking.get(p, 0)
        if have < n:
            missing += n - have
        marking[p] = max(0, have - n)
    consumed += sum(fm.values())
    remaining = sum(n for n in marking.values() if n > 0)
    fitness = _fitness(missing, consumed, remaining, produced)
    is_fit = fits and remaining == 0
    return TraceReplay(
        case_id, fitness, missing, remaining, consumed, produced, is_fit, problems, enabled
    )


def _fitness(m: int, c: int, r: int, p: int) -> float:
    value = 0.5 * (1 - m / c if c else 1.0) + 0.5 * (1 - r / p if p else 1.0)
    return min(1.0, max(0.0, value))


def token_replay(log: EventLog, net: PetriNet, im: Marking, fm: Marking) -> ReplayResult:
    """Fitness of ``log`` on the net, with per-case diagnostics in log order."""
    traces = log.traces()
    return replay_traces(traces, net, im, fm, log.case_ids())


def replay_traces(
    traces: list[tuple[str, ...]],
    net: PetriNet,
    im: Marking,
    fm: Marking,
    case_ids: list[str] | None = None,
) -> ReplayResult:
    ids = case_ids if case_ids is not None else [str(i) for i in range(len(traces))]
    per_variant = {v: replay_trace(v, net, im, fm) for v in set(traces)}
    results: list[TraceReplay] = []
    sums = [0, 0, 0, 0]
    for case, trace in zip(ids, traces, strict=True):
        r = per_variant[trace]
        results.append(TraceReplay(case, r.fitness, r.missing, r.remaining, r.consumed,
                                   r.produced, r.is_fit, list(r.problem_transitions),
                                   r.enabled_labels))  # fmt: skip
        sums[0] += r.missing
        sums[1] += r.consumed
        sums[2] += r.remaining
        sums[3] += r.produced
    if not results:
        return ReplayResult(1.0, 1.0, 100.0, [])
    return ReplayResult(
        log_fitness=_fitness(*sums),
        average_trace_fitness=sum(r.fitness for r in results) / len(results),
        percentage_of_fitting_traces=100.0 * sum(r.is_fit for r in results) / len(results),
        traces=results,
    )


def precision_token_replay(log: EventLog, net: PetriNet, im: Marking, fm: Marking) -> float:
    """ETConformance precision (pm4py's ``precision_token_based_replay``): for every prefix
    of the log, the visible activities the model allows next that the log never does
    (escaping edges), weighted by how often the prefix occurs; 1 − escaping / allowed."""
    return precision_traces(log.traces(), net, im, fm)


def precision_traces(
    traces: list[tuple[str, ...]], net: PetriNet, im: Marking, fm: Marking
) -> float:
    following: dict[tuple[str, ...], set[str]] = {}
    count: Counter[tuple[str, ...]] = Counter()
    for trace in traces:
        for i in range(1, len(trace)):
            following.setdefault(trace[:i], set()).add(trace[i])
            count[trace[:i]] += 1
    allowed = escaping = 0
    for prefix, log_next in following.items():
        r = replay_trace(prefix, net, im, fm, to_end=False)
        if r.missing or r.problem_transitions:  # only prefixes the model can replay
            continue
        allowed += len(r.enabled_labels) * count[prefix]
        escaping += len(r.enabled_labels - log_next) * count[prefix]
    at_start = _visible_reachable(net, im)
    starts = {t[0] for t in traces if t}
    allowed += len(traces) * len(at_start)
    escaping += len(traces) * len(at_start - starts)
    return 1.0 - escaping / allowed if allowed else 1.0
