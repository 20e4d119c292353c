"""Property-based fuzzing of every endpoint from the served OpenAPI document (schemathesis):
whatever is sent — valid, invalid or hostile — no response is a 5xx, and every response
(success or error) matches the document's schema, status and content type.

The server runs in a thread with its own event loop (schemathesis calls it synchronously
over a real socket), authenticated with an admin API key so that fuzzing ``logout`` cannot
sign the fuzzer out.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from auterity_desktop.api.server import ApiServer
from auterity_desktop.platform import Platform

PASSWORD = "Correct-Horse-42!"
EXAMPLES = 40
WITHOUT_INPUT = {
    "GET /healthz", "GET /metrics", "GET /api/v1/openapi.json", "POST /api/v1/security/logout",
}  # fmt: skip
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


@dataclass
class LiveApi:
    url: str
    key: str


async def _serve(data_dir: Path, ready: threading.Event, stop: asyncio.Event, out: dict) -> None:
    env = {
        "AUTERITY_DATA_DIR": str(data_dir),
        "AUTERITY_API_RATE_LIMIT": "100000",
        "AUTERITY_API_RATE_BURST": "100000",
        "AUTERITY_API_MAX_BODY": str(256 * 1024),
    }
    async with Platform.from_environment(
        env, data_dir / "settings.toml", background=False, configure_logs=False
    ) as platform:
        await platform.security.users.create_first_admin("alice", PASSWORD)
        session = await platform.security.authenticate_user(
            {"username": "alice", "password": PASSWORD}
        )
        key = await platform.gateway.keys.create(session.principal, "fuzzer", "admin")
        saved = await platform.workflows.create(
            session.principal,
            {"name": "Fuzzed", "nodes": [{"id": "s", "type": "manual_trigger", "name": "S"}]},
        )
        run_id = await platform.engine.execute_workflow(session.principal, saved.id, {})
        await platform.engine.wait(run_id)
        server = ApiServer(platform, "127.0.0.1", 0)
        await server.start()
        out["live"] = LiveApi(server.url, key.key)
        ready.set()
        await stop.wait()
        await server.stop()
        await platform.engine.drain()


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    data_dir = tmp_path_factory.mktemp("fuzz")
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ready = threading.Event()
    out: dict[str, LiveApi] = {}
    failure: list[BaseException] = []

    def run() -> None:
        try:
            loop.run_until_complete(_serve(data_dir, ready, stop, out))
        except BaseException as exc:  # reported to the test below
            failure.append(exc)
            ready.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="fuzzed-api", daemon=True)
    thread.start()
    assert ready.wait(120), "the API did not start"
    if failure:
        raise failure[0]
    yield out["live"]
    loop.call_soon_threadsafe(stop.set)
    thread.join(60)
    assert not thread.is_alive()
    if failure:
        raise failure[0]


def test_every_endpoint_answers_within_its_schema(live_api: LiveApi) -> None:
    """One hypothesis run per operation and data mode, positive and negative (schemathesis'
    own pytest plugin does not support the pytest in use); every failing operation is
    reported, not only the first."""
    schema = schemathesis.openapi.from_url(f"{live_api.url}/api/v1/openapi.json")
    headers = {"Authorization": f"Bearer {live_api.key}"}
    failures: dict[str, str] = {}
    statuses: dict[int, int] = {}
    operations = 0
    for result, mode in itertools.product(schema.get_all_operations(), GenerationMode):
        operation = result.ok()
        operations += mode is GenerationMode.POSITIVE

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(mode))
        def fuzz(case: schemathesis.Case) -> None:
            response = case.call_and_validate(
                base_url=live_api.url, headers=headers, checks=CHECKS, timeout=30
            )
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        try:
            fuzz()
        except Unsatisfiable:  # no input to make invalid: nothing to fuzz negatively
            if mode is GenerationMode.POSITIVE or operation.label not in WITHOUT_INPUT:
                raise
        except Exception as exc:
            failures[f"{operation.label} ({mode.value})"] = str(exc)[:3000]
    assert operations == 19  # every operation of the document
    assert sum(statuses.values()) >= operations * 20
    assert {400, 401, 422} <= set(statuses)  # hostile input was sent and refused
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
