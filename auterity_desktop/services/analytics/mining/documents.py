"""The process-mining work as JSON-ready documents: what the service, the Analysis page and
the ``auterity mine`` command ask for.

These are plain functions of an ``EventLog`` (and a file path), without guard, audit or
thread, so the same code runs in the service's worker processes and in the command line.
Results are dicts of plain numbers, strings and lists: cheap to send back from a worker
process and to show or print as they are.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.analytics.mining import exporters, importers
from auterity_desktop.services.analytics.mining.discovery import (
    discover_dfg,
    discover_heuristics_net,
    discover_performance_dfg,
    pair_rows,
    variants,
)
from auterity_desktop.services.analytics.mining.event_log import EventLog
from auterity_desktop.services.analytics.mining.importers import ColumnGuess, Progress
from auterity_desktop.services.analytics.mining.inductive import discover_process_tree_inductive
from auterity_desktop.services.analytics.mining.performance import (
    bottlenecks,
    case_durations,
    rework_cases,
    throughput,
)
from auterity_desktop.services.analytics.mining.petri import (
    read_pnml,
    tree_to_petri_net,
    write_bpmn,
    write_pnml,
)
from auterity_desktop.services.analytics.mining.replay import (
    precision_token_replay,
    token_replay,
)

Algorithm = Literal["dfg", "heuristics", "inductive"]
Mapping_ = ColumnGuess | Mapping[str, str | None] | None

ALGORITHMS = ("dfg", "heuristics", "inductive")
LOG_FORMATS = (".csv", ".xes", ".xes.gz", ".parquet")
MODEL_FORMATS = (".pnml", ".bpmn")
TOP_VARIANTS = 10
TOP_BOTTLENECKS = 10
VARIANT_CASES = 200
TRACE_ROWS = 500
EDGE_CASES = 500
DOTTED_POINTS = 100_000


def _invalid(message: str, **details: Any) -> ServiceError:
    return ServiceError(ErrorCode.INVALID_INPUT, message, details)


def log_format(path: str | Path, allowed: tuple[str, ...] = LOG_FORMATS) -> str:
    """The file's format by its suffix (``.xes.gz`` counts as one), or ``INVALID_INPUT``."""
    name = Path(path).name.lower()
    for suffix in sorted(allowed, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    raise _invalid(
        f"{Path(path).name!r} has an unknown file type; use one of {', '.join(allowed)}",
        path=str(path),
        allowed=list(allowed),
    )


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise ServiceError(ErrorCode.CANCELLED, "The import was cancelled", {})


def load_log(
    path: str | Path,
    mapping: Mapping_ = None,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> EventLog:
    """Read a CSV, XES (optionally gzipped) or Parquet file; the importer is chosen by the
    suffix. ``mapping`` (CSV and Parquet) maps roles to columns; without it they are
    detected."""
    kind = log_format(path)
    _check_cancel(cancel)
    if kind == ".csv":
        return importers.read_csv(path, mapping, progress=progress, cancel=cancel)
    if kind in (".xes", ".xes.gz"):
        return importers.read_xes(path, progress=progress, cancel=cancel)
    log = importers.read_parquet(path, mapping, progress=progress, cancel=cancel)
    _check_cancel(cancel)
    return log


def log_summary(log: EventLog, top: int = TOP_VARIANTS) -> dict[str, Any]:
    """Events, cases, activities and the ``top`` most frequent variants (without case ids)."""
    found = variants(log)
    return {
        "name": log.name,
        "events": log.n_events,
        "cases": log.n_cases,
        "activities": log.activities(),
        "variant_count": len(found),
        "variants": [{"activities": list(v.activities), "count": v.count} for v in found[:top]],
    }


def _filter_edges(edges: dict[tuple[str, str], int], noise: float) -> dict[tuple[str, str], int]:
    """Drop an edge rarer than ``noise`` times the busiest edge leaving its source."""
    if noise <= 0.0:
        return dict(edges)
    busiest: dict[str, int] = {}
    for (a, _), count in edges.items():
        busiest[a] = max(busiest.get(a, 0), count)
    return {(a, b): n for (a, b), n in edges.items() if n >= busiest[a] * noise}


def _check_noise(noise_threshold: float) -> float:
    if (
        isinstance(noise_threshold, bool)
        or not isinstance(noise_threshold, int | float)
        or not 0.0 <= noise_threshold <= 1.0
    ):
        raise _invalid(
            "noise_threshold must be a number from 0 to 1", noise_threshold=str(noise_threshold)
        )
    return float(noise_threshold)


def discovery_document(
    log: EventLog, algorithm: str = "dfg", noise_threshold: float = 0.0
) -> dict[str, Any]:
    """A JSON-ready model. ``dfg``: the directly-follows graph, edges rarer than
    ``noise_threshold`` × the busiest edge of their source dropped; ``heuristics``: the
    heuristics net, ``noise_threshold`` (when above 0) replacing pm4py's 5 % pre-cleaning;
    ``inductive``: the process tree of the inductive miner (IMf with that threshold)."""
    noise = _check_noise(noise_threshold)
    document: dict[str, Any] = {
        "algorithm": algorithm,
        "noise_threshold": noise,
        "log": log_summary(log),
    }
    if algorithm == "dfg":
        dfg = discover_dfg(log)
        kept = _filter_edges(dfg.edges, noise)
        edges = sorted(kept.items(), key=lambda item: (-item[1], item[0]))
        document["dfg"] = {
            **dfg.to_dict(),
            "edges": [{"source": a, "target": b, "count": n} for (a, b), n in edges],
        }
    elif algorithm == "heuristics":
        if noise > 0.0:
            net = discover_heuristics_net(log, dfg_pre_cleaning_noise_threshold=noise)
        else:
            net = discover_heuristics_net(log)
        document["heuristics"] = net.to_dict()
    elif algorithm == "inductive":
        tree = discover_process_tree_inductive(log, noise)
        petri, _, _ = tree_to_petri_net(tree)
        document["inductive"] = {
            "tree": tree.to_string(),
            "activities": sorted(tree.activities()),
            "places": len(petri.places),
            "transitions": len(petri.transitions),
        }
    else:
        raise _invalid(
            f"Unknown discovery algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}",
            algorithm=str(algorithm),
        )
    return document


def _edge_counts(log: EventLog, rows: np.ndarray) -> dict[tuple[str, str], int]:
    """Directly-follows counts over the pairs starting at ``rows``."""
    names = log.activities()
    codes = log.activity_codes().astype(np.int64)
    keys = codes[rows] * len(names) + codes[rows + 1]
    found, counts = np.unique(keys, return_counts=True)
    size = len(names)
    return {
        (names[int(k) // size], names[int(k) % size]): int(n)
        for k, n in zip(found.tolist(), counts.tolist(), strict=True)
    }


def _case_codes_of_rows(log: EventLog) -> np.ndarray:
    """For each event, the index of its case in ``log.case_ids()``."""
    starts, ends = log.case_starts(), log.case_ends()
    return np.repeat(np.arange(len(starts), dtype=np.int64), ends - starts)


def conformance_document(log: EventLog, pnml_path: str | Path) -> dict[str, Any]:
    """Token-replay fitness and ETConformance precision of ``log`` on a PNML model, the
    first ``TRACE_ROWS`` traces' diagnostics, and the *deviating edges*: directly-follows
    pairs seen in unfit cases and in no fitting case, which is where the process map
    marks the deviation."""
    net, im, fm = read_pnml(pnml_path)
    replay = token_replay(log, net, im, fm)
    precision = precision_token_replay(log, net, im, fm)
    fit = np.fromiter((t.is_fit for t in replay.traces), dtype=bool, count=len(replay.traces))
    unfit = [t.case_id for t in replay.traces if not t.is_fit]
    rows = pair_rows(log)
    of_row = _case_codes_of_rows(log)
    if len(fit) == log.n_cases:  # one diagnosis per case, in log order
        fit_rows = fit[of_row[rows]]
        in_fit = _edge_counts(log, rows[fit_rows])
        in_unfit = _edge_counts(log, rows[~fit_rows])
        deviating = sorted(
            ((a, b, n) for (a, b), n in in_unfit.items() if (a, b) not in in_fit),
            key=lambda edge: (-edge[2], edge[0], edge[1]),
        )
    else:
        deviating = []
    return {
        "model": str(pnml_path),
        "fitness": replay.log_fitness,
        "average_trace_fitness": replay.average_trace_fitness,
        "percentage_of_fitting_traces": replay.percentage_of_fitting_traces,
        "precision": precision,
        "cases": len(replay.traces),
        "unfit_cases": len(unfit),
        "unfit_case_ids": unfit[:100],
        "deviating_edges": [{"source": a, "target": b, "count": n} for a, b, n in deviating],
        "traces": [
            {"case": t.case_id, "fitness": t.fitness, "missing": t.missing,
             "remaining": t.remaining, "is_fit": t.is_fit}
            for t in replay.traces[:TRACE_ROWS]
        ],
    }  # fmt: skip


def performance_document(log: EventLog, top: int = TOP_BOTTLENECKS) -> dict[str, Any]:
    """Case duration summary and each case's duration (seconds, log order), the ``top``
    bottleneck edges, rework per activity and daily throughput."""
    durations = case_durations(log).to_dict()
    return {
        "case_durations": {"cases": len(durations["durations"]), **durations["summary"]},
        "case_duration_values": list(durations["durations"].values()),
        "bottlenecks": [b.to_dict() for b in bottlenecks(log, top)],
        "rework": rework_cases(log),
        "throughput": throughput(log).to_dict(),
    }


def save_log(log: EventLog, path: str | Path) -> str:
    """Write ``log`` as CSV, XES (gzipped for ``.xes.gz``) or Parquet by the suffix."""
    kind = log_format(path)
    if kind == ".csv":
        exporters.write_csv(log, path)
    elif kind == ".parquet":
        exporters.write_parquet(log, path)
    else:
        exporters.write_xes(log, path)
    return kind


def save_model(
    log: EventLog, path: str | Path, algorithm: str = "inductive", noise_threshold: float = 0.0
) -> dict[str, Any]:
    """Mine a process tree with the inductive miner and write it as PNML or BPMN."""
    kind = log_format(path, MODEL_FORMATS)
    if algorithm != "inductive":
        raise _invalid(
            "Only the inductive miner's model can be exported as PNML or BPMN",
            algorithm=str(algorithm),
        )
    tree = discover_process_tree_inductive(log, _check_noise(noise_threshold))
    if kind == ".pnml":
        net, im, fm = tree_to_petri_net(tree)
        write_pnml(net, im, fm, path)
    else:
        write_bpmn(tree, path)
    return {"path": str(path), "format": kind.lstrip("."), "tree": tree.to_string()}


def process_map_document(log: EventLog) -> dict[str, Any]:
    """What a Disco-style map draws: each activity with its events and cases, each
    directly-follows edge with its count and times (seconds), start and end counts."""
    dfg = discover_dfg(log)
    performance = discover_performance_dfg(log)
    names = log.activities()
    codes = log.activity_codes().astype(np.int64)
    pairs = np.unique(_case_codes_of_rows(log) * max(len(names), 1) + codes)
    cases_per = np.bincount(pairs % max(len(names), 1), minlength=len(names))
    edges = []
    for (a, b), count in sorted(dfg.edges.items(), key=lambda item: (-item[1], item[0])):
        stats = performance.get((a, b))
        edges.append({
            "source": a, "target": b, "count": count,
            "mean": stats.mean if stats else 0.0, "median": stats.median if stats else 0.0,
            "min": stats.min if stats else 0.0, "max": stats.max if stats else 0.0,
            "total": stats.sum if stats else 0.0,
        })  # fmt: skip
    return {
        "name": log.name,
        "events": log.n_events,
        "cases": log.n_cases,
        "activities": [
            {"name": name, "count": dfg.activities.get(name, 0), "cases": int(cases_per[i])}
            for i, name in enumerate(names)
        ],
        "edges": edges,
        "start": dict(dfg.start),
        "end": dict(dfg.end),
    }


def variants_document(log: EventLog, top: int | None = None) -> list[dict[str, Any]]:
    """Variants by frequency with their share of cases and first ``VARIANT_CASES`` case
    ids; ``top`` keeps only the most frequent."""
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise _invalid("top must be a whole number of at least 1", top=str(top))
    found = variants(log)
    cases = max(log.n_cases, 1)
    return [
        {"activities": list(v.activities), "count": v.count, "share": v.count / cases,
         "cases": v.cases[:VARIANT_CASES]}
        for v in (found if top is None else found[:top])
    ]  # fmt: skip


def edge_cases(log: EventLog, source: str, target: str, limit: int = EDGE_CASES) -> list[str]:
    """Case ids (log order, at most ``limit``) in which ``target`` directly follows
    ``source``."""
    names = log.activities()
    unknown = [name for name in (source, target) if name not in names]
    if unknown:
        raise _invalid(f"The log has no activity {unknown[0]!r}", activity=unknown[0])
    codes = log.activity_codes()
    rows = pair_rows(log)
    hit = rows[(codes[rows] == names.index(source)) & (codes[rows + 1] == names.index(target))]
    case_index = np.unique(_case_codes_of_rows(log)[hit])[:limit]
    ids = log.case_ids()
    return [ids[int(i)] for i in case_index]


def dotted_chart_document(log: EventLog, max_points: int = DOTTED_POINTS) -> dict[str, Any]:
    """Each event as (case index, Unix seconds, activity code). Above ``max_points`` whole
    cases are sampled evenly (a fixed seed, so the picture is stable) rather than events,
    so each drawn case stays complete."""
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 1:
        raise _invalid("max_points must be a whole number of at least 1", max_points=max_points)
    of_row = _case_codes_of_rows(log)
    rows = np.arange(log.n_events, dtype=np.int64)
    sampled = log.n_events > max_points
    if sampled:
        keep_cases = max(1, int(log.n_cases * max_points / log.n_events))
        chosen = np.sort(np.random.default_rng(0).choice(log.n_cases, keep_cases, replace=False))
        rows = rows[np.isin(of_row, chosen)]
    seconds = log.timestamps_ns()[rows] / 1e9
    return {
        "case_index": of_row[rows].tolist(),
        "time": seconds.tolist(),
        "activity": log.activity_codes()[rows].astype(np.int64).tolist(),
        "activities": log.activities(),
        "sampled": sampled,
    }
