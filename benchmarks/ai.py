"""AI orchestration overhead, against a local OpenAI-compatible server in its own process.

(a) Per non-cached request: ``route_request`` (validation, cache key and store, routing,
    rpm/tpm reservation, budget hold, the provider call, cost, metrics, the request-log row
    and its batched write, which each round waits for) next to a bare ``httpx`` POST of the
    same body to the same server with the same client settings, parsing the JSON reply.
    The two are timed in turn, round after round, so a busy spell of the shared machine hits
    both; prints their medians, the difference and the median of the rounds' ratios
    (target ≤ 1.2).
(b) A cache hit: the same request again.
(c) Throughput with 50 requests in flight, next to 50 bare httpx calls in flight.

    python benchmarks/ai.py [--rounds 40] [--per-round 100] [--concurrent 5000]
"""

from __future__ import annotations

import _unshadow  # noqa: F401 - must come first, see its docstring

# isort: split

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_RATIO = 1.2
REPLY = {
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": "bench-model",
    "choices": [{"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "The RAV4 is in stock in blue."}}],
    "usage": {"prompt_tokens": 24, "completion_tokens": 9, "total_tokens": 33,
              "prompt_tokens_details": {"cached_tokens": 0}},
}  # fmt: skip


# -- the server (a child process) ---------------------------------------------------------------
async def _serve_forever() -> None:
    body = json.dumps(REPLY).encode()
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                header = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in header.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                writer.write(head + body)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(client, "127.0.0.1", 0, backlog=512)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def start_server() -> tuple[subprocess.Popen[str], str]:
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    port = int(child.stdout.readline())
    return child, f"http://127.0.0.1:{port}/v1"


# -- the measurements ---------------------------------------------------------------------------
async def build(directory: Path, base: str) -> tuple[Any, Any]:
    from auterity_desktop.core.db import Database
    from auterity_desktop.core.events import EventBus
    from auterity_desktop.core.metrics import MetricsCollector
    from auterity_desktop.core.secret_store import SecretStore
    from auterity_desktop.services.ai.orchestration import AIModelOrchestrationService
    from auterity_desktop.services.compliance.audit_trail import AuditTrail
    from auterity_desktop.services.security.passwords import PasswordHasher
    from auterity_desktop.services.security.principal import SYSTEM
    from auterity_desktop.services.security.service import SecurityService

    database = Database(f"sqlite:///{directory / 'bench.db'}")
    await database.initialize()
    events = EventBus()
    audit = AuditTrail(database, events)
    hasher = PasswordHasher(1024, 1)
    security = SecurityService(database, audit, events, SecretStore(), hasher=hasher)
    ai = AIModelOrchestrationService(
        database, audit, security.authz, SecretStore(), events, MetricsCollector(),
        cache_size=1000, request_timeout=30, sync_interval=0,
    )  # fmt: skip
    await ai.initialize()
    ai._mark_started(True)
    await ai.save_deployment(
        SYSTEM,
        {"name": "local", "provider": "openai", "model": "bench-model", "api_base": base,
         "price_input_per_1k": 0.00015, "price_output_per_1k": 0.0006, "rpm": 10_000_000,
         "tpm": 10_000_000_000},
    )  # fmt: skip
    await ai.save_budget(SYSTEM, {"scope": "global", "period": "day", "limit": 1_000_000})
    return ai, (database, events)


def body_of(prompt: str) -> dict[str, Any]:
    return {
        "model": "bench-model",
        "messages": [
            {"role": "system", "content": "You answer dealership questions briefly."},
            {"role": "user", "content": prompt},
        ],
        "stream": False,
    }


async def raw_call(client: Any, url: str, prompt: str) -> str:
    response = await client.post(url, json=body_of(prompt))
    response.raise_for_status()
    data = response.json()
    return str(data["choices"][0]["message"]["content"]) + str(data["usage"]["prompt_tokens"])


def request_of(prompt: str, cache: bool = False) -> dict[str, Any]:
    return {"system": "You answer dealership questions briefly.", "prompt": prompt,
            "cache": cache, "purpose": "benchmark"}  # fmt: skip


async def measure(rounds: int, per_round: int, concurrent: int) -> bool:
    import httpx

    child, base = start_server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            ai, (database, events) = await build(Path(tmp), base)
            raw_client = httpx.AsyncClient(
                timeout=httpx.Timeout(30.0, connect=10.0),
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
                follow_redirects=False,
            )
            url = f"{base}/chat/completions"
            try:
                # warm both paths: connections, code paths, the first flush
                for i in range(200):
                    await raw_call(raw_client, url, f"warm {i}")
                    await ai.route_request(request_of(f"warm {i}"))
                await ai.log.flush()
                raw_times: list[float] = []
                orch_times: list[float] = []
                ratios: list[float] = []
                n = 0
                for _ in range(rounds):
                    started = time.perf_counter()
                    for _ in range(per_round):
                        n += 1
                        await raw_call(raw_client, url, f"Is stock number {n} available?")
                    raw_times.append((time.perf_counter() - started) / per_round)
                    started = time.perf_counter()
                    for _ in range(per_round):
                        n += 1
                        await ai.route_request(request_of(f"Is stock number {n} available?"))
                    await ai.log.flush()  # persistence is part of the cost
                    orch_times.append((time.perf_counter() - started) / per_round)
                    ratios.append(orch_times[-1] / raw_times[-1])
                raw = statistics.median(raw_times)
                orch = statistics.median(orch_times)
                ratio = statistics.median(ratios)
                print(f"(a) per request, median of {rounds} rounds × {per_round}:")
                print(f"    bare httpx        {raw * 1e6:8.0f} µs")
                extra = (orch - raw) * 1e6
                print(f"    route_request     {orch * 1e6:8.0f} µs  (+{extra:.0f} µs: routing, "
                      "limits, accounting, persistence)")  # fmt: skip
                print(f"    ratio             {ratio:8.2f}   (median of the rounds' ratios; "
                      f"target ≤ {TARGET_RATIO})")  # fmt: skip
                rows = ai.log.written

                await ai.route_request(request_of("cached question", cache=True))
                hits = []
                for _ in range(2000):
                    started = time.perf_counter()
                    reply = await ai.route_request(request_of("cached question", cache=True))
                    hits.append(time.perf_counter() - started)
                    assert reply.cached
                await ai.log.flush()
                print(f"(b) cache hit       {statistics.median(hits) * 1e6:8.0f} µs median, "
                      f"p95 {statistics.quantiles(hits, n=20)[-1] * 1e6:.0f} µs")  # fmt: skip

                async def workers(call: Any, count: int) -> float:
                    counter = iter(range(count))

                    async def worker() -> None:
                        for i in counter:
                            await call(i)

                    started = time.perf_counter()
                    await asyncio.gather(*(worker() for _ in range(50)))
                    if call is orchestrated:
                        await ai.log.flush()
                    return count / (time.perf_counter() - started)

                async def orchestrated(i: int) -> None:
                    await ai.route_request(request_of(f"concurrent question {i}"))

                async def bare(i: int) -> None:
                    await raw_call(raw_client, url, f"concurrent question {i}")

                chunk = max(100, concurrent // 5)
                raw_rates, orch_rates = [], []
                for _ in range(max(1, concurrent // chunk)):
                    raw_rates.append(await workers(bare, chunk))
                    orch_rates.append(await workers(orchestrated, chunk))
                raw_rate, orch_rate = statistics.median(raw_rates), statistics.median(orch_rates)
                print(f"(c) 50 in flight    {orch_rate:8.0f} requests/s through the service, "
                      f"{raw_rate:.0f}/s bare httpx ({orch_rate / raw_rate:.0%}; medians of "
                      f"{len(raw_rates)} alternating runs of {chunk})")  # fmt: skip
                print(f"    rows written: {ai.log.written} ({rows} during (a))")
                return ratio <= TARGET_RATIO
            finally:
                await raw_client.aclose()
                await ai.cleanup()
                await events.close()
                await database.cleanup()
    finally:
        child.terminate()
        child.wait()


def main() -> None:
    if "--serve" in sys.argv:
        asyncio.run(_serve_forever())
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--per-round", type=int, default=100)
    parser.add_argument("--concurrent", type=int, default=5000)
    args = parser.parse_args()
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    ok = asyncio.run(measure(args.rounds, args.per_round, args.concurrent))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
