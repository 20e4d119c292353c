"""``MLMonitoringService``: monitored models, their predictions and actual values, quality
metrics over time and drift of their input features against a reference data set.

A model is registered once per (name, version) with its task (classification or
regression), its features ({name: "numeric" | "categorical"}) and a reference data set —
usually the training or validation data. Running systems then log predictions (feature
rows with the predicted label or value, optionally a score and their own ids) and, when
they become known, the actual values by those ids. From these the service computes metrics
(see ``ml_metrics``), per window or as a series by hour or day, and checks drift of each
feature with Evidently's default tests (see ``drift``); each check is stored as a report.

Two kinds of trouble are announced on the event bus, for the alert service and the GUI:
``model_drift_detected`` (a check found data-set drift; again at every check that does),
``model_drift_cleared`` (the first clean check after drift), ``model_metric_degraded`` (a
metric got worse than the model's baseline beyond its tolerance — published when the set
of degraded metrics changes) and ``model_metric_recovered``. Their payload is ``{"model",
"version", "message", "details"}``. The baseline is given at registration, or computed
from the reference set when it holds the target and the model's predictions.

Methods taking ``actor`` first are the guarded API for the GUI and the REST API (resource
``analytics``: read, write to register and log, execute to check, delete); the others are
for trusted callers in the process (workflow nodes, the scheduler). Statistics run in a
worker thread. Each model keeps its newest ``max_predictions`` predictions and
``max_reports`` drift reports; a drift check compares the reference with at most the
newest ``MAX_CURRENT_ROWS`` predictions of its window.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from auterity_desktop.core.db import Database
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.events import EventBus
from auterity_desktop.core.metrics import MetricKind, MetricsCollector
from auterity_desktop.core.service import BaseService
from auterity_desktop.services.compliance.audit_trail import AuditTrail
from auterity_desktop.services.monitoring import ml_data
from auterity_desktop.services.monitoring.drift import (
    TEST_NAMES,
    DriftResult,
    FeatureDrift,
    detect_drift,
)
from auterity_desktop.services.monitoring.ml_data import Features, invalid, rule
from auterity_desktop.services.monitoring.ml_info import (
    ActualsResult,
    DriftReport,
    LogResult,
    MetricsPoint,
    MetricsSummary,
    ModelInfo,
    check_thresholds,
    drift_thresholds,
    effective_thresholds,
)
from auterity_desktop.services.monitoring.ml_metrics import (
    CLASSIFICATION,
    METRIC_NAMES,
    METRICS,
    TASKS,
    compute_metrics,
    degraded,
)
from auterity_desktop.services.monitoring.ml_tables import (
    MLDriftReportRow,
    MLModelRow,
    MLPredictionRow,
    MLReferenceRow,
)
from auterity_desktop.services.security.authorization import AuthorizationService, guarded
from auterity_desktop.services.security.principal import Principal

logger = logging.getLogger(__name__)

DEFAULT_MAX_PREDICTIONS = 200_000  # kept per model; older ones are deleted as new ones come
DEFAULT_MAX_REPORTS = 200  # drift reports kept per model
MAX_CURRENT_ROWS = 50_000  # newest predictions a drift check compares with the reference
MAX_METRIC_ROWS = 200_000  # newest labelled predictions metrics are computed from
BUCKETS = {"hour": 3600.0, "day": 86400.0}
CHUNK = 500  # ids per IN (...) query
PREDICTIONS_TOTAL = "auterity_ml_predictions_total"
DRIFT_CHECKS_TOTAL = "auterity_ml_drift_checks_total"


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _clean_drift(feature: FeatureDrift) -> dict[str, Any]:
    return {k: _finite(v) for k, v in feature.to_dict().items()}


def _window(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise invalid("window must be a positive number of seconds", field="window")
    return float(value)


def _chunks(values: Sequence[Any], size: int = CHUNK) -> list[Sequence[Any]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


class MLMonitoringService(BaseService):
    name = "ml_monitoring"
    dependencies = ("database", "audit", "security")

    def __init__(
        self,
        database: Database,
        audit: AuditTrail,
        authz: AuthorizationService,
        events: EventBus | None = None,
        metrics: MetricsCollector | None = None,
        *,
        max_predictions: int = DEFAULT_MAX_PREDICTIONS,
        max_reports: int = DEFAULT_MAX_REPORTS,
        evaluate_interval: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``evaluate_interval``: logging actual values re-checks a model's metrics at most
        this often (seconds; 0 checks after every call)."""
        super().__init__()
        self.database = database
        self.audit = audit
        self.authz = authz
        self.events = events
        self.collector = metrics
        self.max_predictions = max_predictions
        self.max_reports = max_reports
        self.evaluate_interval = evaluate_interval
        self.clock = clock
        self._evaluated: dict[str, float] = {}

    async def initialize(self) -> None:
        if self.collector is not None:
            self.collector.describe(
                PREDICTIONS_TOTAL, MetricKind.COUNTER, "Predictions logged, per model"
            )
            self.collector.describe(
                DRIFT_CHECKS_TOTAL, MetricKind.COUNTER, "Drift checks, per model and verdict"
            )

    # -- models ---------------------------------------------------------------------------
    @staticmethod
    def _info(row: MLModelRow) -> ModelInfo:
        return ModelInfo(
            id=row.id,
            name=row.name,
            version=row.version,
            task=row.task,
            features={name: kind for name, kind in row.features},
            target=row.target,
            positive_label=row.positive_label,
            thresholds=effective_thresholds(row.thresholds or {}),
            baseline=dict(row.baseline) if row.baseline is not None else None,
            description=row.description or "",
            reference_rows=row.reference_rows,
            predictions=int(row.predictions or 0),
            labelled=int(row.labelled or 0),
            created_by=row.created_by,
            created_at=row.created_at,
            last_report_id=row.last_report_id,
            last_drift_at=row.last_drift_at,
            last_drift_share=row.last_drift_share,
            last_dataset_drift=row.last_dataset_drift,
            metric_state=dict(row.metric_state) if row.metric_state is not None else None,
        )

    @staticmethod
    def _features(info: ModelInfo) -> Features:
        return list(info.features.items())

    async def find_model(self, name: str, version: str) -> ModelInfo:
        name = ml_data.check_text(name, "model", ml_data.MAX_NAME)
        version = ml_data.check_text(version, "version", ml_data.MAX_VERSION)
        async with self.database.session() as db:
            row = (
                await db.execute(
                    select(MLModelRow).where(MLModelRow.name == name, MLModelRow.version == version)
                )
            ).scalar_one_or_none()
            if row is None:
                raise ServiceError(
                    ErrorCode.NOT_FOUND,
                    f"There is no model {name} version {version}",
                    {"model": name, "version": version},
                )
            return self._info(row)

    async def models(self) -> list[ModelInfo]:
        async with self.database.session() as db:
            rows = (
                await db.execute(select(MLModelRow).order_by(MLModelRow.name, MLModelRow.version))
            ).scalars()
            return [self._info(r) for r in rows]

    @guarded("analytics", "read")
    async def list_models(self, actor: Principal) -> list[ModelInfo]:
        return await self.models()

    @guarded("analytics", "read")
    async def get_model(self, actor: Principal, name: str, version: str) -> ModelInfo:
        return await self.find_model(name, version)

    @guarded("analytics", "write")
    async def register_model(
        self,
        actor: Principal,
        name: str,
        version: str,
        task: str,
        features: Mapping[str, str],
        reference: Any,
        *,
        target: str | None = None,
        prediction_column: str | None = None,
        score_column: str | None = None,
        positive_label: Any = None,
        baseline: Mapping[str, float] | None = None,
        thresholds: Mapping[str, Any] | None = None,
        description: str = "",
    ) -> ModelInfo:
        """Register a model version with its reference data set (rows or a DataFrame).

        ``target`` names the reference column of actual values; with ``prediction_column``
        (and ``score_column``, the positive class's score) the baseline metrics are
        computed from the reference, unless ``baseline`` gives them."""
        name = ml_data.check_text(name, "name", ml_data.MAX_NAME)
        version = ml_data.check_text(version, "version", ml_data.MAX_VERSION)
        if task not in TASKS:
            raise invalid(f"task must be one of {', '.join(TASKS)}", field="task")
        checked = ml_data.check_features(features)
        overrides = check_thresholds(thresholds)
        frame = ml_data.to_frame(reference, "reference")
        if frame.empty:
            raise rule("The reference data set has no rows", field="reference")
        names = {n for n, _k in checked}
        for field, column in (
            ("target", target),
            ("prediction_column", prediction_column),
            ("score_column", score_column),
        ):
            if column is None:
                continue
            if not isinstance(column, str) or column not in frame.columns:
                raise ServiceError(
                    ErrorCode.VALIDATION_ERROR,
                    f"The reference data set has no column {column!r} ({field})",
                    {"field": field},
                )
            if column in names:
                raise rule(f"{column!r} cannot be both a feature and the {field}", field=field)
        if prediction_column is not None and target is None:
            raise invalid("A prediction column needs the target column too", field="target")
        positive = None
        if positive_label is not None:
            positive = ml_data.label(positive_label, "positive label")
        if positive is not None and task != CLASSIFICATION:
            raise invalid("Only classification models have a positive label", field="task")
        text, rows = await asyncio.to_thread(ml_data.encode_reference, frame, checked)
        base: dict[str, float | None] | None = None
        if baseline is not None:
            base = self._check_baseline(task, baseline)
        elif target is not None and prediction_column is not None:
            base = await asyncio.to_thread(
                _reference_metrics, task, frame, target, prediction_column, score_column, positive
            )
        description = str(description or "")[:2000]
        model_id = uuid.uuid4().hex
        now = self.clock()
        row = MLModelRow(
            id=model_id,
            name=name,
            version=version,
            task=task,
            features=[[n, k] for n, k in checked],
            target=target,
            positive_label=positive,
            thresholds=overrides,
            baseline=base,
            description=description,
            reference_rows=rows,
            predictions=0,
            labelled=0,
            created_by=actor.username,
            created_at=now,
            updated_at=now,
        )
        info = self._info(row)
        try:
            async with self.database.begin() as conn:
                await conn.execute(insert(MLModelRow).values(**_columns(row)))
                await conn.execute(
                    insert(MLReferenceRow).values(model_id=model_id, rows=rows, data=text)
                )
        except IntegrityError:
            raise ServiceError(
                ErrorCode.CONFLICT,
                f"Model {name} version {version} is registered already",
                {"model": name, "version": version},
            ) from None
        await self.audit.record(
            actor.username,
            "model.registered",
            f"analytics/models/{name}:{version}",
            "success",
            {"task": task, "features": len(checked), "reference_rows": rows,
             "baseline": base is not None, "thresholds": overrides},
        )  # fmt: skip
        self._publish("model_registered", {"model": name, "version": version})
        return info

    @staticmethod
    def _check_baseline(task: str, baseline: Any) -> dict[str, float | None]:
        if not isinstance(baseline, Mapping):
            raise invalid("baseline must be an object of metric values", field="baseline")
        known = METRICS[task]
        result: dict[str, float | None] = {}
        for metric, value in baseline.items():
            if metric not in known:
                raise invalid(
                    f"{metric!r} is not a metric of {task} models ({', '.join(known)})",
                    field="baseline",
                )
            result[metric] = None if value is None else ml_data.number(value, f"baseline {metric}")
        return result

    @guarded("analytics", "delete")
    async def delete_model(self, actor: Principal, name: str, version: str) -> None:
        info = await self.find_model(name, version)
        async with self.database.begin() as conn:
            # Children first: PostgreSQL and SQLite would cascade, but explicit deletes do
            # not depend on SQLite's foreign-key pragma being on.
            for table in (MLPredictionRow, MLDriftReportRow, MLReferenceRow):
                await conn.execute(delete(table).where(table.model_id == info.id))
            await conn.execute(delete(MLModelRow).where(MLModelRow.id == info.id))
        self._evaluated.pop(info.id, None)
        await self.audit.record(
            actor.username,
            "model.deleted",
            f"analytics/models/{info.name}:{info.version}",
            "success",
            {"predictions": info.predictions},
        )
        self._publish("model_deleted", {"model": info.name, "version": info.version})

    # -- predictions and actual values ----------------------------------------------------
    async def log_predictions(
        self,
        model: str,
        version: str,
        rows: Any,
        predictions: Sequence[Any],
        ids: Sequence[str] | None = None,
        *,
        scores: Sequence[float | None] | None = None,
        timestamps: Sequence[float] | None = None,
    ) -> LogResult:
        """Log predictions: feature rows (objects or a DataFrame), the predicted labels or
        values, optionally the caller's ids (for ``log_actuals``; new ones otherwise), the
        positive class's scores and when each was made (default: now)."""
        info = await self.find_model(model, version)
        values = ml_data.check_sequence(predictions, "predictions")
        count = len(values)
        ml_data.check_batch(count, "predictions")
        frame = ml_data.to_frame(rows, "rows")
        if len(frame) != count:
            raise invalid(f"{len(frame)} rows for {count} predictions", field="rows")
        if count == 0:
            return LogResult(0, [])
        id_list = ml_data.check_ids(
            None if ids is None else ml_data.check_sequence(ids, "ids"), count
        )
        predicted = ml_data.target_values(info.task, values, "prediction")
        score_list: list[float | None] = [None] * count
        if scores is not None:
            given = ml_data.check_sequence(scores, "scores")
            if len(given) != count:
                raise invalid(f"{len(given)} scores for {count} predictions", field="scores")
            score_list = [None if s is None else ml_data.number(s, "score") for s in given]
        now = self.clock()
        times = [now] * count
        if timestamps is not None:
            given = ml_data.check_sequence(timestamps, "timestamps")
            if len(given) != count:
                raise invalid(f"{len(given)} timestamps for {count} predictions", field="ts")
            times = [ml_data.number(t, "timestamp") for t in given]
        encoded = await asyncio.to_thread(ml_data.encode_rows, frame, self._features(info))
        records = [
            {"model_id": info.id, "prediction_id": pid, "ts": ts, "features": feats,
             "prediction": _dumps(value), "score": score}
            for pid, ts, feats, value, score in zip(
                id_list, times, encoded, predicted, score_list, strict=True
            )
        ]  # fmt: skip
        try:
            async with self.database.begin() as conn:
                clash = await self._existing(conn, info.id, id_list)
                if clash:
                    raise _logged_already(clash)
                await conn.execute(insert(MLPredictionRow), records)
                await conn.execute(
                    update(MLModelRow)
                    .where(MLModelRow.id == info.id)
                    .values(predictions=MLModelRow.predictions + count, updated_at=now)
                )
                kept = (
                    await conn.execute(
                        select(MLModelRow.predictions).where(MLModelRow.id == info.id)
                    )
                ).scalar_one()
                if kept > self.max_predictions:
                    await self._prune(conn, info.id)
        except IntegrityError:  # another process logged one of these ids meanwhile
            async with self.database.session() as db:
                raise _logged_already(
                    await self._existing(await db.connection(), info.id, id_list)
                ) from None
        if self.collector is not None:
            self.collector.increment(PREDICTIONS_TOTAL, count, {"model": info.key})
        self._publish(
            "model_predictions_logged",
            {"model": info.name, "version": info.version, "count": count},
        )
        return LogResult(count, id_list)

    async def _existing(self, conn: AsyncConnection, model_id: str, ids: list[str]) -> list[str]:
        found: list[str] = []
        for chunk in _chunks(ids):
            found.extend(
                (
                    await conn.execute(
                        select(MLPredictionRow.prediction_id).where(
                            MLPredictionRow.model_id == model_id,
                            MLPredictionRow.prediction_id.in_(chunk),
                        )
                    )
                ).scalars()
            )
        return found

    async def _prune(self, conn: AsyncConnection, model_id: str) -> None:
        """Keep the newest ``max_predictions`` predictions of a model (by logging order)."""
        cutoff = (
            await conn.execute(
                select(MLPredictionRow.id)
                .where(MLPredictionRow.model_id == model_id)
                .order_by(MLPredictionRow.id.desc())
                .offset(self.max_predictions)
                .limit(1)
            )
        ).scalar_one_or_none()
        if cutoff is None:
            return
        old = (MLPredictionRow.model_id == model_id) & (MLPredictionRow.id <= cutoff)
        removed, labelled = (
            await conn.execute(select(func.count(), func.count(MLPredictionRow.actual)).where(old))
        ).one()
        await conn.execute(delete(MLPredictionRow).where(old))
        await conn.execute(
            update(MLModelRow)
            .where(MLModelRow.id == model_id)
            .values(
                predictions=MLModelRow.predictions - removed,
                labelled=MLModelRow.labelled - labelled,
            )
        )

    async def log_actuals(
        self, model: str, version: str, ids: Sequence[str], actuals: Sequence[Any]
    ) -> ActualsResult:
        """Record the actual values of logged predictions, by their ids (a later value
        replaces an earlier one). Unknown ids are reported, not an error."""
        info = await self.find_model(model, version)
        id_list = [
            ml_data.check_text(i, "prediction id", ml_data.MAX_ID)
            for i in ml_data.check_sequence(ids, "ids")
        ]
        values = ml_data.check_sequence(actuals, "actuals")
        if len(values) != len(id_list):
            raise invalid(f"{len(values)} actual values for {len(id_list)} ids", field="actuals")
        ml_data.check_batch(len(id_list), "actuals")
        checked = ml_data.target_values(info.task, values, "actual value")
        latest = dict(zip(id_list, checked, strict=True))
        now = self.clock()
        unknown: list[str] = []
        updated = newly = 0
        async with self.database.begin() as conn:
            found: dict[str, tuple[int, bool]] = {}
            for chunk in _chunks(list(latest)):
                result = await conn.execute(
                    select(
                        MLPredictionRow.prediction_id,
                        MLPredictionRow.id,
                        MLPredictionRow.actual.is_not(None),
                    ).where(
                        MLPredictionRow.model_id == info.id,
                        MLPredictionRow.prediction_id.in_(chunk),
                    )
                )
                found.update({pid: (rid, bool(had)) for pid, rid, had in result})
            changes = []
            for pid, value in latest.items():
                if pid not in found:
                    unknown.append(pid)
                    continue
                rid, had = found[pid]
                newly += not had
                changes.append({"b_id": rid, "b_actual": _dumps(value), "b_at": now})
            if changes:
                await conn.execute(
                    update(MLPredictionRow)
                    .where(MLPredictionRow.id == bindparam("b_id"))
                    .values(actual=bindparam("b_actual"), actual_at=bindparam("b_at")),
                    changes,
                )
                await conn.execute(
                    update(MLModelRow)
                    .where(MLModelRow.id == info.id)
                    .values(labelled=MLModelRow.labelled + newly, updated_at=now)
                )
            updated = len(changes)
        if updated:
            self._publish(
                "model_actuals_logged",
                {"model": info.name, "version": info.version, "count": updated},
            )
            due = now - self._evaluated.get(info.id, -math.inf) >= self.evaluate_interval
            if info.baseline and due:
                await self.check_metrics(info.name, info.version)
        return ActualsResult(updated, newly, unknown[:100], len(unknown))

    @guarded("analytics", "write")
    async def log_predictions_as(
        self,
        actor: Principal,
        model: str,
        version: str,
        rows: Any,
        predictions: Sequence[Any],
        ids: Sequence[str] | None = None,
        **options: Any,
    ) -> LogResult:
        result = await self.log_predictions(model, version, rows, predictions, ids, **options)
        await self.audit.record(
            actor.username,
            "model.predictions_logged",
            f"analytics/models/{model}:{version}",
            "success",
            {"count": result.logged},
        )
        return result

    @guarded("analytics", "write")
    async def log_actuals_as(
        self,
        actor: Principal,
        model: str,
        version: str,
        ids: Sequence[str],
        actuals: Sequence[Any],
    ) -> ActualsResult:
        result = await self.log_actuals(model, version, ids, actuals)
        await self.audit.record(
            actor.username,
            "model.actuals_logged",
            f"analytics/models/{model}:{version}",
            "success",
            {"updated": result.updated, "unknown": result.unknown_count},
        )
        return result

    # -- metrics --------------------------------------------------------------------------
    async def _labelled(
        self, model_id: str, start: float | None
    ) -> tuple[list[float], list[str], list[float | None], list[str]]:
        """The newest ``MAX_METRIC_ROWS`` labelled predictions since ``start``, oldest
        first: their times, predictions, scores and actual values (JSON)."""
        query = (
            select(
                MLPredictionRow.ts,
                MLPredictionRow.prediction,
                MLPredictionRow.score,
                MLPredictionRow.actual,
            )
            .where(MLPredictionRow.model_id == model_id, MLPredictionRow.actual.is_not(None))
            .order_by(MLPredictionRow.ts.desc())
            .limit(MAX_METRIC_ROWS)
        )
        if start is not None:
            query = query.where(MLPredictionRow.ts >= start)
        async with self.database.session() as db:
            rows = list((await db.execute(query)).all())
        rows.reverse()
        return (
            [r[0] for r in rows],
            [r[1] for r in rows],
            [r[2] for r in rows],
            [str(r[3]) for r in rows],
        )

    async def _count(self, model_id: str, start: float | None) -> int:
        query = select(func.count()).where(MLPredictionRow.model_id == model_id)
        if start is not None:
            query = query.where(MLPredictionRow.ts >= start)
        async with self.database.session() as db:
            return int((await db.execute(query)).scalar_one())

    async def _prediction_times(self, model_id: str, start: float | None) -> list[float]:
        query = select(MLPredictionRow.ts).where(MLPredictionRow.model_id == model_id)
        if start is not None:
            query = query.where(MLPredictionRow.ts >= start)
        async with self.database.session() as db:
            return list((await db.execute(query)).scalars())

    async def metrics(
        self, model: str, version: str, window: float | None = None
    ) -> MetricsSummary:
        """Metrics of the predictions of the last ``window`` seconds (all kept: ``None``)
        that have actual values, compared with the baseline."""
        info = await self.find_model(model, version)
        return await self._summary(info, _window(window))

    async def _summary(self, info: ModelInfo, window: float | None) -> MetricsSummary:
        now = self.clock()
        start = None if window is None else now - window
        _times, predicted, scores, actual = await self._labelled(info.id, start)
        predictions = await self._count(info.id, start)
        values = await asyncio.to_thread(
            _metrics_of, info.task, predicted, scores, actual, info.positive_label
        )
        judged = len(actual) >= int(info.thresholds["min_labelled"])
        tolerance = info.thresholds["metric_tolerance"]
        worse = []
        if judged and info.baseline:
            worse = [
                m
                for m in METRICS[info.task]
                if degraded(m, info.baseline.get(m), values.get(m), float(tolerance[m]))
            ]
        return MetricsSummary(
            info.name, info.version, info.task, start, now, predictions, len(actual), values,
            info.baseline, worse, judged,
        )  # fmt: skip

    async def metrics_over_time(
        self, model: str, version: str, bucket: str = "day", window: float | None = None
    ) -> list[MetricsPoint]:
        """Metrics per hour or day (UTC) of the predictions of the last ``window`` seconds;
        buckets without predictions are left out."""
        if bucket not in BUCKETS:
            raise invalid(f"bucket must be one of {', '.join(BUCKETS)}", field="bucket")
        info = await self.find_model(model, version)
        span = _window(window)
        start = None if span is None else self.clock() - span
        labelled = await self._labelled(info.id, start)
        times = await self._prediction_times(info.id, start)
        return await asyncio.to_thread(
            _series, info.task, BUCKETS[bucket], times, *labelled, info.positive_label
        )

    async def check_metrics(self, model: str, version: str) -> MetricsSummary:
        """Judge the recent metrics (``metric_window``) against the baseline and announce
        a change: ``model_metric_degraded`` when metrics get worse than their tolerance
        allows (or another metric does), ``model_metric_recovered`` when none is."""
        info = await self.find_model(model, version)
        window = float(info.thresholds["metric_window"])
        summary = await self._summary(info, window)
        self._evaluated[info.id] = self.clock()
        if not summary.judged or not info.baseline:
            return summary
        before = info.degraded
        state = {
            "checked_at": summary.window_end,
            "labelled": summary.labelled,
            "metrics": summary.metrics,
            "degraded": summary.degraded,
        }
        async with self.database.begin() as conn:
            await conn.execute(
                update(MLModelRow).where(MLModelRow.id == info.id).values(metric_state=state)
            )
        if summary.degraded and set(summary.degraded) != set(before):
            parts = [
                f"{METRIC_NAMES[m]} {_fmt(summary.metrics[m])} (baseline "
                f"{_fmt(info.baseline.get(m))})"
                for m in summary.degraded
            ]
            self._publish(
                "model_metric_degraded",
                self._alert(
                    info,
                    f"Model {info.name} {info.version}: {', '.join(parts)} on "
                    f"{summary.labelled:,} labelled predictions",
                    {"degraded": summary.degraded, "metrics": summary.metrics,
                     "baseline": info.baseline, "labelled": summary.labelled,
                     "tolerance": {m: info.thresholds["metric_tolerance"][m]
                                   for m in summary.degraded}},
                ),
            )  # fmt: skip
        elif before and not summary.degraded:
            self._publish(
                "model_metric_recovered",
                self._alert(
                    info,
                    f"Model {info.name} {info.version}: metrics are back within tolerance",
                    {"metrics": summary.metrics, "baseline": info.baseline},
                ),
            )
        return summary

    @guarded("analytics", "read")
    async def model_metrics(
        self, actor: Principal, model: str, version: str, window: float | None = None
    ) -> MetricsSummary:
        return await self.metrics(model, version, window)

    @guarded("analytics", "read")
    async def metrics_history(
        self,
        actor: Principal,
        model: str,
        version: str,
        bucket: str = "day",
        window: float | None = None,
    ) -> list[MetricsPoint]:
        return await self.metrics_over_time(model, version, bucket, window)

    # -- drift ----------------------------------------------------------------------------
    async def check_drift(
        self,
        model: str,
        version: str,
        window: float | None = None,
        psi: bool = False,
        *,
        checked_by: str = "system",
    ) -> DriftReport:
        """Compare the features of the predictions of the last ``window`` seconds (all
        kept: ``None``; at most the newest ``MAX_CURRENT_ROWS``) with the reference set;
        ``psi`` tests every feature with PSI instead of the defaults. The report is stored
        and drift announced (see the module doc)."""
        info = await self.find_model(model, version)
        span = _window(window)
        now = self.clock()
        start = None if span is None else now - span
        query = (
            select(MLPredictionRow.features)
            .where(MLPredictionRow.model_id == info.id)
            .order_by(MLPredictionRow.ts.desc())
            .limit(MAX_CURRENT_ROWS)
        )
        if start is not None:
            query = query.where(MLPredictionRow.ts >= start)
        async with self.database.session() as db:
            current = list((await db.execute(query)).scalars())
            reference = await db.get(MLReferenceRow, info.id)
        if not current:
            raise rule(
                f"Model {info.name} {info.version} has no predictions "
                + ("in this window" if start is not None else "yet")
                + " to compare with its reference data",
                field="window",
            )
        if reference is None:  # pragma: no cover - written with the model
            raise ServiceError(ErrorCode.NOT_FOUND, "The reference data set is missing", {})
        result = await asyncio.to_thread(
            _drift_job,
            reference.data,
            current,
            self._features(info),
            info.thresholds,
            "psi" if psi else "auto",
        )
        report = DriftReport(
            id=uuid.uuid4().hex,
            model=info.name,
            version=info.version,
            created_at=now,
            created_by=checked_by,
            method=result.method,
            window_start=start,
            window_end=now,
            reference_rows=info.reference_rows,
            current_rows=len(current),
            tested=result.tested,
            drifted=result.drifted,
            share=result.share,
            drift_share=result.drift_share,
            dataset_drift=result.dataset_drift,
            features=result.features,
            distributions=result.distributions,
        )
        await self._store_report(info, report)
        if self.collector is not None:
            verdict = "drift" if report.dataset_drift else "no_drift"
            self.collector.increment(DRIFT_CHECKS_TOTAL, 1, {"model": info.key, "verdict": verdict})
        self._announce_drift(info, report)
        return report

    async def _store_report(self, info: ModelInfo, report: DriftReport) -> None:
        async with self.database.begin() as conn:
            await conn.execute(
                insert(MLDriftReportRow).values(
                    id=report.id,
                    model_id=info.id,
                    created_at=report.created_at,
                    created_by=report.created_by,
                    method=report.method,
                    window_start=report.window_start,
                    window_end=report.window_end,
                    reference_rows=report.reference_rows,
                    current_rows=report.current_rows,
                    tested=report.tested,
                    drifted=report.drifted,
                    share=report.share,
                    drift_share=report.drift_share,
                    dataset_drift=report.dataset_drift,
                    features=[_clean_drift(f) for f in report.features],
                    distributions=report.distributions,
                )
            )
            await conn.execute(
                update(MLModelRow)
                .where(MLModelRow.id == info.id)
                .values(
                    last_report_id=report.id,
                    last_drift_at=report.created_at,
                    last_drift_share=report.share,
                    last_dataset_drift=report.dataset_drift,
                )
            )
            cutoff = (
                await conn.execute(
                    select(MLDriftReportRow.created_at)
                    .where(MLDriftReportRow.model_id == info.id)
                    .order_by(MLDriftReportRow.created_at.desc())
                    .offset(self.max_reports - 1)
                    .limit(1)
                )
            ).scalar_one_or_none()
            if cutoff is not None:
                await conn.execute(
                    delete(MLDriftReportRow).where(
                        MLDriftReportRow.model_id == info.id,
                        MLDriftReportRow.created_at < cutoff,
                    )
                )

    def _announce_drift(self, info: ModelInfo, report: DriftReport) -> None:
        drifted = [f for f in report.features if f.drifted]
        details = {
            "report_id": report.id,
            "share": report.share,
            "drift_share": report.drift_share,
            "tested": report.tested,
            "drifted_features": [f.feature for f in drifted],
            "method": report.method,
            "current_rows": report.current_rows,
            "window_start": report.window_start,
            "window_end": report.window_end,
        }
        if report.dataset_drift:
            names = ", ".join(f"{f.feature} ({TEST_NAMES[f.test]})" for f in drifted[:5]) + (
                " …" if len(drifted) > 5 else ""
            )
            self._publish(
                "model_drift_detected",
                self._alert(
                    info,
                    f"Model {info.name} {info.version}: data drift in {report.drifted} of "
                    f"{report.tested} features ({report.share:.0%} ≥ "
                    f"{report.drift_share:.0%}): {names}",
                    details,
                ),
            )
        elif info.last_dataset_drift:
            self._publish(
                "model_drift_cleared",
                self._alert(
                    info,
                    f"Model {info.name} {info.version}: no data drift any more "
                    f"({report.drifted} of {report.tested} features drifted)",
                    details,
                ),
            )

    @guarded("analytics", "execute")
    async def check_drift_as(
        self,
        actor: Principal,
        model: str,
        version: str,
        window: float | None = None,
        psi: bool = False,
    ) -> DriftReport:
        report = await self.check_drift(model, version, window, psi, checked_by=actor.username)
        await self.audit.record(
            actor.username,
            "model.drift_checked",
            f"analytics/models/{model}:{version}",
            "success",
            {"report_id": report.id, "dataset_drift": report.dataset_drift,
             "drifted": report.drifted, "tested": report.tested, "method": report.method},
        )  # fmt: skip
        return report

    @staticmethod
    def _report(row: MLDriftReportRow, info: ModelInfo, full: bool) -> DriftReport:
        return DriftReport(
            id=row.id,
            model=info.name,
            version=info.version,
            created_at=row.created_at,
            created_by=row.created_by,
            method=row.method,
            window_start=row.window_start,
            window_end=row.window_end,
            reference_rows=row.reference_rows,
            current_rows=row.current_rows,
            tested=row.tested,
            drifted=row.drifted,
            share=row.share,
            drift_share=row.drift_share,
            dataset_drift=row.dataset_drift,
            features=[FeatureDrift.from_dict(f) for f in row.features],
            distributions=dict(row.distributions) if full else {},
        )

    async def reports(self, model: str, version: str, limit: int = 20) -> list[DriftReport]:
        """The newest drift reports of a model (without their distributions)."""
        info = await self.find_model(model, version)
        async with self.database.session() as db:
            rows = (
                await db.execute(
                    select(MLDriftReportRow)
                    .where(MLDriftReportRow.model_id == info.id)
                    .order_by(MLDriftReportRow.created_at.desc())
                    .limit(max(1, min(int(limit), 1000)))
                )
            ).scalars()
            return [self._report(r, info, full=False) for r in rows]

    async def report(self, report_id: str) -> DriftReport:
        async with self.database.session() as db:
            row = await db.get(MLDriftReportRow, str(report_id))
            model = await db.get(MLModelRow, row.model_id) if row is not None else None
            if row is None or model is None:
                raise ServiceError(
                    ErrorCode.NOT_FOUND,
                    f"There is no drift report {report_id!r}",
                    {"report_id": str(report_id)},
                )
            return self._report(row, self._info(model), full=True)

    @guarded("analytics", "read")
    async def drift_reports(
        self, actor: Principal, model: str, version: str, limit: int = 20
    ) -> list[DriftReport]:
        return await self.reports(model, version, limit)

    @guarded("analytics", "read")
    async def drift_report(self, actor: Principal, report_id: str) -> DriftReport:
        return await self.report(report_id)

    @guarded("analytics", "read")
    async def latest_drift_report(
        self, actor: Principal, model: str, version: str
    ) -> DriftReport | None:
        info = await self.find_model(model, version)
        return await self.report(info.last_report_id) if info.last_report_id else None

    # -- events ---------------------------------------------------------------------------
    @staticmethod
    def _alert(info: ModelInfo, message: str, details: dict[str, Any]) -> dict[str, Any]:
        return {"model": info.name, "version": info.version, "message": message,
                "details": details}  # fmt: skip

    def _publish(self, name: str, payload: dict[str, Any]) -> None:
        if name.startswith(("model_drift", "model_metric")):
            logger.warning(payload["message"], extra={"event": name})
        if self.events is not None:
            self.events.publish(name, payload, source=self.name)


