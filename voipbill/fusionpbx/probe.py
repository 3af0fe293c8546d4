"""`test-connection` as a library: a checklist of one server and domain (docs/fusionpbx.md §5).

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
from voipbill.fusionpbx.answers import Export, export_version, row_tenants
from voipbill.fusionpbx.client import FusionPBXClient

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
    errors.TenantUnproven: "tenant",
}
# The FusionPBX permission that shows each column (docs/fusionpbx.md §2).
_COLUMN_PERMISSION = {
    "caller_destination": "xml_cdr_caller_destination",
    "extension": "xml_cdr_extension",
    "direction": "xml_cdr_direction",
    "destination_number": "xml_cdr_destination",
    "start_epoch": "xml_cdr_start",
    "billsec": "xml_cdr_duration",
}
# The reader needs REQUIRED_COLUMNS; `leg` may be absent from a file (read as "a"), but a
# live export always has it, so its absence means something is wrong (docs/fusionpbx.md §2).
NEEDED_COLUMNS = (*REQUIRED_COLUMNS, "leg")
CLOCK_TOLERANCE_S = 60
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
            return _fail_tenant(checks, error, "columns", client.domain)
        try:
            checks.set(*tenant_check(client, latest, window))
        except VoipbillError as error:
            return _fail_tenant(checks, error, "tenant", client.domain)
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
    # The attachment is named cdr_<key's domain>_<stamp>.csv, whoever's rows it holds (§2):
    # it says the key logged in to the domain, not whose calls the rows are (that is "tenant").
    if export.filename is None:
        return "domain", "warn", "no file name in the answer to confirm the domain"
    if export.filename.startswith(f"cdr_{domain}_"):
        return "domain", "ok", f"the key logged in to domain {domain}"
    return "domain", "warn", f"exported as {export.filename}, not from domain {domain}"


def _fail_tenant(
    checks: _Checklist, error: VoipbillError, default: str, domain: str
) -> ProbeResult:
    """A failure; when it says the rows are not the tenant's, "domain" is not left "ok"."""
    if isinstance(error, (errors.MixedTenants, errors.WrongTenant, errors.TenantUnproven)):
        checks.set(
            "domain", "warn", f"the key logged in to domain {domain}, but see the tenant check"
        )
    return checks.fail(error, default)


def tenant_check(
    client: FusionPBXClient, export: Export | None, window: tuple[int, int]
) -> tuple[str, str, str]:
    """Whose calls the export holds, and what the Host header would have given (§3).

    FusionPBX 5.2+ exports the key's domain. 5.0 and 5.1 (told apart by their columns, §4)
    export the tenant their session holds, else the one the Host header names; the client
    exports only in a session the key login fixed to the tenant, so a proxy that rewrites
    Host cannot change the rows voipbill bills. What is left to check there is the Host
    header: the same window as the only request of a new session shows whose calls a
    Host-scoped export holds, which tells whether a proxy rewrites Host.
    """
    tenants = row_tenants(export.body) if export is not None else set()
    if export is None or not tenants:
        return (
            "tenant",
            "skip",
            "not checked: no CDRs in the last 7 days, so whose calls the export holds and "
            "whether a proxy rewrites the Host header could not be seen",
        )
    uuid = next(iter(tenants))
    version = export_version(export.body)
    if version == "5.2+":
        return "tenant", "ok", f"domain_uuid {uuid}: FusionPBX 5.2+ exports the key's domain"
    where = f"domain_uuid {uuid}, from a session the key's login fixed to {client.domain}"
    try:
        by_host = client.export_by_host(*window)
    except VoipbillError as error:
        return (
            "tenant",
            "warn",
            f"{where} (FusionPBX {version}); the Host header could not be checked: {error.message}",
        )
    host_tenants = row_tenants(by_host.body)
    if host_tenants == tenants:
        return (
            "tenant",
            "ok",
            f"{where}; FusionPBX {version} gets Host {client.domain} and exports the same calls",
        )
    seen = f"domain_uuid {', '.join(sorted(host_tenants))}'s calls" if host_tenants else "no calls"
    return (
        "tenant",
        "warn",
        f"{where}. A proxy in front of FusionPBX {version} rewrites the Host header: by Host "
        f"alone the export holds {seen} (voipbill does not depend on Host; nginx: "
        "proxy_set_header Host $host)",
    )


def _check_columns(
    client: FusionPBXClient, checks: _Checklist, now: int
) -> tuple[Export | None, tuple[int, int]]:
    """Export recent chunks, newest first, until one has CDRs; check its header."""
    # The probe's empty answer has no header (docs/fusionpbx.md §2), so look at real CDRs:
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
