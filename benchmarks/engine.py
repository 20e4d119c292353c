"""Workflow engine throughput on SQLite with durable per-node state.

(a) A 10,000-node DAG of no-op nodes (a trigger fanning out to 50 chains of 200 nodes), run
    once; next to it, the same durable work done directly with SQLAlchemy Core in the same
    run: insert one state row per node, then two single-row updates per node (running,
    finished), each committed. Target: engine / baseline ≤ 3.
(b) A 3-node workflow (trigger → set fields → log) executed many times concurrently:
    executions per second. Target ≥ 500/s.

    python benchmarks/engine.py [--chains 50] [--length 200] [--executions 500]
"""

from __future__ import annotations

import _unshadow  # noqa: F401 - must come first, see its docstring

# isort: split

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import func, insert, select, update

from auterity_desktop.core.db import Database
from auterity_desktop.core.events import EventBus
from auterity_desktop.core.secret_store import SecretStore
from auterity_desktop.services.compliance.audit_trail import AuditTrail
from auterity_desktop.services.security.passwords import PasswordHasher
from auterity_desktop.services.security.permissions import ALL
from auterity_desktop.services.security.principal import Principal
from auterity_desktop.services.security.service import SecurityService
from auterity_desktop.services.workflows.builtin_nodes import builtin_registry
from auterity_desktop.services.workflows.engine import WorkflowEngine
from auterity_desktop.services.workflows.models import NodeRunRow, RunRow, WorkflowRow
from auterity_desktop.services.workflows.store import WorkflowStore

ACTOR = Principal(None, "benchmark", "admin", ALL)


def big_dag(chains: int, length: int) -> dict:
    nodes = [{"id": "t", "type": "manual_trigger", "name": "t"}]
    edges = []
    for c in range(chains):
        previous = "t"
        for i in range(length - 1 if c == 0 else length):  # the trigger counts as a node
            node_id = f"c{c}n{i}"
            nodes.append({"id": node_id, "type": "log", "name": node_id})
            edges.append({"id": f"e{c}_{i}", "source": previous, "target": node_id})
            previous = node_id
    return {"name": "big", "nodes": nodes, "edges": edges}


SMALL = {
    "name": "small",
    "nodes": [
        {"id": "t", "type": "manual_trigger", "name": "Trigger"},
        {"id": "s", "type": "set_fields", "name": "Set", "params": {"fields": {"ok": True}}},
        {"id": "o", "type": "log", "name": "Output"},
    ],
    "edges": [
        {"id": "e1", "source": "t", "target": "s"},
        {"id": "e2", "source": "s", "target": "o"},
    ],
}


async def baseline(database: Database, workflow_id: str, count: int) -> float:
    run_id = uuid.uuid4().hex
    started = time.perf_counter()
    async with database.engine.begin() as conn:
        await conn.execute(
            insert(RunRow).values(
                id=run_id,
                workflow_id=workflow_id,
                version=1,
                status="running",
                params={},
                progress=0,
                created_by="x",
                created_at=0,
            )
        )
        await conn.execute(
            insert(NodeRunRow),
            [
                {"run_id": run_id, "node_id": f"n{i}", "status": "pending", "attempt": 0}
                for i in range(count)
            ],
        )
    for i in range(count):
        for status in ("running", "succeeded"):
            async with database.engine.begin() as conn:
                await conn.execute(
                    update(NodeRunRow)
                    .where(NodeRunRow.run_id == run_id, NodeRunRow.node_id == f"n{i}")
                    .values(status=status, attempt=1, started_at=time.time())
                )
    return time.perf_counter() - started


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite:///{Path(folder) / 'engine.db'}")
        await database.initialize()
        events = EventBus()
        audit = AuditTrail(database, events)
        security = SecurityService(
            database, audit, events, SecretStore(), hasher=PasswordHasher(1024, 1)
        )
        store = WorkflowStore(database, audit, security.authz, events)
        engine = WorkflowEngine(
            database, store, builtin_registry(), audit, security.authz, events, workers=4
        )
        await engine.initialize()
        try:
            big = await store.create(ACTOR, big_dag(args.chains, args.length))
            nodes = args.chains * args.length
            started = time.perf_counter()
            run_id = await engine.execute_workflow(ACTOR, big.id, {})
            status = await engine.wait(run_id)
            engine_s = time.perf_counter() - started
            assert status["status"] == "succeeded", status["error"]
            async with database.session() as db:
                workflow_id = (await db.get(WorkflowRow, big.id)).id  # type: ignore[union-attr]
            base_s = await baseline(database, workflow_id, nodes)
            ratio = engine_s / base_s
            verdict = "OK" if ratio <= 3 else "TOO SLOW"
            print(f"(a) {nodes:,}-node DAG: engine {engine_s:.2f} s")
            print(f"    SQLAlchemy Core baseline {base_s:.2f} s")
            print(f"    ratio {ratio:.2f} (target ≤ 3): {verdict}")

            small = await store.create(ACTOR, SMALL)
            started = time.perf_counter()
            run_ids = await asyncio.gather(
                *(
                    engine.execute_workflow(ACTOR, small.id, {"i": i})
                    for i in range(args.executions)
                )
            )
            await asyncio.gather(*(engine.settled(r) for r in run_ids))
            async with database.engine.connect() as conn:
                succeeded = (
                    await conn.execute(
                        select(func.count()).where(
                            RunRow.workflow_id == small.id, RunRow.status == "succeeded"
                        )
                    )
                ).scalar()
            elapsed = time.perf_counter() - started
            assert succeeded == args.executions, f"only {succeeded} succeeded"
            rate = args.executions / elapsed
            print(f"(b) 3-node workflow: {args.executions} executions in {elapsed:.2f} s")
            print(f"    = {rate:,.0f} executions/s")
            print(f"    target ≥ 500/s: {'OK' if rate >= 500 else 'TOO SLOW'}")
        finally:
            await engine.cleanup()
            await events.close()
            await database.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chains", type=int, default=50)
    parser.add_argument("--length", type=int, default=200)
    parser.add_argument("--executions", type=int, default=500)
    asyncio.run(main(parser.parse_args()))
