"""Request and response bodies of the REST API, as pydantic models.

They validate what comes in and describe what goes out in the OpenAPI document; field
names follow the platform's documented API (``workflow_id``, ``timeRange``, ``groupBy``…).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ID = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- errors ----------------------------------------------------------------------------
class ErrorObject(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


class ErrorBody(BaseModel):
    error: ErrorObject


# -- workflows -------------------------------------------------------------------------
class ExecuteWorkflow(Strict):
    workflow_id: str = ID
    parameters: dict[str, Any] = Field(default_factory=dict)


class WorkflowCreated(BaseModel):
    workflow_id: str
    version: int
    name: str


class WorkflowSummary(BaseModel):
    workflow_id: str
    name: str
    description: str
    version: int
    updated_at: float
    created_by: str


class WorkflowList(BaseModel):
    items: list[WorkflowSummary]


class WorkflowListQuery(Strict):
    search: str | None = Field(default=None, max_length=200)


class WorkflowOut(BaseModel):
    workflow_id: str
    version: int
    saved_at: float
    saved_by: str
    document: dict[str, Any]


class Deleted(BaseModel):
    workflow_id: str
    deleted: bool


# -- runs ------------------------------------------------------------------------------
class RunStarted(BaseModel):
    run_id: str
    workflow_id: str
    status: str


class RunStatus(BaseModel):
    """``{status, progress, results}`` as documented, plus what a client needs next."""

    run_id: str
    workflow_id: str
    status: str
    progress: float
    results: dict[str, Any]
    error: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None


class RunOutcome(BaseModel):
    run_id: str
    outcome: str


class ApproveRun(Strict):
    node_id: str | None = Field(default=None, min_length=1, max_length=100)
    approved: bool = True
    comment: str = Field(default="", max_length=10_000)


# -- analytics -------------------------------------------------------------------------
class MetricsQuery(Strict):
    timeRange: str = Field(default="1h", pattern=r"^[1-9][0-9]{0,5}[smhdw]$")
    metrics: list[str] = Field(default_factory=list, max_length=50)
    aggregation: Literal["avg", "min", "max", "sum", "last", "count"] = "avg"


class MetricSeries(BaseModel):
    name: str
    labels: dict[str, str]
    value: float | None  # the aggregation over the whole range
    points: list[tuple[float, float | None]]


class MetricsOut(BaseModel):
    timeRange: str
    aggregation: str
    start: float
    end: float
    metrics: list[MetricSeries]


class CustomReport(Strict):
    title: str | None = Field(default=None, max_length=200)
    dataset: Literal["runs", "metrics"] = "runs"
    metrics: list[str | dict[str, Any]] = Field(min_length=1, max_length=50)
    filters: dict[str, Any] | list[dict[str, Any]] = Field(default_factory=dict)
    groupBy: list[str] = Field(default_factory=list, max_length=5)


class ReportOut(BaseModel):
    title: str
    groupBy: list[str]
    columns: list[str]
    rows: list[dict[str, Any]]
    totals: dict[str, Any]
    source_rows: int
    matched_rows: int
    notes: list[str]


# -- security --------------------------------------------------------------------------
class Login(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class SessionOut(BaseModel):
    token: str
    expires_at: float
    username: str
    role: str


class Authorize(Strict):
    user_id: (
        Annotated[str, Field(min_length=1, max_length=64)]
        | Annotated[int, Field(ge=1, le=2**63 - 1)]
    )
    resource: str = Field(min_length=1, max_length=100)
    action: str = Field(min_length=1, max_length=100)


class AuthorizeOut(BaseModel):
    allowed: bool
    user_id: str | int
    username: str
    role: str
    resource: str
    action: str


class AuditQuery(Strict):
    startDate: datetime | None = None
    endDate: datetime | None = None
    type: str | None = Field(default=None, max_length=100)
    limit: int = Field(default=100, ge=1, le=1000)
    cursor: str | None = Field(default=None, pattern=r"^[0-9]{1,18}$")


class AuditEntryOut(BaseModel):
    seq: int
    time: str
    actor: str
    action: str
    resource: str
    outcome: str
    details: dict[str, Any]
    hash: str


class AuditPageOut(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None


# -- webhooks and system ---------------------------------------------------------------
class WebhookAccepted(BaseModel):
    integration: str
    run_ids: list[str]


class Health(BaseModel):
    status: Literal["ok", "degraded", "down", "stopped"]
    version: str
    services: dict[str, str]
