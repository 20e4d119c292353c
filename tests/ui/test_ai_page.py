"""The AI page on the real platform, against a real loopback HTTP server that speaks the
OpenAI chat-completions format with SSE streaming: the empty state, adding a deployment
with an API key (the keyring has it, the table never shows it), Load local models, Test
with its latency or the precise error of a down server, the playground streaming a reply
token by token with tokens and cost, Stop, editing a routing policy and a budget, the usage
tab, and what a viewer is shown."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from auterity_desktop.services.ai.catalogue_store import key_ref
from auterity_desktop.ui.models.ai_table_models import KEY_STORED, money
from auterity_desktop.ui.pages.ai_page import (
    DEPLOYMENTS_TAB,
    EMPTY_TEXT,
    PLAYGROUND_TAB,
    ROUTING_TAB,
    USAGE_TAB,
)
from tests.ui.llm_stub_server import MODELS, llm_stub_server

PRICE_IN, PRICE_OUT = 0.5, 1.5  # per 1k tokens


def signed_in(make_app: Any) -> Any:
    app = make_app()
    app.window.show()
    app.sign_in_first_admin()
    return app


def open_ai(app: Any) -> Any:
    page = app.window.show_page("ai")
    app.until(lambda: page.loaded)
    return page


def cell(page: Any, table: Any, row: int, column: int) -> str:
    return str(table.proxy.index(row, column).data())


def row_texts(table: Any) -> list[str]:
    proxy = table.proxy
    return [
        str(proxy.index(r, c).data())
        for r in range(proxy.rowCount())
        for c in range(proxy.columnCount())
    ]


def soon(app: Any, predicate: Callable[[], Any], timeout: float = 15.0) -> None:
    """Run the loop until ``predicate()`` holds, without waiting for running work to end
    (``app.until`` also waits for the page's tasks, a stream among them)."""

    async def poll() -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("condition not reached in time")
            await asyncio.sleep(0.005)

    app.run(poll())


def settle(app: Any) -> None:
    """Let the loop finish closing what a stream left behind (httpx's line iterators are
    closed by asyncio's async-generator finalizer, as a task of their own) while it runs."""

    async def pause() -> None:
        gc.collect()
        await asyncio.sleep(0.2)

    app.run(pause())


def add_deployment(app: Any, name: str, api_base: str, **spec: Any) -> Any:
    """A deployment saved through the service, as another console would."""
    platform = app.bridge.platform
    values = {
        "name": name,
        "provider": "openai",
        "model": "stub-1",
        "api_base": api_base,
        "price_input_per_1k": PRICE_IN,
        "price_output_per_1k": PRICE_OUT,
        **spec,
    }
    return app.run(platform.ai.save_deployment(app.window.session.principal, values))


def test_empty_state_says_what_to_do_next(make_app: Any) -> None:
    app = signed_in(make_app)
    page = open_ai(app)
    assert page.deployment_stack.currentWidget() is page.empty
    assert page.empty.title.text() == "No deployments yet"
    assert page.empty.text.text() == EMPTY_TEXT
    assert EMPTY_TEXT.startswith(
        "No deployments yet — add an Ollama server or an OpenAI-compatible endpoint"
    )
    assert page.empty_add_button.isVisible() and page.add_button.isVisible()
    assert not page.edit_button.isEnabled() and not page.test_button.isEnabled()
    page.tabs.setCurrentIndex(PLAYGROUND_TAB)
    assert page.playground.send_button.isVisible()
    assert not page.playground.send_button.isEnabled()  # nothing typed yet
    page.tabs.setCurrentIndex(USAGE_TAB)
    app.until(lambda: page.usage_loaded)
    assert page.usage.stack.currentWidget() is page.usage.empty
    assert page.usage.empty.title.text() == "No calls in this range"
    assert page.usage.charts is None  # pyqtgraph is loaded only when there is a chart
    assert not app.crash.dialogs


def test_add_a_deployment_with_a_key_then_test_edit_and_remove_the_key(
    make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = signed_in(make_app)
    page = open_ai(app)
    platform = app.bridge.platform
    with llm_stub_server() as stub:
        dialog = page.add_deployment()
        assert dialog is not None and dialog.isVisible()
        # the provider fills in its usual address until one is typed
        assert dialog.api_base.text() == "https://api.openai.com/v1"
        dialog.provider.setCurrentIndex(dialog.provider.findData("ollama"))
        assert dialog.api_base.text() == "http://localhost:11434"
        assert dialog.load_button.isVisible()
        dialog.provider.setCurrentIndex(dialog.provider.findData("openai"))
        assert not dialog.load_button.isVisible()
        assert not dialog.save_button.isEnabled()
        assert dialog.problem.text() == "Give the deployment a name."
        dialog.name.setText("stub gpt")
        assert dialog.problem.text().startswith("The name must be 1–60 letters")
        dialog.name.setText("stub-gpt")
        dialog.api_base.setText(stub.openai_base)
        dialog.model.setEditText("stub-1")
        dialog.price_in.setValue(PRICE_IN)
        dialog.price_out.setValue(PRICE_OUT)
        dialog.capabilities["json"].setChecked(True)
        dialog.rpm.setValue(60)
        dialog.api_key.edit.setText("sk-test-123")
        assert dialog.api_key.edit.echoMode() == dialog.api_key.edit.EchoMode.Password
        assert dialog.problem.isHidden() and dialog.save_button.isEnabled()
        dialog.save_button.click()
        app.until(lambda: page.deployment_model.rowCount() == 1 and page.dialog is None)
        info = page.deployment_model.item(0)
        assert info.has_key
        assert app.run(platform.secrets.get(key_ref("stub-gpt"))) == "sk-test-123"
        texts = row_texts(page.deployment_table)
        assert not any("sk-test" in t for t in texts)  # the key is never shown
        assert texts[:9] == [
            "stub-gpt", "OpenAI-compatible", "stub-1", "$0.50 / $1.50", "8,192", "json",
            "60 rpm", "1", texts[8],
        ]  # fmt: skip
        assert texts[9] == KEY_STORED
        assert page.message.text() == "Saved the deployment stub-gpt — press Test to call it once."
        assert page.selected_deployment().name == "stub-gpt"
        assert page.deployment_stack.currentWidget() is page.deployment_table

        # Test: the latency and the model's reply; the key went with the call
        task = page.test_selected()
        assert not page.test_button.isEnabled()
        app.until(lambda: task.done() and "stub-gpt" in page.tests)
        assert page.test_status.text().startswith("✔ Answered in ")
        assert page.test_status.objectName() == "HealthOk"
        assert page.test_reply.text().startswith("Reply: “Hello from the stub model")
        assert page.message.text().startswith("stub-gpt: ✔ Answered in ")
        call = stub.state.chat_calls()[-1]
        assert call["headers"].get("Authorization") == "Bearer sk-test-123"
        assert call["body"]["model"] == "stub-1"
        assert page.test_button.isEnabled()

        # Edit: the key field is empty and says one is stored; empty keeps it
        dialog = page.edit_selected()
        assert dialog.windowTitle() == "Edit deployment — stub-gpt"
        assert dialog.api_key.edit.text() == ""
        assert "stored in the keyring" in dialog.api_key.edit.placeholderText()
        assert dialog.name.isReadOnly() and dialog.remove_key.isVisible()
        assert dialog.capabilities["json"].isChecked() and dialog.rpm.value() == 60
        dialog.weight.setValue(2.5)
        dialog.save()
        app.until(lambda: page.dialog is None and page.deployment_model.item(0).weight == 2.5)
        assert app.run(platform.secrets.get(key_ref("stub-gpt"))) == "sk-test-123"

        # "Remove the stored key" deletes it from the keyring
        dialog = page.edit_selected()
        dialog.remove_key.setChecked(True)
        assert not dialog.api_key.edit.isEnabled()
        dialog.save()
        app.until(lambda: page.dialog is None and not page.deployment_model.item(0).has_key)
        assert app.run(platform.secrets.get(key_ref("stub-gpt"))) is None
        assert cell(page, page.deployment_table, 0, 9) == "—"

    # Delete asks first; No keeps it
    asked: list[str] = []
    answer = [QMessageBox.StandardButton.No]

    def question(_parent: Any, _title: str, text: str, *_args: Any) -> Any:
        asked.append(text)
        return answer[0]

    monkeypatch.setattr(QMessageBox, "question", question)
    assert page.delete_selected() is None
    assert "“stub-gpt”" in asked[0] and page.deployment_model.rowCount() == 1
    answer[0] = QMessageBox.StandardButton.Yes
    task = page.delete_selected()
    app.until(lambda: task.done() and page.deployment_model.rowCount() == 0)
    assert page.deployment_stack.currentWidget() is page.empty
    assert page.message.text() == "Deleted the deployment stub-gpt."
    assert not app.crash.dialogs


def test_load_local_models_lists_an_ollama_servers_models(make_app: Any) -> None:
    app = signed_in(make_app)
    page = open_ai(app)
    with llm_stub_server() as stub:
        dialog = page.add_deployment()
        dialog.provider.setCurrentIndex(dialog.provider.findData("ollama"))
        dialog.api_base.setText(stub.url)
        dialog.load_button.click()
        app.until(lambda: not dialog.loading)
        names = [dialog.model.itemText(i) for i in range(dialog.model.count())]
        assert names == sorted(MODELS)  # the server's models, by name
        assert dialog.model.currentText() == names[0]
        assert dialog.load_status.text() == "3 models on this server: pick one."
        assert any(r["path"] == "/api/tags" for r in stub.state.requests)
    # a server that is not there: the reason, in the dialog
    dialog.api_base.setText("http://127.0.0.1:9")
    dialog.load_local_models()
    app.until(lambda: not dialog.loading, timeout=30)
    assert dialog.load_status.text().startswith("Could not list the models: ")
    assert dialog.load_status.objectName() == "HealthError"
    dialog.reject()
    app.until(lambda: page.dialog is None)
    assert not app.crash.dialogs


def test_test_shows_the_precise_error_of_a_down_server(make_app: Any) -> None:
    app = signed_in(make_app)
    add_deployment(app, "nowhere", "http://127.0.0.1:9/v1")
    with llm_stub_server(status=500) as stub:
        add_deployment(app, "broken", stub.openai_base)
        page = open_ai(app)
        app.until(lambda: page.deployment_model.rowCount() == 2)
        for name in ("nowhere", "broken"):
            page.select_deployment(name)
            task = page.test_selected()
            app.until(lambda n=name, t=task: t.done() and n in page.tests, timeout=30)
            result = page.tests[name]
            assert not result.ok and result.error
            assert page.test_status.text().startswith("✖ Failed")
            assert result.error in page.test_status.text()  # the service's words, whole
            assert page.test_status.objectName() == "HealthError"
            assert page.message.objectName() == "HealthError"
        assert "500" in page.test_status.text()
    assert not app.crash.dialogs


def _send_with_keyboard(app: Any, qtbot: Any, page: Any) -> None:
    """Ctrl+Enter in the prompt, as a user would: the window active, the prompt focused."""
    playground = page.playground
    app.window.activateWindow()
    app.until(lambda: QApplication.activeWindow() is app.window, timeout=5)
    playground.prompt.setFocus()
    qtbot.keyClick(playground.prompt, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert playground.running
    assert playground.prompt.toPlainText().count("\n") == 0  # the key sent, it typed nothing


def test_playground_streams_a_reply_with_tokens_and_cost(make_app: Any, qtbot: Any) -> None:
    app = signed_in(make_app)
    with llm_stub_server(delay=0.05) as stub:
        add_deployment(app, "stub-gpt", stub.openai_base)
        page = open_ai(app)
        page.tabs.setCurrentIndex(PLAYGROUND_TAB)
        playground = page.playground
        assert playground.choose_target("deployment", "stub-gpt")
        playground.system.setPlainText("You answer briefly.")
        playground.prompt.setPlainText("Say hello to the service desk")
        playground.max_tokens.setValue(64)
        playground.temperature.setValue(0.2)
        seen: list[tuple[str, bool, str]] = []  # text, finished yet?, the view then
        playground.sig_delta.connect(
            lambda text: seen.append(
                (text, playground.response is not None, playground.reply.toPlainText())
            )
        )
        _send_with_keyboard(app, qtbot, page)
        assert playground.stop_button.isEnabled() and not playground.send_button.isEnabled()
        assert playground.reply.isReadOnly()
        app.until(lambda: playground.response is not None)
        settle(app)
        response = playground.response
        # several deltas came one by one, before the end, each shown as it arrived
        words = stub.state.reply.split(" ")
        assert len(seen) == len(words) >= 5
        assert not any(finished for _, finished, _ in seen)
        assert [view for _, _, view in seen][:2] == [words[0] + " ", f"{words[0]} {words[1]} "]
        assert playground.reply.toPlainText() == stub.state.reply
        # the request the server got
        body = stub.state.chat_calls()[-1]["body"]
        assert body["stream"] is True and body["max_tokens"] == 64
        assert body["temperature"] == pytest.approx(0.2)
        assert body["messages"][0] == {"role": "system", "content": "You answer briefly."}
        # model, latency, first token, tokens in/out and cost when done
        usage = response.usage
        assert usage.output_tokens == len(words)
        expected = (usage.input_tokens * PRICE_IN + usage.output_tokens * PRICE_OUT) / 1000
        assert response.cost == pytest.approx(expected)
        summary = playground.summary.text()
        assert summary.startswith("stub-gpt · model stub-1\nlatency ")
        assert "first token " in summary and "first token —" not in summary
        assert f"tokens {usage.input_tokens:,} in / {usage.output_tokens:,} out" in summary
        assert f"cost {money(expected)}" in summary
        assert playground.state.text() == "✔ Done"
        # the routing decision, folded away until asked for
        assert playground.decision_toggle.isVisible() and not playground.decision.isVisible()
        playground.decision_toggle.click()
        assert playground.decision.isVisible()
        assert "Chosen: stub-gpt — " in playground.decision.toPlainText()
        assert playground.send_button.isEnabled() and not playground.stop_button.isEnabled()
    assert not app.crash.dialogs


def test_stop_cancels_the_stream(make_app: Any) -> None:
    app = signed_in(make_app)
    reply = " ".join(f"word{i}" for i in range(60))
    with llm_stub_server(delay=0.1, reply=reply) as stub:
        add_deployment(app, "slow", stub.openai_base)
        page = open_ai(app)
        page.tabs.setCurrentIndex(PLAYGROUND_TAB)
        playground = page.playground
        playground.choose_target("deployment", "slow")
        playground.prompt.setPlainText("Count slowly")
        task = playground.send()
        soon(app, lambda: playground.deltas >= 3)
        assert playground.stop()
        app.until(lambda: task.done())
        assert task.cancelled()
        received = playground.reply.toPlainText()
        assert received.startswith("word0 word1 word2") and len(received) < len(reply)
        assert playground.state.text().startswith("Stopped after ")
        assert playground.state.objectName() == "HealthWarning"
        count = playground.deltas
        app.run(asyncio.sleep(0.5))
        settle(app)
        assert playground.deltas == count  # nothing more arrives
        assert playground.response is None and not playground.summary.isVisible()
        assert playground.send_button.isEnabled() and not playground.stop_button.isEnabled()
    assert not app.crash.dialogs


def test_playground_shows_errors_inline_with_code_and_message(make_app: Any) -> None:
    app = signed_in(make_app)
    with llm_stub_server(status=401) as stub:
        add_deployment(app, "refusing", stub.openai_base)
        page = open_ai(app)
        page.tabs.setCurrentIndex(PLAYGROUND_TAB)
        playground = page.playground
        playground.choose_target("deployment", "refusing")
        playground.prompt.setPlainText("Hello?")
        playground.send()
        app.until(lambda: playground.error is not None, timeout=30)
        error = playground.error
        assert playground.error_label.isVisible()
        assert playground.error_label.text() == f"✖ {error.code.value}: {error.message}"
        assert playground.response is None and playground.send_button.isEnabled()
    assert not app.crash.dialogs


def test_edit_a_routing_policy_and_a_budget(make_app: Any) -> None:
    app = signed_in(make_app)
    for name in ("local", "cloud", "backup"):
        add_deployment(app, name, "http://127.0.0.1:9/v1")
    page = open_ai(app)
    page.tabs.setCurrentIndex(ROUTING_TAB)
    app.until(lambda: page.deployment_model.rowCount() == 3)

    dialog = page.new_policy()
    assert dialog is not None
    dialog.name.setText("cheap-first")
    dialog.strategy.setCurrentIndex(dialog.strategy.findData("cost"))
    assert dialog.deployments.names() == ["backup", "cloud", "local"]
    dialog.deployments.set_checked("cloud", True)
    dialog.deployments.set_checked("local", True)
    assert dialog.deployments.checked() == ["cloud", "local"]
    dialog.deployments.select("local")
    dialog.deployments.move(-1)  # local before cloud
    assert dialog.deployments.checked() == ["local", "cloud"]
    dialog.fallbacks.set_checked("backup", True)
    dialog.retries.setValue(1)
    dialog.cooldown.setValue(45)
    dialog.save()
    app.until(lambda: page.dialog is None and page.policy_model.row_of("cheap-first") >= 0)
    assert page.selected_policy().name == "cheap-first"
    row = page.policy_model.row_of("cheap-first")
    proxy_row = page.policy_table.proxy.mapFromSource(page.policy_model.index(row, 0)).row()
    texts = [cell(page, page.policy_table, proxy_row, c) for c in range(7)]
    assert texts == ["cheap-first", "Cheapest", "local → cloud", "backup", "1", "3", "45 s"]
    assert page.message.text() == "Saved the routing policy cheap-first."

    # edit: the order is kept in the form; change the strategy and the order
    dialog = page.edit_policy()
    assert dialog.windowTitle() == "Edit policy — cheap-first"
    assert dialog.deployments.checked() == ["local", "cloud"]
    assert dialog.fallbacks.checked() == ["backup"]
    assert dialog.retries.value() == 1 and dialog.cooldown.value() == 45
    dialog.strategy.setCurrentIndex(dialog.strategy.findData("order"))
    dialog.deployments.select("cloud")
    dialog.deployments.move(-1)
    dialog.allowed_fails.setValue(5)
    dialog.save()
    app.until(lambda: page.dialog is None and page.selected_policy().allowed_fails == 5)
    stored = next(
        p
        for p in app.run(app.bridge.platform.ai.list_policies(app.window.session.principal))
        if p.name == "cheap-first"
    )
    assert stored.strategy == "order" and list(stored.deployments) == ["cloud", "local"]
    assert stored.allowed_fails == 5 and list(stored.fallbacks) == ["backup"]

    # a daily budget for one deployment
    dialog = page.new_budget()
    dialog.scope.setCurrentIndex(dialog.scope.findData("deployment:cloud"))
    dialog.period.setCurrentIndex(dialog.period.findData("day"))
    dialog.limit.setValue(5)
    dialog.save()
    app.until(lambda: page.dialog is None and page.budget_model.rowCount() >= 1)
    assert page.budget_stack.currentWidget() is page.budget_table
    budget = page.selected_budget()
    assert budget.scope == "deployment:cloud"
    row = page.budget_table.proxy.mapFromSource(
        page.budget_model.index(page.budget_model.row_of(str(budget.id)), 0)
    ).row()
    assert [cell(page, page.budget_table, row, c) for c in range(5)] == [
        "Deployment cloud", "Per day", "$5.00", "$0.00", "0.0 %",
    ]  # fmt: skip
    dialog = page.edit_budget()
    dialog.limit.setValue(7.5)
    dialog.save()
    app.until(lambda: page.dialog is None and page.selected_budget().limit == 7.5)
    assert not app.crash.dialogs


def test_usage_tab_shows_the_call(make_app: Any) -> None:
    app = signed_in(make_app)
    with llm_stub_server(delay=0.01) as stub:
        add_deployment(app, "stub-gpt", stub.openai_base)
        page = open_ai(app)
        page.tabs.setCurrentIndex(USAGE_TAB)
        app.until(lambda: page.usage_loaded)
        assert page.usage.stack.currentWidget() is page.usage.empty
        page.tabs.setCurrentIndex(PLAYGROUND_TAB)
        playground = page.playground
        playground.choose_target("deployment", "stub-gpt")
        playground.prompt.setPlainText("One call for the report")
        playground.send()
        app.until(lambda: playground.response is not None)
        settle(app)
        cost = playground.response.cost
        tokens = playground.response.usage.total_tokens
    loads = []
    page.sig_usage_loaded.connect(lambda: loads.append(time.time()))
    page.tabs.setCurrentIndex(USAGE_TAB)
    app.until(lambda: loads and page.usage.stack.currentWidget() is page.usage.charts_holder)
    usage = page.usage
    charts = usage.charts
    assert charts is not None
    assert charts.totals["requests"] == 1
    assert charts.totals["tokens"] == tokens
    assert charts.totals["cost"] == pytest.approx(cost)
    assert list(charts.charts["requests"].curves) == ["stub-gpt"]
    assert usage.summary.text().startswith(f"1 request · {tokens:,} tokens · ")
    stats = usage.stats_table
    assert stats.proxy.rowCount() == 1
    assert cell(page, stats, 0, 0) == "stub-gpt" and cell(page, stats, 0, 1) == "1"
    assert cell(page, stats, 0, 2).endswith(" ms") or cell(page, stats, 0, 2).endswith(" s")
    # the range and bucket choices read it again
    usage.range_choice.setCurrentIndex(2)  # 30 days, by day
    assert usage.bucket_choice.currentData() == "day"
    app.until(lambda: len(loads) >= 2)
    assert charts.charts["cost"].title.text() == "Cost per day"
    assert not app.crash.dialogs


def test_a_viewer_sees_everything_but_no_write_or_execute_buttons(make_app: Any) -> None:
    app = signed_in(make_app)
    platform = app.bridge.platform
    admin = app.window.session.principal
    add_deployment(app, "stub-gpt", "http://127.0.0.1:9/v1", api_key="sk-secret")
    app.run(platform.ai.save_budget(admin, {"scope": "global", "period": "month", "limit": 20}))
    app.run(platform.security.users.create_user(admin, "vera", "Viewer-Pass-2026", "viewer"))
    app.sign_in_as("vera", "Viewer-Pass-2026")
    assert not app.window.rail.buttons["ai"].isHidden()
    page = open_ai(app)
    app.until(lambda: page.deployment_model.rowCount() == 1)
    assert cell(page, page.deployment_table, 0, 0) == "stub-gpt"
    assert cell(page, page.deployment_table, 0, 9) == KEY_STORED
    page.select_deployment("stub-gpt")
    for button in (page.add_button, page.edit_button, page.test_button, page.delete_button):
        assert button.isHidden()
    assert page.add_deployment() is None and page.edit_selected() is None
    assert page.test_selected() is None and page.delete_selected() is None
    page.tabs.setCurrentIndex(ROUTING_TAB)
    assert page.budget_model.rowCount() == 1
    for button in (page.new_policy_button, page.edit_policy_button, page.delete_policy_button,
                   page.new_budget_button, page.edit_budget_button, page.delete_budget_button,
                   page.policy_empty_add, page.budget_empty_add):  # fmt: skip
        assert button.isHidden()
    assert page.new_policy() is None and page.new_budget() is None
    page.tabs.setCurrentIndex(PLAYGROUND_TAB)
    playground = page.playground
    assert playground.send_button.isHidden() and playground.stop_button.isHidden()
    assert playground.not_allowed.isVisible()
    playground.prompt.setPlainText("hello")
    assert playground.send() is None
    page.tabs.setCurrentIndex(USAGE_TAB)
    app.until(lambda: page.usage_loaded)
    page.tabs.setCurrentIndex(DEPLOYMENTS_TAB)
    assert not app.crash.dialogs
