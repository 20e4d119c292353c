"""A stand-in dealership back office on 127.0.0.1 — CRM, DMS, SMS gateway and a market
price feed — speaking plain JSON over real HTTP, for the sample workflows' tests. Everything
posted to it is kept in ``posted`` so tests can check what the workflows sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

LEADS = {
    "L-1001": {"name": "Mara Jensen", "email": "mara@example.com", "score": 86,
               "vehicle": "2024 Passat Variant"},
    "L-1002": {"name": "Tom Weber", "email": "tom@example.com", "score": 41},
    "L-1003": {"name": "Ina Roth", "score": 77},  # no e-mail: incomplete
}  # fmt: skip
APPOINTMENTS = [
    {"customer": "Mara Jensen", "phone": "+4915112345678", "email": "mara@example.com",
     "service": "annual inspection", "time": "08:30"},
    {"customer": "Tom Weber", "phone": "", "email": "tom@example.com",
     "service": "brake pads", "time": "10:00"},
    {"customer": "Ina Roth", "phone": "+4917011122233", "email": "ina@example.com",
     "service": "tyre change", "time": "14:15"},
]  # fmt: skip
INVENTORY = [
    {"vin": "WVWZZZ3CZPE000001", "model": "Passat", "price": 31_900},
    {"vin": "WVWZZZ1KZPW000002", "model": "Golf", "price": 24_500},
    {"vin": "WVGZZZ5NZPW000003", "model": "Tiguan", "price": 36_990},
]
MARKET = {"WVWZZZ3CZPE000001": 29_000, "WVWZZZ1KZPW000002": 24_800, "WVGZZZ5NZPW000003": 37_500}


@dataclass
class Dealership:
    url: str
    posted: dict[str, list[Any]] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)  # paths that answer 503


def _handler(state: Dealership) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            if any(parts.path.startswith(p) for p in state.down):
                self._send(503, {"error": "maintenance"})
            elif parts.path.startswith("/leads/") and parts.path[7:] in LEADS:
                self._send(200, {"id": parts.path[7:], **LEADS[parts.path[7:]]})
            elif parts.path == "/appointments" and query.get("days_ahead") == ["1"]:
                self._send(200, {"date": "tomorrow", "appointments": APPOINTMENTS})
            elif parts.path == "/inventory":
                self._send(200, {"vehicles": INVENTORY})
            elif parts.path == "/prices" and query.get("vin", [""])[0] in MARKET:
                self._send(200, {"vin": query["vin"][0], "average": MARKET[query["vin"][0]]})
            else:
                self._send(404, {"error": f"nothing at {parts.path}"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            state.posted.setdefault(self.path, []).append(body)
            self._send(201, {"id": len(state.posted[self.path]), "accepted": True})

    return Handler


@contextmanager
def dealership_server() -> Iterator[Dealership]:
    state = Dealership("")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
