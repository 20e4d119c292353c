"""One alert in full: its message, labels and details, how its state changed and what was
sent about it (or why sending failed)."""

from __future__ import annotations

import html
import json
from typing import Any

from PySide6.QtWidgets import QTextBrowser, QWidget

from auterity_desktop.ui.models.alert_models import labels_text, value_text
from auterity_desktop.ui.models.run_display import format_time

HINT = "Select an alert to see its history and notifications."


class AlertDetailView(QTextBrowser):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AlertDetail")
        self.setAccessibleName("Alert details")
        self.setOpenLinks(False)
        self.alert_id: str | None = None
        self.show_alert(None)

    def show_alert(self, alert: Any) -> None:
        self.alert_id = None if alert is None else alert.id
        if alert is None:
            self.setHtml(f"<p style='color: gray'>{HINT}</p>")
            return
        e = html.escape
        parts = [
            f"<p><b>{e(alert.name)}</b> · {e(alert.severity)} · {e(alert.state)}</p>",
            f"<p>{e(alert.message)}</p>",
        ]
        facts = []
        if alert.labels:
            facts.append(f"Labels: {e(labels_text(alert.labels))}")
        if alert.value is not None:
            facts.append(f"Value: {e(value_text(alert.value))}")
        if alert.silenced:
            facts.append(
                f"Silenced until {e(format_time(alert.silenced_until))}: "
                f"{e(alert.silence_reason or '')}"
            )
        if alert.acknowledged_by:
            note = f" — “{e(alert.ack_note)}”" if alert.ack_note else ""
            facts.append(
                f"Acknowledged by {e(alert.acknowledged_by)}, "
                f"{e(format_time(alert.acknowledged_at))}{note}"
            )
        if alert.source != "rule":
            facts.append("Reported by model monitoring")
        if facts:
            parts.append("<p>" + "<br>".join(facts) + "</p>")
        if alert.details:
            details = e(json.dumps(alert.details, indent=1, default=str))
            parts.append(f"<p><b>Details</b></p><pre>{details}</pre>")
        parts.append("<p><b>History</b></p><ul>")
        for entry in alert.history:
            parts.append(f"<li>{e(_history_line(entry))}</li>")
        parts.append("</ul>")
        if alert.notifications:
            parts.append("<p><b>Notifications</b></p><ul>")
            for sent in alert.notifications:
                parts.append(f"<li>{e(_notification_line(sent))}</li>")
            parts.append("</ul>")
        self.setHtml("".join(parts))


def _history_line(entry: dict[str, Any]) -> str:
    text = f"{format_time(entry.get('at'))}  {entry.get('state', '?')}"
    if entry.get("by"):
        text += f" by {entry['by']}"
    if entry.get("value") is not None:
        text += f" at {value_text(entry['value'])}"
    if entry.get("until"):
        text += f" until {format_time(entry['until'])}"
    if entry.get("note"):
        text += f": {entry['note']}"
    return text


def _notification_line(sent: dict[str, Any]) -> str:
    where = f" ({sent['to']})" if sent.get("to") else ""
    outcome = "sent" if sent.get("ok") else f"failed: {sent.get('error')}"
    return (
        f"{format_time(sent.get('at'))}  {sent.get('event')} via "
        f"{sent.get('integration')}{where} — {outcome}"
    )