def _logged_already(ids: list[str]) -> ServiceError:
    example = f", e.g. {ids[0]!r}" if ids else ""
    return ServiceError(
        ErrorCode.CONFLICT,
        f"{len(ids) or 'Some'} prediction id(s) are logged already{example}",
        {"ids": ids[:100]},
    )


# -- work done in a worker thread ----------------------------------------------------------------
def _columns(row: MLModelRow) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in MLModelRow.__table__.columns}


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}"


def _reference_metrics(
    task: str,
    frame: pd.DataFrame,
    target: str,
    prediction_column: str,
    score_column: str | None,
    positive: str | None,
) -> dict[str, float | None]:
    present = frame[frame[target].notna() & frame[prediction_column].notna()]
    actual = ml_data.target_values(task, present[target].tolist(), "target")
    predicted = ml_data.target_values(task, present[prediction_column].tolist(), "prediction")
    scores = None
    if score_column is not None:
        scores = [
            None if pd.isna(s) else ml_data.number(s, "score")
            for s in present[score_column].tolist()
        ]
    return compute_metrics(task, actual, predicted, scores, positive)


def _metrics_of(
    task: str,
    predicted: list[str],
    scores: list[float | None],
    actual: list[str],
    positive: str | None,
) -> dict[str, float | None]:
    decoded_p = json.loads("[" + ",".join(predicted) + "]")
    decoded_a = json.loads("[" + ",".join(actual) + "]")
    return compute_metrics(task, decoded_a, decoded_p, scores, positive)


