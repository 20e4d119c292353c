"""Load the dealership sample pack for someone who has just signed in.

Everything goes through the same guarded, audited service methods a user's own clicks use,
so the samples show up in the audit trail like any other change, and a user without the
rights gets the usual ``FORBIDDEN``. Loading twice adds nothing twice: a workflow or model
that already exists under a sample's name is left as it is.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd  # type: ignore[import-untyped]

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.messaging.queue import MessageQueue
from auterity_desktop.services.monitoring.ml_monitoring import MLMonitoringService
from auterity_desktop.services.samples.datasets import (
    LEAD_FEATURES,
    leads_table,
    repair_orders_table,
)
from auterity_desktop.services.samples.event_log import write_repair_orders
from auterity_desktop.services.security.principal import Principal
from auterity_desktop.services.workflows.samples import sample_files
from auterity_desktop.services.workflows.store import WorkflowStore

Progress = Callable[[str, float], None]  # what is being done, fraction done

FOLDER = "samples"
EVENT_LOG = "service_repair_orders.csv"
REFERENCE_LOG = "service_repair_orders_reference.csv"
DATASET = "repair_orders_2024.csv"
MODEL = ("lead-conversion", "2024.11")
DAY = 86_400.0
HISTORY_DAYS = 14
DRIFT_FROM_DAY = 9  # the last days' leads come mostly from the web at higher prices

# Where the sample workflows' messages go: the outbound queues an SMS gateway, an e-mail
# sender or the sales team's task list would read.
QUEUES: tuple[tuple[str, str], ...] = (
    ("sales-tasks", "sales.tasks.#"),
    ("marketing-email", "marketing.email.#"),
    ("service-reminders", "service.reminders.#"),
    ("price-alerts", "inventory.price_alerts"),
    ("ops-alerts", "ops.alerts.#"),
)


@dataclass
class SampleReport:
    folder: Path
    workflows: dict[str, str] = field(default_factory=dict)  # sample name → workflow id
    skipped: list[str] = field(default_factory=list)  # already there, left as they were
    event_log: Path | None = None
    reference_log: Path | None = None
    dataset: Path | None = None
    model: tuple[str, str] | None = None


class SampleLoader:
    def __init__(
        self,
        workflows: WorkflowStore,
        messages: MessageQueue,
        ml_monitoring: MLMonitoringService,
        data_dir: Path,
    ) -> None:
        self.workflows = workflows
        self.messages = messages
        self.ml = ml_monitoring
        self.folder = data_dir / FOLDER

    async def load(self, actor: Principal, progress: Progress | None = None) -> SampleReport:
        # each step checks its own rights too; asking first means a user who may not add
        # workflows gets no half-loaded pack (no queues, no files)
        await self.workflows.authz.authorize(actor, "workflows", "write")
        report = SampleReport(self.folder)
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("Creating the sample queues", lambda: self._queues(actor)),
            ("Importing the sample workflows", lambda: self._workflows(actor, report)),
            ("Writing the service department's event log", lambda: self._files(report)),
            ("Registering the lead-scoring model", lambda: self._model(actor, report)),
        ]
        for done, (text, step) in enumerate(steps):
            if progress is not None:
                progress(text, done / len(steps))
            await step()
        if progress is not None:
            progress("Samples loaded", 1.0)
        return report

    async def _queues(self, actor: Principal) -> None:
        known = {q.name for q in await self.messages.list_queues(actor)}
        for name, pattern in QUEUES:
            if name not in known:
                await self.messages.declare_queue_as(actor, name, pattern)

    async def _workflows(self, actor: Principal, report: SampleReport) -> None:
        existing = {w.name: w.id for w in await self.workflows.list_workflows(actor)}
        for path in sample_files():
            saved_name = _document_name(path)
            if saved_name in existing:
                report.workflows[path.stem] = existing[saved_name]
                report.skipped.append(saved_name)
                continue
            saved = await self.workflows.import_file(actor, path)
            report.workflows[path.stem] = saved.id

    async def _files(self, report: SampleReport) -> None:
        def write() -> None:
            self.folder.mkdir(parents=True, exist_ok=True)
            report.event_log = write_repair_orders(self.folder / EVENT_LOG)
            report.reference_log = write_repair_orders(self.folder / REFERENCE_LOG, 60, clean=True)
            report.dataset = self.folder / DATASET
            repair_orders_table().to_csv(report.dataset, index=False)

        try:
            await asyncio.to_thread(write)
        except OSError as exc:
            raise ServiceError(
                ErrorCode.INVALID_INPUT,
                f"Cannot write the sample files to {self.folder}: {exc.strerror}",
                {"folder": str(self.folder)},
            ) from None

    async def _model(self, actor: Principal, report: SampleReport) -> None:
        report.model = MODEL
        if not await self.load_model(actor):
            report.skipped.append(" ".join(MODEL))

    async def load_model(self, actor: Principal) -> bool:
        """Register the lead-scoring model with two weeks of scored leads whose last days
        drift; ``False`` when it is already there."""
        name, version = MODEL
        if any((m.name, m.version) == MODEL for m in await self.ml.list_models(actor)):
            return False
        await self.ml.register_model(
            actor,
            name,
            version,
            "classification",
            LEAD_FEATURES,
            leads_table(800, seed=1),
            target="bought",
            prediction_column="predicted",
            score_column="score",
            description="Will this lead buy within 30 days? (sample)",
        )
        batch, ids, times, actual_ids, actuals = self._history(self.ml.clock())
        await self.ml.log_predictions_as(
            actor,
            name,
            version,
            batch,
            batch["predicted"].tolist(),
            ids,
            scores=batch["score"].tolist(),
            timestamps=times,
        )
        await self.ml.log_actuals_as(actor, name, version, actual_ids, actuals)
        return True

    @staticmethod
    def _history(
        now: float,
    ) -> tuple[pd.DataFrame, list[str], list[float], list[str], list[int]]:
        """Two weeks of scored leads, the last days drifting; the newest two days have no
        outcome yet (those leads have not decided)."""
        frames, ids, times, actual_ids, actuals = [], [], [], [], []
        for day in range(HISTORY_DAYS):
            shift = 0.12 if day >= DRIFT_FROM_DAY else 0.0
            batch = leads_table(90, seed=100 + day, shift=shift)
            day_ids = [f"lead-{day}-{i}" for i in range(len(batch))]
            start = now - (HISTORY_DAYS - 1 - day) * DAY - 5000
            frames.append(batch)
            ids += day_ids
            times += [start + 40 * i for i in range(len(batch))]
            if day < HISTORY_DAYS - 2:
                actual = batch["bought"].copy()
                if shift:  # the model misses more of the new web leads
                    flip = batch["lead_source"].eq("web") & (batch.index % 3 == 0)
                    actual[flip] = 1 - actual[flip]
                actual_ids += day_ids
                actuals += [int(a) for a in actual]
        return pd.concat(frames, ignore_index=True), ids, times, actual_ids, actuals


def _document_name(path: Path) -> str:
    name = json.loads(path.read_text(encoding="utf-8")).get("name")
    return str(name or path.stem)
