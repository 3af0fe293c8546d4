"""Every way a FusionPBX request can fail, each its own error with a hint for the PBX admin.

The signatures are those of docs/fusionpbx.md §5. Connection, TLS, authentication and permission
failures exit 4 (ConnectionFailure); answers that are not a CDR export exit 5
(BadResponseError), per rules §8. Each class has a stable `code` for JSON output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from voipbill import http
from voipbill.errors import BadResponseError, ConnectionFailure, VoipbillError


@dataclass(frozen=True)
class Where:
    """What a message names: the server, its URL and the domain being exported."""

    server: str
    url: str
    domain: str

    @property
    def is_http(self) -> bool:
        return urlsplit(self.url).scheme == "http"


# --- exit 4: could not connect, or credentials/permissions refused ---------------------------


class DnsFailure(ConnectionFailure):
    code = "dns"


class ConnectionRefused(ConnectionFailure):
    code = "connection_refused"


class NetworkFailure(ConnectionFailure):
    code = "network"


class TimeoutFailure(ConnectionFailure):
    code = "timeout"


class TlsFailure(ConnectionFailure):
    code = "tls"


class HttpsRedirect(ConnectionFailure):
    code = "https_redirect"


class HttpForbidden(ConnectionFailure):
    code = "http_forbidden"


class AuthenticationFailed(ConnectionFailure):
    code = "bad_key_or_domain"


class LoginTokenRequired(ConnectionFailure):
    code = "login_token"


class SessionRejected(ConnectionFailure):
    code = "session_rejected"


class LoginPageReturned(ConnectionFailure):
    code = "key_not_delivered"


class ExportPermissionMissing(ConnectionFailure):
    code = "no_export_permission"


class CsvPermissionMissing(ConnectionFailure):
    code = "no_csv_permission"


class ColumnsMissing(ConnectionFailure):
    code = "columns_missing"


# --- exit 5: the server answered, but not with a CDR export ----------------------------------


class PhpError(BadResponseError):
    code = "php_error"


class ServerError(BadResponseError):
    code = "server_error"


class UnexpectedResponse(BadResponseError):
    code = "unexpected_response"


class ErrorPage(BadResponseError):
    code = "error_page"


class MixedTenants(BadResponseError):
    code = "mixed_tenants"


class WrongTenant(BadResponseError):
    code = "wrong_tenant"


class TenantUnproven(BadResponseError):
    code = "tenant_unproven"


# Transient failures worth another try; an authentication failure never is.
RETRYABLE: tuple[type[VoipbillError], ...] = (
    ConnectionRefused,
    NetworkFailure,
    TimeoutFailure,
    ServerError,
    ErrorPage,
)


def error_code(error: VoipbillError) -> str:
    return str(getattr(error, "code", type(error).__name__))


_PHP_ERROR = re.compile(
    r"<b>(?:Fatal error|Parse error|Warning|Notice|Deprecated)</b>:|"
    r"^(?:PHP )?(?:Fatal error|Parse error): ",
    re.MULTILINE,
)
# What FusionPBX 5.0-5.4 print when PostgreSQL is unreachable (database.php: "error: " and
# the PDO message, then die()), and other one-line PHP error texts.
_ERROR_TEXT = re.compile(r"^\s*error:|SQLSTATE\[", re.IGNORECASE | re.MULTILINE)
_LOGIN_FORM = re.compile(r"""name=["']?username["'\s>]""", re.IGNORECASE)
_LOGIN_TITLE = re.compile(r"<title>\s*Login\s*</title>", re.IGNORECASE)


def is_php_error(body: str) -> bool:
    return _PHP_ERROR.search(body) is not None


def is_error_page(body: str) -> bool:
    return _ERROR_TEXT.search(body) is not None


def is_login_page(body: str) -> bool:
    return bool(_LOGIN_FORM.search(body) or _LOGIN_TITLE.search(body))


def php_error_line(body: str) -> str:
    """The first line of a PHP error, without its HTML tags."""
    text = re.sub(r"<[^>]+>", "", body)
    for line in text.splitlines():
        if line.strip():
            return " ".join(line.split())[:200]
    return "PHP error"


def network_error(exc: requests.RequestException, where: Where) -> VoipbillError:
    """Name what went wrong on the way to the server, from a requests exception."""
    failure = http.classify(exc, where.url)
    host = failure.host
    if failure.kind is http.Kind.TLS:
        return _tls_error(failure, where)
    if failure.kind in (http.Kind.CONNECT_TIMEOUT, http.Kind.READ_TIMEOUT):
        return TimeoutFailure(
            f"{where.server}: no answer from {host} within the timeout",
            hint=f"raise servers -> {where.server} -> timeout_s, or lower chunk_hours so each "
            "export is smaller; check the PBX's load and firewall",
        )
    if failure.kind is http.Kind.REFUSED:
        return ConnectionRefused(
            f"{where.server}: connection to {host} refused",
            hint="check the URL's port, that nginx runs on the PBX, and its firewall",
        )
    if failure.kind is http.Kind.DNS:
        return DnsFailure(
            f"{where.server}: cannot resolve host name {host}",
            hint=f"check servers -> {where.server} -> url, and this machine's DNS",
        )
    if failure.kind in (http.Kind.UNREACHABLE, http.Kind.BROKEN):
        return NetworkFailure(
            f"{where.server}: cannot connect to {host}: {failure.cause}",
            hint="check the network path to the PBX",
        )
    return NetworkFailure(f"{where.server}: request failed: {failure.cause}")


def _tls_error(failure: http.Failure, where: Where) -> TlsFailure:
    if failure.tls is http.Tls.VERIFY:
        return TlsFailure(
            f"{where.server}: certificate verification failed for {where.url}",
            hint=f"FusionPBX ships a self-signed certificate: set servers -> {where.server} -> "
            "ca_bundle to its CA file (or verify_tls = false, not recommended)",
        )
    address = failure.address
    if failure.tls is http.Tls.NOT_TLS:
        # The answer was not TLS at all: an https:// URL on a port that speaks plain http.
        return TlsFailure(
            f"{where.server}: {address} answered in plain http, not TLS",
            hint=f"servers -> {where.server} -> url names a plain-http port: use the https port "
            "(443 unless nginx listens elsewhere)",
        )
    if failure.tls is http.Tls.CLOSED:
        return TlsFailure(
            f"{where.server}: {address} closed the connection during the TLS handshake: it "
            "may speak plain http, not https",
            hint=f"if {address} is a plain-http port (PHP's built-in server closes the "
            "connection on a TLS greeting), use the https port, or http:// on a trusted "
            "network only; otherwise check the TLS protocols of the PBX's nginx and any proxy",
        )
    return TlsFailure(
        f"{where.server}: the TLS handshake with {address} failed",
        hint="check the TLS setup of the PBX's nginx (certificate, protocols), and any proxy",
    )


def redirect_error(response: requests.Response, where: Where) -> VoipbillError:
    """Each redirect FusionPBX sends means one specific thing (docs/fusionpbx.md §5)."""
    location = response.headers.get("Location", "")
    target = urlsplit(location)
    if target.scheme == "https" and where.is_http:
        return HttpsRedirect(
            f"{where.server}: the server redirects http to https ({response.status_code})",
            hint=f"write servers -> {where.server} -> url with https:// (the key must not "
            "travel over plain http anyway)",
        )
    # A refused key goes to /?path=… (5.2+) or /login.php?path=… (5.0, 5.1: 50_08_bad_key).
    refused = target.path in ("", "/") or target.path.endswith("login.php")
    if refused and target.query.startswith("path="):
        return AuthenticationFailed(
            f"{where.server}: FusionPBX refused the API key for domain {where.domain}",
            hint=f"on the PBX, check the user's API key (more than 30 characters), that the user "
            f"is enabled and belongs to domain {where.domain}; or set servers -> "
            f"{where.server} -> domain",
        )
    if target.path.endswith("logout.php"):
        return SessionRejected(
            f"{where.server}: FusionPBX ended the session (redirect to /logout.php)",
            hint="a proxy may change the User-Agent or client address between requests; check "
            "session.validate in /etc/fusionpbx/config.conf",
        )
    if target.path.endswith("login.php"):
        hint = "FusionPBX 5.6+ wants its login page token with the key"
        if where.is_http:
            hint += "; over http its Secure session cookie is not sent back: use https://"
        else:
            hint += "; a proxy or cache in between may drop the PHPSESSID cookie"
        return LoginTokenRequired(
            f"{where.server}: FusionPBX asked for a login token (redirect to login.php)", hint=hint
        )
    return UnexpectedResponse(
        f"{where.server}: unexpected redirect ({response.status_code}) to {location or '?'}",
        hint=f"check that servers -> {where.server} -> url is the FusionPBX base URL",
    )


def status_error(response: requests.Response, where: Where) -> VoipbillError:
    """A status other than 200 or a redirect."""
    status = response.status_code
    if status in (401, 403):
        return HttpForbidden(
            f"{where.server}: the web server refused access (HTTP {status})",
            hint="an nginx allow/deny rule or HTTP authentication in front of FusionPBX blocks "
            "this machine's address",
        )
    if status >= 500:
        return ServerError(
            f"{where.server}: server error HTTP {status}",
            hint="look at the PBX's nginx and PHP-FPM error logs",
        )
    return UnexpectedResponse(
        f"{where.server}: HTTP {status} from {where.url}",
        hint=f"check that servers -> {where.server} -> url is the FusionPBX base URL",
    )


def error_page(body: str, where: Where) -> ErrorPage:
    """FusionPBX answered 200 with an error text instead of a page (e.g. its database is down)."""
    database = "SQLSTATE[" in body
    return ErrorPage(
        f"{where.server}: the server answered with an error page: {php_error_line(body)}",
        hint="FusionPBX cannot reach its PostgreSQL database: check that it runs on the PBX"
        if database
        else "look at the PBX's PHP and nginx error logs",
    )


def body_error(body: str, where: Where) -> VoipbillError:
    """A 200 answer without a CSV attachment: never read as "zero CDRs" (docs/fusionpbx.md §5)."""
    stripped = body.strip()
    if is_php_error(body):
        return PhpError(
            f"{where.server}: FusionPBX failed with a PHP error: {php_error_line(body)}",
            hint="look at the PBX's PHP error log; report it to the FusionPBX admin",
        )
    if stripped == "access denied":
        return ExportPermissionMissing(
            f"{where.server}: access denied: the key's user may not export CDRs in {where.domain}",
            hint="in FusionPBX Group Manager give the user's group xml_cdr_export and "
            "xml_cdr_view (group admin has them), and check the domain's cidr setting",
        )
    if not stripped:
        return CsvPermissionMissing(
            f"{where.server}: the export came back empty, without a CSV file",
            hint="in FusionPBX Group Manager give the user's group xml_cdr_export_csv",
        )
    if is_login_page(body):
        return LoginPageReturned(
            f"{where.server}: FusionPBX showed its login page: the API key did not reach it",
            hint="a proxy in front of FusionPBX may drop POST form fields; check its rules",
        )
    if is_error_page(body):
        return error_page(body, where)
    kind = "an HTML page" if "<html" in body.lower() else "something else"
    return UnexpectedResponse(
        f"{where.server}: the server answered with {kind}, not a CDR export",
        hint=f"check that servers -> {where.server} -> url is the FusionPBX base URL",
    )
