"""The FusionPBX HTTP client: log in with the API key, export CDRs as CSV (docs/fusionpbx.md).

Every export it returns is proven to be the configured tenant's (docs/fusionpbx.md §3): FusionPBX
5.2+ exports the key's domain; 5.0 and 5.1 export the tenant their session held when the
request began, and a session that held none exports the tenant the Host header names, which a
proxy may rewrite. So a session starts with a key login that exports nothing (the probe: a
uuid no call has), and every export follows it in that session, whose tenant the login fixed:
with the cookie alone, or on 5.0, which keeps no key login, with the key again. An answer that
was not given in that session (the cookie was lost) is never believed.
"""

from __future__ import annotations

import io
import logging
import re
import time
import warnings
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Protocol, TypeVar
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import InsecureRequestWarning

from voipbill import http
from voipbill.cdrs import CdrProblem, CdrRecord, read_cdrs
from voipbill.config import Server
from voipbill.errors import VoipbillError
from voipbill.fusionpbx import errors
from voipbill.fusionpbx.answers import (
    Export,
    host_header,
    in_session,
    login_token,
    row_tenants,
    server_date,
)
from voipbill.fusionpbx.chunks import chunk_bounds

log = logging.getLogger(__name__)
# Told after each export chunk: (chunks done, chunks in all). The CLI draws it; the core
# only calls it (the core imports no rich).
ChunkProgress = Callable[[int, int], None]

USER_AGENT = http.USER_AGENT
LOGIN_PATH = "/login.php"
EXPORT_PATH = "/app/xml_cdr/xml_cdr_export.php"
# The cheap probe (docs/fusionpbx.md §5): a primary-key lookup that matches nothing.
PROBE_UUID = "00000000-0000-0000-0000-000000000000"

_T = TypeVar("_T")


class HasEpochs(Protocol):
    @property
    def start_epoch(self) -> int: ...

    @property
    def end_epoch(self) -> int: ...


