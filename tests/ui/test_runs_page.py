"""The Runs page on the real engine: history and filters, the live timeline with each node's
data, errors, the truncated flag, re-run, cancel, and approving a pending approval."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from PySide6.QtGui import QGuiApplication

from auterity_desktop.ui.models.timeline_model import TIMELINE_COLUMN, BarRole
from auterity_desktop.ui.widgets.run_detail import TRUNCATED_NOTE
from tests.ui.workflow_docs import chain, node, quote_doc


def divide_doc() -> dict[str, Any]:
    """Succeeds or fails depending on the run's parameters (divisor 0 fails)."""
    return chain(
        "Divide",
        node("start", "manual_trigger", "Start"),
        node("calc", "set_fields", "Calculate", fields={"share": "{{ 10 / $params.divisor }}"}),
        node("log", "log", "Log"),
    )


def slow_doc() -> dict[str, Any]:
    return chain(
        "Slow",
        node("start", "manual_trigger", "Start"),
        node("wait", "delay", "Wait", seconds=30),
        node("log", "log", "Log"),
    )


def signed_in(make_app: Any) -> Any:
    app = make_app()
    app.window.show()
    app.sign_in_first_admin()
    return app


def create(app: Any, document: dict[str, Any]) -> str:
    admin = app.window.session.principal
    return str(app.run(app.bridge.platform.workflows.create(admin, document)).id)


def start(app: Any, workflow_id: str, params: dict[str, Any] | None = None) -> str:
    admin = app.window.session.principal
    return str(app.run(app.bridge.platform.engine.execute_workflow(admin, workflow_id, params)))


def open_runs(app: Any) -> Any:
    page = app.window.show_page("runs")
    app.until(lambda: page.model.rowCount() > 0 or page.history.currentWidget() is page.empty)
    return page


def shown(page: Any, run_id: str, status: str | None = None) -> bool:
    detail = page.detail.status
    return (
        detail is not None
        and detail["run_id"] == run_id
        and (status is None or detail["status"] == status)
    )


def timeline(page: Any) -> dict[str, tuple[str, str]]:
    """node id → (status cell, attempts cell)."""
    model = page.detail.timeline_model
    return {
        model.node_run(r).node_id: (model.index(r, 2).data(), model.index(r, 3).data())
        for r in range(model.rowCount())
    }


