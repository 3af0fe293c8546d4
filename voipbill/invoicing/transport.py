"""HTTP to an invoicing system, and every way it can fail (rules §8, §11).

Each error says whether the remote system may have done the work (`maybe_done`): the journal
needs it. A refused connection certainly did nothing; a timeout after a request that writes
(a WHMCS AddBillableItem, a Lago events batch) was sent, or an answer to it that is not the
documented one, may hide a billable item that now exists. A lookup changes nothing: when its
answer is lost it is a plain connection failure, never "maybe carried out" (rules §11).

Secrets travel only in the POST body or a header; every message is scrubbed of them anyway.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests

from voipbill import __version__
from voipbill.errors import BadResponseError, ConnectionFailure, VoipbillError

USER_AGENT = f"voipbill/{__version__}"


class InvoicingFailure(VoipbillError):
    """Mixin data of every invoicing error: whether the remote may have done the work."""

    maybe_done: bool = False


class Unreachable(ConnectionFailure, InvoicingFailure):
    """No connection (DNS, refused, TLS, connect timeout): nothing reached the system."""


class AnswerLost(ConnectionFailure, InvoicingFailure):
    """The request was sent but no answer came back: the system may have done it."""

    maybe_done = True


class NoAnswer(ConnectionFailure, InvoicingFailure):
    """A lookup got no answer (timeout, broken connection): a read, so nothing was changed."""


class Refused(ConnectionFailure, InvoicingFailure):
    """The system refused our credentials, our IP address or a permission (exit 4)."""


class Rejected(BadResponseError, InvoicingFailure):
    """The system answered with an error of its own, e.g. WHMCS `Client ID not Found` (exit 5)."""


class UnexpectedAnswer(BadResponseError, InvoicingFailure):
    """An answer that is not the documented one (HTML, a PHP error, a 500): maybe done."""

    maybe_done = True


def redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
    return text


class Transport:
    """One requests session to one system, named in every message as `system` (e.g. WHMCS)."""

    def __init__(
        self,
        system: str,
        base_url: str,
        *,
        timeout_s: float,
        secrets: Sequence[str],
        session: requests.Session | None = None,
    ) -> None:
        self.system = system
        self.base_url = base_url
        self.timeout_s = timeout_s
        self._secrets = tuple(secrets)
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT

    def post(
        self,
        path: str,
        *,
        data: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        writes: bool = True,
    ) -> requests.Response:
        """A POST; `writes=False` for one that only reads (a WHMCS lookup action)."""
        try:
            return self.session.post(
                self.base_url + path,
                data=data,
                json=json,
                headers=dict(headers or {}),
                timeout=self.timeout_s,
                allow_redirects=False,  # a redirect would turn the POST into a GET
            )
        except requests.RequestException as exc:
            raise self.scrub(self._network_error(exc, writes=writes)) from None

    def get(self, path: str, *, headers: Mapping[str, str] | None = None) -> requests.Response:
        """A lookup: its lost answer is a connection failure, never "maybe carried out"."""
        try:
            return self.session.get(
                self.base_url + path,
                headers=dict(headers or {}),
                timeout=self.timeout_s,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise self.scrub(self._network_error(exc, writes=False)) from None

    def scrub(self, error: VoipbillError) -> VoipbillError:
        error.message = redact(error.message, self._secrets)
        error.args = (error.message,)
        if error.hint:
            error.hint = redact(error.hint, self._secrets)
        return error

    def snippet(self, response: requests.Response) -> str:
        """The start of an answer's text, one line, scrubbed: for a message."""
        return self.clean(response.content[:200].decode("utf-8", "replace")) or "(empty)"

    def clean(self, text: str) -> str:
        """Text from the remote system made fit for a message: one line, no secret, short."""
        return redact(" ".join(text.split()), self._secrets)[:300]

    def _network_error(self, exc: requests.RequestException, *, writes: bool) -> VoipbillError:
        host = urlsplit(self.base_url).hostname or self.base_url
        name = self.system
        lost = self._lost if writes else self._no_answer
        if isinstance(exc, requests.exceptions.SSLError):
            return Unreachable(
                f"{name}: TLS failed for {self.base_url}",
                hint="check the URL and the certificate of the invoicing system",
            )
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return Unreachable(f"{name}: no connection to {host} within {self.timeout_s:g} s")
        if isinstance(exc, requests.exceptions.Timeout):
            return lost(f"no answer from {host} within {self.timeout_s:g} s")
        if isinstance(exc, requests.exceptions.ConnectionError):
            chain = _causes(exc)
            text = " ".join(f"{type(e).__name__}: {e}" for e in chain)
            if any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in text:
                return Unreachable(f"{name}: connection to {host} refused", hint="check the URL")
            if any(isinstance(e, socket.gaierror) for e in chain) or "NameResolution" in text:
                return Unreachable(f"{name}: cannot resolve host name {host}", hint="check the URL")
            return lost(f"the connection to {host} broke before the answer")
        return lost(f"request failed: {type(exc).__name__}")

    def _lost(self, what: str) -> VoipbillError:
        return AnswerLost(
            f"{self.system}: sent, but {what}",
            hint="the request may have been carried out; see `voipbill invoice status`",
        )

    def _no_answer(self, what: str) -> VoipbillError:
        timeout = " (timeout_s in the config sets the wait)" if "within" in what else ""
        return NoAnswer(
            f"{self.system}: a lookup failed: {what}; nothing was changed there",
            hint=f"check that {self.base_url} is up and reachable, then run it again{timeout}",
        )


def _causes(exc: BaseException) -> list[BaseException]:
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
