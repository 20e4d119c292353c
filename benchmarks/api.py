"""REST throughput: authenticated ``GET /api/v1/workflows/{id}/status`` against a bare app.

Two servers, each in its own process, pinned to one core: (a) a bare ASGI app that answers
every request with a fixed JSON body, served by ``ApiServer`` itself with only its app
swapped (same socket, same uvicorn configuration: httptools, no lifespan, no access log);
(b) the real ``ApiServer`` of a started ``Platform`` (a temporary data folder, the rate
limit raised out of the way) with a first admin, an API key and a finished run. The load
generator runs in this process, pinned to the other core: a raw asyncio HTTP/1.1 client,
``--clients`` keep-alive connections each sending one request after the other, parsing the
status line and ``Content-Length``. Every response must be 200 (anything else fails the
benchmark). The same request bytes go to both servers; ours is measured once with the API
key (``X-API-Key``) and once with the session token (``Authorization: Bearer``).

Each measurement warms up, then counts responses for ``--seconds``; rounds alternate the
order of the three, and the medians are compared. Target: ours at least 0.5 of the bare
app's requests per second with either credential; exits 1 when missed. The server's CPU use
is printed too: near 100 % means the server, not the client, was the bottleneck.
``--profile`` then runs one more load per credential with cProfile on in our server and
prints where its time goes.

    python benchmarks/api.py [--seconds 5] [--warmup 1] [--rounds 3] [--clients 32]
                             [--target 0.5] [--by workflow] [--profile] [--profile-dir D]
"""

from __future__ import annotations

import _unshadow  # noqa: F401 - must come first, see its docstring

# isort: split

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import pstats
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ADMIN = {"username": "alice", "password": "Correct-Horse-42!"}
BARE_BODY = json.dumps({"status": "succeeded", "progress": 1.0, "results": {}}).encode()
BARE_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(BARE_BODY)).encode()),
]
CLK_TCK = os.sysconf("SC_CLK_TCK")
BUSY = 0.85  # a server's CPU share below which it was not the bottleneck


# -- the servers (child processes) ------------------------------------------------------
async def bare_app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": BARE_HEADERS})
    await send({"type": "http.response.body", "body": BARE_BODY})


