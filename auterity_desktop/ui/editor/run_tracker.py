"""Following one run in the editor: node states from the engine's events as they arrive,
then each node's input, output and error and the item count on each wire once they are
stored. Kept apart from the editor so the canvas only hears "these states, these counts"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from auterity_desktop.core.events import Event
from auterity_desktop.services.workflows.run_state import main_output
from auterity_desktop.ui.models.run_display import is_unfinished

REFRESH_MS = 150  # gather a burst of node events into one status read


def item_count(value: Any) -> int:
    """How many items a port passed on: a list counts its entries, anything else is one."""
    return len(value) if isinstance(value, list) else 1


class RunTracker(QObject):
    sig_states = Signal(dict)  # node id → status
    sig_counts = Signal(dict)  # edge id → items that passed
    sig_status = Signal(dict)  # the engine's full status of the run
    sig_finished = Signal(str)  # final status

    def __init__(self, load_status: Callable[[str], Any], schedule: Callable[[Any], Any]) -> None:
        super().__init__()
        self._load_status = load_status  # run id → coroutine giving engine.status(...)
        self._schedule = schedule  # runs a coroutine on the GUI's task runner
        self.run_id: str | None = None
        self.status: dict[str, Any] | None = None
        self.states: dict[str, str] = {}
        self.edges: list[Any] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

    def follow(self, run_id: str, edges: list[Any]) -> None:
        self.run_id = run_id
        self.edges = edges
        self.status = None
        self.states = {}
        self.sig_states.emit({})
        self.sig_counts.emit({})
        self.refresh()

    def stop(self) -> None:
        self.run_id = None
        self.status = None
        self.states = {}
        self.sig_states.emit({})
        self.sig_counts.emit({})

    def on_event(self, event: Event) -> None:
        if self.run_id is None or event.payload.get("run_id") != self.run_id:
            return
        node_id = event.payload.get("node_id")
        if event.name == "node_started" and node_id:
            self.states[node_id] = "running"
        elif event.name == "node_finished" and node_id:
            self.states[node_id] = str(event.payload.get("status"))
        elif event.name == "node_waiting" and node_id:
            self.states[node_id] = "waiting"
        self.sig_states.emit(dict(self.states))
        if not self._timer.isActive():
            self._timer.start()

    def refresh(self) -> None:
        if self.run_id is not None:
            self._schedule(self._refresh(self.run_id))

    async def _refresh(self, run_id: str) -> None:
        status = await self._load_status(run_id)
        if run_id != self.run_id:
            return
        self.status = status
        self.states = {n: info["status"] for n, info in status["nodes"].items()}
        self.sig_states.emit(dict(self.states))
        self.sig_counts.emit(self.counts(status))
        self.sig_status.emit(status)
        if not is_unfinished(status["status"]):
            self.sig_finished.emit(status["status"])
        elif status["status"] in ("running", "pending") and not self._timer.isActive():
            self._timer.start(1000)  # a slow node sends no events: look again in a while

    def counts(self, status: dict[str, Any]) -> dict[str, int]:
        nodes = status["nodes"]
        result = {}
        for edge in self.edges:
            info = nodes.get(edge.source)
            output = (info or {}).get("output") or {}
            if info and info["status"] == "succeeded" and edge.source_port in output:
                result[edge.id] = item_count(output[edge.source_port])
        return result

    def preview_context(self, node_id: str) -> dict[str, Any] | None:
        """The expression context the node saw in this run, for the inspector's previews."""
        if self.status is None or node_id not in self.status["nodes"]:
            return None
        names = self.status.get("names") or {}
        return {
            "$input": self.status["nodes"][node_id].get("input"),
            "$params": self.status.get("params") or {},
            "$run": {"id": self.status["run_id"]},
            "$node": {
                names.get(n, n): {"output": main_output(info.get("output"))}
                for n, info in self.status["nodes"].items()
                if info["status"] == "succeeded"
            },
        }
