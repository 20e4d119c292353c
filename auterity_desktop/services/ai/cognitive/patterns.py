"""Pattern recognition over the product's own workflow runs.

Operators ask "what keeps breaking, what is slow, which runs were odd, what do my workflows
actually do?"; the answers are already in the ``runs`` and ``node_runs`` tables. This module
reads them (only the columns it needs, never node inputs or outputs) and finds:

* **Recurring failure causes.** Failed nodes' errors are grouped by a *signature*: the
  message with URLs, e-mail addresses, quoted values, ids, ``host:port`` pairs and numbers
  replaced by placeholders, so "GET https://dms/vehicles/1HGCM… answered 404" and the same
  call for another VIN are one cause. Each cause has a count, the workflows and nodes it hit,
  when it was first and last seen, the newest raw message as an example and a few run ids.
  Only a node's final state counts (a node that failed twice and then succeeded on retry is
  not a failure), and nodes whose errors were routed or ignored (``on_error``) succeeded.
* **Slow nodes.** Per workflow and node: executions, median, 95th percentile and maximum of
  ``finished_at - started_at`` (which spans retries), and how that median compares with the
  median of every execution of the same node type in the analysed runs. Percentiles use
  linear interpolation (numpy's and pandas' default).
* **Run duration anomalies.** Per workflow, over *succeeded* runs (a failed run's duration
  says where it stopped, not how long the work takes; failures have their own section),
  the robust z-score ``(duration - median) / scale`` with ``scale = MAD / 0.6745`` — the
  modified z-score of Iglewicz and Hoaglin — or, when more than half the runs took exactly
  the median time (MAD = 0), ``1.253314 × mean absolute deviation``. A run is anomalous when
  ``|z| > 3.5``. The scale is never below ``MIN_SCALE_FRACTION`` of the median nor below
  ``MIN_SCALE_SECONDS``: with very regular history a few milliseconds of database jitter
  would otherwise be "anomalies", so a run within 35 % of the median, or within 175 ms of
  it, never is.
  Workflows with fewer than ``MIN_RUNS_FOR_ANOMALIES`` such runs are not judged.
* **Frequent paths.** For each finished run, the ids of the nodes that succeeded, in the
  order they finished (ties — equal timestamps — in the workflow's topological order); per
  workflow the most common paths with count, share of runs and how those runs ended.

The range is over ``runs.created_at``: ``since`` inclusive, ``until`` exclusive, both
optional (Unix seconds). Memory is bounded: at most ``MAX_RUNS`` runs (the newest in the
range; the report says when it was cut), rows streamed in chunks into compact columns,
error texts cut at ``ERROR_CHARS``. The database is read on the event loop (it is I/O);
grouping and statistics run in a worker thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import asyncio
import heapq
import math
import re
import time
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from sqlalchemy import ColumnElement, func, select

from auterity_desktop.core.db import Database
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.workflows.models import (
    NodeRunRow,
    RunRow,
    WorkflowRow,
    WorkflowVersionRow,
)

MAX_RUNS = 50_000  # newest runs analysed per call; ~20 node rows each stay well under 100 MB
FETCH_CHUNK = 5_000  # rows per round trip while streaming
ERROR_CHARS = 1_000  # enough for any signature; stack traces beyond it add nothing
SIGNATURE_CHARS = 200
MAX_FAILURE_PATTERNS = 20
MAX_SLOW_NODES = 20
MAX_ANOMALIES = 100
MAX_PATH_WORKFLOWS = 50
TOP_PATHS = 5
EXAMPLE_RUNS = 5  # run ids kept per failure cause
MIN_RUNS_FOR_ANOMALIES = 5
ANOMALY_Z = 3.5
MAD_TO_SIGMA = 0.6745  # MAD of a normal distribution in standard deviations
MEAN_AD_TO_SIGMA = 1.253314  # sqrt(pi / 2): mean absolute deviation → standard deviation
MIN_SCALE_FRACTION = 0.1
MIN_SCALE_SECONDS = 0.05
NOTABLE_VS_TYPE = 1.5  # the summary calls a node slow for its type from this ratio on
SUMMARY_ITEMS = 3  # causes, slow nodes and workflows' paths named in the summary
FINAL_RUN_STATES = ("succeeded", "failed", "cancelled")

# -- error signatures -------------------------------------------------------------------
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>()\[\]{}]+")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A quote opens only after a non-word character, so "can't" is no quoted value.
_QUOTED = re.compile(
    r"(?<![\w])'[^'\n]*'(?![\w])|\"[^\"\n]*\"|`[^`\n]*`|(?<![\w])‘[^’\n]*’|“[^”\n]*”"
)
_UUID = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)
_IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b")
_HOST_PORT = re.compile(r"\b[A-Za-z][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)*:\d{1,5}\b")
# Tokens of 8+ characters mixing letters and digits: VINs, hex run ids, order numbers.
_ID = re.compile(r"\b(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{8,}\b")
_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)*")
_SPACE = re.compile(r"\s+")


def error_signature(message: str) -> str:
    """The message with its variable parts replaced, so one cause is one signature.

    Order matters: URLs and quoted values go first (they contain ids and numbers), then
    ids and hosts, numbers last."""
    text = _URL.sub("<url>", message)
    text = _EMAIL.sub("<email>", text)
    text = _QUOTED.sub("<value>", text)
    text = _UUID.sub("<id>", text)
    text = _IPV4.sub("<host>", text)
    text = _HOST_PORT.sub("<host>", text)
    text = _ID.sub("<id>", text)
    text = _NUMBER.sub("<n>", text)
    text = _SPACE.sub(" ", text).strip()
    if len(text) > SIGNATURE_CHARS:
        text = text[: SIGNATURE_CHARS - 1] + "…"
    return text or "(no message)"


# -- the report -------------------------------------------------------------------------
@dataclass
class FailurePattern:
    """One recurring failure cause."""

    signature: str
    count: int
    first_seen: float
    last_seen: float
    example: str  # the newest raw message with this signature
    workflows: list[dict[str, Any]]  # {workflow_id, workflow_name, count}, most hit first
    nodes: list[dict[str, Any]]  # {workflow_id, workflow_name, node_id, node_name, node_type,
    # count}, most hit first
    run_ids: list[str]  # the newest runs that failed this way (at most EXAMPLE_RUNS)


@dataclass
class SlowNode:
    """Duration statistics of one node of one workflow (seconds)."""

    workflow_id: str
    workflow_name: str
    node_id: str
    node_name: str
    node_type: str
    count: int
    p50: float
    p95: float
    max: float
    type_median: float  # median of every execution of this node type in the analysed runs
    vs_type: float | None  # p50 / type_median; None when the type's median is 0
    type_nodes: int  # how many workflow nodes of this type that median covers


@dataclass
class DurationAnomaly:
    """A succeeded run whose duration is far from its workflow's usual."""

    workflow_id: str
    workflow_name: str
    run_id: str
    created_at: float
    duration: float
    median: float  # of the workflow's succeeded runs analysed
    mad: float
    z: float  # positive: slower than usual; negative: faster


