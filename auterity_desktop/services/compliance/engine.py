"""``ComplianceEngine``: checks workflows and settings against policies and reports on it.

Every check is stored (when it ran, on what, how many policies, which violations, a score),
so the report over a period is computed from real results, not estimated. The score of one
check is the share of applicable policies it passed; a period's score is the mean.
"""

from __future__ import annotations

import asyncio
import html
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from auterity_desktop.core.db import Database
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.service import BaseService
from auterity_desktop.services.compliance.audit_trail import (
    AuditFilter,
    AuditPage,
    AuditTrail,
    Progress,
    VerifyResult,
)
from auterity_desktop.services.compliance.models import ComplianceCheckRow, CompliancePolicyRow
from auterity_desktop.services.compliance.policies import (
    DEFAULT_POLICIES,
    Policy,
    Violation,
    evaluate,
    parse_policy,
)
from auterity_desktop.services.security.authorization import AuthorizationService, guarded
from auterity_desktop.services.security.principal import Principal

MAX_NODES = 10_000


@dataclass(frozen=True)
class PolicyState:
    policy: Policy
    builtin: bool
    enabled: bool


@dataclass(frozen=True)
class CheckResult:
    subject_type: str
    subject_id: str
    policies_checked: int
    violations: list[Violation]
    score: float
    checked_at: datetime

    @property
    def passed(self) -> bool:
        return not self.violations


@dataclass(frozen=True)
class ComplianceReport:
    start: datetime | None
    end: datetime | None
    checks: int
    violations: int
    score: float | None
    by_policy: dict[str, int]
    latest: list[CheckResult]


