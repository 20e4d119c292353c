from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.compliance.engine import ComplianceEngine
from auterity_desktop.services.compliance.policies import DEFAULT_POLICIES, parse_policy
from tests.services.conftest import Stack

LEAD_FOLLOW_UP = {
    "name": "Lead follow-up",
    "personal_fields": ["customer.email", "customer.phone"],
    "nodes": [
        {"id": "n1", "type": "manual_trigger", "name": "New lead", "params": {}},
        {
            "id": "n2",
            "type": "http_request",
            "name": "CRM lookup",
            "params": {
                "url": "http://crm.local/api/leads",
                "headers": {"Authorization": "Bearer abc123"},
            },
        },
        {
            "id": "n3",
            "type": "http_request",
            "name": "Partner push",
            "params": {
                "url": "https://partner.example/api",
                "body": {"email": "{{ $input.customer.email }}"},
            },
        },
        {
            "id": "n4",
            "type": "send_email",
            "name": "Notify",
            "params": {
                "to": "sales@dealer.example",
                "password": "hunter2hunter2",
                "text": "{{ $input }}",
            },
        },
        {
            "id": "n5",
            "type": "http_request",
            "name": "Safe call",
            "params": {
                "url": "https://api.example",
                "api_key": "keyring:dms-api",
                "body": {"vehicle": "{{ $input.vin }}"},
            },
        },
    ],
    "edges": [
        {"id": "e1", "source": "n1", "target": "n2"},
        {"id": "e2", "source": "n2", "target": "n3"},
        {"id": "e3", "source": "n2", "target": "n4"},
        {"id": "e4", "source": "n1", "target": "n5"},
    ],
}


@pytest.fixture
async def engine(stack: Stack) -> AsyncIterator[ComplianceEngine]:
    engine = ComplianceEngine(stack.database, stack.audit, stack.security.authz, clock=stack.clock)
    await engine.initialize()
    return engine


async def test_check_finds_every_violation_with_node_ids(engine: ComplianceEngine) -> None:
    result = await engine.check(LEAD_FOLLOW_UP, subject_id="wf-lead")
    found = sorted((v.policy_id, v.node_id) for v in result.violations)
    assert found == [
        ("https-only", "n2"),
        ("no-personal-data-egress", "n3"),
        ("no-personal-data-egress", "n4"),
        ("secrets-by-reference", "n2"),
        ("secrets-by-reference", "n4"),
    ]
    assert result.policies_checked == 3
    assert result.score == 0.0
    clean = {"name": "ok", "nodes": [LEAD_FOLLOW_UP["nodes"][4]], "edges": []}
    assert (await engine.check(clean)).score == 100.0


async def test_settings_policy(engine: ComplianceEngine) -> None:
    result = await engine.check_settings({"audit_log_retention": 7})
    assert [v.policy_id for v in result.violations] == ["audit-retention"]
    assert (await engine.check_settings({"audit_log_retention": 90})).passed


async def test_report_is_computed_from_stored_results(
    engine: ComplianceEngine, stack: Stack, tmp_path: Path
) -> None:
    await engine.check(LEAD_FOLLOW_UP, subject_id="wf-lead")
    stack.clock.now += 60
    await engine.check({"name": "ok", "nodes": [], "edges": []}, subject_id="wf-empty")
    await engine.check_settings({"audit_log_retention": 90})
    report = await engine.report()
    assert report.checks == 3
    assert report.violations == 5
    assert report.score == pytest.approx((0 + 100 + 100) / 3)
    assert report.by_policy == {
        "https-only": 1,
        "secrets-by-reference": 2,
        "no-personal-data-egress": 2,
    }
    path = tmp_path / "report.html"
    await engine.export_report_html(await stack.admin(), path)
    page = path.read_text()
    assert "Checks run: 3" in page
    assert "External HTTP calls use HTTPS" in page
    assert "wf-lead" in page
    assert "<script" not in page