class FusionPBXClient:
    """One logged-in session with one FusionPBX server, exporting one domain's CDRs."""

    def __init__(
        self,
        server: Server,
        domain: str | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        retries: int = 2,
        backoff_s: float = 1.0,
    ) -> None:
        self.server = server
        # Without a domain, FusionPBX would resolve the Host header: the URL's host name.
        self.domain = domain or urlsplit(server.url).hostname or ""
        self.where = errors.Where(server.name, server.url, self.domain)
        self.sleep = sleep
        self.retries = retries
        self.backoff_s = backoff_s
        self.warnings: list[str] = []
        # The tenant of the rows exported so far: every row of this client must share it.
        self.tenant_uuid: str | None = None
        self._key = server.api_key().reveal()
        self._token: dict[str, str] | None = None
        self._authenticated = False
        # FusionPBX 5.0 keeps no key login: every export of the session carries the key.
        self.key_every_time = False
        self.requests_sent = 0
        # FusionPBX binds the session to the User-Agent (docs/fusionpbx.md §1): new_session
        # sends one constant User-Agent.
        self.session = http.new_session(verify=self._verify_setting())
        # A FusionPBX 5.0/5.1 session that holds no tenant yet exports the one the Host
        # header names, whatever domain_name says (§3): connect to the URL, name the tenant.
        self.session.headers["Host"] = host_header(server.url, self.domain)
        if self.where.is_http:
            self.warnings.append(
                f"{server.name}: {server.url} is plain http: the API key travels unencrypted"
            )

    def _verify_setting(self) -> bool | str:
        if not self.server.verify_tls:
            self.warnings.append(
                f"{self.server.name}: TLS verification is off (verify_tls = false): anyone on "
                "the path can read the API key"
            )
            return False
        where = f"servers -> {self.server.name} -> ca_bundle"
        return http.tls_verify(True, self.server.ca_bundle, key=where)

    def __enter__(self) -> FusionPBXClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    # --- public operations ---------------------------------------------------------------

    def open_login_page(self) -> dict[str, str]:
        """GET /login.php with a fresh cookie jar; keep its token for the key request."""
        self.session.cookies.clear()
        self._authenticated = False
        response = self._send("GET", LOGIN_PATH, params={"domain_name": self.domain})
        if response.status_code != 200:
            raise self._status_failure(response)
        page = self._text(response)
        if not errors.is_login_page(page):
            raise (
                errors.body_error(page, self.where)
                if errors.is_php_error(page) or errors.is_error_page(page)
                else errors.UnexpectedResponse(
                    f"{self.server.name}: {self.server.url}{LOGIN_PATH} is not a FusionPBX "
                    "login page",
                    hint=f"check that servers -> {self.server.name} -> url is the FusionPBX "
                    "base URL",
                )
            )
        self._token = login_token(page)
        return dict(self._token)

    def probe_export(self) -> Export:
        """The cheap test export: authenticated, permitted, and (normally) `\\n\\n`."""
        return self.export({"xml_cdr_uuid": PROBE_UUID})

    def export_range(self, start_epoch: int, stop_epoch: int) -> Export:
        """CDRs with start_epoch in [start_epoch, stop_epoch], both inclusive (§2)."""
        if start_epoch < 1 or stop_epoch < 1:
            chunk_bounds(0, 1, 1)  # raises the epoch-0 refusal
        return self.export({"start_epoch": str(start_epoch), "stop_epoch": str(stop_epoch)})

    def export_chunks(
        self, period: HasEpochs, progress: ChunkProgress | None = None
    ) -> Iterator[tuple[int, int, str]]:
        """(start, stop, CSV text) for each chunk of the period, oldest first."""
        bounds = self.chunks(period)
        for number, (start, stop) in enumerate(bounds, 1):
            began = time.monotonic()
            body = self.export_range(start, stop).body
            log.debug(
                "%s: domain %s chunk %d/%d (start_epoch %d..%d): %d line(s), %d bytes, %.2f s",
                self.server.name,
                self.domain,
                number,
                len(bounds),
                start,
                stop,
                max(body.strip("\n").count("\n"), 0),  # data lines: all but the header
                len(body),
                time.monotonic() - began,
            )
            if progress is not None:
                progress(number, len(bounds))
            yield start, stop, body

    def records(
        self,
        period: HasEpochs,
        problems: list[CdrProblem],
        progress: ChunkProgress | None = None,
    ) -> Iterator[CdrRecord]:
        """The period's CDRs, chunk by chunk, read as they arrive (unsorted: rating sorts)."""
        for start, stop, body in self.export_chunks(period, progress):
            yield from read_cdrs(
                io.StringIO(body, newline="\n"),
                source=f"{self.server.name} export {start}..{stop}",
                problems=problems,
            )

    def chunks(self, period: HasEpochs) -> list[tuple[int, int]]:
        return chunk_bounds(period.start_epoch, period.end_epoch, self.server.chunk_hours * 3600)

    def export(self, search: dict[str, str]) -> Export:
        """One CSV export with these search parameters, logging in first if needed."""
        export = self._with_retries(lambda: self._export_once(search))
        self._check_tenant(export.body)
        return export

    def export_by_host(self, start_epoch: int, stop_epoch: int) -> Export:
        """The range as the only keyed request of a new session, unchecked: on 5.0 and 5.1 its
        rows are those of the tenant the Host header names when it reaches FusionPBX (§3)."""
        form = {
            "export_format": "csv",
            "domain_name": self.domain,
            "start_epoch": str(start_epoch),
            "stop_epoch": str(stop_epoch),
            "key": self._key,
        }
        with http.new_session(verify=self.session.verify) as fresh:
            fresh.headers.update(self.session.headers)
            return self._classify_export(self._send("POST", EXPORT_PATH, data=form, via=fresh))

    def _check_tenant(self, body: str) -> None:
        # One tenant's export holds one domain_uuid; another one means the rows are (partly)
        # another tenant's, and none of them may be billed (docs/fusionpbx.md §3).
        tenants = row_tenants(body)
        if self.tenant_uuid is not None:
            tenants.add(self.tenant_uuid)
        if len(tenants) > 1:
            raise errors.MixedTenants(
                f"{self.server.name}: the export for domain {self.domain} holds the calls of "
                f"{len(tenants)} tenants (domain_uuid {', '.join(sorted(tenants))}): "
                "nothing is billed from it",
                hint="a proxy in front of FusionPBX may rewrite the Host header; "
                f"`voipbill test-connection --server {self.server.name}` checks whose calls "
                "the export holds",
            )
        self.tenant_uuid = next(iter(tenants), None)

    # --- the login flow --------------------------------------------------------------------

    def _export_once(self, search: dict[str, str]) -> Export:
        form = {"export_format": "csv", "domain_name": self.domain, **search}
        if not self._authenticated:
            probe = self._log_in()
            if search == {"xml_cdr_uuid": PROBE_UUID}:
                return probe  # no call has that uuid, whoever's tenant it asked
        if self.key_every_time:
            return self._export_keyed(form)
        try:
            return self._classify_export(self._send("POST", EXPORT_PATH, data=form))
        except errors.AuthenticationFailed:
            # The cookie alone sent to login.php?path=…: FusionPBX 5.0 keeps no key login (§1)
            self.key_every_time = True
            return self._export_keyed(form)
        except (errors.LoginPageReturned, errors.LoginTokenRequired):
            pass  # the session expired on the server: log in again, once
        self._log_in()
        try:
            return self._classify_export(self._send("POST", EXPORT_PATH, data=form))
        except (errors.LoginPageReturned, errors.LoginTokenRequired):
            raise errors.SessionRejected(
                f"{self.server.name}: FusionPBX forgot the login at once: its session cookie "
                "(PHPSESSID) does not come back",
                hint="over http a Secure session cookie is not sent back: use https://"
                if self.where.is_http
                else "a proxy or cache in front of FusionPBX may drop cookies",
            ) from None

    def _log_in(self) -> Export:
        """Prime a new session with the login page, then log in with the key: the probe."""
        if self._token is None:
            self.open_login_page()
        assert self._token is not None
        # The key goes in the POST body (never the URL: it would land in nginx's logs) with
        # the 5.6 login token, which older versions ignore; the token is single-use (§1).
        keyed = {
            "export_format": "csv",
            "domain_name": self.domain,
            "xml_cdr_uuid": PROBE_UUID,
            **self._token,
            "key": self._key,
        }
        self._token = None
        export = self._classify_export(self._send("POST", EXPORT_PATH, data=keyed))
        # The answer may set a new PHPSESSID (5.6); the session sends it from now on.
        self._authenticated = True
        return export

    def _export_keyed(self, form: dict[str, str]) -> Export:
        """5.0: the key again, in the session an earlier key login fixed to the tenant."""
        for _ in range(2):
            response = self._send("POST", EXPORT_PATH, data={**form, "key": self._key})
            export = self._classify_export(response)
            if in_session(response):
                return export
            # The session was lost: that answer was a first key login, so its rows are the
            # Host's tenant's (§3). Ask once more, in the session it may just have started.
        raise errors.TenantUnproven(
            f"{self.server.name}: FusionPBX 5.0 started a new session for each request, so "
            f"nothing proves the export is domain {self.domain}'s: nothing is billed from it",
            hint="the PHPSESSID cookie does not come back: a proxy or cache in front of "
            "FusionPBX may drop it; FusionPBX 5.0 without its session exports the tenant the "
            "Host header names",
        )

    def _with_retries(self, action: Callable[[], _T]) -> _T:
        # An export only reads: FusionPBX is asked again after a transient failure.
        policy = http.RetryPolicy(self.retries, self.backoff_s, errors.RETRYABLE, self.sleep)
        return policy.run(action, before_retry=self._forget_token)

    def _forget_token(self) -> None:
        self._token = None

    # --- HTTP and classification ----------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        via: requests.Session | None = None,
    ) -> requests.Response:
        self.requests_sent += 1
        try:
            with warnings.catch_warnings():
                # verify_tls = false already produced one warning of our own
                warnings.simplefilter("ignore", InsecureRequestWarning)
                return (via or self.session).request(
                    method,
                    self.server.url + path,
                    params=params,
                    data=data,
                    timeout=self.server.timeout_s,
                    allow_redirects=False,  # classify the first answer (§5)
                )
        except requests.RequestException as exc:
            raise self._sanitized(errors.network_error(exc, self.where)) from None

    def _classify_export(self, response: requests.Response) -> Export:
        if response.status_code != 200:
            raise self._status_failure(response)
        body = self._text(response)
        disposition = response.headers.get("Content-Disposition", "")
        if "attachment" not in disposition.lower() or errors.is_php_error(body):
            raise self._sanitized(errors.body_error(body, self.where))
        first_line = body.lstrip("\n").split("\n", 1)[0]
        if body.strip() and not first_line.startswith('"'):
            raise errors.UnexpectedResponse(
                f"{self.server.name}: the export does not start with a CSV header line"
            )
        match = re.search(r"filename=\"?([^\";]+)", disposition)
        return Export(
            body=body,
            filename=match.group(1).strip() if match else None,
            server_date=server_date(response),
        )

    def _status_failure(self, response: requests.Response) -> VoipbillError:
        if 300 <= response.status_code < 400:
            return self._sanitized(errors.redirect_error(response, self.where))
        return self._sanitized(errors.status_error(response, self.where))

    def _text(self, response: requests.Response) -> str:
        # Decode the bytes ourselves: requests would guess ISO-8859-1 for octet-binary.
        try:
            return response.content.decode("utf-8")
        except UnicodeDecodeError:
            raise errors.UnexpectedResponse(
                f"{self.server.name}: the answer is not UTF-8 text"
            ) from None

    def _sanitized(self, error: VoipbillError) -> VoipbillError:
        return http.scrub(error, (self._key,))
