"""A real HTTP server on 127.0.0.1 that speaks three model providers' wire formats:
OpenAI-compatible ``POST /v1/chat/completions`` (JSON, or server-sent events with
``[DONE]`` and a usage chunk when ``stream_options.include_usage`` asks), Anthropic's
``POST /v1/messages`` (``x-api-key`` and ``anthropic-version`` checked; SSE events
``message_start`` … ``message_stop``) and Ollama's ``POST /api/chat`` (NDJSON ending with a
``done: true`` object carrying counts and nanosecond timings) and ``GET /api/tags``.

Each model answers "<model> says: <last user message>" by default; a test scripts what a
model does next with ``server.plan(model, Step(...), ...)``: an HTTP error (429 with
Retry-After in seconds or as a date, 500, 401, 404), a delay past the client's timeout,
malformed JSON, a stream that breaks off, an error event mid-stream or a stream without
usage. HTTP/1.1 with keep-alive, chunked streams; every request is recorded with the test's
clock, and the most calls in flight at once is kept.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

ANTHROPIC_KEY = "sk-ant-test-key"
OPENAI_KEY = "sk-openai-test-key"


@dataclass
class Step:
    status: int = 200
    delay: float = 0.0  # before the head is sent
    gap: float = 0.0  # between stream chunks
    retry_after: str | None = None
    text: str | None = None  # the reply; default "<model> says: <prompt>"
    raw: str | None = None  # a body sent as is (malformed JSON)
    break_after: int | None = None  # streams: close the connection after this many pieces
    error_event: bool = False  # streams: an error mid-stream after the first piece
    bad_chunk: bool = False  # streams: a chunk that is not JSON after the first piece
    no_usage: bool = False  # OpenAI streams: ignore include_usage
    cached: int = 0  # prompt tokens read from the provider's cache
    message: str = "scripted failure"


@dataclass
class Seen:
    path: str
    model: str
    headers: dict[str, str]
    body: Any
    at: float  # the test's clock when it arrived


@dataclass
class ProviderServer:
    url: str = ""
    clock: Callable[[], float] = time.time
    tags: list[str] = field(default_factory=lambda: ["llama3.2:3b", "qwen2.5:7b"])
    script: dict[str, list[Step]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock)
    arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)

    @property
    def openai_base(self) -> str:
        return f"{self.url}/v1"

    def plan(self, model: str, *steps: Step) -> None:
        with self.lock:
            self.script.setdefault(model, []).extend(steps)

    def next_step(self, model: str) -> Step:
        with self.lock:
            steps = self.script.get(model)
            return steps.pop(0) if steps else Step()

    def calls(self, model: str | None = None) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if model is None or s.model == model]

    def wait_for_call(self, model: str, timeout: float = 5.0) -> bool:
        """Block until a request for ``model`` arrived (run it in a thread)."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while not any(s.model == model for s in self.seen):
                left = deadline - time.monotonic()
                if left <= 0 or not self.arrived.wait(left):
                    return False
        return True


def _words(text: str) -> int:
    return len(text.split())


def _reply_for(model: str, body: dict[str, Any], step: Step) -> str:
    if step.text is not None:
        return step.text
    wants_json = "response_format" in body or "format" in body
    if wants_json or "JSON schema" in str(body.get("system", "")):
        return json.dumps({"reply": f"{model} says hello"})
    users = [m.get("content", "") for m in body.get("messages", []) if m.get("role") == "user"]
    return f"{model} says: {users[-1] if users else ''}"


def _prompt_tokens(body: dict[str, Any]) -> int:
    messages = body.get("messages", [])
    system = body.get("system", "")
    return 3 + sum(4 + _words(str(m.get("content", ""))) for m in messages) + _words(system)


