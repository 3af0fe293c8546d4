"""One reading of a failed `requests` call: what went wrong, and whether the request went out.

The callers (FusionPBX, the invoicing systems) turn a `Failure` into their own error with their
own hint; only here is a `requests` exception looked into.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NewConnectionError


class Kind(Enum):
    DNS = "dns"  # the host name does not resolve
    REFUSED = "refused"  # nothing listens on the port
    UNREACHABLE = "unreachable"  # no connection for another reason (no route, network down)
    TLS = "tls"  # the TLS handshake failed
    CONNECT_TIMEOUT = "connect_timeout"  # no connection within the timeout
    READ_TIMEOUT = "read_timeout"  # sent, but no answer within the timeout
    BROKEN = "broken"  # the connection broke after the request went out
    OTHER = "other"  # anything else requests raises


class Tls(Enum):
    VERIFY = "verify"  # the certificate is not trusted
    NOT_TLS = "not_tls"  # the port answered in plain http
    CLOSED = "closed"  # the peer closed the connection during the handshake
    OTHER = "other"


# The request may have reached the server: only these can hide work the server did.
_SENT = frozenset({Kind.READ_TIMEOUT, Kind.BROKEN, Kind.OTHER})

# The peer closed the connection during the handshake: PHP's built-in server (plain http)
# does that to a TLS greeting, and so may a TLS server that refuses our protocols.
_CLOSED_IN_HANDSHAKE = ("UNEXPECTED_EOF_WHILE_READING", "EOF occurred in violation of protocol")
_NOT_TLS = (
    "WRONG_VERSION_NUMBER",
    "wrong version number",
    "record layer failure",
    "RECORD_LAYER_FAILURE",
    "packet length too long",
    "PACKET_LENGTH_TOO_LONG",
)


@dataclass(frozen=True)
class Failure:
    """What a failed request met on the way, for a message."""

    kind: Kind
    url: str
    cause: str  # the innermost exception's type name
    tls: Tls | None = None

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or self.url

    @property
    def address(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"

    @property
    def sent(self) -> bool:
        """The request may have reached the server (False: certainly nothing arrived)."""
        return self.kind in _SENT

    def maybe_done(self, *, writes: bool) -> bool:
        """Only a request that writes, and that went out, may have been carried out."""
        return writes and self.sent


def classify(exc: requests.RequestException, url: str) -> Failure:
    """The one classification of a `requests` failure."""
    chain = causes(exc)
    cause = type(chain[-1]).__name__
    if isinstance(exc, requests.exceptions.SSLError):
        return Failure(Kind.TLS, url, cause, tls=_tls(str(exc)))
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Failure(Kind.CONNECT_TIMEOUT, url, cause)
    if isinstance(exc, requests.exceptions.Timeout):
        return Failure(Kind.READ_TIMEOUT, url, cause)
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = " ".join(f"{type(e).__name__}: {e}" for e in chain)
        if any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in text:
            return Failure(Kind.REFUSED, url, cause)
        if any(isinstance(e, socket.gaierror) for e in chain) or "NameResolution" in text:
            return Failure(Kind.DNS, url, cause)
        if any(isinstance(e, NewConnectionError) for e in chain):
            return Failure(Kind.UNREACHABLE, url, cause)
        return Failure(Kind.BROKEN, url, cause)
    return Failure(Kind.OTHER, url, type(exc).__name__)


def _tls(text: str) -> Tls:
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return Tls.VERIFY
    if any(sign in text for sign in _NOT_TLS):
        return Tls.NOT_TLS
    if any(sign in text for sign in _CLOSED_IN_HANDSHAKE):
        return Tls.CLOSED
    return Tls.OTHER


def causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps: urllib3 keeps the cause in `reason` or in `args`."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        reason = getattr(current, "reason", None)
        nested = [arg for arg in current.args if isinstance(arg, BaseException)]
        if isinstance(reason, BaseException):
            current = reason
        elif nested:
            current = nested[0]
        else:
            current = current.__cause__ or current.__context__
    return chain