class _Profiler:
    """cProfile switched on by SIGUSR1 and off (stats written to ``path``) by SIGUSR2."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.profile: cProfile.Profile | None = None

    def start(self) -> None:
        self.profile = cProfile.Profile()
        self.profile.enable()

    def stop(self) -> None:
        if self.profile is not None:
            self.profile.disable()
            self.profile.dump_stats(self.path)
            self.profile = None


async def _serve_until_terminated(port_file: Path, info: dict[str, Any], profile: Path) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    profiler = _Profiler(profile)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, profiler.start)
    loop.add_signal_handler(signal.SIGUSR2, profiler.stop)
    partial = port_file.with_suffix(".part")
    partial.write_text(json.dumps(info))
    partial.rename(port_file)
    parent = os.getppid()
    while not stop.is_set() and os.getppid() == parent:  # the client died: stop too
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def serve_bare(port_file: Path, profile: Path) -> None:
    """``ApiServer`` with its app swapped for ``bare_app``: the only difference is the app."""
    from types import SimpleNamespace

    import auterity_desktop.api.server as hosting

    hosting.mount_api = lambda platform: None  # type: ignore[assignment]
    hosting.GatewayApp = lambda gateway: bare_app  # type: ignore[assignment,misc,return-value]
    server = hosting.ApiServer(SimpleNamespace(gateway=None), "127.0.0.1", 0)  # type: ignore[arg-type]
    await server.start()
    try:
        await _serve_until_terminated(port_file, {"port": server.port}, profile)
    finally:
        await server.stop()


async def serve_ours(port_file: Path, profile: Path) -> None:
    from auterity_desktop.api.server import ApiServer
    from auterity_desktop.platform import Platform

    async with Platform.from_environment(background=False) as platform:
        await platform.security.users.create_first_admin(ADMIN["username"], ADMIN["password"])
        session = await platform.security.authenticate_user(dict(ADMIN))
        key = await platform.gateway.keys.create(session.principal, "bench", "admin")
        saved = await platform.workflows.create(
            session.principal,
            {
                "name": "Bench",
                "nodes": [{"id": "s", "type": "manual_trigger", "name": "S"}],
                "edges": [],
            },
        )
        run_id = await platform.engine.execute_workflow(session.principal, saved.id, {})
        await platform.engine.wait(run_id)
        server = ApiServer(platform, "127.0.0.1", 0)
        await server.start()
        info = {
            "port": server.port,
            "key": key.key,
            "token": session.token,
            "run_id": run_id,
            "workflow_id": saved.id,
        }
        try:
            await _serve_until_terminated(port_file, info, profile)
        finally:
            await server.stop()


def serve(args: argparse.Namespace) -> None:
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    work = serve_bare if args.serve == "bare" else serve_ours
    asyncio.run(work(Path(args.port_file), Path(args.profile_file)))


def _cpu(stat: Path) -> float:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    info: dict[str, Any]
    profile: Path

    def cpu_seconds(self) -> float:
        return _cpu(Path(f"/proc/{self.process.pid}/stat"))

    def thread_cpu(self) -> dict[str, float]:
        """CPU seconds of each thread but the event loop's ("name/tid")."""
        threads = {}
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            if task.name != str(self.process.pid):
                with contextlib.suppress(OSError):
                    name = (task / "comm").read_text().strip()
                    threads[f"{name}/{task.name}"] = _cpu(task / "stat")
        return threads

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(name: str, folder: Path, cpu: int | None) -> Server:
    data = folder / name
    data.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTERITY_")}
    env.update(
        AUTERITY_DATA_DIR=str(data / "data"),
        AUTERITY_CONFIG_FILE=str(data / "settings.toml"),  # none: defaults + the below
        AUTERITY_API_RATE_LIMIT="100000",
        AUTERITY_API_RATE_BURST="1000000",
    )
    port_file, profile = data / "port.json", data / "server.prof"
    command = [sys.executable, str(Path(__file__).resolve()), "--serve", name]
    command += ["--port-file", str(port_file), "--profile-file", str(profile)]
    if cpu is not None:
        command += ["--cpu", str(cpu)]
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not port_file.exists():
        if process.poll() is not None:
            raise SystemExit(f"the {name} server exited with {process.returncode}")
        if time.monotonic() > deadline:
            process.kill()
            raise SystemExit(f"the {name} server did not start in 120 s")
        time.sleep(0.05)
    return Server(name, process, json.loads(port_file.read_text()), profile)


# -- the load generator -----------------------------------------------------------------
@dataclass
class Load:
    measuring: bool = False
    stopping: bool = False
    count: int = 0
    failures: int = 0
    first_failure: str = ""
    latencies: list[float] = field(default_factory=list)
    checked: bool = False

    def fail(self, reason: str) -> None:
        self.failures += 1
        if not self.first_failure:
            self.first_failure = reason


class Client(asyncio.Protocol):
    """One keep-alive connection: a request, its whole response, the next request."""

    def __init__(self, load: Load, request: bytes) -> None:
        self.load = load
        self.request = request
        self.buffer = bytearray()
        self.sent = 0.0
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.send()

    def send(self) -> None:
        assert self.transport is not None
        if self.load.stopping:
            self.transport.close()
            return
        self.sent = time.perf_counter()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[:end]).lower()
            at = head.find(b"\r\ncontent-length:")
            if at < 0:
                self.load.fail(f"no Content-Length: {head[:200]!r}")
                assert self.transport is not None
                self.transport.close()
                return
            line_end = head.find(b"\r\n", at + 2)
            length = int(head[at + 17 : line_end if line_end >= 0 else len(head)])
            total = end + 4 + length
            if len(buffer) < total:
                return
            done = time.perf_counter()
            status = head[9:12]
            body = bytes(buffer[end + 4 : total])
            del buffer[:total]
            load = self.load
            if status != b"200":
                load.fail(f"{status.decode()} {body[:300]!r}")
            elif not load.checked:
                load.checked = True
                if json.loads(body).get("status") != "succeeded":
                    load.fail(f"unexpected body {body[:300]!r}")
            if load.measuring:
                load.count += 1
                load.latencies.append(done - self.sent)
            self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.load.stopping:
            self.load.fail(f"connection lost: {exc}")
        if not self.closed.done():
            self.closed.set_result(None)


@dataclass
class Result:
    rate: float
    mean_ms: float
    p50_ms: float
    p99_ms: float
    server_cpu: float  # share of one core while measuring
    client_cpu: float
    failures: int
    first_failure: str
    threads: dict[str, float]  # the server's other threads' CPU shares (≥ 1 %)


