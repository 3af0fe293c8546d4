"""A reverse proxy for the tests that rewrites the Host header, as operators run FusionPBX.

nginx with `proxy_pass http://127.0.0.1:8080;` and no `proxy_set_header Host $host;` sends
`Host: 127.0.0.1` (its $proxy_host); a proxy set up for another site sends that site's name.
FusionPBX behind it sees that Host, whatever the client sent (docs/fusionpbx.md §3).

API::

    class HostRewritingProxy(FakeServer):        # tests/fakehttp.py: url, requests, start/stop
        def __init__(self, backend_url: str, host: str) -> None
        host: str                                # the Host every forwarded request carries
        drop_cookies: bool                       # a cache that drops Set-Cookie (default off)
    def behind_proxy(backend, host) -> Iterator[HostRewritingProxy]   # a context manager

Everything else (method, target, headers, body; the answer's status, headers and body) passes
through unchanged, so cookies, redirects and attachments reach the client as FusionPBX sent them.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from tests.fakehttp import FakeServer, RecordedRequest

_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "host"})
_NOT_RELAYED = frozenset({"connection", "transfer-encoding", "content-length"})


class HostRewritingProxy(FakeServer):
    def __init__(self, backend_url: str, host: str) -> None:
        super().__init__()
        self.backend = urlsplit(backend_url)
        self.host = host
        self.drop_cookies = False

    def serve(self, handler: BaseHTTPRequestHandler, request: RecordedRequest) -> None:
        self.record(request)
        headers = {
            name: value
            for name, value in handler.headers.items()
            if name.lower() not in _HOP_BY_HOP
        }
        headers["Host"] = self.host
        connection = http.client.HTTPConnection(
            self.backend.hostname or "127.0.0.1", self.backend.port, timeout=30
        )
        try:
            connection.request(request.method, request.target, body=request.body, headers=headers)
            answer = connection.getresponse()
            body = answer.read()
            handler.send_response_only(answer.status, answer.reason)
            for name, value in answer.getheaders():
                dropped = name.lower() == "set-cookie" and self.drop_cookies
                if not dropped and name.lower() not in _NOT_RELAYED:
                    handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.send_header("Connection", "close")
            handler.close_connection = True
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first
        finally:
            connection.close()


@contextmanager
def behind_proxy(backend: FakeServer, host: str) -> Iterator[HostRewritingProxy]:
    """A started proxy in front of `backend` that sends `Host: <host>`."""
    with HostRewritingProxy(backend.url, host) as proxy:
        yield proxy