class ComplianceEngine(BaseService):
    name = "compliance"
    dependencies = ("database", "audit", "security")

    def __init__(
        self,
        database: Database,
        audit: AuditTrail,
        authz: AuthorizationService,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.database = database
        self.audit = audit
        self.authz = authz
        self.clock = clock

    async def initialize(self) -> None:
        async with self.database.session() as db:
            for policy in DEFAULT_POLICIES:
                row = await db.get(CompliancePolicyRow, policy.id)
                if row is None:
                    db.add(
                        CompliancePolicyRow(
                            id=policy.id, definition=policy.model_dump(), builtin=True, enabled=True
                        )
                    )
                else:
                    row.definition, row.builtin = policy.model_dump(), True

    # -- policies -----------------------------------------------------------------------
    async def policies(self) -> list[PolicyState]:
        async with self.database.session() as db:
            rows = (
                await db.execute(select(CompliancePolicyRow).order_by(CompliancePolicyRow.id))
            ).scalars()
            result = []
            for row in rows:
                try:
                    result.append(
                        PolicyState(parse_policy(row.definition), row.builtin, row.enabled)
                    )
                except ServiceError:  # a hand-edited row: skip it rather than fail every check
                    continue
            return result

    @guarded("settings", "write")
    async def save_policy(self, actor: Principal, definition: Any) -> Policy:
        try:
            policy = parse_policy(definition)
        except ServiceError as exc:
            await self.audit.record(
                actor.username,
                "compliance.policy_saved",
                "policies",
                "failure",
                {"reason": exc.message[:300]},
            )
            raise
        async with self.database.session() as db:
            row = await db.get(CompliancePolicyRow, policy.id)
            if row is not None and row.builtin:
                raise ServiceError(
                    ErrorCode.CONFLICT,
                    f"{policy.id} is built in; disable it or add a new one",
                    {"policy": policy.id},
                )
            if row is None:
                db.add(
                    CompliancePolicyRow(
                        id=policy.id, definition=policy.model_dump(), builtin=False, enabled=True
                    )
                )
            else:
                row.definition = policy.model_dump()
        await self.audit.record(
            actor.username,
            "compliance.policy_saved",
            f"policies/{policy.id}",
            "success",
            {"rule": policy.rule.kind},
        )
        return policy

    @guarded("settings", "write")
    async def set_enabled(self, actor: Principal, policy_id: str, enabled: bool) -> None:
        async with self.database.session() as db:
            row = await db.get(CompliancePolicyRow, policy_id)
            if row is None:
                raise ServiceError(
                    ErrorCode.NOT_FOUND, f"No policy {policy_id!r}", {"policy": policy_id}
                )
            row.enabled = enabled
        await self.audit.record(
            actor.username,
            "compliance.policy_enabled" if enabled else "compliance.policy_disabled",
            f"policies/{policy_id}",
            "success",
            {},
        )

    # -- the audit trail, guarded --------------------------------------------------------
    @guarded("audit", "read")
    async def audit_page(
        self, actor: Principal, flt: AuditFilter | None = None, **kwargs: Any
    ) -> AuditPage:
        return await self.audit.page(flt, **kwargs)

    @guarded("audit", "read")
    async def audit_values(self, actor: Principal, column: str) -> list[str]:
        return await self.audit.distinct_values(column)

    @guarded("audit", "read")
    async def verify_audit(
        self, actor: Principal, progress: Progress | None = None
    ) -> VerifyResult:
        """Verify the chain and record the outcome (a failed verify is itself evidence)."""
        result = await self.audit.verify(progress)
        await self.audit.record(
            actor.username,
            "audit.verified",
            "audit",
            "success" if result.ok else "failure",
            {
                "checked": result.checked,
                "first_bad_seq": result.first_bad_seq,
                "problem": result.problem,
            },
        )
        return result

    @guarded("audit", "read")
    async def export_audit(
        self, actor: Principal, path: Path, fmt: str, flt: AuditFilter | None = None
    ) -> int:
        count = await self.audit.export(path, fmt, flt)
        await self.audit.record(
            actor.username, "audit.exported", "audit", "success", {"entries": count, "format": fmt}
        )
        return count

    # -- checks -------------------------------------------------------------------------
    async def check(
        self, workflow: Any, *, subject_id: str | None = None, actor: str = "system"
    ) -> CheckResult:
        """Check a workflow document (``{name, nodes, edges, ...}``) against enabled policies."""
        if not isinstance(workflow, Mapping) or not isinstance(workflow.get("nodes", []), list):
            raise ServiceError(
                ErrorCode.INVALID_INPUT, "A workflow is an object with a list of nodes", {}
            )
        if len(workflow.get("nodes", [])) > MAX_NODES:
            raise ServiceError(ErrorCode.PAYLOAD_TOO_LARGE, f"More than {MAX_NODES} nodes", {})
        name = subject_id or str(workflow.get("id") or workflow.get("name") or "workflow")
        return await self._run("workflow", name, workflow, actor)

    async def check_settings(self, settings: Any, actor: str = "system") -> CheckResult:
        subject = settings.model_dump() if hasattr(settings, "model_dump") else dict(settings)
        return await self._run("settings", "settings", subject, actor)

    async def _run(
        self, subject_type: str, subject_id: str, subject: Mapping[str, Any], actor: str
    ) -> CheckResult:
        applicable = [
            s.policy
            for s in await self.policies()
            if s.enabled and s.policy.applies_to == subject_type
        ]
        violations: list[Violation] = []
        failed = set()
        for policy in applicable:
            found = evaluate(policy, subject)
            if found:
                failed.add(policy.id)
                violations.extend(found)
        score = 100.0 * (len(applicable) - len(failed)) / len(applicable) if applicable else 100.0
        now = datetime.fromtimestamp(self.clock(), UTC)
        async with self.database.session() as db:
            db.add(
                ComplianceCheckRow(
                    checked_at=now,
                    subject_type=subject_type,
                    subject_id=subject_id[:200],
                    policies_checked=len(applicable),
                    violations=[v.to_dict() for v in violations],
                    score=score,
                )
            )
        await self.audit.record(
            actor,
            "compliance.checked",
            "settings" if subject_type == "settings" else f"workflows/{subject_id}",
            "success" if not violations else "failure",
            {"policies": len(applicable), "violations": len(violations), "score": score},
        )
        return CheckResult(subject_type, subject_id, len(applicable), violations, score, now)

    @guarded("settings", "read")
    async def report_for(
        self, actor: Principal, start: datetime | None = None, end: datetime | None = None
    ) -> ComplianceReport:
        return await self.report(start, end)

    # -- reporting ----------------------------------------------------------------------
    async def report(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> ComplianceReport:
        query = select(ComplianceCheckRow).order_by(
            ComplianceCheckRow.checked_at.desc(), ComplianceCheckRow.id.desc()
        )
        if start is not None:
            query = query.where(ComplianceCheckRow.checked_at >= start)
        if end is not None:
            query = query.where(ComplianceCheckRow.checked_at < end)
        async with self.database.session() as db:
            rows = list((await db.execute(query)).scalars())
        by_policy: Counter[str] = Counter()
        latest: dict[tuple[str, str], CheckResult] = {}
        for row in rows:
            for v in row.violations:
                by_policy[str(v.get("policy_id"))] += 1
            key = (row.subject_type, row.subject_id)
            if key not in latest:
                checked_at = (
                    row.checked_at if row.checked_at.tzinfo else row.checked_at.replace(tzinfo=UTC)
                )
                latest[key] = CheckResult(
                    row.subject_type,
                    row.subject_id,
                    row.policies_checked,
                    [
                        Violation(
                            str(v["policy_id"]),
                            str(v["severity"]),
                            str(v["message"]),
                            None if v.get("node_id") is None else str(v.get("node_id")),
                        )
                        for v in row.violations
                    ],
                    row.score,
                    checked_at,
                )
        score = sum(r.score for r in rows) / len(rows) if rows else None
        return ComplianceReport(
            start,
            end,
            len(rows),
            sum(len(r.violations) for r in rows),
            score,
            dict(by_policy),
            list(latest.values()),
        )

    @guarded("settings", "read")
    async def export_report_html(
        self,
        actor: Principal,
        path: Path,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> ComplianceReport:
        report = await self.report(start, end)
        titles = {s.policy.id: s.policy.title for s in await self.policies()}
        try:
            await asyncio.to_thread(path.write_text, render_html(report, titles), encoding="utf-8")
        except OSError as exc:
            raise ServiceError(
                ErrorCode.INVALID_INPUT, f"Cannot write {path}: {exc.strerror}", {}
            ) from None
        return report


def render_html(report: ComplianceReport, titles: Mapping[str, str]) -> str:
    esc = html.escape
    period = " – ".join(d.strftime("%Y-%m-%d") if d else "…" for d in (report.start, report.end))
    score = "n/a" if report.score is None else f"{report.score:.1f}"
    policy_rows = (
        "".join(
            f"<tr><td>{esc(titles.get(pid, pid))}</td><td>{esc(pid)}</td><td>{count}</td></tr>"
            for pid, count in sorted(report.by_policy.items(), key=lambda kv: -kv[1])
        )
        or "<tr><td colspan=3>No violations.</td></tr>"
    )
    subject_rows = "".join(
        f"<tr><td>{esc(r.subject_type)}</td><td>{esc(r.subject_id)}</td>"
        f"<td>{r.checked_at:%Y-%m-%d %H:%M}</td><td>{r.score:.0f}</td>"
        f"<td>{'<br>'.join(esc(v.message) for v in r.violations) or 'passed'}</td></tr>"
        for r in report.latest
    )
    style = (
        "body{font-family:sans-serif;margin:2em;color:#1f2933}"
        "table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #d5dbe3;padding:4px 8px;text-align:left}th{background:#f1f3f6}"
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Compliance report</title><style>{style}</style></head>\n<body>"
        "<h1>Compliance report</h1>\n"
        f"<p>Period: {esc(period)} · Checks run: {report.checks} · "
        f"Violations: {report.violations} · Score: {score}</p>\n"
        "<h2>Violations by policy</h2><table><tr><th>Policy</th><th>Id</th><th>Violations</th>"
        f"</tr>{policy_rows}</table>\n<h2>Latest result per subject</h2>\n<table><tr>"
        "<th>Type</th><th>Subject</th><th>Checked</th><th>Score</th><th>Findings</th></tr>"
        f"{subject_rows}</table>\n</body></html>\n"
    )
