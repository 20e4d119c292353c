"""The Messages page on the real platform: queues and topics refreshing live, the
dead-letter browser with payload and history, replay, purge, the test-message dialog and
what a viewer is shown."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QMessageBox

from auterity_desktop.ui.pages.messages_page import DEAD_TAB


def signed_in(make_app: Any) -> Any:
    app = make_app()
    app.window.show()
    app.sign_in_first_admin()
    return app


def open_messages(app: Any) -> Any:
    page = app.window.show_page("messages")
    app.until(lambda: page.stats is not None)
    return page


def cell(model: Any, row: int, column: int) -> str:
    return str(model.index(row, column).data())


def poison(app: Any, queue: str, topic: str, payload: Any, reason: str) -> str:
    """Publish, claim and reject one message; its id."""
    mq = app.bridge.platform.messages
    (message_id,) = app.run(mq.publish(topic, payload))
    message = app.run(mq.get(queue))
    assert message is not None and message.id == message_id
    app.run(mq.nack(message.receipt, requeue=False, reason=reason))
    return str(message_id)


def test_empty_page_says_what_to_do(make_app: Any) -> None:
    app = signed_in(make_app)
    page = open_messages(app)
    assert page.queue_stack.currentWidget() is page.queue_empty
    assert page.queue_empty.title.text() == "No queues yet"
    assert "message trigger" in page.queue_empty.text.text()
    assert page.topic_stack.currentWidget() is page.topic_empty
    page.tabs.setCurrentIndex(DEAD_TAB)
    app.until(lambda: page.dead_stack.currentWidget() is page.dead_empty)
    assert page.dead_empty.title.text() == "The dead-letter queue is empty"
    assert page.publish_button.isVisible() and page.purge_all_button.isVisible()


def test_queues_and_topics_refresh_live(make_app: Any) -> None:
    app = signed_in(make_app)
    page = open_messages(app)
    mq = app.bridge.platform.messages
    app.run(mq.declare_queue("leads", "sales.lead.*", max_length=50))
    app.run(mq.declare_queue("everything", "#"))
    for i in range(3):
        app.run(mq.publish("sales.lead.created", {"n": i}))
    app.run(mq.publish("inventory.price.changed", {"vin": "X"}, delay=600))
    claimed = app.run(mq.get("leads"))
    assert claimed is not None
    # no event is sent per message: the poll picks them up
    app.until(lambda: page.queue_model.rowCount() == 2 and page.queue_model.item(1).depth == 3)
    model = page.queue_model
    row = model.row_of("leads")
    assert [cell(model, row, c) for c in range(7)] == [
        "leads",
        "sales.lead.*",
        "3",
        "2",
        "1",
        "0",
        "0",
    ]
    assert cell(model, row, 7) == "3.0/min" and cell(model, row, 10) == "50"
    everything = model.row_of("everything")
    assert cell(model, everything, 5) == "1"  # the delayed one
    assert page.summary.text() == "2 queues · 7 messages waiting · 0 dead"
    topics = page.topic_model
    assert sorted(topics.keys()) == ["inventory.price.changed", "sales.lead.created"]
    row = topics.row_of("sales.lead.created")
    assert cell(topics, row, 1) == "3" and cell(topics, row, 4) == "everything, leads"


def test_dead_letters_show_payload_history_replay_and_purge(
    make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = signed_in(make_app)
    page = open_messages(app)
    mq = app.bridge.platform.messages
    app.run(mq.declare_queue("orders", "orders.*"))
    first = poison(app, "orders", "orders.created", {"order": 1, "lines": [1, 2]}, "no VIN")
    second = poison(app, "orders", "orders.created", {"order": 2}, "bad price")
    page.tabs.setCurrentIndex(DEAD_TAB)
    app.until(lambda: page.dead_model.rowCount() == 2)  # the dead-letter event reloads it
    assert page.tabs.tabText(DEAD_TAB) == "&Dead letters (2)"
    model = page.dead_model
    row = model.row_of(first)
    assert [cell(model, row, c) for c in (1, 2, 3, 4, 5)] == [
        "orders", "orders.created", "rejected", "1", "no VIN",
    ]  # fmt: skip
    assert page.range_label.text() == "1–2 of 2"

    assert page.select_dead(first)
    app.until(lambda: page.shown_dead_id == first)
    assert page.payload_view.value() == {"order": 1, "lines": [1, 2]}
    history = page.history_view.value()
    assert [h["outcome"] for h in history] == ["rejected"] and history[0]["error"] == "no VIN"
    assert "Last error: no VIN" in page.detail_info.text()

    # the filters narrow it down
    page.reason_filter.setCurrentIndex(page.reason_filter.findData("expired"))
    app.until(lambda: page.dead_model.rowCount() == 0)
    assert page.dead_empty.title.text() == "No dead letter matches"
    page.reason_filter.setCurrentIndex(0)
    app.until(lambda: page.dead_model.rowCount() == 2)

    # replay the selected one: back in its queue, gone from the list
    assert page.select_dead(first)
    app.until(lambda: page.replay_button.isEnabled())
    page.replay_selected()
    app.until(lambda: page.dead_model.rowCount() == 1)
    assert page.message.text() == "Replayed 1 message."
    assert app.run(mq.queue("orders")).depth == 1
    assert page.shown_dead_id is None

    # purge asks first; "No" keeps it
    answers = [QMessageBox.StandardButton.No]
    questions: list[str] = []

    def question(_parent: Any, _title: str, text: str, *_args: Any) -> Any:
        questions.append(text)
        return answers[0]

    monkeypatch.setattr(QMessageBox, "question", question)
    assert page.select_dead(second)
    app.until(lambda: page.purge_button.isEnabled())
    assert page.purge_selected() is None
    assert f"Delete dead letter {second} for good?" in questions[0]
    answers[0] = QMessageBox.StandardButton.Yes
    page.purge_shown()
    assert questions[-1].startswith("Delete all 1 dead letters for good?")
    app.until(lambda: page.dead_model.rowCount() == 0)
    assert page.message.text() == "Purged 1 dead letter."


def test_publish_test_message_dialog(make_app: Any) -> None:
    app = signed_in(make_app)
    page = open_messages(app)
    mq = app.bridge.platform.messages
    app.run(mq.declare_queue("leads", "sales.#"))
    page.refresh()
    app.until(lambda: page.queue_model.rowCount() == 1)
    dialog = page.open_publish_dialog()
    assert dialog is not None and dialog.isVisible()
    dialog.topic.setCurrentText("sales lead")
    assert not dialog.publish_button.isEnabled()
    assert "not a valid topic" in dialog.problem.text()
    dialog.topic.setCurrentText("sales.lead.created")
    dialog.payload.setPlainText("{not json")
    assert "The payload is not JSON" in dialog.problem.text()
    dialog.payload.setPlainText('{"name": "Ada"}')
    dialog.priority.setValue(7)
    assert dialog.publish_button.isEnabled()
    dialog.accept()
    app.until(lambda: page.message.text().startswith("Published on sales.lead.created"))
    message = app.run(mq.get("leads"))
    assert message is not None and message.payload == {"name": "Ada"} and message.priority == 7
    # nothing bound: said plainly
    dialog = page.open_publish_dialog()
    dialog.topic.setCurrentText("nobody.listens")
    dialog.accept()
    app.until(lambda: "was dropped" in page.message.text())


def test_a_viewer_reads_but_cannot_change(make_app: Any) -> None:
    app = signed_in(make_app)
    platform = app.bridge.platform
    admin = app.window.session.principal
    app.run(platform.messages.declare_queue("orders", "orders.*"))
    poison(app, "orders", "orders.created", {"order": 9}, "broken")
    app.run(platform.security.users.create_user(admin, "vera", "Viewer-Pass-2026", "viewer"))
    app.sign_in_as("vera", "Viewer-Pass-2026")
    page = open_messages(app)
    page.tabs.setCurrentIndex(DEAD_TAB)
    app.until(lambda: page.dead_model.rowCount() == 1)
    for button in (
        page.publish_button,
        page.replay_button,
        page.replay_queue_button,
        page.purge_button,
        page.purge_all_button,
    ):
        assert button.isHidden()
    assert page.open_publish_dialog() is None
    assert page.select_dead(page.dead_model.item(0).id)
    app.until(lambda: page.shown_dead_id is not None)
    assert page.payload_view.value() == {"order": 9}  # reading is allowed
    assert page.purge_selected() is None and page.replay_selected() is None