def test_history_filters_and_a_run_in_detail(make_app: Any) -> None:
    app = signed_in(make_app)
    page = open_runs(app)
    assert page.history.currentWidget() is page.empty
    assert page.empty.title.text() == "No runs yet"
    divide = create(app, divide_doc())
    quote = create(app, quote_doc())
    good = start(app, divide, {"divisor": 4})
    bad = start(app, divide, {"divisor": 0})
    other = start(app, quote, {"base": 50})
    for run_id in (good, bad, other):
        app.run(app.bridge.platform.engine.wait(run_id))
    page.refresh()
    app.until(lambda: page.model.rowCount() == 3 and not page.model.any_unfinished())
    assert page.history.currentWidget() is page.table
    statuses = {page.model.run(r)["run_id"]: page.model.index(r, 3).data() for r in range(3)}
    assert statuses == {good: "● succeeded", bad: "● failed", other: "● succeeded"}
    assert page.count.text() == "3 runs"

    # filters: workflow and status query the engine; the text box filters what is loaded
    page.workflow_filter.setCurrentIndex(page.workflow_filter.findData(divide))
    app.until(lambda: page.model.rowCount() == 2)
    page.status_filter.setCurrentIndex(page.status_filter.findData("failed"))
    app.until(lambda: page.model.rowCount() == 1)
    assert page.model.run(0)["run_id"] == bad
    page.status_filter.setCurrentIndex(page.status_filter.findData("cancelled"))
    app.until(lambda: page.model.rowCount() == 0)
    assert page.history.currentWidget() is page.empty
    assert page.empty.title.text() == "No run matches"
    page.workflow_filter.setCurrentIndex(0)
    page.status_filter.setCurrentIndex(0)
    app.until(lambda: page.model.rowCount() == 3)
    page.search.setText(other[:6])
    assert page.proxy.rowCount() == 1
    page.search.setText("price quote")  # the workflow's name matches too
    assert page.proxy.rowCount() == 1
    page.search.clear()

    # the failed run: its failing node is selected with its error, the rest cancelled/skipped
    page.select_run(bad)
    app.until(lambda: shown(page, bad, "failed") and page.selected_run_id() == bad)
    detail = page.detail
    assert "division by zero" in detail.run_error.text()
    assert detail.title.text() == "Divide  ·  v1  ·  failed"
    rows = timeline(page)
    assert rows["start"] == ("● succeeded", "1")
    assert rows["calc"][0] == "● failed"
    assert rows["log"][0] in ("● skipped", "● cancelled")
    assert detail.selected_node_id() == "calc"
    assert detail.tabs.currentIndex() == detail.ERROR
    assert "division by zero" in detail.error_text.toPlainText()
    assert detail.input_tree.value() == {"divisor": 0}
    assert detail.params_tree.value() == {"divisor": 0}
    assert not page.cancel_button.isEnabled()  # finished runs cannot be cancelled
    assert page.rerun_button.isEnabled()

    # the good run: outputs as a JSON tree, copied as JSON
    page.select_run(good)
    app.until(lambda: shown(page, good, "succeeded"))
    detail.select_node("calc")
    assert detail.output_tree.value() == {"main": {"divisor": 4, "share": 2.5}}
    tree = detail.output_tree
    main = tree.model.index(0, 0)
    assert tree.model.index(1, 1, main).data() == "2.5"
    tree.copy_button.click()
    assert json.loads(QGuiApplication.clipboard().text()) == {"main": {"divisor": 4, "share": 2.5}}
    assert detail.results_tree.value() == {"Log": {"main": {"divisor": 4, "share": 2.5}}}
    # each node's bar sits on the run's time span, in the colour of its status
    model = detail.timeline_model
    bars = [model.index(r, TIMELINE_COLUMN).data(BarRole) for r in range(model.rowCount())]
    ok = app.theme.colors["ok"]
    assert all(0.0 <= left <= right <= 1.0 and colour == ok for left, right, colour in bars)
    assert [b[0] for b in bars] == sorted(b[0] for b in bars)  # in the order nodes started
    assert not app.crash.dialogs


def test_rerun_repeats_version_and_parameters(make_app: Any) -> None:
    app = signed_in(make_app)
    divide = create(app, divide_doc())
    first = start(app, divide, {"divisor": 5})
    app.run(app.bridge.platform.engine.wait(first))
    page = open_runs(app)
    page.select_run(first)
    app.until(lambda: shown(page, first, "succeeded"))
    started: list[str] = []
    page.sig_run_started.connect(started.append)
    page.rerun_button.click()
    app.until(lambda: bool(started) and shown(page, started[0], "succeeded"))
    again = page.detail.status
    assert again["params"] == {"divisor": 5}
    assert again["version"] == 1 and again["workflow_id"] == divide
    app.until(lambda: page.model.rowCount() == 2 and page.selected_run_id() == started[0])
    assert "re-run of" in page.message.text()
    assert not app.crash.dialogs


def test_a_running_run_updates_live_and_can_be_cancelled(make_app: Any) -> None:
    app = signed_in(make_app)
    slow = create(app, slow_doc())
    page = open_runs(app)
    run_id = start(app, slow)
    app.until(lambda: page.model.row_of(run_id) >= 0)  # the engine's event brought it in
    page.select_run(run_id)
    app.until(lambda: shown(page, run_id) and timeline(page).get("wait", ("",))[0] == "● running")
    assert page.poll.isActive()  # unfinished: polled
    assert page.cancel_button.isEnabled()
    assert page.detail.selected_node_id() == "wait"
    assert "running for" in page.detail.info.text()
    page.cancel_button.click()
    app.until(lambda: shown(page, run_id, "cancelled"))
    rows = timeline(page)
    assert rows["start"][0] == "● succeeded"
    assert rows["wait"][0] == "● cancelled"
    assert rows["log"][0] in ("● cancelled", "● skipped")
    app.until(lambda: page.model.index(page.model.row_of(run_id), 3).data() == "● cancelled")
    assert page.message.text() == f"Cancelled run {run_id[:8]}."
    assert not page.cancel_button.isEnabled()
    app.until(lambda: not page.poll.isActive())  # nothing unfinished: polling stops
    assert not app.crash.dialogs