def _series(
    task: str,
    bucket: float,
    times: list[float],
    labelled_times: list[float],
    predicted: list[str],
    scores: list[float | None],
    actual: list[str],
    positive: str | None,
) -> list[MetricsPoint]:
    counts: dict[float, int] = {}
    if times:
        starts, per = np.unique(np.floor(np.asarray(times) / bucket) * bucket, return_counts=True)
        counts = dict(zip(starts.tolist(), per.tolist(), strict=True))
    decoded_p = json.loads("[" + ",".join(predicted) + "]")
    decoded_a = json.loads("[" + ",".join(actual) + "]")
    groups: dict[float, list[int]] = {}
    for i, ts in enumerate(labelled_times):
        groups.setdefault(math.floor(ts / bucket) * bucket, []).append(i)
    points = []
    for start in sorted(set(counts) | set(groups)):
        rows = groups.get(start, [])
        values = compute_metrics(
            task,
            [decoded_a[i] for i in rows],
            [decoded_p[i] for i in rows],
            [scores[i] for i in rows],
            positive,
        )
        points.append(MetricsPoint(start, counts.get(start, len(rows)), len(rows), values))
    return points


def _drift_job(
    reference_text: str,
    current: list[str],
    features: Features,
    thresholds: Mapping[str, Any],
    method: str,
) -> DriftResult:
    reference = ml_data.decode_reference(reference_text, features)
    frame = ml_data.decode_rows(current, features)
    return detect_drift(
        reference,
        frame,
        dict(features),
        thresholds=drift_thresholds(thresholds),
        method=method,
    )