async def test_custom_policies_and_malformed_ones(engine: ComplianceEngine, stack: Stack) -> None:
    admin = await stack.admin()
    await engine.save_policy(
        admin,
        {
            "id": "long-retention",
            "title": "PCI retention",
            "severity": "high",
            "applies_to": "settings",
            "rule": {"kind": "min_audit_retention", "min_days": 365},
        },
    )
    result = await engine.check_settings({"audit_log_retention": 90})
    assert [v.policy_id for v in result.violations] == ["long-retention"]
    await engine.set_enabled(admin, "long-retention", False)
    assert (await engine.check_settings({"audit_log_retention": 90})).passed
    for bad in (
        {"id": "x"},
        {"id": "ok-id", "title": "t t", "rule": {"kind": "teleport"}},
        "{not json",
        {"id": "ok-id", "title": "fine", "rule": {"kind": "require_https"}, "extra": 1},
    ):
        with pytest.raises(ServiceError) as info:
            await engine.save_policy(admin, bad)
        assert info.value.code is ErrorCode.VALIDATION_ERROR
    with pytest.raises(ServiceError) as info:
        await engine.save_policy(admin, DEFAULT_POLICIES[0].model_dump())
    assert info.value.code is ErrorCode.CONFLICT
    viewer = await stack.user("vera", "viewer")
    with pytest.raises(ServiceError) as info:
        await engine.set_enabled(viewer, "https-only", False)
    assert info.value.code is ErrorCode.UNAUTHORIZED


async def test_bad_workflow_input(engine: ComplianceEngine) -> None:
    for bad in (None, [], "workflow", {"nodes": "many"}):
        with pytest.raises(ServiceError) as info:
            await engine.check(bad)
        assert info.value.code is ErrorCode.INVALID_INPUT
    with pytest.raises(ServiceError) as info:
        await engine.check({"nodes": [{}] * 10_001})
    assert info.value.code is ErrorCode.PAYLOAD_TOO_LARGE
    odd = {"nodes": [1, None, {"id": "a", "params": "not a dict?"}], "edges": [None, 5]}
    result = await engine.check(odd)
    assert result.policies_checked == 3


def test_default_policies_parse() -> None:
    assert [p.id for p in DEFAULT_POLICIES] == [
        "https-only",
        "secrets-by-reference",
        "no-personal-data-egress",
        "audit-retention",
    ]
    assert parse_policy(DEFAULT_POLICIES[0].model_dump_json()) == DEFAULT_POLICIES[0]


async def test_audit_reads_are_guarded_and_verify_is_recorded(
    engine: ComplianceEngine, stack: Stack, tmp_path: Path
) -> None:
    admin = await stack.admin()
    viewer = await stack.user("vera", "viewer")
    analyst = await stack.user("anna", "analyst")
    for call in (
        engine.audit_page(viewer),
        engine.verify_audit(viewer),
        engine.export_audit(viewer, tmp_path / "x.jsonl", "jsonl"),
        engine.audit_values(viewer, "actor"),
    ):
        with pytest.raises(ServiceError) as info:
            await call
        assert info.value.code is ErrorCode.UNAUTHORIZED
    page = await engine.audit_page(analyst)
    assert page.entries
    result = await engine.verify_audit(analyst)
    assert result.ok
    assert await engine.export_audit(admin, tmp_path / "a.jsonl", "jsonl") > 0
    actions = [(e.action, e.actor, e.outcome) for e in (await stack.audit.page(limit=3)).entries]
    assert actions[0] == ("audit.exported", "alice", "success")
    assert actions[1] == ("audit.verified", "anna", "success")
    with pytest.raises(ServiceError):
        await engine.save_policy(admin, "{broken")
    latest = (await stack.audit.page(limit=1)).entries[0]
    assert (latest.action, latest.outcome) == ("compliance.policy_saved", "failure")