@dataclass
class PathCount:
    node_ids: list[str]
    node_names: list[str]
    count: int
    share: float  # of the workflow's runs that have a path
    outcomes: dict[str, int]  # run status → runs


@dataclass
class WorkflowPaths:
    workflow_id: str
    workflow_name: str
    runs: int
    distinct_paths: int
    top: list[PathCount]


@dataclass
class PatternReport:
    """What ``recognize_patterns`` found; ``to_dict`` is the JSON the REST API returns."""

    since: float | None
    until: float | None
    workflow_id: str | None
    generated_at: float
    empty: bool  # no run in the range: every list is empty and the summary says so
    runs_in_range: int
    runs_analysed: int  # ≤ MAX_RUNS, the newest of the range
    truncated: bool
    first_run_at: float | None  # created_at of the oldest and newest analysed run
    last_run_at: float | None
    failed_nodes: int  # failed node executions analysed (all causes)
    failures: list[FailurePattern] = field(default_factory=list)
    slow_nodes: list[SlowNode] = field(default_factory=list)
    anomalies: list[DurationAnomaly] = field(default_factory=list)
    paths: list[WorkflowPaths] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- loading ----------------------------------------------------------------------------
_STATUS_CODES = {"succeeded": 0, "failed": 1}


@dataclass
class _NodeInfo:
    type: str
    name: str
    order: int  # position in the workflow's topological order


