"""The part every fake server of the tests shares (FusionPBX, WHMCS, Lago): a real HTTP server
on 127.0.0.1 that parses and records every request, so a test can assert what was sent (and
that no secret is in a URL).

A fake answers JSON by implementing `answer(request) -> Answer`; one that must control the
bytes on the wire itself (header order, no Content-Length) overrides `serve(handler, request)`.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit


@dataclass
class RecordedRequest:
    method: str
    path: str
    target: str  # the raw request target, query included
    query: dict[str, str]
    form: dict[str, str]  # a form body, last value of each name
    headers: dict[str, str]  # names lower-cased
    body: bytes
    cookies: dict[str, str] = field(default_factory=dict)  # the Cookie header, parsed

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int
    body: Any  # JSON-able, or bytes sent as they are
    content_type: str = "application/json"


class DropAnswer(Exception):
    """Raised by a fake's handler after doing the work: the connection closes unanswered."""


class FakeServer:
    """Subclasses implement `answer(request) -> Answer`; it runs under `self.lock`."""

    def __init__(self) -> None:
        self.url = ""
        self.requests: list[RecordedRequest] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()  # set by stop(): a fake's waits end early
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def answer(self, request: RecordedRequest) -> Answer:
        raise NotImplementedError

    def record(self, request: RecordedRequest) -> None:
        with self.lock:
            self.requests.append(request)

    def serve(self, handler: BaseHTTPRequestHandler, request: RecordedRequest) -> None:
        """Record the request, answer it under the lock, and write the answer."""
        try:
            with self.lock:
                self.requests.append(request)
                answer = self.answer(request)
        except DropAnswer:
            handler.close_connection = True
            return
        data = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
        handler.send_response(answer.status)
        handler.send_header("Content-Type", answer.content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def start(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep the test output clean

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        fake: FakeServer = self.server.fake  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        is_form = "form-urlencoded" in (self.headers.get("Content-Type") or "")
        cookies: dict[str, str] = {}
        if self.headers.get("Cookie"):
            jar: SimpleCookie = SimpleCookie()
            jar.load(self.headers["Cookie"])
            cookies = {name: morsel.value for name, morsel in jar.items()}
        request = RecordedRequest(
            method=self.command,
            path=parts.path,
            target=self.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            form=dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            if is_form
            else {},
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            cookies=cookies,
        )
        fake.serve(self, request)