def _pieces(text: str) -> list[str]:
    words = text.split(" ")
    return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, a keep-alive client's
    # delayed ACK would hold every reply back by 40 ms.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, *args: object) -> None:
        return

    # -- writing ----------------------------------------------------------------------
    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _start_stream(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, text: str) -> None:
        data = text.encode()
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _break(self) -> None:
        self.wfile.flush()
        self.close_connection = True

    # -- errors in each provider's shape ------------------------------------------------
    def _error(self, kind: str, step: Step, message: str | None = None) -> None:
        said = message or step.message
        headers = {"Retry-After": step.retry_after} if step.retry_after is not None else {}
        if kind == "anthropic":
            body: Any = {"type": "error", "error": {"type": "api_error", "message": said}}
        elif kind == "ollama":
            body = {"error": said}
        else:
            body = {"error": {"message": said, "type": "server_error", "code": step.status}}
        self._send(step.status, body, headers)

    # -- requests -----------------------------------------------------------------------
    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/api/tags":
            models = [
                {"name": n, "modified_at": "2026-01-01T00:00:00Z", "size": 1,
                 "digest": "x", "details": {"family": "llama"}}
                for n in self.server.state.tags
            ]  # fmt: skip
            self._send(200, {"models": models})
            return
        self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        state = self.server.state
        path = urlsplit(self.path).path
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._send(400, {"error": {"message": "body is not JSON"}})
            return
        model = str(body.get("model", ""))
        with state.lock:
            state.seen.append(Seen(path, model, dict(self.headers), body, state.clock()))
            state.arrived.notify_all()
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            self._serve(path, model, body, state.next_step(model))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout): nothing to do
        finally:
            with state.lock:
                state.in_flight -= 1

    def _serve(self, path: str, model: str, body: dict[str, Any], step: Step) -> None:
        kind = {"/v1/chat/completions": "openai", "/v1/messages": "anthropic",
                "/api/chat": "ollama"}.get(path)  # fmt: skip
        if kind is None:
            self._send(404, {"error": f"no route {path}"})
            return
        if step.delay:
            time.sleep(step.delay)
        if kind == "anthropic":
            if self.headers.get("anthropic-version") != "2023-06-01":
                self._error(kind, Step(status=400), "anthropic-version header is required")
                return
            if self.headers.get("x-api-key") != ANTHROPIC_KEY:
                self._error(kind, Step(status=401), "invalid x-api-key")
                return
            if not isinstance(body.get("max_tokens"), int):
                self._error(kind, Step(status=400), "max_tokens: Field required")
                return
        authorised = self.headers.get("Authorization") == f"Bearer {OPENAI_KEY}"
        if kind == "openai" and model.startswith("secure-") and not authorised:
            self._error(kind, Step(status=401), "Incorrect API key provided")
            return
        if kind == "ollama" and model not in self.server.state.tags:
            self._error(kind, Step(status=404), f'model "{model}" not found, try pulling it first')
            return
        if model == "missing-model":
            self._error(kind, Step(status=404), f"The model `{model}` does not exist")
            return
        if step.status >= 400:
            self._error(kind, step)
            return
        if step.raw is not None:
            self._send(200, step.raw)
            return
        text = _reply_for(model, body, step)
        prompt = _prompt_tokens(body)
        if body.get("stream", kind == "ollama"):
            getattr(self, f"_stream_{kind}")(model, body, step, text, prompt)
        else:
            getattr(self, f"_reply_{kind}")(model, step, text, prompt)

    # -- whole replies --------------------------------------------------------------------
    def _reply_openai(self, model: str, step: Step, text: str, prompt: int) -> None:
        self._send(200, {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": _words(text),
                      "total_tokens": prompt + _words(text),
                      "prompt_tokens_details": {"cached_tokens": step.cached}},
        })  # fmt: skip

    def _reply_anthropic(self, model: str, step: Step, text: str, prompt: int) -> None:
        self._send(200, {
            "id": f"msg_{uuid.uuid4().hex[:12]}", "type": "message", "role": "assistant",
            "model": model, "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": prompt - step.cached, "output_tokens": _words(text),
                      "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": step.cached},
        })  # fmt: skip

    def _reply_ollama(self, model: str, step: Step, text: str, prompt: int) -> None:
        out = _words(text)
        self._send(200, {
            "model": model, "created_at": "2026-11-27T10:00:00Z",
            "message": {"role": "assistant", "content": text}, "done": True,
            "done_reason": "stop", "total_duration": 900_000_000, "load_duration": 1_000_000,
            "prompt_eval_count": prompt, "prompt_eval_duration": 100_000_000,
            "eval_count": out, "eval_duration": out * 25_000_000,
        })  # fmt: skip

    # -- streams ----------------------------------------------------------------------
    def _trouble(self, index: int, step: Step, error: Callable[[], None]) -> bool:
        """Scripted trouble after the first piece; True when the stream must stop."""
        if index == 0:
            return False
        if step.break_after is not None and index >= step.break_after:
            self._break()
            return True
        if step.bad_chunk:
            self._chunk("data: {this is not json\n\n")
            self._end_stream()
            return True
        if step.error_event:
            error()
            self._end_stream()
            return True
        return False

    def _stream_openai(
        self, model: str, body: dict[str, Any], step: Step, text: str, prompt: int
    ) -> None:
        self._start_stream("text/event-stream")
        chunk_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"

        def event(payload: dict[str, Any]) -> None:
            self._chunk(f"data: {json.dumps(payload)}\n\n")

        def base(choices: list[Any]) -> dict[str, Any]:
            return {"id": chunk_id, "object": "chat.completion.chunk", "model": model,
                    "created": 0, "choices": choices}  # fmt: skip

        def error() -> None:
            event({"error": {"message": "The server had an error while streaming"}})

        for index, piece in enumerate(_pieces(text)):
            if self._trouble(index, step, error):
                return
            if step.gap:
                time.sleep(step.gap)
            event(base([{"index": 0, "delta": {"content": piece}, "finish_reason": None}]))
        event(base([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
        if (body.get("stream_options") or {}).get("include_usage") and not step.no_usage:
            usage = {"prompt_tokens": prompt, "completion_tokens": _words(text),
                     "total_tokens": prompt + _words(text),
                     "prompt_tokens_details": {"cached_tokens": step.cached}}  # fmt: skip
            event({**base([]), "usage": usage})
        self._chunk("data: [DONE]\n\n")
        self._end_stream()

    def _stream_anthropic(
        self, model: str, body: dict[str, Any], step: Step, text: str, prompt: int
    ) -> None:
        self._start_stream("text/event-stream")

        def event(name: str, payload: dict[str, Any]) -> None:
            self._chunk(f"event: {name}\ndata: {json.dumps(payload)}\n\n")

        def error() -> None:
            overloaded = {"type": "overloaded_error", "message": "Overloaded"}
            event("error", {"type": "error", "error": overloaded})

        event("message_start", {"type": "message_start", "message": {
            "id": f"msg_{uuid.uuid4().hex[:12]}", "type": "message", "role": "assistant",
            "model": model, "content": [], "stop_reason": None,
            "usage": {"input_tokens": prompt - step.cached, "output_tokens": 1,
                      "cache_read_input_tokens": step.cached,
                      "cache_creation_input_tokens": 0}}})  # fmt: skip
        event("content_block_start", {"type": "content_block_start", "index": 0,
                                      "content_block": {"type": "text", "text": ""}})  # fmt: skip
        event("ping", {"type": "ping"})
        for index, piece in enumerate(_pieces(text)):
            if self._trouble(index, step, error):
                return
            if step.gap:
                time.sleep(step.gap)
            delta = {"type": "text_delta", "text": piece}
            event(
                "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
            )
        event("content_block_stop", {"type": "content_block_stop", "index": 0})
        event("message_delta", {"type": "message_delta",
                                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                "usage": {"output_tokens": _words(text)}})  # fmt: skip
        event("message_stop", {"type": "message_stop"})
        self._end_stream()

    def _stream_ollama(
        self, model: str, body: dict[str, Any], step: Step, text: str, prompt: int
    ) -> None:
        self._start_stream("application/x-ndjson")

        def line(payload: dict[str, Any]) -> None:
            self._chunk(json.dumps(payload) + "\n")

        def error() -> None:
            line({"error": "an error was encountered while running the model"})

        for index, piece in enumerate(_pieces(text)):
            if self._trouble(index, step, error):
                return
            if step.gap:
                time.sleep(step.gap)
            line({"model": model, "created_at": "2026-11-27T10:00:00Z",
                  "message": {"role": "assistant", "content": piece}, "done": False})  # fmt: skip
        out = _words(text)
        line({"model": model, "created_at": "2026-11-27T10:00:01Z",
              "message": {"role": "assistant", "content": ""}, "done": True,
              "done_reason": "stop", "total_duration": 900_000_000,
              "prompt_eval_count": prompt, "eval_count": out,
              "eval_duration": out * 25_000_000})  # fmt: skip
        self._end_stream()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256
    state: ProviderServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client that hung up mid-reply is part of the timeout tests


@contextmanager
def provider_server(clock: Callable[[], float] = time.time) -> Iterator[ProviderServer]:
    state = ProviderServer(clock=clock)
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = state
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