async def run_load(
    server: Server, request: bytes, clients: int, warmup: float, seconds: float
) -> Result:
    loop = asyncio.get_running_loop()
    load = Load()
    connections = []
    for _ in range(clients):
        _, protocol = await loop.create_connection(
            lambda: Client(load, request), "127.0.0.1", server.info["port"]
        )
        connections.append(protocol)
    await asyncio.sleep(warmup)
    cpu_before, client_before = server.cpu_seconds(), time.process_time()
    threads_before = server.thread_cpu()
    load.measuring, started = True, time.perf_counter()
    await asyncio.sleep(seconds)
    load.measuring, elapsed = False, time.perf_counter() - started
    server_cpu = (server.cpu_seconds() - cpu_before) / elapsed
    threads = {
        name: share
        for name, used in server.thread_cpu().items()
        if (share := (used - threads_before.get(name, 0.0)) / elapsed) >= 0.01
    }
    client_cpu = (time.process_time() - client_before) / elapsed
    load.stopping = True
    await asyncio.wait_for(asyncio.gather(*(c.closed for c in connections)), 30)
    latencies = sorted(load.latencies) or [0.0]
    return Result(
        load.count / elapsed,
        statistics.fmean(latencies) * 1000,
        latencies[len(latencies) // 2] * 1000,
        latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        server_cpu,
        client_cpu,
        load.failures,
        load.first_failure,
        threads,
    )


def build_request(port: int, path: str, credential: tuple[str, str]) -> bytes:
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "User-Agent: auterity-bench/1",
        "Accept: application/json",
        f"{credential[0]}: {credential[1]}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def profile(args: argparse.Namespace, bare: Server, ours: Server, folder: Path) -> None:
    """One more load per case, each with cProfile on in its server; print the top costs."""
    for label, server, request in cases(args, bare, ours):
        server.profile.unlink(missing_ok=True)
        server.process.send_signal(signal.SIGUSR1)
        time.sleep(0.2)
        result = asyncio.run(run_load(server, request, args.clients, 0.0, args.seconds))
        server.process.send_signal(signal.SIGUSR2)
        deadline = time.monotonic() + 30
        while not server.profile.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # the dump is written in one go, but give it a moment
        kept = folder / f"{label.replace(',', '').replace(' ', '-')}.prof"
        server.profile.replace(kept)
        print(f"\n== cProfile, {label}: {result.rate:,.0f} req/s under the profiler ==")
        stats = pstats.Stats(str(kept))
        stats.sort_stats("tottime").print_stats(args.profile_top)
        if server is ours:
            stats.sort_stats("cumulative").print_stats(args.profile_top)
    print(f"profiles kept in {folder}")


# -- the benchmark ----------------------------------------------------------------------
def status_path(args: argparse.Namespace, ours: Server) -> str:
    by = ours.info["run_id"] if args.by == "run" else ours.info["workflow_id"]
    return f"/api/v1/workflows/{by}/status"


def cases(args: argparse.Namespace, bare: Server, ours: Server) -> list[tuple[str, Server, bytes]]:
    """The same request bytes for the bare app and ours (API key), then the session token."""
    path = status_path(args, ours)
    key = ("X-API-Key", ours.info["key"])
    bearer = ("Authorization", f"Bearer {ours.info['token']}")
    return [
        ("bare ASGI app", bare, build_request(bare.info["port"], path, key)),
        ("ours, API key", ours, build_request(ours.info["port"], path, key)),
        ("ours, session token", ours, build_request(ours.info["port"], path, bearer)),
    ]


async def measure(args: argparse.Namespace, bare: Server, ours: Server) -> int:
    path = status_path(args, ours)
    table = {label: (server, request) for label, server, request in cases(args, bare, ours)}
    names = list(table)
    results: dict[str, list[Result]] = {name: [] for name in names}
    for round_no in range(args.rounds):
        shift = round_no % len(names)  # rotate the order: none is always first or last
        for name in names[shift:] + names[:shift]:
            server, request = table[name]
            result = await run_load(server, request, args.clients, args.warmup, args.seconds)
            results[name].append(result)
            print(
                f"  round {round_no + 1} {name:<20} {result.rate:>9,.0f} req/s  "
                f"server CPU {result.server_cpu:4.0%}  client CPU {result.client_cpu:4.0%}"
                + "".join(f"  {n} {c:.0%}" for n, c in result.threads.items()),
                flush=True,
            )
    print(
        f"\nGET {path}, {args.clients} keep-alive clients, {args.seconds:g} s × "
        f"{args.rounds} rounds (median round shown)"
    )
    print(
        f"{'':<22}{'req/s':>10}{'mean ms':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'srv CPU':>9}{'cli CPU':>9}{'srv µs/req':>12}{'failed':>8}"
    )
    medians: dict[str, float] = {}
    cpu_cost: dict[str, float] = {}  # server CPU µs per request: immune to a busy machine
    failures = 0
    for name in names:
        runs = sorted(results[name], key=lambda r: r.rate)
        mid = runs[len(runs) // 2]
        medians[name] = statistics.median(r.rate for r in runs)
        cpu_cost[name] = statistics.median(r.server_cpu / r.rate * 1e6 for r in runs if r.rate)
        failed = sum(r.failures for r in runs)
        failures += failed
        print(
            f"{name:<22}{medians[name]:>10,.0f}{mid.mean_ms:>10.2f}{mid.p50_ms:>9.2f}"
            f"{mid.p99_ms:>9.2f}{mid.server_cpu:>9.0%}{mid.client_cpu:>9.0%}"
            f"{cpu_cost[name]:>12.1f}{failed:>8}"
        )
        for r in runs:
            if r.first_failure:
                print(f"    first failure: {r.first_failure}")
                break
    ok = failures == 0
    bare_rate = medians[names[0]]
    for name in names[1:]:
        ratio = medians[name] / bare_rate
        passed = ratio >= args.target
        ok = ok and passed
        print(
            f"{name} / bare: {ratio:.2f} (target ≥ {args.target:g}): {'PASS' if passed else 'FAIL'}"
        )
        print(
            f"    per server CPU-second (informational): {cpu_cost[names[0]] / cpu_cost[name]:.2f}"
        )
    idle = [r.server_cpu for name in names for r in results[name] if r.server_cpu < BUSY]
    if idle:
        print(
            f"note: a server was below {BUSY:.0%} CPU in {len(idle)} measurement(s) "
            f"(lowest {min(idle):.0%}): the machine is busy or the client held it back, "
            "so req/s are noisy; the µs/req figures are not"
        )
    if failures:
        print(f"FAIL: {failures} requests were not answered 200")
    print("PASS" if ok else "FAIL")

    return 0 if ok else 1


def main(args: argparse.Namespace) -> int:
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu = client_cpu = None
    if len(cpus) >= 2:
        server_cpu, client_cpu = cpus[0], cpus[1]
        os.sched_setaffinity(0, {client_cpu})
    else:
        print("only one CPU: the servers and the client share it; the ratio is unreliable")
    with tempfile.TemporaryDirectory() as folder:
        servers: list[Server] = []
        try:
            servers.append(start_server("bare", Path(folder), server_cpu))
            servers.append(start_server("ours", Path(folder), server_cpu))
            print(
                f"servers on CPU {server_cpu}, client on CPU {client_cpu}; "
                f"bare :{servers[0].info['port']}, ours :{servers[1].info['port']}",
                flush=True,
            )
            status = asyncio.run(measure(args, *servers))
            if args.profile:
                kept = Path(args.profile_dir or folder)
                kept.mkdir(parents=True, exist_ok=True)
                profile(args, *servers, kept)
            return status
        finally:
            for server in servers:
                server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured per load")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured, before each")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--target", type=float, default=0.5)
    parser.add_argument(
        "--by", choices=("run", "workflow"), default="run",
        help="the {id}: the run's id (cached status) or the workflow's (its latest run)",
    )  # fmt: skip
    parser.add_argument("--profile", action="store_true", help="profile our server after")
    parser.add_argument("--profile-top", type=int, default=40)
    parser.add_argument("--profile-dir", default=None, help="keep the .prof files here")
    # the server processes (internal)
    parser.add_argument("--serve", choices=("bare", "ours"), help=argparse.SUPPRESS)
    parser.add_argument("--port-file", help=argparse.SUPPRESS)
    parser.add_argument("--profile-file", help=argparse.SUPPRESS)
    parser.add_argument("--cpu", type=int, default=None, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve:
        serve(arguments)
    else:
        sys.exit(main(arguments))
