"""HTTP to an invoicing system, and every way it can fail (rules §8, §11); the session,
the classification of network failures and redaction are voipbill.http's.

Each error says whether the remote system may have done the work (`maybe_done`): the journal
needs it. A refused connection certainly did nothing; a timeout after a request that writes
(a WHMCS AddBillableItem, a Lago events batch) was sent, or an answer to it that is not the
documented one, may hide a billable item that now exists. A lookup changes nothing: when its
answer is lost it is a plain connection failure, never "maybe carried out" (rules §11).

Secrets travel only in the POST body or a header; every message is scrubbed of them anyway.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import requests

from voipbill import http
from voipbill.errors import BadResponseError, ConnectionFailure, VoipbillError

USER_AGENT = http.USER_AGENT


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
        self.session = session or http.new_session()
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
        return http.scrub(error, self._secrets)

    def snippet(self, response: requests.Response) -> str:
        """The start of an answer's text, one line, scrubbed: for a message."""
        return self.clean(response.content[:200].decode("utf-8", "replace")) or "(empty)"

    def clean(self, text: str) -> str:
        """Text from the remote system made fit for a message: one line, no secret, short."""
        return http.redact(" ".join(text.split()), self._secrets)[:300]

    def _network_error(self, exc: requests.RequestException, *, writes: bool) -> VoipbillError:
        failure = http.classify(exc, self.base_url)
        host, name = failure.host, self.system
        if failure.kind is http.Kind.TLS:
            what = (
                "the certificate is not trusted"
                if failure.tls is http.Tls.VERIFY
                else "it answered in plain http"
                if failure.tls is http.Tls.NOT_TLS
                else "the handshake failed"
            )
            return Unreachable(
                f"{name}: TLS failed for {self.base_url}: {what}",
                hint="check the URL and the certificate of the invoicing system",
            )
        if failure.kind is http.Kind.CONNECT_TIMEOUT:
            return Unreachable(f"{name}: no connection to {host} within {self.timeout_s:g} s")
        if failure.kind is http.Kind.REFUSED:
            return Unreachable(f"{name}: connection to {host} refused", hint="check the URL")
        if failure.kind is http.Kind.DNS:
            return Unreachable(f"{name}: cannot resolve host name {host}", hint="check the URL")
        if failure.kind is http.Kind.UNREACHABLE:
            return Unreachable(
                f"{name}: cannot connect to {host}: {failure.cause}",
                hint="check the network path to the invoicing system",
            )
        # The request went out: a write may have been carried out, a lookup changed nothing.
        lost = self._lost if failure.maybe_done(writes=writes) else self._no_answer
        if failure.kind is http.Kind.READ_TIMEOUT:
            return lost(f"no answer from {host} within {self.timeout_s:g} s")
        if failure.kind is http.Kind.BROKEN:
            return lost(f"the connection to {host} broke before the answer")
        return lost(f"request failed: {failure.cause}")

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
