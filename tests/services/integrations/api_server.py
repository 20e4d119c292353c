"""A real HTTP API on 127.0.0.1 for the REST connector: API-key, bearer and basic checks,
an OAuth2 token endpoint (client credentials) whose first token is revoked early, and
endpoints that answer 429 or 503 a set number of times before they work."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CLIENT = ("dealer-app", "s3cret-client")


@dataclass
class Api:
    url: str = ""
    api_key: str = "key-123"
    bearer: str = "bearer-xyz"
    basic: tuple[str, str] = ("maria", "pw-42")
    tokens_issued: int = 0
    revoked: set[str] = field(default_factory=set)
    failures: dict[str, int] = field(default_factory=dict)  # path → failures left
    seen: list[dict[str, Any]] = field(default_factory=list)


def _handler(api: Api) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _authorised(self, path: str) -> bool:
            auth = self.headers.get("Authorization", "")
            if path.startswith("/key/"):
                return self.headers.get("X-API-Key") == api.api_key
            if path.startswith("/bearer/"):
                return auth == f"Bearer {api.bearer}"
            if path.startswith("/basic/"):
                expected = base64.b64encode(":".join(api.basic).encode()).decode()
                return auth == f"Basic {expected}"
            if path.startswith("/oauth/"):
                token = auth.removeprefix("Bearer ")
                return token.startswith("tok-") and token not in api.revoked
            return True

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            api.seen.append({"path": path, "headers": dict(self.headers)})
            left = api.failures.get(path, 0)
            if left:
                api.failures[path] = left - 1
                status = 429 if "rate" in path else 503
                self._send(status, {"error": "try later"}, {"Retry-After": "0"})
                return
            if not self._authorised(path):
                self._send(401, {"error": "unauthorised"})
                return
            if path.endswith("/missing"):
                self._send(404, {"error": "no such thing"})
                return
            self._send(200, {"ok": True, "path": path})

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if path == "/token":
                form = parse_qs(raw.decode())
                expected = base64.b64encode(":".join(CLIENT).encode()).decode()
                if self.headers.get("Authorization") != f"Basic {expected}" or form.get(
                    "grant_type"
                ) != ["client_credentials"]:
                    self._send(401, {"error": "invalid_client"})
                    return
                api.tokens_issued += 1
                token = f"tok-{api.tokens_issued}"
                self._send(200, {"access_token": token, "token_type": "bearer", "expires_in": 3600})
                return
            if not self._authorised(path):
                self._send(401, {"error": "unauthorised"})
                return
            body = json.loads(raw or b"null")
            api.seen.append({"path": path, "body": body})
            self._send(201, {"received": body})

    return Handler


@contextmanager
def api_server() -> Iterator[Api]:
    api = Api()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
