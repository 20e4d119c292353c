"""``/api/v1/workflows`` and ``/api/v1/runs``: the workflow engine over REST.

Every call goes to the same guarded service methods the GUI uses, with the caller's
principal, so permissions and audit are the GUI's own.

The status of a finished run never changes until someone resumes it, so it is kept in a
small cache that run events clear: a client polling many runs does not cost a database
read per poll.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from auterity_desktop.api.schemas import (
    ApproveRun,
    Deleted,
    ExecuteWorkflow,
    RunOutcome,
    RunStarted,
    RunStatus,
    WorkflowCreated,
    WorkflowList,
    WorkflowListQuery,
    WorkflowOut,
)
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.gateway.http import ApiRequest, ApiResponse, dumps
from auterity_desktop.services.gateway.operations import Controller, Operation
from auterity_desktop.services.workflows.document import WorkflowDocument
from auterity_desktop.services.workflows.models import RunRow
from auterity_desktop.services.workflows.run_state import RUN_FINAL

if TYPE_CHECKING:
    from auterity_desktop.platform import Platform

CACHE_SIZE = 10_000
_STATUS_COLUMNS = (
    RunRow.id, RunRow.workflow_id, RunRow.status, RunRow.progress, RunRow.result,
    RunRow.error, RunRow.created_at, RunRow.started_at, RunRow.finished_at,
)  # fmt: skip


def _principal(request: ApiRequest) -> Any:
    assert request.principal is not None  # the gateway authenticated the operation
    return request.principal


class RunStatusCache:
    """Status bodies of finished runs, already encoded (a poll then costs a dict lookup)."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self._final: OrderedDict[str, bytes] = OrderedDict()
        for name in ("run_started", "run_finished"):
            platform.events.subscribe(name, self._forget)

    def _forget(self, event: Any) -> None:
        self.forget(str(event.payload.get("run_id")))

    def forget(self, run_id: str) -> None:
        self._final.pop(run_id, None)

    async def status(self, run_id: str) -> bytes | None:
        cached = self._final.get(run_id)
        if cached is not None:
            return cached
        async with self.platform.database.engine.connect() as conn:
            row = (await conn.execute(select(*_STATUS_COLUMNS).where(RunRow.id == run_id))).first()
            if row is None:  # a workflow id: its latest run
                row = (
                    await conn.execute(
                        select(*_STATUS_COLUMNS)
                        .where(RunRow.workflow_id == run_id)
                        .order_by(RunRow.created_at.desc())
                        .limit(1)
                    )
                ).first()
                if row is None:
                    return None
                return dumps(self._body(row))
        encoded = dumps(self._body(row))
        if row.status in RUN_FINAL:
            self._final[run_id] = encoded
            if len(self._final) > CACHE_SIZE:
                self._final.popitem(last=False)
        return encoded

    @staticmethod
    def _body(row: Any) -> dict[str, Any]:
        return {
            "run_id": row.id, "workflow_id": row.workflow_id, "status": row.status,
            "progress": row.progress or 0.0, "results": row.result or {}, "error": row.error,
            "created_at": row.created_at, "started_at": row.started_at,
            "finished_at": row.finished_at,
        }  # fmt: skip


def _saved(saved: Any) -> dict[str, Any]:
    return {
        "workflow_id": saved.id, "version": saved.version, "saved_at": saved.saved_at,
        "saved_by": saved.saved_by, "document": saved.document.model_dump(mode="json"),
    }  # fmt: skip


