"""``auterity workflow validate|import|export|run`` and
``auterity run list|status|resume|cancel|approve``.

The command line acts as ``cli:<os user>`` with full rights (whoever can run it can open the
database anyway); every action is audited under that name.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from auterity_desktop.cli.local_actor import local_actor
from auterity_desktop.core.errors import ErrorCode, ServiceError

TERMINAL = ("succeeded", "failed", "cancelled")


def register(commands: Any) -> None:
    workflow = commands.add_parser("workflow", help="validate, import, export and run workflows")
    actions = workflow.add_subparsers(dest="workflow_command", metavar="ACTION", required=True)
    validate = actions.add_parser("validate", help="report every problem of a workflow file")
    validate.add_argument("file", type=Path)
    validate.set_defaults(handler=run_validate)
    imp = actions.add_parser("import", help="save a workflow file as a new workflow")
    imp.add_argument("file", type=Path)
    imp.set_defaults(handler=run_import)
    exp = actions.add_parser("export", help="write a saved workflow to a JSON file")
    exp.add_argument("workflow_id")
    exp.add_argument("file", type=Path)
    exp.add_argument("--version", type=int)
    exp.set_defaults(handler=run_export)
    execute = actions.add_parser("run", help="import a workflow file (or use --id) and run it")
    execute.add_argument("file", type=Path, nargs="?")
    execute.add_argument("--id", dest="workflow_id", help="run a saved workflow instead of a file")
    execute.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="K=V",
        help="run parameter (V is JSON if it parses, else text)",
    )
    execute.add_argument("--watch", action="store_true", help="print every node as it finishes")
    execute.set_defaults(handler=run_run)

    runs = commands.add_parser("run", help="list and inspect workflow runs")
    run_actions = runs.add_subparsers(dest="run_command", metavar="ACTION", required=True)
    listing = run_actions.add_parser("list", help="recent runs")
    listing.add_argument("--status")
    listing.add_argument("--limit", type=int, default=20)
    listing.set_defaults(handler=run_list)
    status = run_actions.add_parser("status", help="a run's status and its nodes")
    status.add_argument("run_id")
    status.set_defaults(handler=run_status)
    resume = run_actions.add_parser("resume", help="continue an interrupted run")
    resume.add_argument("run_id")
    resume.add_argument("--watch", action="store_true")
    resume.set_defaults(handler=run_resume)
    cancel = run_actions.add_parser("cancel", help="stop a run, here or in the process running it")
    cancel.add_argument("run_id")
    cancel.set_defaults(handler=run_cancel)
    approve = run_actions.add_parser(
        "approve", help="decide a run's pending approval and continue the run"
    )
    approve.add_argument("run_id")
    approve.add_argument("--node", help="the approval node, when the run waits at several")
    approve.add_argument("--reject", action="store_true", help="reject instead of approving")
    approve.add_argument("--comment", default="", help="why (kept in the run and audit trail)")
    approve.add_argument("--watch", action="store_true")
    approve.set_defaults(handler=run_approve)


def _params(pairs: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ServiceError(
                ErrorCode.INVALID_INPUT, f"--param needs KEY=VALUE, got {pair!r}", {}
            )
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


async def _with_platform(work: Any) -> Any:
    from auterity_desktop.platform import Platform

    async with Platform.from_environment(background=False) as platform:
        return await work(platform)


def run_validate(args: argparse.Namespace) -> int:
    from auterity_desktop.services.workflows.builtin_nodes import builtin_registry
    from auterity_desktop.services.workflows.document import parse_document
    from auterity_desktop.services.workflows.validation import validate

    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise ServiceError(
            ErrorCode.INVALID_INPUT, f"Cannot read {args.file}: {exc.strerror}", {}
        ) from None
    try:
        document = parse_document(data)
    except ServiceError as exc:
        for problem in exc.details.get("problems", []) or [{"message": exc.message}]:
            where = problem.get("node_id") or problem.get("edge_id") or "-"
            print(f"{args.file}: {where}: {problem['message']}")
        return 1
    problems = validate(document, builtin_registry())
    for p in problems:
        where = p.node_id or p.edge_id or "-"
        print(f"{args.file}: {where}: {p.code}: {p.message}")
    if not problems:
        size = f"{len(document.nodes)} nodes, {len(document.edges)} edges"
        print(f"{args.file}: {document.name!r} is valid ({size})")
    return 1 if problems else 0


def run_import(args: argparse.Namespace) -> int:
    saved = asyncio.run(_with_platform(lambda p: p.workflows.import_file(local_actor(), args.file)))
    print(f"imported {saved.document.name!r} as {saved.id} (version {saved.version})")
    return 0


def run_export(args: argparse.Namespace) -> int:
    asyncio.run(
        _with_platform(
            lambda p: p.workflows.export_file(
                local_actor(), args.workflow_id, args.file, args.version
            )
        )
    )
    print(f"exported {args.workflow_id} to {args.file}")
    return 0


async def _follow(platform: Any, run_id: str, watch: bool) -> dict[str, Any]:
    names: dict[str, str] = {}
    if watch:

        def show(event: Any) -> None:
            if event.payload.get("run_id") == run_id:
                node = event.payload["node_id"]
                print(f"  {names.get(node, node)}: {event.payload['status']}", flush=True)

        platform.events.subscribe("node_finished", show)
    await platform.engine.wait(run_id)
    await platform.engine.drain()  # a finished sub-workflow may have woken its parent here
    status: dict[str, Any] = await platform.engine.run_status(run_id)
    return status


WAITING_EXIT = 3  # the run is parked on an approval: not a failure, not done either


def _report(status: dict[str, Any]) -> int:
    print(f"run {status['run_id']}: {status['status']} ({status['progress']:.0%})")
    if status["status"] == "waiting":
        for node, info in status["nodes"].items():
            request = (info.get("checkpoint") or {}).get("request")
            if info["status"] == "waiting" and request:
                print(f"  {node} waits for approval: {request['message']}")
        print(f"decide with: auterity run approve {status['run_id']} [--reject]")
        return WAITING_EXIT
    if status.get("error"):
        print(f"error: {status['error']}")
    print(json.dumps(status.get("results") or {}, indent=2, ensure_ascii=False, default=str))
    return 0 if status["status"] == "succeeded" else 1


def run_run(args: argparse.Namespace) -> int:
    if (args.file is None) == (args.workflow_id is None):
        raise ServiceError(ErrorCode.INVALID_INPUT, "Give a workflow FILE or --id, not both", {})
    params = _params(args.param)

    async def work(platform: Any) -> dict[str, Any]:
        actor = local_actor()
        workflow_id = (
            args.workflow_id or (await platform.workflows.import_file(actor, args.file)).id
        )
        run_id = await platform.engine.execute_workflow(actor, workflow_id, params)
        print(f"run {run_id} started", flush=True)
        return await _follow(platform, run_id, args.watch)

    return _report(asyncio.run(_with_platform(work)))


def run_list(args: argparse.Namespace) -> int:
    rows = asyncio.run(
        _with_platform(
            lambda p: p.engine.list_runs(local_actor(), status=args.status, limit=args.limit)
        )
    )
    for r in rows:
        where = f"workflow {r['workflow_id']} v{r['version']}"
        print(f"{r['run_id']}  {r['status']:<11}  {r['progress']:>4.0%}  {where}")
    if not rows:
        print("no runs")
    return 0


def run_status(args: argparse.Namespace) -> int:
    status = asyncio.run(_with_platform(lambda p: p.engine.status(local_actor(), args.run_id)))
    for node, info in status["nodes"].items():
        print(
            f"  {node}: {info['status']} (attempt {info['attempt']})"
            + (f" — {info['error']}" if info["error"] else "")
        )
    if status["status"] in (*TERMINAL, "waiting"):
        return _report(status)
    print(f"run {status['run_id']}: {status['status']} ({status['progress']:.0%})")
    return 0


def run_resume(args: argparse.Namespace) -> int:
    async def work(platform: Any) -> dict[str, Any]:
        await platform.engine.resume(local_actor(), args.run_id)
        return await _follow(platform, args.run_id, args.watch)

    return _report(asyncio.run(_with_platform(work)))


def run_cancel(args: argparse.Namespace) -> int:
    async def work(platform: Any) -> dict[str, Any]:
        outcome = await platform.engine.cancel(local_actor(), args.run_id)
        if outcome == "cancel_requested":
            print("another process is running it; asked it to stop", flush=True)
            for _ in range(100):  # it looks for requests about once a second
                status: dict[str, Any] = await platform.engine.run_status(args.run_id)
                if status["status"] in TERMINAL:
                    return status
                await asyncio.sleep(0.1)
        return await platform.engine.run_status(args.run_id)

    status = asyncio.run(_with_platform(work))
    print(f"run {status['run_id']}: {status['status']}")
    return 0 if status["status"] == "cancelled" else 1


def run_approve(args: argparse.Namespace) -> int:
    async def work(platform: Any) -> dict[str, Any]:
        await platform.engine.approve(
            local_actor(), args.run_id, args.node, approved=not args.reject, comment=args.comment
        )
        print("rejected" if args.reject else "approved", flush=True)
        return await _follow(platform, args.run_id, args.watch)

    return _report(asyncio.run(_with_platform(work)))
