"""Model monitoring end to end: register a model, log predictions and actual values,
metrics and their series, drift reports and the events that raise alerts, who may do what,
bad input — and the migration on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from scipy import stats

from auterity_desktop.core.db import Database
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.events import Event
from auterity_desktop.core.metrics import MetricsCollector
from auterity_desktop.core.orm import Base
from auterity_desktop.core.schema import import_all_models
from auterity_desktop.services.compliance.audit_trail import AuditFilter
from auterity_desktop.services.monitoring import ml_data
from auterity_desktop.services.monitoring.ml_monitoring import MLMonitoringService
from auterity_desktop.services.security.principal import Principal
from tests.services.conftest import Stack

DAY = 86400.0
FEATURES = {"price": "numeric", "mileage": "numeric", "make": "categorical"}
ALERT_EVENTS = (
    "model_drift_detected",
    "model_drift_cleared",
    "model_metric_degraded",
    "model_metric_recovered",
)


def vehicles(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """Used-car listings; ``shift`` moves prices up and changes the make mix."""
    r = np.random.default_rng(seed)
    makes = ["toyota", "honda", "ford", "kia"]
    mix = [0.4, 0.3, 0.2, 0.1] if shift == 0 else [0.1, 0.2, 0.3, 0.4]
    return pd.DataFrame(
        {
            "price": r.normal(25_000 * (1 + shift), 4_000, size=rows),
            "mileage": r.gamma(2.0, 20_000, size=rows),
            "make": r.choice(makes, size=rows, p=mix),
            "sold": r.choice([0, 1], size=rows),
            "listing": [f"L{seed}-{i}" for i in range(rows)],
        }
    )


@pytest.fixture
async def ml(stack: Stack) -> AsyncIterator[MLMonitoringService]:
    service = MLMonitoringService(
        stack.database,
        stack.audit,
        stack.security.authz,
        stack.events,
        MetricsCollector(),
        evaluate_interval=0,
        clock=stack.clock,
    )
    await service.initialize()
    yield service
    await service.cleanup()


@pytest.fixture
def events(stack: Stack) -> list[Event]:
    seen: list[Event] = []
    for name in ALERT_EVENTS:
        stack.events.subscribe(name, seen.append)
    return seen


async def register(
    ml: MLMonitoringService, actor: Principal, reference: Any = None, **options: Any
) -> Any:
    options.setdefault("target", "sold")
    return await ml.register_model(
        actor,
        "resale",
        "1",
        "classification",
        FEATURES,
        vehicles(400, seed=1) if reference is None else reference,
        **options,
    )


# -- registering ----------------------------------------------------------------------------
async def test_register_list_and_audit(ml: MLMonitoringService, stack: Stack) -> None:
    alice = await stack.admin()
    info = await register(ml, alice, thresholds={"drift_share": 0.3})
    assert (info.name, info.version, info.task, info.target) == (
        "resale", "1", "classification", "sold",
    )  # fmt: skip
    assert info.features == FEATURES and info.reference_rows == 400
    assert info.thresholds["drift_share"] == 0.3 and info.thresholds["p_value"] == 0.05
    assert info.thresholds["metric_tolerance"]["accuracy"] == 0.05
    assert (info.predictions, info.labelled, info.last_dataset_drift) == (0, 0, None)
    rows = vehicles(50, seed=2).to_dict("records")  # rows work as well as a DataFrame
    await ml.register_model(alice, "resale", "2", "classification", FEATURES, rows)
    listed = await ml.list_models(alice)
    assert [(m.name, m.version) for m in listed] == [("resale", "1"), ("resale", "2")]
    assert (await ml.get_model(alice, "resale", "2")).reference_rows == 50
    with pytest.raises(ServiceError) as info_:
        await register(ml, alice)
    assert info_.value.code is ErrorCode.CONFLICT
    entries = (await stack.audit.page(AuditFilter(action="model.registered"))).entries
    assert [e.resource for e in entries] == [
        "analytics/models/resale:2",
        "analytics/models/resale:1",
    ]
    assert entries[1].details["reference_rows"] == 400


async def test_baseline_from_the_reference(ml: MLMonitoringService, stack: Stack) -> None:
    alice = await stack.admin()
    reference = vehicles(300, seed=3)
    r = np.random.default_rng(3)
    reference["predicted"] = np.where(r.random(300) < 0.8, reference["sold"], 1 - reference["sold"])
    reference["score"] = np.clip(reference["predicted"] * 0.6 + r.random(300) * 0.4, 0, 1)
    info = await register(ml, alice, reference, prediction_column="predicted", score_column="score")
    expected = (reference["predicted"] == reference["sold"]).mean()
    assert info.baseline is not None
    assert info.baseline["accuracy"] == pytest.approx(expected)
    positives = reference["sold"] == 1
    u = stats.mannwhitneyu(reference["score"][positives], reference["score"][~positives])
    auc = u.statistic / (positives.sum() * (~positives).sum())
    assert info.baseline["roc_auc"] == pytest.approx(auc)


@pytest.mark.parametrize(
    ("change", "code", "text"),
    [
        ({"task": "ranking"}, ErrorCode.INVALID_INPUT, "task must be one of"),
        ({"features": {}}, ErrorCode.INVALID_INPUT, "Features must be an object"),
        ({"features": {"price": "float"}}, ErrorCode.INVALID_INPUT, "numeric or categorical"),
        ({"features": {"colour": "categorical"}}, ErrorCode.VALIDATION_ERROR, "no column 'colour'"),
        ({"target": "price"}, ErrorCode.VALIDATION_ERROR, "both a feature and the target"),
        ({"target": "nope"}, ErrorCode.VALIDATION_ERROR, "no column 'nope'"),
        ({"thresholds": {"p": 0.1}}, ErrorCode.INVALID_INPUT, "There is no threshold 'p'"),
        ({"thresholds": {"drift_share": 2}}, ErrorCode.INVALID_INPUT, "between 0.0 and 1.0"),
        ({"reference": "cars.csv"}, ErrorCode.INVALID_INPUT, "list of rows or a DataFrame"),
        ({"reference": []}, ErrorCode.VALIDATION_ERROR, "has no rows"),
        ({"name": "  "}, ErrorCode.INVALID_INPUT, "Name must be non-empty"),
        ({"baseline": {"mae": 3}}, ErrorCode.INVALID_INPUT, "not a metric of classification"),
    ],
)
async def test_bad_registrations_are_refused(
    ml: MLMonitoringService, stack: Stack, change: dict[str, Any], code: ErrorCode, text: str
) -> None:
    alice = await stack.admin()
    arguments: dict[str, Any] = {
        "name": "resale", "version": "1", "task": "classification", "features": FEATURES,
        "reference": vehicles(20, seed=4), "target": "sold",
    }  # fmt: skip
    arguments.update(change)
    with pytest.raises(ServiceError) as info:
        await ml.register_model(alice, **arguments)
    assert info.value.code is code
    assert text in info.value.message
    assert await ml.list_models(alice) == []


async def test_non_numbers_in_a_numeric_column_are_named(
    ml: MLMonitoringService, stack: Stack
) -> None:
    alice = await stack.admin()
    reference = vehicles(10, seed=5).astype({"price": object})
    reference.loc[3, "price"] = "call us"
    with pytest.raises(ServiceError) as info:
        await register(ml, alice, reference)
    assert info.value.code is ErrorCode.VALIDATION_ERROR
    assert info.value.message == "Column 'price' of the reference is numeric but holds 'call us'"


async def test_size_limits(
    ml: MLMonitoringService, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await stack.admin()
    monkeypatch.setattr(ml_data, "MAX_REFERENCE_ROWS", 100)
    with pytest.raises(ServiceError) as info:
        await register(ml, alice, vehicles(101, seed=6))
    assert info.value.code is ErrorCode.PAYLOAD_TOO_LARGE
    assert "at most 100 rows" in info.value.message
    await register(ml, alice, vehicles(100, seed=6))
    monkeypatch.setattr(ml_data, "MAX_BATCH", 10)
    batch = vehicles(11, seed=7)
    with pytest.raises(ServiceError) as info:
        await ml.log_predictions("resale", "1", batch, batch["sold"].tolist())
    assert info.value.code is ErrorCode.PAYLOAD_TOO_LARGE
    assert "At most 10 predictions per call" in info.value.message


# -- predictions, actual values and metrics -------------------------------------------------
async def test_log_predictions_and_actuals_then_metrics(
    ml: MLMonitoringService, stack: Stack
) -> None:
    alice = await stack.admin()
    await register(ml, alice)
    batch = vehicles(8, seed=8)
    predicted = [1, 1, 0, 0, 1, 0, 1, 0]
    scores = [0.9, 0.8, 0.3, 0.2, 0.6, 0.4, 0.7, 0.1]
    ids = batch["listing"].tolist()
    logged = await ml.log_predictions("resale", "1", batch, predicted, ids, scores=scores)
    assert logged.logged == 8 and logged.ids == ids
    actual = [1, 0, 0, 1, 1, 0, 1, 0]
    result = await ml.log_actuals("resale", "1", [*ids[:6], "nope"], [*actual[:6], 1])
    assert (result.updated, result.newly_labelled, result.unknown) == (6, 6, ["nope"])
    result = await ml.log_actuals("resale", "1", ids[5:], actual[5:])  # one corrected again
    assert (result.updated, result.newly_labelled) == (3, 2)
    info = await ml.get_model(alice, "resale", "1")
    assert (info.predictions, info.labelled) == (8, 8)
    summary = await ml.model_metrics(alice, "resale", "1")
    assert (summary.predictions, summary.labelled) == (8, 8)
    # tp: 0,4,6 = 3; fp: 1 = 1; fn: 3 = 1; tn: 2,5,7 = 3
    assert summary.metrics["accuracy"] == pytest.approx(6 / 8)
    assert summary.metrics["precision"] == pytest.approx(3 / 4)
    assert summary.metrics["recall"] == pytest.approx(3 / 4)
    assert summary.metrics["f1"] == pytest.approx(3 / 4)
    positive = np.array(actual) == 1
    u = stats.mannwhitneyu(np.array(scores)[positive], np.array(scores)[~positive]).statistic
    assert summary.metrics["roc_auc"] == pytest.approx(u / 16)
    assert summary.baseline is None and summary.degraded == [] and not summary.judged
    with pytest.raises(ServiceError) as info_:
        await ml.log_predictions("resale", "1", batch.head(1), [1], [ids[0]])
    assert info_.value.code is ErrorCode.CONFLICT
    with pytest.raises(ServiceError) as info_:
        await ml.log_predictions("resale", "1", batch, [1, 0])
    assert info_.value.code is ErrorCode.INVALID_INPUT
    assert info_.value.message == "8 rows for 2 predictions"


async def test_regression_metrics_over_time(ml: MLMonitoringService, stack: Stack) -> None:
    alice = await stack.admin()
    reference = vehicles(200, seed=9)
    await ml.register_model(
        alice, "price", "2024.1", "regression", {"mileage": "numeric", "make": "categorical"},
        reference, target="price",
    )  # fmt: skip
    start = stack.clock.now - 3 * DAY
    day0 = start - start % DAY
    rows = vehicles(6, seed=10)
    times = [day0 + 100, day0 + 200, day0 + DAY + 5, day0 + DAY + 6, day0 + 2 * DAY, day0 + 2 * DAY]
    predicted = [100.0, 200.0, 300.0, 400.0, 500.0, 600.0]
    ids = [f"p{i}" for i in range(6)]
    await ml.log_predictions("price", "2024.1", rows, predicted, ids, timestamps=times)
    await ml.log_actuals("price", "2024.1", ids[:4], [110.0, 190.0, 330.0, 370.0])
    points = await ml.metrics_history(alice, "price", "2024.1", "day")
    assert [p.start for p in points] == [day0, day0 + DAY, day0 + 2 * DAY]
    assert [(p.predictions, p.labelled) for p in points] == [(2, 2), (2, 2), (2, 0)]
    assert points[0].metrics["mae"] == pytest.approx(10.0)
    assert points[1].metrics["rmse"] == pytest.approx(30.0)
    assert points[2].metrics == {"mae": None, "rmse": None, "r2": None}
    hourly = await ml.metrics_over_time("price", "2024.1", "hour", window=1.5 * DAY)
    assert [p.predictions for p in hourly] == [2]  # only the newest day's hour is in the window
    with pytest.raises(ServiceError):
        await ml.metrics_over_time("price", "2024.1", "week")


async def test_old_predictions_make_room(stack: Stack) -> None:
    ml = MLMonitoringService(
        stack.database, stack.audit, stack.security.authz, stack.events, max_predictions=5
    )
    alice = await stack.admin()
    await register(ml, alice)
    for part in range(3):
        batch = vehicles(3, seed=20 + part)
        ids = batch["listing"].tolist()
        await ml.log_predictions("resale", "1", batch, [1, 0, 1], ids)
        await ml.log_actuals("resale", "1", ids[:1], [1])
    info = await ml.get_model(alice, "resale", "1")
    # the oldest four went, two of them labelled; the newest batch keeps its label
    assert (info.predictions, info.labelled) == (5, 1)
    assert (await ml.metrics("resale", "1")).predictions == 5


# -- drift ----------------------------------------------------------------------------------
async def test_drift_report_is_stored_and_announced(
    ml: MLMonitoringService, stack: Stack, events: list[Event]
) -> None:
    analyst = await stack.user("ana", "analyst")
    reference = vehicles(400, seed=11)
    await register(ml, analyst, reference)
    current = vehicles(300, seed=12, shift=0.2)
    stack.clock.now -= 2 * DAY
    await ml.log_predictions("resale", "1", current, current["sold"].tolist())
    stack.clock.now += 2 * DAY
    with pytest.raises(ServiceError) as info:
        await ml.check_drift_as(analyst, "resale", "1", window=DAY)
    assert info.value.code is ErrorCode.VALIDATION_ERROR
    assert "no predictions in this window" in info.value.message

    report = await ml.check_drift_as(analyst, "resale", "1", window=7 * DAY)
    by_name = {f.feature: f for f in report.features}
    assert [f.test for f in report.features] == ["ks", "ks", "chi2"]
    ks = stats.ks_2samp(reference["price"], current["price"])
    assert by_name["price"].statistic == pytest.approx(ks.statistic, abs=1e-12)
    assert by_name["price"].p_value == pytest.approx(ks.pvalue, rel=1e-9, abs=1e-300)
    assert by_name["price"].drifted and by_name["make"].drifted
    assert not by_name["mileage"].drifted
    assert (report.tested, report.drifted, report.dataset_drift) == (3, 2, True)
    assert (report.reference_rows, report.current_rows, report.created_by) == (400, 300, "ana")
    assert report.distributions["make"]["type"] == "bars"

    stored = await ml.latest_drift_report(analyst, "resale", "1")
    assert stored is not None and stored.id == report.id
    assert stored.features == report.features
    assert stored.distributions == report.distributions
    info_ = await ml.get_model(analyst, "resale", "1")
    assert (info_.last_report_id, info_.last_dataset_drift) == (report.id, True)
    assert info_.last_drift_share == pytest.approx(2 / 3)

    assert [e.name for e in events] == ["model_drift_detected"]
    payload = events[0].payload
    assert set(payload) == {"model", "version", "message", "details"}
    assert (payload["model"], payload["version"]) == ("resale", "1")
    assert payload["message"].startswith("Model resale 1: data drift in 2 of 3 features (67%")
    assert payload["details"]["drifted_features"] == ["price", "make"]
    assert payload["details"]["report_id"] == report.id
    audit = (await stack.audit.page(AuditFilter(action="model.drift_checked"))).entries
    assert audit[0].details["dataset_drift"] is True and audit[0].actor == "ana"

    # newer predictions like the reference: a check of the last day is clean again
    calm = vehicles(300, seed=13)
    await ml.log_predictions("resale", "1", calm, calm["sold"].tolist())
    clean = await ml.check_drift("resale", "1", window=DAY)
    assert not clean.dataset_drift and clean.current_rows == 300
    assert [e.name for e in events] == ["model_drift_detected", "model_drift_cleared"]
    assert events[1].payload["details"]["drifted_features"] == [
        f.feature for f in clean.features if f.drifted
    ]
    await ml.check_drift("resale", "1", window=DAY)
    assert len(events) == 2  # clean after clean: nothing new to say
    history = await ml.drift_reports(analyst, "resale", "1")
    assert [r.dataset_drift for r in history] == [False, False, True]
    assert history[0].distributions == {}  # the list leaves the charts out


async def test_psi_on_request(ml: MLMonitoringService, stack: Stack) -> None:
    alice = await stack.admin()
    await register(ml, alice)
    current = vehicles(200, seed=14, shift=0.2)
    await ml.log_predictions("resale", "1", current, current["sold"].tolist())
    report = await ml.check_drift("resale", "1", psi=True)
    assert report.method == "psi"
    assert {f.test for f in report.features} == {"psi"}
    assert all(f.threshold == 0.1 and f.p_value is None for f in report.features)


async def test_metric_degradation_is_announced_once(
    ml: MLMonitoringService, stack: Stack, events: list[Event]
) -> None:
    alice = await stack.admin()
    await register(ml, alice, baseline={"accuracy": 0.9}, thresholds={"min_labelled": 10})

    async def label(batch_seed: int, right: int, total: int = 20) -> None:
        rows = vehicles(total, seed=batch_seed)
        ids = rows["listing"].tolist()
        await ml.log_predictions("resale", "1", rows, [1] * total, ids)
        await ml.log_actuals("resale", "1", ids, [1] * right + [0] * (total - right))
        stack.clock.now += 60

    await label(30, right=5, total=5)  # too few labelled predictions to judge
    assert events == []
    await label(31, right=10)  # 15 of 25 right: accuracy 0.6
    assert [e.name for e in events] == ["model_metric_degraded"]
    payload = events[0].payload
    assert payload["details"]["degraded"] == ["accuracy"]
    assert payload["message"] == (
        "Model resale 1: Accuracy 0.6 (baseline 0.9) on 25 labelled predictions"
    )
    await label(32, right=20)  # 35 of 45: still below 0.85 — no repeat
    assert len(events) == 1
    assert (await ml.get_model(alice, "resale", "1")).degraded == ["accuracy"]
    stack.clock.now += 8 * DAY  # the old predictions leave the 7-day window
    await label(33, right=19)
    assert [e.name for e in events] == ["model_metric_degraded", "model_metric_recovered"]
    assert (await ml.get_model(alice, "resale", "1")).degraded == []


# -- permissions ----------------------------------------------------------------------------
async def test_who_may_do_what(ml: MLMonitoringService, stack: Stack) -> None:
    alice = await stack.admin()
    await register(ml, alice)
    rows = vehicles(5, seed=40)
    await ml.log_predictions_as(alice, "resale", "1", rows, [1] * 5)
    viewer = await stack.user("vic", "viewer")
    operator = await stack.user("olga", "operator")
    assert [m.name for m in await ml.list_models(viewer)] == ["resale"]
    denied = [
        ml.register_model(viewer, "x", "1", "regression", {"price": "numeric"}, rows),
        ml.log_actuals_as(viewer, "resale", "1", ["a"], [1]),
        ml.check_drift_as(operator, "resale", "1"),  # operators read analytics only
        ml.delete_model(operator, "resale", "1"),
    ]
    for call in denied:
        with pytest.raises(ServiceError) as info:
            await call
        assert info.value.code is ErrorCode.UNAUTHORIZED
    with pytest.raises(ServiceError) as info:
        await ml.list_models("not a principal")  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.UNAUTHENTICATED
    report = await ml.check_drift_as(alice, "resale", "1")
    await ml.delete_model(alice, "resale", "1")
    assert await ml.list_models(alice) == []
    with pytest.raises(ServiceError) as info:
        await ml.drift_report(alice, report.id)
    assert info.value.code is ErrorCode.NOT_FOUND
    denials = (await stack.audit.page(AuditFilter(action="authorization.denied"))).entries
    assert {e.actor for e in denials} == {"vic", "olga"}


async def test_unknown_models_and_bad_logging(ml: MLMonitoringService, stack: Stack) -> None:
    alice = await stack.admin()
    with pytest.raises(ServiceError) as info:
        await ml.log_predictions("ghost", "1", [{"price": 1}], [1])
    assert info.value.code is ErrorCode.NOT_FOUND
    assert info.value.message == "There is no model ghost version 1"
    await register(ml, alice)
    bad: list[tuple[dict[str, Any], str]] = [
        ({"rows": [{"price": "cheap"}], "predictions": [1]}, "numeric but holds 'cheap'"),
        ({"rows": [{"price": 1}], "predictions": [None]}, "A prediction is missing"),
        ({"rows": "x", "predictions": [1]}, "list of rows or a DataFrame"),
        ({"rows": [{"price": 1}], "predictions": [1], "ids": ["a", "b"]}, "2 ids for 1"),
        ({"rows": [{}, {}], "predictions": [1, 0], "ids": ["a", "a"]}, "must be unique"),
        ({"rows": [{}], "predictions": [1], "scores": ["high"]}, "score must be a number"),
    ]
    for arguments, text in bad:
        with pytest.raises(ServiceError) as info:
            await ml.log_predictions("resale", "1", **arguments)
        assert text in info.value.message
    assert (await ml.log_predictions("resale", "1", [], [])).logged == 0
    with pytest.raises(ServiceError) as info:
        await ml.log_actuals("resale", "1", ["a"], [1, 2])
    assert info.value.code is ErrorCode.INVALID_INPUT


# -- schema ---------------------------------------------------------------------------------
def _differences(conn: Any) -> list[Any]:
    import_all_models()
    context = MigrationContext.configure(
        conn,
        opts={
            "compare_type": True,
            "target_metadata": Base.metadata,
            "render_as_batch": conn.dialect.name == "sqlite",
        },
    )
    return compare_metadata(context, Base.metadata)


async def test_migration_matches_the_models(any_database_url: str) -> None:
    database = Database(any_database_url)
    await database.initialize()
    try:
        async with database.engine.connect() as conn:
            differences = await conn.run_sync(_differences)
        assert [d for d in differences if "ml_" in repr(d)] == []
    finally:
        await database.cleanup()