def workflows_controller(platform: Platform, statuses: RunStatusCache) -> Controller:
    store, engine, security = platform.workflows, platform.engine, platform.security

    async def create(request: ApiRequest, body: WorkflowDocument) -> ApiResponse:
        saved = await store.create(_principal(request), body.model_dump(mode="json"))
        return ApiResponse.json(
            {"workflow_id": saved.id, "version": saved.version, "name": saved.document.name},
            201,
        )

    async def execute(request: ApiRequest, body: ExecuteWorkflow) -> ApiResponse:
        run_id = await engine.execute_workflow(
            _principal(request), body.workflow_id, body.parameters
        )
        return ApiResponse.json(
            {"run_id": run_id, "workflow_id": body.workflow_id, "status": "running"}, 202
        )

    async def status(request: ApiRequest) -> ApiResponse:
        await security.authorize(_principal(request), "runs", "read")
        run_id = request.path_params["id"]
        body = await statuses.status(run_id)
        if body is None:
            raise ServiceError(
                ErrorCode.NOT_FOUND,
                "No run or workflow with this id has run",
                {"id": run_id[:100]},
            )
        return ApiResponse(200, body)

    async def listing(request: ApiRequest, query: WorkflowListQuery) -> ApiResponse:
        items = await store.list_workflows(_principal(request), query.search)
        return ApiResponse.json(
            {
                "items": [
                    {"workflow_id": w.id, "name": w.name, "description": w.description,
                     "version": w.version, "updated_at": w.updated_at,
                     "created_by": w.created_by}
                    for w in items
                ]
            }
        )  # fmt: skip

    async def get(request: ApiRequest) -> ApiResponse:
        return ApiResponse.json(
            _saved(await store.get(_principal(request), request.path_params["id"]))
        )

    async def update(request: ApiRequest, body: WorkflowDocument) -> ApiResponse:
        saved = await store.save(
            _principal(request), request.path_params["id"], body.model_dump(mode="json")
        )
        return ApiResponse.json(_saved(saved))

    async def delete(request: ApiRequest) -> ApiResponse:
        workflow_id = request.path_params["id"]
        await store.delete(_principal(request), workflow_id)
        return ApiResponse.json({"workflow_id": workflow_id, "deleted": True})

    tags = ("workflows",)
    return Controller(
        [
            Operation("POST", "/create", create, "Create a workflow", "createWorkflow",
                      body=WorkflowDocument, response=WorkflowCreated, status=201, tags=tags),
            Operation("POST", "/execute", execute, "Start a run of a workflow",
                      "executeWorkflow", body=ExecuteWorkflow, response=RunStarted,
                      status=202, tags=tags),
            Operation("GET", "/{id}/status", status,
                      "Status of a run (or of a workflow's latest run)", "workflowStatus",
                      response=RunStatus, tags=tags),
            Operation("GET", "", listing, "List workflows", "listWorkflows",
                      query=WorkflowListQuery, response=WorkflowList, tags=tags),
            Operation("GET", "/{id}", get, "Get a workflow's current version", "getWorkflow",
                      response=WorkflowOut, tags=tags),
            Operation("PUT", "/{id}", update, "Save a new version of a workflow",
                      "updateWorkflow", body=WorkflowDocument, response=WorkflowOut,
                      tags=tags),
            Operation("DELETE", "/{id}", delete, "Delete a workflow", "deleteWorkflow",
                      response=Deleted, tags=tags),
        ],
        "workflows",
    )  # fmt: skip


def runs_controller(platform: Platform, statuses: RunStatusCache) -> Controller:
    engine = platform.engine

    async def cancel(request: ApiRequest) -> ApiResponse:
        run_id = request.path_params["run_id"]
        outcome = await engine.cancel(_principal(request), run_id)
        statuses.forget(run_id)
        return ApiResponse.json({"run_id": run_id, "outcome": outcome})

    async def resume(request: ApiRequest) -> ApiResponse:
        run_id = request.path_params["run_id"]
        await engine.resume(_principal(request), run_id)
        statuses.forget(run_id)
        return ApiResponse.json({"run_id": run_id, "outcome": "resumed"})

    async def approve(request: ApiRequest, body: ApproveRun) -> ApiResponse:
        run_id = request.path_params["run_id"]
        await engine.approve(
            _principal(request), run_id, body.node_id, approved=body.approved,
            comment=body.comment,
        )  # fmt: skip
        statuses.forget(run_id)
        return ApiResponse.json(
            {"run_id": run_id, "outcome": "approved" if body.approved else "rejected"}
        )

    tags = ("runs",)
    return Controller(
        [
            Operation("POST", "/{run_id}/cancel", cancel, "Cancel a run", "cancelRun",
                      response=RunOutcome, tags=tags),
            Operation("POST", "/{run_id}/resume", resume,
                      "Resume a failed or interrupted run", "resumeRun",
                      response=RunOutcome, tags=tags),
            Operation("POST", "/{run_id}/approve", approve,
                      "Approve or reject a run's pending approval", "approveRun",
                      body=ApproveRun, response=RunOutcome, tags=tags),
        ],
        "runs",
    )  # fmt: skip
