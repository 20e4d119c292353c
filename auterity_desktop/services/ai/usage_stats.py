"""Reports over the request log: spend per budget, usage per time bucket and deployment,
and each deployment's recent performance.

Latency percentiles count answered, non-cached requests (a cache hit takes microseconds
and would hide a slow model); latency is the answering call's, so a deployment is not
blamed for the time others took failing first. Error rates count calls (attempts), not
requests: a request that a fallback rescued still shows its first deployment's failure.
Grouping runs in a worker thread, since a month of busy use is many rows.
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from auterity_desktop.services.ai.budgets import period_bounds
from auterity_desktop.services.ai.catalogue import BudgetSpec
from auterity_desktop.services.ai.info import UsageRow
from auterity_desktop.services.ai.models import AIRequestRow

BUCKETS = {"minute": 60.0, "hour": 3600.0, "day": 86400.0}
MAX_ROWS = 2_000_000
STATS_WINDOW = 86400.0
T = AIRequestRow


async def budget_totals(
    conn: AsyncConnection, budgets: Sequence[BudgetSpec], now: float
) -> dict[str, tuple[float, float]]:
    totals: dict[str, tuple[float, float]] = {}
    for spec in budgets:
        start, _ = period_bounds(spec.period, now)
        query = select(func.coalesce(func.sum(T.cost), 0.0)).where(T.ts >= start)
        if spec.kind == "deployment":
            query = query.where(T.deployment == spec.target)
        elif spec.kind == "workflow":
            query = query.where(T.workflow_id == spec.target)
        totals[spec.id] = (start, float((await conn.execute(query)).scalar_one()))
    return totals


def _quantiles(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    p50, p95 = np.quantile(np.asarray(values, dtype=float), [0.5, 0.95]).tolist()
    return float(p50), float(p95)


def _group_usage(rows: list[Any], bucket: float) -> list[UsageRow]:
    groups: dict[tuple[float, str], dict[str, Any]] = {}
    for ts, deployment, outcome, cached, tokens_in, tokens_out, cost, latency in rows:
        key = (math.floor(ts / bucket) * bucket, deployment or "")
        group = groups.get(key)
        if group is None:
            group = groups[key] = {"n": 0, "errors": 0, "cached": 0, "in": 0, "out": 0,
                                   "cost": 0.0, "latencies": []}  # fmt: skip
        group["n"] += 1
        group["errors"] += outcome in ("error", "refused")
        group["cached"] += bool(cached)
        group["in"] += tokens_in
        group["out"] += tokens_out
        group["cost"] += cost
        if outcome == "ok" and not cached:
            group["latencies"].append(latency)
    result = []
    for (start, deployment), group in sorted(groups.items()):
        p50, p95 = _quantiles(group["latencies"])
        result.append(
            UsageRow(start, deployment, group["n"], group["errors"], group["cached"],
                     group["in"], group["out"], group["cost"], p50, p95)
        )  # fmt: skip
    return result


async def usage_rows(
    conn: AsyncConnection, since: float, until: float, bucket: float
) -> list[UsageRow]:
    rows = (
        await conn.execute(
            select(
                T.ts,
                T.deployment,
                T.outcome,
                T.cached,
                T.input_tokens,
                T.output_tokens,
                T.cost,
                T.latency_s,
            )
            .where(T.ts >= since, T.ts < until)
            .order_by(T.ts)
            .limit(MAX_ROWS)
        )
    ).all()
    return await asyncio.to_thread(_group_usage, [tuple(r) for r in rows], bucket)


def _group_stats(rows: list[Any], decisions: list[Any]) -> dict[str, dict[str, Any]]:
    stats: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"requests": 0, "calls": 0, "errors": 0, "latency": [], "ttft": [], "tps": []}
    )
    for deployment, outcome, cached, latency, ttft, tps, attempts in rows:
        if cached or not deployment:
            continue
        entry = stats[deployment]
        entry["requests"] += 1
        if outcome == "ok":
            entry["latency"].append(latency)
            if ttft is not None:
                entry["ttft"].append(ttft)
            if tps is not None:
                entry["tps"].append(tps)
            if attempts == 1:
                entry["calls"] += 1
    for (decision,) in decisions:  # requests with failed calls in them
        for attempt in (decision or {}).get("attempts") or ():
            name = attempt.get("deployment")
            if not name:
                continue
            entry = stats[name]
            entry["calls"] += 1
            entry["errors"] += attempt.get("outcome") != "ok"
    return stats


async def recent_stats(conn: AsyncConnection, now: float) -> dict[str, dict[str, Any]]:
    since = now - STATS_WINDOW
    rows = (
        await conn.execute(
            select(
                T.deployment, T.outcome, T.cached, T.latency_s, T.ttft_s, T.tokens_per_s, T.attempts
            )
            .where(T.ts >= since)
            .limit(MAX_ROWS)
        )
    ).all()
    decisions = (
        await conn.execute(
            select(T.decision)
            .where(T.ts >= since, or_(T.attempts > 1, T.outcome != "ok"), T.attempts > 0)
            .limit(MAX_ROWS)
        )
    ).all()
    grouped = await asyncio.to_thread(
        _group_stats, [tuple(r) for r in rows], [tuple(d) for d in decisions]
    )
    for name, entry in grouped.items():
        entry["latency_q"] = _quantiles(entry.pop("latency"))
        entry["ttft_q"] = _quantiles(entry.pop("ttft"))
        tps = entry.pop("tps")
        entry["tps"] = float(np.median(tps)) if tps else None
        grouped[name] = entry
    return grouped


async def spend_since(conn: AsyncConnection, start: float) -> dict[str, float]:
    rows = await conn.execute(
        select(T.deployment, func.sum(T.cost))
        .where(T.ts >= start, T.deployment.is_not(None))
        .group_by(T.deployment)
    )
    return {str(name): float(total or 0.0) for name, total in rows}


async def last_use(conn: AsyncConnection) -> dict[str, float]:
    rows = await conn.execute(
        select(T.deployment, func.max(T.ts)).where(T.deployment.is_not(None)).group_by(T.deployment)
    )
    return {str(name): float(ts) for name, ts in rows}
