from __future__ import annotations

from pathlib import Path

import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.workflows.store import WorkflowStore
from tests.services.conftest import Stack
from tests.services.workflows.test_document_and_validation import GOOD


@pytest.fixture
async def store(stack: Stack) -> WorkflowStore:
    return WorkflowStore(
        stack.database, stack.audit, stack.security.authz, stack.events, clock=stack.clock
    )


async def test_versions_are_immutable_and_listed(store: WorkflowStore, stack: Stack) -> None:
    admin = await stack.admin()
    saved = await store.create(admin, GOOD)
    assert saved.version == 1
    changed = dict(GOOD, description="Answer within 5 minutes")
    stack.clock.now += 10
    again = await store.save(admin, saved.id, changed)
    assert again.version == 2
    assert (await store.get(admin, saved.id)).document.description == "Answer within 5 minutes"
    assert (await store.get(admin, saved.id, 1)).document.description == GOOD["description"]
    assert [v for v, _, _ in await store.versions(admin, saved.id)] == [1, 2]
    summaries = await store.list_workflows(admin)
    assert [(s.name, s.version) for s in summaries] == [("Lead follow-up", 2)]
    copy = await store.duplicate(admin, saved.id)
    assert copy.document.name == "Lead follow-up (copy)"
    assert len(await store.list_workflows(admin, search="copy")) == 1
    await store.delete(admin, copy.id)
    with pytest.raises(ServiceError) as info:
        await store.get(admin, copy.id)
    assert info.value.code is ErrorCode.NOT_FOUND
    actions = [e.action for e in (await stack.audit.page(limit=5)).entries]
    assert actions[:4] == [
        "workflow.deleted",
        "workflow.created",
        "workflow.saved",
        "workflow.created",
    ]


async def test_import_export_and_bad_files(
    store: WorkflowStore, stack: Stack, tmp_path: Path
) -> None:
    admin = await stack.admin()
    saved = await store.create(admin, GOOD)
    path = tmp_path / "lead.json"
    await store.export_file(admin, saved.id, path)
    imported = await store.import_file(admin, path)
    assert imported.document == saved.document
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    with pytest.raises(ServiceError) as info:
        await store.import_file(admin, bad)
    assert info.value.code is ErrorCode.INVALID_INPUT
    huge = tmp_path / "huge.json"
    huge.write_bytes(b" " * (10 * 1024 * 1024 + 1))
    with pytest.raises(ServiceError) as info:
        await store.import_file(admin, huge)
    assert info.value.code is ErrorCode.PAYLOAD_TOO_LARGE
    with pytest.raises(ServiceError):
        await store.import_file(admin, tmp_path / "missing.json")


async def test_roles_are_enforced(store: WorkflowStore, stack: Stack) -> None:
    viewer = await stack.user("vera", "viewer")
    operator = await stack.user("otto", "operator")
    saved = await store.create(operator, GOOD)
    assert (await store.get(viewer, saved.id)).version == 1
    for call in (
        store.create(viewer, GOOD),
        store.save(viewer, saved.id, GOOD),
        store.delete(viewer, saved.id),
    ):
        with pytest.raises(ServiceError) as info:
            await call
        assert info.value.code is ErrorCode.UNAUTHORIZED
