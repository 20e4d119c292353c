"""``WorkflowStore``: saved workflows with immutable versions, import and export.

Saving checks the document's shape only: an unfinished workflow can be saved (the editor
shows its problems) but not run. Every change is guarded and audited.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from auterity_desktop.core.db import Database
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.events import EventBus
from auterity_desktop.core.service import BaseService
from auterity_desktop.services.compliance.audit_trail import AuditTrail
from auterity_desktop.services.security.authorization import AuthorizationService, guarded
from auterity_desktop.services.security.principal import Principal
from auterity_desktop.services.workflows.document import (
    MAX_DOCUMENT_BYTES,
    WorkflowDocument,
    parse_document,
)
from auterity_desktop.services.workflows.models import WorkflowRow, WorkflowVersionRow

VERSION_CACHE_SIZE = 256  # parsed workflow versions kept in memory
CURRENT_VERSION_TTL = 1.0  # seconds a known current version is trusted


@dataclass(frozen=True)
class WorkflowSummary:
    id: str
    name: str
    description: str
    version: int
    updated_at: float
    created_by: str


@dataclass(frozen=True)
class SavedWorkflow:
    id: str
    version: int
    document: WorkflowDocument
    saved_at: float
    saved_by: str


class WorkflowStore(BaseService):
    name = "workflows"
    dependencies = ("database", "audit", "security")

    def __init__(
        self,
        database: Database,
        audit: AuditTrail,
        authz: AuthorizationService,
        events: EventBus | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.database = database
        self.audit = audit
        self.authz = authz
        self.events = events
        self.clock = clock
        self._versions: OrderedDict[tuple[str, int], SavedWorkflow] = OrderedDict()
        self._current: dict[str, tuple[int, float]] = {}  # id → (version, when learnt)

    def _publish(self, name: str, payload: dict[str, Any]) -> None:
        if self.events is not None:
            self.events.publish(name, payload, source="workflows")

    @guarded("workflows", "write")
    async def create(self, actor: Principal, document: Any) -> SavedWorkflow:
        doc = document if isinstance(document, WorkflowDocument) else parse_document(document)
        workflow_id = uuid.uuid4().hex
        now = self.clock()
        async with self.database.session() as db:
            db.add(
                WorkflowRow(
                    id=workflow_id,
                    name=doc.name,
                    description=doc.description,
                    current_version=1,
                    created_at=now,
                    updated_at=now,
                    created_by=actor.username,
                    deleted=False,
                )
            )
            await db.flush()
            db.add(
                WorkflowVersionRow(
                    workflow_id=workflow_id,
                    version=1,
                    document=doc.model_dump(mode="json"),
                    saved_at=now,
                    saved_by=actor.username,
                )
            )
        await self.audit.record(
            actor.username,
            "workflow.created",
            f"workflows/{workflow_id}",
            "success",
            {"name": doc.name, "nodes": len(doc.nodes)},
        )
        self._current[workflow_id] = (1, time.monotonic())
        self._publish("workflow_saved", {"workflow_id": workflow_id, "version": 1})
        return SavedWorkflow(workflow_id, 1, doc, now, actor.username)

    @guarded("workflows", "write")
    async def save(self, actor: Principal, workflow_id: str, document: Any) -> SavedWorkflow:
        """Save a new version (older versions are kept as they were)."""
        doc = document if isinstance(document, WorkflowDocument) else parse_document(document)
        now = self.clock()
        async with self.database.session() as db:
            row = await self._row(db, workflow_id)
            row.current_version += 1
            row.name, row.description, row.updated_at = doc.name, doc.description, now
            version = row.current_version
            db.add(
                WorkflowVersionRow(
                    workflow_id=workflow_id,
                    version=version,
                    document=doc.model_dump(mode="json"),
                    saved_at=now,
                    saved_by=actor.username,
                )
            )
        await self.audit.record(
            actor.username,
            "workflow.saved",
            f"workflows/{workflow_id}",
            "success",
            {"version": version, "nodes": len(doc.nodes)},
        )
        self._current[workflow_id] = (version, time.monotonic())
        self._publish("workflow_saved", {"workflow_id": workflow_id, "version": version})
        return SavedWorkflow(workflow_id, version, doc, now, actor.username)

    async def _row(self, db: Any, workflow_id: str) -> WorkflowRow:
        row = await db.get(WorkflowRow, workflow_id)
        if row is None or row.deleted:
            raise ServiceError(
                ErrorCode.NOT_FOUND,
                f"There is no workflow {workflow_id!r}",
                {"workflow_id": workflow_id},
            )
        return row  # type: ignore[no-any-return]

    @guarded("workflows", "read")
    async def get(
        self, actor: Principal, workflow_id: str, version: int | None = None
    ) -> SavedWorkflow:
        return await self.load(workflow_id, version)

    async def load(self, workflow_id: str, version: int | None = None) -> SavedWorkflow:
        """Unguarded read for the engine (the run itself was authorised).

        Versions never change, so parsed ones are cached. Which version is current is
        remembered for a second: saves in this process update it at once, a save in another
        console is seen within that second, and starting a run needs no database read."""
        now = time.monotonic()
        current = self._current.get(workflow_id)
        if version is None and current is not None and now - current[1] < CURRENT_VERSION_TTL:
            version = current[0]
        if version is not None and (cached := self._versions.get((workflow_id, version))):
            self._versions.move_to_end((workflow_id, version))
            return cached
        async with self.database.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(WorkflowRow.current_version, WorkflowRow.deleted).where(
                        WorkflowRow.id == workflow_id
                    )
                )
            ).first()
            if row is None or row.deleted:
                raise ServiceError(
                    ErrorCode.NOT_FOUND,
                    f"There is no workflow {workflow_id!r}",
                    {"workflow_id": workflow_id},
                )
            wanted = version if version is not None else row.current_version
            if version is None:
                self._current[workflow_id] = (wanted, now)
            cached = self._versions.get((workflow_id, wanted))
            if cached is not None:
                self._versions.move_to_end((workflow_id, wanted))
                return cached
            saved = (
                await conn.execute(
                    select(WorkflowVersionRow).where(
                        WorkflowVersionRow.workflow_id == workflow_id,
                        WorkflowVersionRow.version == wanted,
                    )
                )
            ).first()
        if saved is None:
            raise ServiceError(
                ErrorCode.NOT_FOUND,
                f"Workflow {workflow_id!r} has no version {wanted}",
                {"workflow_id": workflow_id, "version": wanted},
            )
        result = SavedWorkflow(
            workflow_id, wanted, parse_document(saved.document), saved.saved_at, saved.saved_by
        )
        self._versions[(workflow_id, wanted)] = result
        if len(self._versions) > VERSION_CACHE_SIZE:
            self._versions.popitem(last=False)
        return result

    @guarded("workflows", "read")
    async def list_workflows(
        self, actor: Principal, search: str | None = None
    ) -> list[WorkflowSummary]:
        query = (
            select(WorkflowRow)
            .where(WorkflowRow.deleted.is_(False))
            .order_by(func.lower(WorkflowRow.name))
        )
        if search:
            query = query.where(WorkflowRow.name.ilike(f"%{search.strip()}%"))
        async with self.database.session() as db:
            rows = (await db.execute(query)).scalars()
            return [
                WorkflowSummary(
                    r.id, r.name, r.description, r.current_version, r.updated_at, r.created_by
                )
                for r in rows
            ]

    @guarded("workflows", "read")
    async def versions(self, actor: Principal, workflow_id: str) -> list[tuple[int, float, str]]:
        async with self.database.session() as db:
            await self._row(db, workflow_id)
            rows = await db.execute(
                select(
                    WorkflowVersionRow.version,
                    WorkflowVersionRow.saved_at,
                    WorkflowVersionRow.saved_by,
                )
                .where(WorkflowVersionRow.workflow_id == workflow_id)
                .order_by(WorkflowVersionRow.version)
            )
            return [(int(v), float(t), str(b)) for v, t, b in rows]

    @guarded("workflows", "delete")
    async def delete(self, actor: Principal, workflow_id: str) -> None:
        """Hide the workflow; its versions stay so past runs remain explainable."""
        async with self.database.session() as db:
            row = await self._row(db, workflow_id)
            row.deleted = True
            name = row.name
        await self.audit.record(
            actor.username,
            "workflow.deleted",
            f"workflows/{workflow_id}",
            "success",
            {"name": name},
        )
        self._current.pop(workflow_id, None)
        for key in [k for k in self._versions if k[0] == workflow_id]:
            del self._versions[key]
        self._publish("workflow_deleted", {"workflow_id": workflow_id})

    @guarded("workflows", "write")
    async def duplicate(self, actor: Principal, workflow_id: str) -> SavedWorkflow:
        original = await self.load(workflow_id)
        copy = original.document.model_copy(
            update={"name": f"{original.document.name} (copy)"[:200]}
        )
        return await self.create(actor, copy)

    async def import_file(self, actor: Principal, path: Path) -> SavedWorkflow:
        try:
            size = (await asyncio.to_thread(path.stat)).st_size
            if size > MAX_DOCUMENT_BYTES:
                raise ServiceError(
                    ErrorCode.PAYLOAD_TOO_LARGE,
                    f"{path.name} is larger than 10 MB",
                    {"bytes": size},
                )
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise ServiceError(
                ErrorCode.INVALID_INPUT, f"Cannot read {path}: {exc.strerror}", {}
            ) from None
        return await self.create(actor, data)

    async def export_file(
        self, actor: Principal, workflow_id: str, path: Path, version: int | None = None
    ) -> None:
        saved = await self.get(actor, workflow_id, version)
        try:
            await asyncio.to_thread(
                path.write_text, saved.document.to_json() + "\n", encoding="utf-8"
            )
        except OSError as exc:
            raise ServiceError(
                ErrorCode.INVALID_INPUT, f"Cannot write {path}: {exc.strerror}", {}
            ) from None
