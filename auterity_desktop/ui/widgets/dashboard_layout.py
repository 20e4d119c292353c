"""What a user's dashboard shows — its charts, their series, the columns and the range — and
where it is kept: the window-state file, one entry per user name, as JSON."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QSettings

logger = logging.getLogger(__name__)

LIVE = "live"
CUSTOM = "custom"
# range key → (button text, seconds shown; None: chosen dates)
RANGES: dict[str, tuple[str, float | None]] = {
    LIVE: ("Live", 300.0),
    "1h": ("1 h", 3600.0),
    "24h": ("24 h", 86_400.0),
    "7d": ("7 d", 604_800.0),
    CUSTOM: ("Custom…", None),
}
MAX_CHARTS = 24
MAX_SERIES = 12


@dataclass(frozen=True)
class SeriesSpec:
    """A metric and one label set, or ``labels`` None for every label set it has."""

    metric: str
    labels: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"metric": self.metric, "labels": self.labels}


@dataclass
class ChartSpec:
    title: str
    series: list[SeriesSpec] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "series": [s.to_json() for s in self.series]}


@dataclass
class DashboardLayout:
    charts: list[ChartSpec] = field(default_factory=list)
    columns: int = 3
    range: str = LIVE
    custom: tuple[float, float] | None = None  # start and end of the custom range

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": 1,
                "columns": self.columns,
                "range": self.range,
                "custom": list(self.custom) if self.custom else None,
                "charts": [c.to_json() for c in self.charts],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> DashboardLayout:
        """A stored layout; anything unreadable falls back to the default."""
        try:
            data = json.loads(text)
            charts = [
                ChartSpec(
                    str(c["title"])[:120],
                    [
                        SeriesSpec(
                            str(s["metric"]),
                            None
                            if s.get("labels") is None
                            else {str(k): str(v) for k, v in dict(s["labels"]).items()},
                        )
                        for s in c["series"][:MAX_SERIES]
                    ],
                )
                for c in data["charts"][:MAX_CHARTS]
            ]
            custom = data.get("custom")
            layout = cls(
                charts,
                max(1, min(int(data.get("columns", 3)), 4)),
                str(data.get("range", LIVE)),
                (float(custom[0]), float(custom[1])) if custom else None,
            )
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            logger.warning("ignoring an unreadable dashboard layout: %s", exc)
            return default_layout()
        if layout.range not in RANGES or (layout.range == CUSTOM and layout.custom is None):
            layout.range = LIVE
        return layout


def default_layout() -> DashboardLayout:
    return DashboardLayout(
        [
            ChartSpec("Workflow runs", [SeriesSpec("auterity_runs_total")]),
            ChartSpec(
                "Node latency",
                [
                    SeriesSpec("auterity_node_duration_seconds_p95", {}),
                    SeriesSpec("auterity_node_duration_seconds_mean", {}),
                ],
            ),
            ChartSpec("Queue depth", [SeriesSpec("auterity_queue_depth")]),
            ChartSpec(
                "CPU",
                [
                    SeriesSpec("auterity_system_cpu_ratio", {}),
                    SeriesSpec("auterity_process_cpu_ratio", {}),
                ],
            ),
            ChartSpec(
                "Memory and disk",
                [
                    SeriesSpec("auterity_system_memory_ratio", {}),
                    SeriesSpec("auterity_disk_usage_ratio", {}),
                ],
            ),
            ChartSpec("Integrations up", [SeriesSpec("auterity_integration_up")]),
        ]
    )


def settings_key(username: str) -> str:
    return f"dashboard_layout/{username}"


def load_layout(settings: QSettings, username: str) -> DashboardLayout:
    text = settings.value(settings_key(username))
    return DashboardLayout.from_json(str(text)) if text else default_layout()


def save_layout(settings: QSettings, username: str, layout: DashboardLayout) -> None:
    settings.setValue(settings_key(username), layout.to_json())
    settings.sync()
