"""`test-connection` as a library: a checklist of one server and domain (CONTRACT §5).

The steps run in order and stop at the first failure; the checks after it are "skip".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from voipbill.cdrs import REQUIRED_COLUMNS, header_columns
from voipbill.config import Server
from voipbill.errors import ConfigError, VoipbillError
from voipbill.fusionpbx import errors
from voipbill.fusionpbx.client import Export, FusionPBXClient, row_tenants

CHECKS = {
    "url": "URL",
    "dns": "DNS lookup",
    "tcp": "TCP connection",
    "tls": "TLS certificate",
    "login_page": "login page",
    "api_key": "API key accepted",
    "export_permission": "export permission",
    "csv_permission": "CSV export permission",
    "domain": "tenant domain",
    "columns": "CDR columns",
    "tenant": "tenant's calls",
    "clock": "server clock",
}
# Which check a failure belongs to, by error class.
_FAILED_CHECK: dict[type[VoipbillError], str] = {
    errors.DnsFailure: "dns",
    errors.ConnectionRefused: "tcp",
    errors.NetworkFailure: "tcp",
    errors.TlsFailure: "tls",
    errors.AuthenticationFailed: "api_key",
    errors.LoginTokenRequired: "api_key",
    errors.SessionRejected: "api_key",
    errors.LoginPageReturned: "api_key",
    errors.ExportPermissionMissing: "export_permission",
    errors.CsvPermissionMissing: "csv_permission",
    errors.ColumnsMissing: "columns",
    errors.MixedTenants: "tenant",
    errors.WrongTenant: "tenant",
}
# The FusionPBX permission that shows each column (CONTRACT §1.3).
_COLUMN_PERMISSION = {
    "caller_destination": "xml_cdr_caller_destination",
    "extension": "xml_cdr_extension",
    "direction": "xml_cdr_direction",
    "destination_number": "xml_cdr_destination",
    "start_epoch": "xml_cdr_start",
    "billsec": "xml_cdr_duration",
}
# The reader needs REQUIRED_COLUMNS; `leg` may be absent from a file (read as "a"), but a
# live export always has it, so its absence means something is wrong (CONTRACT §2.2).
NEEDED_COLUMNS = (*REQUIRED_COLUMNS, "leg")
CLOCK_TOLERANCE_S = 60
# A Host name no tenant has (RFC 2606): what a Host-scoped export answers without the tenant.
NO_TENANT_HOST = "voipbill-check.invalid"
DAY = 86400


@dataclass
class Check:
    name: str
    status: str  # "ok", "warn", "fail" or "skip"
    detail: str = ""

    @property
    def label(self) -> str:
        return CHECKS.get(self.name, self.name)


@dataclass
class ProbeResult:
    server: str
    url: str
    domain: str
    checks: list[Check] = field(default_factory=list)
    error: VoipbillError | None = None
    clock_skew_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class _Checklist:
    def __init__(self, result: ProbeResult) -> None:
        self.result = result

    def set(self, name: str, status: str, detail: str = "") -> None:
        self.result.checks = [c for c in self.result.checks if c.name != name]
        self.result.checks.append(Check(name, status, detail))
        order = list(CHECKS)
        self.result.checks.sort(key=lambda c: order.index(c.name) if c.name in order else -1)

    def fail(self, error: VoipbillError, default: str) -> ProbeResult:
        name = next(
            (check for kind, check in _FAILED_CHECK.items() if isinstance(error, kind)), default
        )
        if isinstance(error, ConfigError):
            name = "configuration"
        self.set(name, "fail", error.message)
        done = {c.name for c in self.result.checks}
        for other in CHECKS:
            if other not in done:
                self.set(other, "skip")
        self.result.error = error
        return self.result


def probe(
    server: Server,
    domain: str | None,
    *,
    now: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> ProbeResult:
    """Run the test-connection checklist against one server and domain."""
    host = urlsplit(server.url).hostname or ""
    result = ProbeResult(server.name, server.url, domain or host)
    checks = _Checklist(result)
    secure = urlsplit(server.url).scheme == "https"
    checks.set(
        "url",
        "ok" if secure else "warn",
        server.url if secure else f"{server.url}: plain http sends the API key unencrypted",
    )
    try:
        client = FusionPBXClient(server, domain, sleep=sleep, retries=0)
    except VoipbillError as error:
        return checks.fail(error, "url")
    with client:
        try:
            token = client.open_login_page()
        except VoipbillError as error:
            if not isinstance(error, errors.DnsFailure):
                checks.set("dns", "ok", f"{host} resolved")
            if not isinstance(error, (errors.DnsFailure, *_NOT_CONNECTED)):
                checks.set("tcp", "ok", "connected")
            return checks.fail(error, "login_page")
        checks.set("dns", "ok", f"{host} resolved")
        checks.set("tcp", "ok", "connected")
        checks.set(*_tls_check(server))
        # 5.0's login page has a 64-hex hidden input too: the token says nothing of the version.
        flavour = "with a form token (sent with the key)" if token else "no form token"
        checks.set("login_page", "ok", f"reached, {flavour}")
        try:
            export = client.probe_export()
        except VoipbillError as error:
            return checks.fail(error, "api_key")
        checks.set("api_key", "ok", f"accepted for domain {client.domain}")
        checks.set("export_permission", "ok", "xml_cdr_export granted")
        checks.set("csv_permission", "ok", "xml_cdr_export_csv granted")
        checks.set(*_domain_check(export, client.domain))
        try:
            latest, window = _check_columns(client, checks, int(now()))
        except VoipbillError as error:
            return checks.fail(error, "columns")
        try:
            checks.set(*tenant_check(client, latest, window))
        except VoipbillError as error:
            return checks.fail(error, "tenant")
        checks.set(*_clock_check(result, latest or export, now()))
    return result


_NOT_CONNECTED: tuple[type[VoipbillError], ...] = (
    errors.ConnectionRefused,
    errors.NetworkFailure,
    errors.TimeoutFailure,
)


def _tls_check(server: Server) -> tuple[str, str, str]:
    if urlsplit(server.url).scheme != "https":
        return "tls", "skip", "plain http"
    if not server.verify_tls:
        return "tls", "warn", "not verified (verify_tls = false)"
    if server.ca_bundle is not None:
        return "tls", "ok", f"verified with {server.ca_bundle}"
    return "tls", "ok", "verified"


def _domain_check(export: Export, domain: str) -> tuple[str, str, str]:
    # The attachment is named cdr_<session domain>_<stamp>.csv (CONTRACT §2.2).
    if export.filename is None:
        return "domain", "warn", "no file name in the answer to confirm the domain"
    if export.filename.startswith(f"cdr_{domain}_"):
        return "domain", "ok", f"{domain} resolves on the server"
    return "domain", "warn", f"exported as {export.filename}, not from domain {domain}"


def tenant_check(
    client: FusionPBXClient, export: Export | None, window: tuple[int, int]
) -> tuple[str, str, str]:
    """Whose calls the export holds: the configured tenant's, not the Host's (CONTRACT §0).

    FusionPBX 5.2+ exports the tenant the key was checked against. 5.0 and 5.1 (whose exports
    have no `status` column) export the tenant the Host header names: voipbill sends the
    tenant there, so the rows must change when the Host does; if they do not, something in
    between rewrites Host and the rows are whichever tenant it names.
    """
    tenants = row_tenants(export.body) if export is not None else set()
    if export is None or not tenants:
        return "tenant", "skip", "no CDRs in the last 7 days to tell whose calls they are"
    uuid = next(iter(tenants))
    if "status" in header_columns(export.body):
        return "tenant", "ok", f"one tenant's calls (domain_uuid {uuid}), the key's domain"
    try:
        other = client.export_as_host(NO_TENANT_HOST, *window)
    except VoipbillError as error:
        return "tenant", "warn", f"cannot compare with another Host header: {error.message}"
    if row_tenants(other.body) == tenants:
        raise errors.WrongTenant(
            f"{client.server.name}: the export is not domain {client.domain}'s for sure: this "
            "FusionPBX (5.0/5.1 export columns) takes the tenant from the Host header, and its "
            f"rows stay those of domain_uuid {uuid} whatever Host voipbill sends",
            hint="a proxy in front of FusionPBX rewrites Host: make it pass Host on (nginx: "
            f"proxy_set_header Host $host), or point servers -> {client.server.name} -> url "
            "at FusionPBX itself",
        )
    return (
        "tenant",
        "ok",
        f"domain_uuid {uuid}: this FusionPBX (5.0/5.1 export) takes the tenant from the Host "
        f"header, and voipbill sends Host: {client.domain}",
    )


def _check_columns(
    client: FusionPBXClient, checks: _Checklist, now: int
) -> tuple[Export | None, tuple[int, int]]:
    """Export recent chunks, newest first, until one has CDRs; check its header."""
    # The probe's empty answer has no header (CONTRACT §2.2), so look at real CDRs:
    # the last day first, then back a week, one chunk at a time.
    stop = now
    export = None
    while stop > now - 7 * DAY:
        start = max(stop - client.server.chunk_hours * 3600, now - 7 * DAY)
        export = client.export_range(start + 1, stop)
        if export.body.strip():
            break
        stop = start
    else:
        checks.set("columns", "skip", "no CDRs in the last 7 days to check columns")
        return None, (now, now)
    assert export is not None
    present = header_columns(export.body)
    missing = [column for column in NEEDED_COLUMNS if column not in present]
    if missing:
        permissions = sorted({_COLUMN_PERMISSION[c] for c in missing if c in _COLUMN_PERMISSION})
        hint = "in FusionPBX Group Manager give the key's group " + (
            ", ".join(permissions) if permissions else "the xml_cdr column permissions"
        )
        raise errors.ColumnsMissing(
            f"{client.server.name}: the export lacks column(s) {', '.join(missing)}", hint=hint
        )
    checks.set("columns", "ok", f"{len(present)} columns, all {len(NEEDED_COLUMNS)} needed")
    return export, (start + 1, stop)


def _clock_check(result: ProbeResult, export: Export, now: float) -> tuple[str, str, str]:
    if export.server_date is None:
        return "clock", "skip", "no Date header"
    skew = export.server_date.timestamp() - now
    result.clock_skew_s = round(skew, 1)
    server_time = export.server_date.astimezone(datetime.now().astimezone().tzinfo)
    detail = f"{server_time:%Y-%m-%d %H:%M:%S %z}, {round(skew):+d} s from this machine"
    if abs(skew) >= CLOCK_TOLERANCE_S:
        return "clock", "warn", detail + ": calls near midnight may land in the wrong period"
    return "clock", "ok", detail