def test_large_node_data_is_flagged_truncated(make_app: Any) -> None:
    app = signed_in(make_app)
    big = create(
        app,
        chain(
            "Big",
            node("start", "manual_trigger", "Start"),
            node("fill", "set_fields", "Fill", fields={"blob": "x" * 300_000}),
        ),
    )
    run_id = start(app, big)
    app.run(app.bridge.platform.engine.wait(run_id))
    page = open_runs(app)
    page.select_run(run_id)
    app.until(lambda: shown(page, run_id, "succeeded"))
    detail = page.detail
    detail.select_node("fill")
    assert detail.truncated.isVisibleTo(page)
    assert detail.truncated.text() == TRUNCATED_NOTE
    assert detail.output_tree.value()["truncated"] is True
    detail.select_node("start")
    assert not detail.truncated.isVisibleTo(page)
    assert not app.crash.dialogs


def test_approve_a_pending_approval_from_the_page(make_app: Any) -> None:
    app = signed_in(make_app)
    flow = create(
        app,
        {
            "name": "Discount approval",
            "nodes": [
                node("start", "manual_trigger", "Start"),
                node("ask", "approval", "Manager OK", message="OK?"),
                node("log", "log", "Log"),
            ],
            "edges": [
                {"id": "e1", "source": "start", "target": "ask"},
                {"id": "e2", "source": "ask", "target": "log", "source_port": "approved"},
            ],
        },
    )
    page = open_runs(app)
    run_id = start(app, flow)
    page.select_run(run_id)
    app.until(lambda: shown(page, run_id, "waiting") and page.detail.approval.isVisible())
    box = page.detail.approval
    assert box.text.text() == "OK?"
    assert box.current_node_id() == "ask"
    assert timeline(page)["ask"][0] == "● waiting"
    assert page.cancel_button.isEnabled()
    box.comment.setText("fine by me")
    box.approve_button.click()
    app.until(lambda: shown(page, run_id, "succeeded"))
    assert not box.isVisible()
    assert timeline(page)["log"][0] == "● succeeded"
    assert page.message.text() == "Approved: the run continues."
    assert page.detail.results_tree.value() is not None

    # a rejection takes the "rejected" branch: nothing is connected there, so Log is skipped
    second = start(app, flow)
    page.select_run(second)
    app.until(lambda: shown(page, second, "waiting") and box.isVisible())
    box.comment.setText("too generous")
    box.reject_button.click()
    app.until(lambda: shown(page, second, "succeeded"))
    assert timeline(page)["log"][0] == "● skipped"
    assert page.message.text() == "Rejected: the run continues."
    decision = page.detail.timeline_model.node_run(page.detail.timeline_model.row_of("ask"))
    assert "too generous" in json.dumps(decision.output)
    assert not app.crash.dialogs


def test_an_interrupted_run_is_resumed_with_one_click(make_app: Any) -> None:
    app = signed_in(make_app)
    engine = app.bridge.platform.engine
    flow = create(
        app,
        chain(
            "Nightly",
            node("start", "manual_trigger", "Start"),
            node("wait", "delay", "Wait", seconds=0.2),
            node("log", "log", "Log"),
        ),
    )
    run_id = start(app, flow)

    async def wait_running() -> None:
        while (await engine.run_status(run_id))["nodes"]["wait"]["status"] != "running":  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    app.run(asyncio.wait_for(wait_running(), 10))
    task = engine._runs[run_id].task
    task.cancel()  # what shutting down mid-run does: the run stays resumable
    app.run(asyncio.gather(task, return_exceptions=True))
    page = open_runs(app)
    page.select_run(run_id)
    app.until(lambda: shown(page, run_id, "interrupted"))
    assert page.resume_button.isEnabled()
    assert timeline(page)["start"][0] == "● succeeded"
    page.resume_button.click()
    app.until(lambda: shown(page, run_id, "succeeded"))
    assert timeline(page)["log"][0] == "● succeeded"
    assert not page.resume_button.isEnabled()
    assert not app.crash.dialogs