@dataclass
class _Loaded:
    """The rows the analysis needs, as compact columns (bounded memory)."""

    runs_in_range: int = 0
    run_ids: list[str] = field(default_factory=list)
    run_workflow: list[str] = field(default_factory=list)
    run_version: array[int] = field(default_factory=lambda: array("q"))
    run_status: list[str] = field(default_factory=list)
    run_created: array[float] = field(default_factory=lambda: array("d"))
    run_started: array[float] = field(default_factory=lambda: array("d"))
    run_finished: array[float] = field(default_factory=lambda: array("d"))
    node_run: array[int] = field(default_factory=lambda: array("q"))
    node_code: array[int] = field(default_factory=lambda: array("q"))
    node_failed: array[int] = field(default_factory=lambda: array("b"))
    node_started: array[float] = field(default_factory=lambda: array("d"))
    node_finished: array[float] = field(default_factory=lambda: array("d"))
    node_names: list[str] = field(default_factory=list)  # code → node id
    error_rows: array[int] = field(default_factory=lambda: array("q"))
    error_texts: list[str] = field(default_factory=list)
    nodes: dict[tuple[str, int], dict[str, _NodeInfo]] = field(default_factory=dict)
    workflow_names: dict[str, str] = field(default_factory=dict)


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _check_time(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ServiceError(
            ErrorCode.INVALID_INPUT,
            f"{name} must be a time in Unix seconds",
            {"field": name, "type": type(value).__name__},
        )
    if not math.isfinite(value):
        raise ServiceError(
            ErrorCode.INVALID_INPUT, f"{name} must be a finite number", {"field": name}
        )
    return float(value)


def _filters(
    since: float | None, until: float | None, workflow_id: str | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if since is not None:
        conditions.append(RunRow.created_at >= since)
    if until is not None:
        conditions.append(RunRow.created_at < until)
    if workflow_id is not None:
        conditions.append(RunRow.workflow_id == workflow_id)
    return conditions


def _node_map(document: Any) -> dict[str, _NodeInfo]:
    """Node id → type, name and topological position, from a stored document (the shape
    is trusted loosely: a damaged document must not break the analysis of the others)."""
    if not isinstance(document, Mapping):
        return {}
    raw_nodes = document.get("nodes")
    nodes = [n for n in raw_nodes if isinstance(n, Mapping)] if isinstance(raw_nodes, list) else []
    ids = [str(n.get("id")) for n in nodes]
    position = {node_id: i for i, node_id in enumerate(ids)}
    incoming: dict[str, int] = dict.fromkeys(ids, 0)
    outgoing: dict[str, list[str]] = {node_id: [] for node_id in ids}
    raw_edges = document.get("edges")
    for edge in raw_edges if isinstance(raw_edges, list) else []:
        if not isinstance(edge, Mapping):
            continue
        source, target = str(edge.get("source")), str(edge.get("target"))
        if source in outgoing and target in incoming:
            outgoing[source].append(target)
            incoming[target] += 1
    # Kahn's algorithm, always taking the ready node that comes first in the document.
    ready = [(position[n], n) for n in ids if incoming[n] == 0]
    heapq.heapify(ready)
    order: dict[str, int] = {}
    while ready:
        _, node_id = heapq.heappop(ready)
        order[node_id] = len(order)
        for target in outgoing[node_id]:
            incoming[target] -= 1
            if incoming[target] == 0:
                heapq.heappush(ready, (position[target], target))
    for node_id in ids:  # a cycle (invalid, but stored): after everything else
        order.setdefault(node_id, len(order))
    return {
        node_id: _NodeInfo(
            str(n.get("type") or "unknown"), str(n.get("name") or node_id), order[node_id]
        )
        for node_id, n in zip(ids, nodes, strict=True)
    }


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _load(
    database: Database, since: float | None, until: float | None, workflow_id: str | None
) -> _Loaded:
    data = _Loaded()
    conditions = _filters(since, until, workflow_id)
    async with database.engine.connect() as conn:
        data.runs_in_range = int(
            (
                await conn.execute(select(func.count()).select_from(RunRow).where(*conditions))
            ).scalar_one()
        )
        if data.runs_in_range == 0:
            return data
        index: dict[str, int] = {}
        runs = await conn.stream(
            select(
                RunRow.id,
                RunRow.workflow_id,
                RunRow.version,
                RunRow.status,
                RunRow.created_at,
                RunRow.started_at,
                RunRow.finished_at,
            )
            .where(*conditions)
            .order_by(RunRow.created_at.desc(), RunRow.id)
            .limit(MAX_RUNS)
        )
        async for run_rows in runs.partitions(FETCH_CHUNK):
            for run_id, wf, version, status, created, started, finished in run_rows:
                index[run_id] = len(data.run_ids)
                data.run_ids.append(run_id)
                data.run_workflow.append(wf)
                data.run_version.append(int(version))
                data.run_status.append(status)
                data.run_created.append(float(created))
                data.run_started.append(_nan(started))
                data.run_finished.append(_nan(finished))
        node_conditions = list(conditions)
        if data.runs_in_range > len(data.run_ids):  # cut: only the analysed runs' nodes
            node_conditions.append(RunRow.created_at >= min(data.run_created))
        codes: dict[str, int] = {}
        nodes = await conn.stream(
            select(
                NodeRunRow.run_id,
                NodeRunRow.node_id,
                NodeRunRow.status,
                NodeRunRow.started_at,
                NodeRunRow.finished_at,
                func.substr(NodeRunRow.error, 1, ERROR_CHARS),
            )
            .join(RunRow, RunRow.id == NodeRunRow.run_id)
            .where(
                *node_conditions,
                NodeRunRow.status.in_(tuple(_STATUS_CODES)),
                NodeRunRow.node_id.not_like("%#%"),  # loop items live inside their loop
            )
        )
        async for node_rows in nodes.partitions(FETCH_CHUNK):
            for run_id, node_id, status, started, finished, error in node_rows:
                run = index.get(run_id)
                if run is None:
                    continue
                code = codes.get(node_id)
                if code is None:
                    code = codes[node_id] = len(data.node_names)
                    data.node_names.append(node_id)
                failed = _STATUS_CODES[status]
                if failed and error:
                    data.error_rows.append(len(data.node_run))
                    data.error_texts.append(error)
                data.node_run.append(run)
                data.node_code.append(code)
                data.node_failed.append(failed)
                data.node_started.append(_nan(started))
                data.node_finished.append(_nan(finished))
        versions: dict[str, set[int]] = {}
        for wf, version in zip(data.run_workflow, data.run_version, strict=True):
            versions.setdefault(wf, set()).add(version)
        for wf, wanted in versions.items():
            documents = await conn.stream(
                select(WorkflowVersionRow.version, WorkflowVersionRow.document).where(
                    WorkflowVersionRow.workflow_id == wf,
                    WorkflowVersionRow.version.in_(sorted(wanted)),
                )
            )
            async for document_rows in documents.partitions(16):  # documents can be large
                for version, document in document_rows:
                    data.nodes[(wf, int(version))] = _node_map(document)
        for chunk in _chunks(sorted(versions)):
            rows = await conn.execute(
                select(WorkflowRow.id, WorkflowRow.name).where(WorkflowRow.id.in_(chunk))
            )
            data.workflow_names.update({wf: name for wf, name in rows})
    return data


# -- analysis (worker thread) -----------------------------------------------------------
def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _seconds(value: float) -> str:
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def _short(run_id: str) -> str:
    return run_id[:8]


class _Names:
    """Display names: a workflow's stored name, a node's name in the newest analysed
    version that has it (nodes are renamed; their ids stay)."""

    def __init__(self, data: _Loaded) -> None:
        self.workflows = data.workflow_names
        self.nodes: dict[tuple[str, str], str] = {}
        for (wf, _version), nodes in sorted(data.nodes.items()):
            for node_id, info in nodes.items():
                self.nodes[(wf, node_id)] = info.name

    def workflow(self, wf: str) -> str:
        return self.workflows.get(wf, wf)

    def node(self, wf: str, node_id: str) -> str:
        return self.nodes.get((wf, node_id), node_id)


def _frames(data: _Loaded) -> tuple[Any, Any]:
    runs = pd.DataFrame(
        {
            "run_id": np.array(data.run_ids, dtype=object),
            "wf": np.array(data.run_workflow, dtype=object),
            "version": np.array(data.run_version, dtype=np.int64),
            "status": np.array(data.run_status, dtype=object),
            "created": np.array(data.run_created, dtype=np.float64),
            "started": np.array(data.run_started, dtype=np.float64),
            "finished": np.array(data.run_finished, dtype=np.float64),
        }
    )
    run_index = np.array(data.node_run, dtype=np.int64)
    node_ids = np.array(data.node_names, dtype=object)
    nodes = pd.DataFrame(
        {
            "run": run_index,
            "node_id": node_ids[np.array(data.node_code, dtype=np.int64)]
            if len(node_ids)
            else np.array([], dtype=object),
            "failed": np.array(data.node_failed, dtype=bool),
            "started": np.array(data.node_started, dtype=np.float64),
            "finished": np.array(data.node_finished, dtype=np.float64),
        }
    )
    nodes["wf"] = runs["wf"].to_numpy()[run_index]
    nodes["version"] = runs["version"].to_numpy()[run_index]
    info = pd.DataFrame(
        [
            (wf, version, node_id, n.type, n.order)
            for (wf, version), mapping in data.nodes.items()
            for node_id, n in mapping.items()
        ],
        columns=["wf", "version", "node_id", "type", "order"],
    )
    info["version"] = info["version"].astype(np.int64)
    info["order"] = info["order"].astype(np.int64)
    nodes = nodes.merge(info, on=["wf", "version", "node_id"], how="left", sort=False)
    nodes["type"] = nodes["type"].fillna("unknown")
    nodes["order"] = nodes["order"].fillna(len(node_ids) + 1).astype(np.int64)
    return runs, nodes


def _failures(
    data: _Loaded, runs: Any, nodes: Any, names: _Names
) -> tuple[int, list[FailurePattern]]:
    if not data.error_texts:
        return 0, []
    rows = np.array(data.error_rows, dtype=np.int64)
    failed = nodes.iloc[rows].copy()
    failed["error"] = np.array(data.error_texts, dtype=object)
    signatures = {text: error_signature(text) for text in set(data.error_texts)}
    failed["signature"] = failed["error"].map(signatures)
    created = runs["created"].to_numpy()[failed["run"].to_numpy()]
    failed["when"] = np.where(np.isnan(failed["finished"]), created, failed["finished"])
    failed["run_id"] = runs["run_id"].to_numpy()[failed["run"].to_numpy()]
    patterns = []
    for signature, group in failed.groupby("signature", sort=False):
        group = group.sort_values(["when", "run_id"], kind="stable")
        per_node = Counter(zip(group["wf"], group["node_id"], group["type"], strict=True))
        per_workflow = Counter(group["wf"])
        newest: list[str] = []
        for run_id in reversed(group["run_id"].tolist()):
            if run_id not in newest:
                newest.append(run_id)
            if len(newest) == EXAMPLE_RUNS:
                break
        patterns.append(
            FailurePattern(
                signature=str(signature),
                count=len(group),
                first_seen=float(group["when"].iloc[0]),
                last_seen=float(group["when"].iloc[-1]),
                example=str(group["error"].iloc[-1]),
                workflows=[
                    {"workflow_id": wf, "workflow_name": names.workflow(wf), "count": count}
                    for wf, count in sorted(per_workflow.items(), key=lambda i: (-i[1], i[0]))
                ],
                nodes=[
                    {
                        "workflow_id": wf,
                        "workflow_name": names.workflow(wf),
                        "node_id": node_id,
                        "node_name": names.node(wf, node_id),
                        "node_type": node_type,
                        "count": count,
                    }
                    for (wf, node_id, node_type), count in sorted(
                        per_node.items(), key=lambda i: (-i[1], i[0])
                    )
                ],
                run_ids=newest,
            )
        )
    patterns.sort(key=lambda p: (-p.count, -p.last_seen, p.signature))
    return len(failed), patterns[:MAX_FAILURE_PATTERNS]


def _slow_nodes(nodes: Any, names: _Names) -> list[SlowNode]:
    timed = nodes[nodes["started"].notna() & nodes["finished"].notna()].copy()
    if timed.empty:
        return []
    timed["duration"] = (timed["finished"] - timed["started"]).clip(lower=0.0)
    type_median = timed.groupby("type")["duration"].median()
    type_nodes = timed.drop_duplicates(["type", "wf", "node_id"]).groupby("type").size()
    grouped = timed.groupby(["wf", "node_id", "type"], sort=True)["duration"]
    stats = pd.DataFrame(
        {
            "runs": grouped.size(),
            "p50": grouped.median(),
            "p95": grouped.quantile(0.95),
            "max": grouped.max(),
        }
    ).reset_index()
    stats = stats.sort_values(
        ["p95", "p50", "wf", "node_id"], ascending=[False, False, True, True], kind="stable"
    ).head(MAX_SLOW_NODES)
    result = []
    for row in stats.itertuples(index=False):
        median = float(type_median[row.type])
        p50 = float(row.p50)
        ratio = p50 / median if median > 0 else (1.0 if p50 == 0 else None)
        result.append(
            SlowNode(
                workflow_id=row.wf,
                workflow_name=names.workflow(row.wf),
                node_id=row.node_id,
                node_name=names.node(row.wf, row.node_id),
                node_type=row.type,
                count=int(row.runs),
                p50=p50,
                p95=float(row.p95),
                max=float(row.max),
                type_median=median,
                vs_type=ratio,
                type_nodes=int(type_nodes[row.type]),
            )
        )
    return result


def robust_z(durations: Any) -> tuple[float, float, Any]:
    """Median, MAD and the robust z-score of every value (see the module docstring)."""
    values = np.asarray(durations, dtype=np.float64)
    median = float(np.median(values))
    deviation = np.abs(values - median)
    mad = float(np.median(deviation))
    scale = mad / MAD_TO_SIGMA if mad > 0 else MEAN_AD_TO_SIGMA * float(deviation.mean())
    scale = max(scale, MIN_SCALE_FRACTION * abs(median), MIN_SCALE_SECONDS)
    return median, mad, (values - median) / scale


def _anomalies(runs: Any, names: _Names) -> tuple[int, list[DurationAnomaly]]:
    """Anomalous runs, and how many workflows had enough runs to be judged."""
    done = runs[
        (runs["status"] == "succeeded") & runs["started"].notna() & runs["finished"].notna()
    ].copy()
    done["duration"] = (done["finished"] - done["started"]).clip(lower=0.0)
    judged = 0
    found: list[DurationAnomaly] = []
    for wf, group in done.groupby("wf", sort=True):
        if len(group) < MIN_RUNS_FOR_ANOMALIES:
            continue
        judged += 1
        median, mad, z = robust_z(group["duration"].to_numpy())
        for i in np.flatnonzero(np.abs(z) > ANOMALY_Z):
            found.append(
                DurationAnomaly(
                    workflow_id=str(wf),
                    workflow_name=names.workflow(str(wf)),
                    run_id=str(group["run_id"].iloc[i]),
                    created_at=float(group["created"].iloc[i]),
                    duration=float(group["duration"].iloc[i]),
                    median=median,
                    mad=mad,
                    z=float(z[i]),
                )
            )
    found.sort(key=lambda a: (-abs(a.z), a.run_id))
    return judged, found[:MAX_ANOMALIES]


def _paths(runs: Any, nodes: Any, names: _Names) -> list[WorkflowPaths]:
    finished_runs = runs["status"].isin(FINAL_RUN_STATES).to_numpy()
    done = nodes[~nodes["failed"] & finished_runs[nodes["run"].to_numpy()]]
    if done.empty:
        return []
    done = done.sort_values(["run", "finished", "order", "node_id"], kind="stable")
    per_run = done.groupby("run", sort=False)["node_id"].agg(tuple)
    counts: dict[str, Counter[tuple[str, ...]]] = {}
    outcomes: dict[tuple[str, tuple[str, ...]], Counter[str]] = {}
    workflows = runs["wf"].to_numpy()
    statuses = runs["status"].to_numpy()
    for run, path in per_run.items():
        wf = str(workflows[run])
        counts.setdefault(wf, Counter())[path] += 1
        outcomes.setdefault((wf, path), Counter())[str(statuses[run])] += 1
    result = []
    for wf, counter in counts.items():
        total = sum(counter.values())
        top = sorted(counter.items(), key=lambda i: (-i[1], i[0]))[:TOP_PATHS]
        result.append(
            WorkflowPaths(
                workflow_id=wf,
                workflow_name=names.workflow(wf),
                runs=total,
                distinct_paths=len(counter),
                top=[
                    PathCount(
                        node_ids=list(path),
                        node_names=[names.node(wf, n) for n in path],
                        count=count,
                        share=count / total,
                        outcomes=dict(sorted(outcomes[(wf, path)].items())),
                    )
                    for path, count in top
                ],
            )
        )
    result.sort(key=lambda w: (-w.runs, w.workflow_name, w.workflow_id))
    return result[:MAX_PATH_WORKFLOWS]


def _scope(since: float | None, until: float | None, workflow: str | None) -> str:
    parts = []
    if workflow:
        parts.append(f"of '{workflow}'")
    if since is not None and until is not None:
        parts.append(f"created between {_when(since)} and {_when(until)}")
    elif since is not None:
        parts.append(f"created since {_when(since)}")
    elif until is not None:
        parts.append(f"created before {_when(until)}")
    return (" " + " ".join(parts)) if parts else ""


def _summary(report: PatternReport, workflows: int, judged: int) -> list[str]:
    lines = []
    cut = (
        f" (the newest {report.runs_analysed:,} of {report.runs_in_range:,} in the range)"
        if report.truncated
        else ""
    )
    assert report.first_run_at is not None and report.last_run_at is not None
    lines.append(
        f"Analysed {report.runs_analysed:,} run{'s' if report.runs_analysed != 1 else ''} of "
        f"{workflows} workflow{'s' if workflows != 1 else ''} created from "
        f"{_when(report.first_run_at)} to {_when(report.last_run_at)}{cut}."
    )
    if not report.failures:
        lines.append("No node failed in these runs.")
    for pattern in report.failures[:SUMMARY_ITEMS]:
        first = pattern.nodes[0]
        others = len(pattern.nodes) - 1
        who = f"'{first['node_name']}' in '{first['workflow_name']}'"
        if others:
            who += f" and {others} other node{'s' if others != 1 else ''}"
        times = "once" if pattern.count == 1 else f"{pattern.count:,} times"
        lines.append(
            f"{who} failed {times} with '{pattern.signature}' since "
            f"{_when(pattern.first_seen)} (last {_when(pattern.last_seen)})."
        )
    for node in [n for n in report.slow_nodes if n.p95 > 0][:SUMMARY_ITEMS]:
        text = (
            f"'{node.node_name}' in '{node.workflow_name}' takes {_seconds(node.p50)} at the "
            f"median (p95 {_seconds(node.p95)}, max {_seconds(node.max)}) over "
            f"{node.count} run{'s' if node.count != 1 else ''}"
        )
        if node.type_nodes > 1 and node.vs_type is not None and node.vs_type >= NOTABLE_VS_TYPE:
            text += f", {node.vs_type:.1f}× the median {node.node_type} node"
        lines.append(text + ".")
    if report.anomalies:
        by_workflow: dict[str, list[DurationAnomaly]] = {}
        for anomaly in report.anomalies:
            by_workflow.setdefault(anomaly.workflow_id, []).append(anomaly)
        for found in list(by_workflow.values())[:SUMMARY_ITEMS]:
            worst = found[0]  # sorted by |z|
            lines.append(
                f"'{worst.workflow_name}' had {len(found)} run{'s' if len(found) != 1 else ''} "
                f"with an unusual duration: run {_short(worst.run_id)} took "
                f"{_seconds(worst.duration)} against a median of {_seconds(worst.median)}."
            )
    elif judged:
        lines.append("No run took unusually long or short.")
    else:
        lines.append(
            f"Too few succeeded runs per workflow (fewer than {MIN_RUNS_FOR_ANOMALIES}) to "
            f"judge run durations."
        )
    for paths in report.paths[:SUMMARY_ITEMS]:
        best = paths.top[0]
        lines.append(
            f"'{paths.workflow_name}' most often runs {' → '.join(best.node_names)} "
            f"({best.count} of {paths.runs} runs, {best.share:.0%})."
        )
    return lines


def _analyse(
    data: _Loaded, since: float | None, until: float | None, workflow_id: str | None
) -> PatternReport:
    report = PatternReport(
        since=since,
        until=until,
        workflow_id=workflow_id,
        generated_at=time.time(),
        empty=not data.run_ids,
        runs_in_range=data.runs_in_range,
        runs_analysed=len(data.run_ids),
        truncated=data.runs_in_range > len(data.run_ids),
        first_run_at=min(data.run_created) if data.run_ids else None,
        last_run_at=max(data.run_created) if data.run_ids else None,
        failed_nodes=0,
    )
    names = _Names(data)
    if report.empty:
        scope = _scope(since, until, names.workflow(workflow_id) if workflow_id else None)
        report.summary = [f"No workflow runs{scope}: there is nothing to analyse yet."]
        return report
    runs, nodes = _frames(data)
    report.failed_nodes, report.failures = _failures(data, runs, nodes, names)
    report.slow_nodes = _slow_nodes(nodes, names)
    judged, report.anomalies = _anomalies(runs, names)
    report.paths = _paths(runs, nodes, names)
    report.summary = _summary(report, len(set(data.run_workflow)), judged)
    return report


async def recognize_patterns(
    database: Database,
    *,
    since: float | None = None,
    until: float | None = None,
    workflow_id: str | None = None,
) -> PatternReport:
    """Failure causes, slow nodes, duration anomalies and frequent paths of the runs
    created in ``[since, until)`` (of one workflow, if given). No run → an empty report
    whose summary says so. Raises ``ServiceError(INVALID_INPUT)`` for a bad argument."""
    since_value = _check_time("since", since)
    until_value = _check_time("until", until)
    if since_value is not None and until_value is not None and since_value > until_value:
        raise ServiceError(
            ErrorCode.VALIDATION_ERROR,
            "since must not be later than until",
            {"field": "since", "since": since_value, "until": until_value},
        )
    if workflow_id is not None and (
        not isinstance(workflow_id, str) or not 0 < len(workflow_id) <= 36
    ):
        raise ServiceError(
            ErrorCode.INVALID_INPUT,
            "workflow_id must be a workflow id (text of at most 36 characters)",
            {"field": "workflow_id"},
        )
    data = await _load(database, since_value, until_value, workflow_id)
    return await asyncio.to_thread(_analyse, data, since_value, until_value, workflow_id)
