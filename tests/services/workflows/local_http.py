"""A real HTTP server on 127.0.0.1 for workflow tests (standard library, own thread)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar


class _Handler(BaseHTTPRequestHandler):
    hits: ClassVar[dict[str, int]] = {}

    def log_message(self, *args: object) -> None:  # keep test output clean
        return

    def _send(self, status: int, body: object, content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        _Handler.hits[path] = _Handler.hits.get(path, 0) + 1
        if path == "/vehicles/1HGCM82633A004352":
            self._send(200, {"vin": "1HGCM82633A004352", "model": "Accord", "price": 18_500})
        elif path == "/slow":
            time.sleep(2)
            self._send(200, {"late": True})
        elif path == "/flaky":
            self._send(503 if _Handler.hits[path] < 3 else 200, {"try": _Handler.hits[path]})
        elif path == "/text":
            self._send(200, b"plain words", "text/plain")
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        received = json.loads(self.rfile.read(length) or b"null")
        self._send(201, {"received": received, "auth": self.headers.get("X-Api-Key")})


class BusyServer(ThreadingHTTPServer):
    """Accepts as many waiting connections as a real server would: the standard library's
    backlog of 5 drops connections when many nodes call at once on a busy machine, and the
    callers then wait out TCP retransmissions until their connect timeout."""

    request_queue_size = 128
    daemon_threads = True


@contextmanager
def local_http_server() -> Iterator[str]:
    _Handler.hits = {}
    server = BusyServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
