"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions format, for the
AI page's tests and screenshots (standard library, its own thread).

``POST …/chat/completions`` answers ``reply`` word by word: as server-sent events
(``data: {chunk}`` … ``data: [DONE]``) with a pause of ``delay`` seconds between chunks
when the request asks to stream, else as one JSON completion. Usage (prompt and completion
tokens, counted as words) comes in the last chunk. ``GET /api/tags`` lists local models as
Ollama does and ``GET …/models`` as OpenAI does. Setting ``status`` makes every chat call
fail with that HTTP status and an OpenAI-style error body. Each request is recorded with
its path, headers and JSON body.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODELS = ("llama3.2:1b", "qwen2.5:0.5b", "mistral:7b")


@dataclass
class StubState:
    reply: str = "Hello from the stub model, streaming one word at a time."
    delay: float = 0.03  # seconds between streamed chunks
    status: int | None = None  # answer chat calls with this HTTP error
    model: str = "stub-1"
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def chat_calls(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["path"].endswith("/chat/completions")]


def _words(text: str) -> list[str]:
    words = text.split(" ")
    return [w if i == len(words) - 1 else w + " " for i, w in enumerate(words)]


def _prompt_tokens(body: dict[str, Any]) -> int:
    return sum(len(str(m.get("content", "")).split()) for m in body.get("messages") or ())


class _Handler(BaseHTTPRequestHandler):
    state: StubState  # set per server
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # keep test output clean
        return

    def _record(self, body: Any) -> None:
        with self.state.lock:
            self.state.requests.append(
                {"path": self.path, "headers": dict(self.headers.items()), "body": body}
            )

    def _json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = self.path.split("?")[0].rstrip("/")
        self._record(None)
        if path.endswith("/api/tags"):
            self._json(200, {"models": [{"name": m, "model": m, "size": 1} for m in MODELS]})
        elif path.endswith("/models"):
            self._json(200, {"object": "list", "data": [{"id": m} for m in MODELS]})
        else:
            self._json(404, {"error": {"message": f"no route {path}"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            body = None
        self._record(body)
        path = self.path.split("?")[0].rstrip("/")
        if not path.endswith("/chat/completions") or not isinstance(body, dict):
            self._json(404, {"error": {"message": f"no route {path}"}})
            return
        state = self.state
        if state.status is not None:
            self._json(
                state.status,
                {"error": {"message": f"stub refused with {state.status}", "type": "stub"}},
            )
            return
        words = _words(state.reply)
        usage = {
            "prompt_tokens": _prompt_tokens(body),
            "completion_tokens": len(words),
            "total_tokens": _prompt_tokens(body) + len(words),
        }
        base = {"id": "chatcmpl-stub", "created": int(time.time()), "model": state.model}
        if not body.get("stream"):
            message = {"role": "assistant", "content": state.reply}
            self._json(
                200,
                {**base, "object": "chat.completion", "usage": usage,
                 "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]},
            )  # fmt: skip
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        chunk = {**base, "object": "chat.completion.chunk"}
        try:
            self._event({**chunk, "choices": [{"index": 0, "delta": {"role": "assistant"}}]})
            for word in words:
                time.sleep(state.delay)
                self._event(
                    {**chunk, "choices": [{"index": 0, "delta": {"content": word},
                                           "finish_reason": None}]}
                )  # fmt: skip
            self._event(
                {**chunk, "usage": usage,
                 "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            )  # fmt: skip
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return  # the client stopped listening (a cancelled stream)

    def _event(self, payload: dict[str, Any]) -> None:
        self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
        self.wfile.flush()


@dataclass
class StubServer:
    url: str  # the server's root; OpenAI-style clients use url + "/v1"
    state: StubState

    @property
    def openai_base(self) -> str:
        return self.url + "/v1"


@contextmanager
def llm_stub_server(**settings: Any) -> Iterator[StubServer]:
    state = StubState(**settings)
    handler = type("StubHandler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield StubServer(f"http://127.0.0.1:{server.server_address[1]}", state)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
