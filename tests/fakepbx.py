"""A fake FusionPBX for the tests: a real HTTP server on 127.0.0.1 that answers like the captures.

It mirrors the behaviour described in docs/fusionpbx.md (the § below are its sections) and the
captured responses copied into ``tests/data/fusionpbx/``, byte for byte where a client could
notice: header lines and their order, the 302 ``Location`` values, the ``\\n\\n`` empty export,
the unescaped CSV quoting, the ``access denied`` body and the PHP fatal-error page.

API (other tests are written against it; keep it stable)::

    SUPERADMIN_KEY, ADMIN_KEY, USER_KEY   # 34-character API keys of the seeded users
    DOMAIN = "pbx.test"                    # the seeded tenant; DOMAIN_UUID is its uuid
    EXPORT_PATH = "/app/xml_cdr/xml_cdr_export.php"
    SEED_CDRS: list[dict[str, str]]        # the rows of samples/seed_v_xml_cdr.sql

    @dataclass
    class FakeUser:
        key: str; domain: str; role: str     # role: "superadmin" | "admin" | "user"
        username: str = ""; password: str = ""   # for the username/password login (§1)

    class FakeFusionPBX(FakeServer):   # the shared fake server of tests/fakehttp.py
        def __init__(self, *, mode="5.5", users=None, cdrs=None, db_tz="America/New_York",
                     domain_tz="America/New_York", time_format="12h") -> None
        url: str                  # "http://127.0.0.1:PORT" (set by start())
        failures: set[str]        # switches, see FAILURES below
        slow_seconds: float       # how long "slow" sleeps before answering (default 3.0)
        requests: list[RecordedRequest]   # every request received, in order
        def start(self) -> None; def stop(self) -> None   # also a context manager
        def add_cdr(self, **fields: object) -> dict[str, str]   # a row of v_xml_cdr; None = NULL

    RecordedRequest (tests/fakehttp.py): method, path, target (the raw request target), query,
        form (last value of each name), headers (names lower-cased), body, cookies

    fixtures: fake_pbx (mode 5.5), fake_pbx_56 (mode 5.6); both seeded with SEED_CDRS and the
    three users, with domain_tz="UTC" because that is what the captured exports show.

    Modes "5.0" (FusionPBX 5.0.1) and "5.1" (5.1.0), from the 50_* and 51_* captures: the key
    is checked against the tenant of ``domain_name`` (else Host), but the rows exported are
    those of the tenant the session held when the request began, and in a session that held
    none, those of the tenant the **Host header** names (none for an IP). A key login sets the
    session's tenant for the *next* request: so in 5.0 the first keyed export of a session
    has the Host's rows and a second keyed export in the same session the key's tenant's
    (50_23 to 50_28). 5.0's login page ignores ``domain_name`` and 5.0 keeps no key login: a
    request with the cookie alone is a 302 to ``/login.php?path=<request URI>`` (50_25). 5.1's
    login page sets the session's tenant from ``domain_name`` (51_24, 51_28) and keeps the key
    login. A bad key is a 302 to ``/login.php?path=...`` in 5.0 and ``/?path=...`` in 5.1; the
    login pages are served verbatim from the captures (5.0's has a 64-hex hidden input too).
    The exports have the 5.0 columns (no ``status``, real ``duration``); 5.1 adds
    ``missed_call``. tests/hostproxy.py plays a reverse proxy that rewrites Host.

CDR rows are dicts of ``v_xml_cdr`` column name -> text, plus ``extension`` and
``extension_name`` (what the export joins from ``v_extensions``). A missing key is NULL.

Behaviour worth knowing when writing a client test:

* The server listens on 127.0.0.1, so the Host header is ``127.0.0.1:PORT``; like a real
  FusionPBX reached by IP, a key only works with ``domain_name=pbx.test`` (or ``Host: pbx.test``).
* Mode "5.6" wants the hidden login token from ``GET /login.php`` (same PHPSESSID cookie) with
  the key, else ``302 login.php``; a successful login issues a new PHPSESSID (§1).
* An authorized session is bound to its User-Agent; another UA gets ``302 /logout.php``.
"""

from __future__ import annotations

import re
import secrets
import string
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from tests.fakehttp import FakeServer, RecordedRequest

SUPERADMIN_KEY = "Zq8vK3mW7pX2nR5tY9bC4dF6gH1jL0sAeU"
ADMIN_KEY = "Nf4hT8wQ2kV6yB1mP9xS3cR7gJ5dL0zEaW"
USER_KEY = "Gp2rM6vX9bN4tK8wQ1yF5hC3jS7dL0zUeA"
DOMAIN = "pbx.test"
DOMAIN_UUID = "75a468d8-3a9e-4544-bc8b-7c03aa13e10c"
EXPORT_PATH = "/app/xml_cdr/xml_cdr_export.php"
LIST_PATH = "/app/xml_cdr/xml_cdr.php"
DASHBOARD_PATH = "/core/dashboard/"
MODES = ("5.0", "5.1", "5.5", "5.6")
OLD_MODES = ("5.0", "5.1")  # the export's tenant is the session's, else the Host's

FAILURES = frozenset(
    {
        "php_fatal",  # every export answers the captured PHP fatal error, HTTP 200 (§2)
        "empty_no_attachment",  # export: 200, empty body, no Content-Disposition (no _csv perm)
        "https_redirect",  # nginx: 301 to https for every path (§5)
        "server_error",  # 500 from nginx/php-fpm
        "slow",  # sleep slow_seconds before answering anything
        "garbage_html",  # 200 text/html that is neither login page nor export
        "sql_error",  # export: the SQL failed, which FusionPBX turns into "\n\n" (§2)
        "cidr_denied",  # client IP outside domain→cidr: body "access denied" (§1)
        "db_down",  # PostgreSQL is down: 5.0-5.4 print "error: SQLSTATE[08006] ...<br/>", 200
        "mixed_tenants",  # a broken export: every tenant's rows in one answer
    }
)

# The PHP fatal error of a 24h start_stamp_begin under the default 12h setting (LIVE, §2).
FATAL_ERROR_BODY = (
    b"<br />\n"
    b"<b>Fatal error</b>:  Uncaught Error: Call to a member function format() on bool in"
    b" /var/www/fusionpbx/app/xml_cdr/xml_cdr_inc.php:476\n"
    b"Stack trace:\n"
    b"#0 /var/www/fusionpbx/app/xml_cdr/xml_cdr_export.php(44): require_once()\n"
    b"#1 {main}\n"
    b"  thrown in <b>/var/www/fusionpbx/app/xml_cdr/xml_cdr_inc.php</b> on line <b>476</b>"
    b"<br />\n"
)

_PHP_HEADERS = (
    ("X-Powered-By", "PHP/8.2.36"),
    ("X-Frame-Options", "SAMEORIGIN"),
    ("Content-Security-Policy", "frame-ancestors 'self';"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
)
_NO_CACHE_HEADERS = (
    ("Expires", "Thu, 19 Nov 1981 08:52:00 GMT"),
    ("Cache-Control", "no-store, no-cache, must-revalidate"),
    ("Pragma", "no-cache"),
)
_HTML = "text/html; charset=UTF-8"
DATA = Path(__file__).parent / "data" / "fusionpbx"
# resources/classes/database.php of 5.0-5.4 on a failed connect: print, die(), HTTP 200.
DB_DOWN_BODY = (
    b'error: SQLSTATE[08006] [7] connection to server at "127.0.0.1", port 5432 failed: '
    b"Connection refused\n\tIs the server running on that host and accepting TCP/IP "
    b"connections?<br/>"
)

_LOGIN_PAGE = """<!DOCTYPE html>
<html>
<head>
<meta charset='utf-8'>
<title>Login</title>
</head>
<body>
<div id='login_form'>
<form method='post' name='login' action=''>
<input type='text' class='txt login' name='username' id='username' placeholder='Username'>
<input type='password' class='txt login' name='password' placeholder='Password'>
{token}<input type='submit' id='btn_login' class='btn' value='Login'>
</form>
</div>
</body>
</html>
"""

# Column order of the 5.5 export for a superadmin with default settings (§2).
COLUMNS_55 = [
    "domain_uuid",
    "sip_call_id",
    "extension",
    "extension_name",
    "start_stamp",
    "end_stamp",
    "start_date_formatted",
    "start_time_formatted",
    "start_epoch",
    "duration",
    "billmsec",
    "missed_call",
    "record_path",
    "record_name",
    "xml_cdr_uuid",
    "bridge_uuid",
    "direction",
    "billsec",
    "caller_id_name",
    "caller_id_number",
    "caller_destination",
    "source_number",
    "destination_number",
    "leg",
    "read_codec",
    "write_codec",
    "cc_side",
    "answer_stamp",
    "status",
    "sip_hangup_disposition",
    "pdd_ms",
    "rtp_audio_in_mos",
    "wait",
]
# The 5.0.1 SELECT list (xml_cdr_inc.php) for an admin, as in 50_20's header; a superadmin
# (xml_cdr_mos) also gets rtp_audio_in_mos after pdd_ms.
COLUMNS_50 = [
    "domain_uuid",
    "sip_call_id",
    "extension",
    "start_stamp",
    "end_stamp",
    "start_date_formatted",
    "start_time_formatted",
    "start_epoch",
    "hangup_cause",
    "duration",
    "billmsec",
    "record_path",
    "record_name",
    "xml_cdr_uuid",
    "bridge_uuid",
    "direction",
    "billsec",
    "caller_id_name",
    "caller_id_number",
    "caller_destination",
    "source_number",
    "destination_number",
    "leg",
    "cc_side",
    "accountcode",
    "answer_stamp",
    "sip_hangup_disposition",
    "pdd_ms",
    "tta",
]
_NUMERIC = frozenset(
    [
        "start_epoch",
        "answer_epoch",
        "end_epoch",
        "duration",
        "mduration",
        "billsec",
        "billmsec",
        "waitsec",
        "wait",
        "pdd_ms",
        "rtp_audio_in_mos",
        "hangup_cause_q850",
    ]
)
_STAMP_EPOCH = {
    "start_stamp": "start_epoch",
    "answer_stamp": "answer_epoch",
    "end_stamp": "end_epoch",
}
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_TRUE = frozenset({"1", "t", "true"})


def _seed_row(**values: str) -> dict[str, str]:
    base = {"domain_uuid": DOMAIN_UUID, "domain_name": DOMAIN, "context": DOMAIN}
    base.update(values)
    return base


def _epochs(start: int, answer: int, end: int) -> dict[str, str]:
    return {"start_epoch": str(start), "answer_epoch": str(answer), "end_epoch": str(end)}


# The rows of samples/seed_v_xml_cdr.sql, with the v_extensions join already applied.
SEED_CDRS: list[dict[str, str]] = [
    _seed_row(  # 1 outbound answered, a-leg
        xml_cdr_uuid="aaaaaaaa-0000-4000-8000-000000000001",
        extension_uuid="11111111-1111-4111-8111-111111111001",
        extension="1001",
        extension_name="Alice",
        direction="outbound",
        caller_id_name="Alice",
        caller_id_number="1001",
        caller_destination="15551234567",
        source_number="1001",
        destination_number="15551234567",
        **_epochs(1710079200, 1710079205, 1710079270),
        duration="65",
        mduration="65123",
        billsec="65",
        billmsec="65123",
        leg="a",
        bridge_uuid="bbbbbbbb-0000-4000-8000-000000000001",
        missed_call="false",
        status="answered",
        hangup_cause="NORMAL_CLEARING",
        hangup_cause_q850="16",
        sip_hangup_disposition="send_bye",
        read_codec="PCMU",
        write_codec="PCMU",
        waitsec="5",
        last_app="bridge",
        last_arg="{sip_invite_domain=pbx.test}sofia/gateway/carrier1/15551234567",
        accountcode="acct1",
        voicemail_message="false",
    ),
    _seed_row(  # 1b b-leg of call 1
        xml_cdr_uuid="bbbbbbbb-0000-4000-8000-000000000001",
        direction="outbound",
        caller_id_name="Alice",
        caller_id_number="1001",
        source_number="1001",
        destination_number="15551234567",
        **_epochs(1710079200, 1710079205, 1710079270),
        duration="65",
        mduration="65010",
        billsec="65",
        billmsec="65010",
        leg="b",
        originating_leg_uuid="aaaaaaaa-0000-4000-8000-000000000001",
        missed_call="false",
        status="answered",
        hangup_cause="NORMAL_CLEARING",
        hangup_cause_q850="16",
        sip_hangup_disposition="recv_bye",
        read_codec="PCMU",
        write_codec="PCMU",
        waitsec="5",
        voicemail_message="false",
    ),
    _seed_row(  # 2 inbound answered from PSTN to DID -> ext 1001; the quoting bug (§6)
        xml_cdr_uuid="aaaaaaaa-0000-4000-8000-000000000002",
        extension_uuid="11111111-1111-4111-8111-111111111001",
        extension="1001",
        extension_name="Alice",
        direction="inbound",
        context="public",
        caller_id_name='ACME "Corp", Inc',
        caller_id_number="+15557654321",
        caller_destination="15550001111",
        source_number="+15557654321",
        destination_number="1001",
        **_epochs(1710082800, 1710082810, 1710082930),
        duration="120",
        mduration="120400",
        billsec="120",
        billmsec="120400",
        leg="a",
        missed_call="false",
        status="answered",
        hangup_cause="NORMAL_CLEARING",
        hangup_cause_q850="16",
        sip_hangup_disposition="recv_bye",
        read_codec="PCMA",
        write_codec="PCMA",
        waitsec="10",
        last_app="bridge",
        last_arg="user/1001@pbx.test",
        voicemail_message="false",
    ),
    _seed_row(  # 3 local 1001 -> 1002
        xml_cdr_uuid="aaaaaaaa-0000-4000-8000-000000000003",
        extension_uuid="11111111-1111-4111-8111-111111111001",
        extension="1001",
        extension_name="Alice",
        direction="local",
        caller_id_name="Alice",
        caller_id_number="1001",
        caller_destination="1002",
        source_number="1001",
        destination_number="1002",
        **_epochs(1710086400, 1710086403, 1710086433),
        duration="30",
        mduration="30050",
        billsec="30",
        billmsec="30050",
        leg="a",
        missed_call="false",
        status="answered",
        hangup_cause="NORMAL_CLEARING",
        hangup_cause_q850="16",
        sip_hangup_disposition="send_bye",
        read_codec="OPUS",
        write_codec="OPUS",
        waitsec="3",
        last_app="bridge",
        last_arg="user/1002@pbx.test",
        voicemail_message="false",
    ),
    _seed_row(  # 4 missed inbound (caller hung up while ringing)
        xml_cdr_uuid="aaaaaaaa-0000-4000-8000-000000000004",
        extension_uuid="11111111-1111-4111-8111-111111111002",
        extension="1002",
        extension_name="Bob",
        direction="inbound",
        context="public",
        caller_id_name="Unknown",
        caller_id_number="+15559998888",
        caller_destination="15550001111",
        source_number="+15559998888",
        destination_number="1002",
        **_epochs(1710090000, 0, 1710090020),
        duration="0",
        mduration="0",
        billsec="0",
        billmsec="0",
        leg="a",
        missed_call="true",
        status="missed",
        hangup_cause="ORIGINATOR_CANCEL",
        hangup_cause_q850="487",
        sip_hangup_disposition="recv_cancel",
        waitsec="20",
        last_app="bridge",
        last_arg="user/1002@pbx.test",
        voicemail_message="false",
    ),
    _seed_row(  # 5 ring group leg that lost the race: hidden from every export (§2)
        xml_cdr_uuid="cccccccc-0000-4000-8000-000000000005",
        extension_uuid="11111111-1111-4111-8111-111111111002",
        extension="1002",
        extension_name="Bob",
        direction="inbound",
        caller_id_name="ACME",
        caller_id_number="+15557654321",
        source_number="+15557654321",
        destination_number="1002",
        **_epochs(1710082800, 0, 1710082810),
        duration="0",
        mduration="0",
        billsec="0",
        billmsec="0",
        leg="b",
        originating_leg_uuid="aaaaaaaa-0000-4000-8000-000000000002",
        missed_call="false",
        status="no_answer",
        hangup_cause="LOSE_RACE",
        hangup_cause_q850="502",
        waitsec="0",
        voicemail_message="false",
    ),
]


@dataclass
class FakeUser:
    key: str
    domain: str
    role: str  # "superadmin" | "admin" | "user"
    username: str = ""
    password: str = ""


def default_users() -> list[FakeUser]:
    return [
        FakeUser(SUPERADMIN_KEY, DOMAIN, "superadmin", "superadmin", "super-secret-password"),
        FakeUser(ADMIN_KEY, DOMAIN, "admin", "admin", "admin-secret-password"),
        FakeUser(USER_KEY, DOMAIN, "user", "user", "user-secret-password"),
    ]


@dataclass
class _Session:
    sid: str
    authorized: bool = False
    user: FakeUser | None = None
    domain: str = ""
    user_agent: str = ""
    token: tuple[str, str] | None = None  # 5.6 login CSRF token (name, value)
    key_login: bool = False  # authorized by a key (5.0 does not keep those)


@dataclass
class _Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    php: bool = True  # PHP adds its security/session headers; nginx errors do not


class _Context:
    """One request's PHP session, and whether PHP will send a Set-Cookie for it."""

    def __init__(self, session: _Session, new: bool) -> None:
        self.session = session
        self.send_cookie = new


class FakeFusionPBX(FakeServer):
    """The FusionPBX emulation on the shared fake server (tests/fakehttp.py)."""

    def __init__(
        self,
        *,
        mode: str = "5.5",
        users: list[FakeUser] | None = None,
        cdrs: list[dict[str, str]] | None = None,
        db_tz: str = "America/New_York",
        domain_tz: str = "America/New_York",
        time_format: str = "12h",
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        super().__init__()
        self.mode = mode
        self.users = list(users) if users is not None else default_users()
        self.cdrs = [dict(row) for row in cdrs] if cdrs is not None else []
        self.db_tz = ZoneInfo(db_tz)
        self.domain_tz = ZoneInfo(domain_tz)
        self.time_format = time_format
        self.failures: set[str] = set()
        self.slow_seconds = 3.0
        self._sessions: dict[str, _Session] = {}

    def add_cdr(self, **fields: object) -> dict[str, str]:
        """Add a v_xml_cdr row; anything not given gets a plausible answered outbound a-leg."""
        start = int(str(fields.get("start_epoch", 1710079200)))
        billsec = int(str(fields.get("billsec", 60)))
        row: dict[str, object] = {
            "xml_cdr_uuid": str(uuid.uuid4()),
            "domain_name": DOMAIN,
            "direction": "outbound",
            "leg": "a",
            "extension": "1001",
            "extension_name": "Alice",
            "caller_id_name": "Alice",
            "caller_id_number": "1001",
            "source_number": "1001",
            "destination_number": "15551234567",
            "caller_destination": "15551234567",
            "start_epoch": start,
            "answer_epoch": start + 5 if billsec else 0,
            "end_epoch": start + 5 + billsec,
            "billsec": billsec,
            "billmsec": billsec * 1000,
            "duration": billsec,
            "mduration": billsec * 1000,
            "missed_call": False,
            "status": "answered" if billsec else "no_answer",
            "hangup_cause": "NORMAL_CLEARING",
            "sip_hangup_disposition": "send_bye",
            "waitsec": 5,
        }
        row.update(fields)
        text = {
            name: ("true" if value else "false") if isinstance(value, bool) else str(value)
            for name, value in row.items()
            if value is not None
        }
        with self.lock:
            self.cdrs.append(text)
        return text

    # -- request handling ------------------------------------------------------------------

    def serve(self, handler: BaseHTTPRequestHandler, request: RecordedRequest) -> None:
        _write(handler, self.mode, request, self.handle(request))

    def handle(self, req: RecordedRequest) -> _Response:
        self.record(req)
        host = req.headers.get("host", "")
        if "slow" in self.failures:
            self.stopping.wait(self.slow_seconds)
        if "https_redirect" in self.failures:
            location = f"https://{host.split(':')[0]}{req.target}"
            body = _nginx_page("301 Moved Permanently")
            return _Response(
                301, body, [("Content-Type", "text/html"), ("Location", location)], False
            )
        if "server_error" in self.failures:
            body = _nginx_page("500 Internal Server Error")
            return _Response(500, body, [("Content-Type", "text/html")], False)
        if "db_down" in self.failures:
            return _Response(200, DB_DOWN_BODY, [("Content-type", _HTML)])
        if "garbage_html" in self.failures:
            body = b"<!DOCTYPE html>\n<html><head><title>Welcome</title></head></html>\n"
            return _Response(200, body, [("Content-type", _HTML)])
        if req.path in ("/login.php", "/"):
            return self._login_page_or_post(req)
        if req.path == "/logout.php":
            return _redirect("/login.php")
        if req.path in (EXPORT_PATH, LIST_PATH, DASHBOARD_PATH):
            return self._protected(req)
        return _Response(404, b"Not Found\n", [("Content-type", _HTML)])

    def open_session(self, cookies: dict[str, str]) -> _Context:
        with self.lock:
            session = self._sessions.get(cookies.get("PHPSESSID", ""))
            if session is not None:
                return _Context(session, new=False)
            session = _Session(self._new_sid())
            self._sessions[session.sid] = session
            return _Context(session, new=True)

    def _new_sid(self) -> str:
        if self.mode in OLD_MODES:  # PHP 8.2's default: 26 characters of [0-9a-v] (captures)
            return "".join(
                secrets.choice(string.digits + "abcdefghijklmnopqrstuv") for _ in "x" * 26
            )
        return secrets.token_hex(16)

    def _regenerate(self, ctx: _Context) -> None:
        # FusionPBX 5.6 replaces the session cookie on login (§1).
        with self.lock:
            old = ctx.session
            self._sessions.pop(old.sid, None)
            old.sid = self._new_sid()
            self._sessions[old.sid] = old
        ctx.send_cookie = True

    def _login_html(self, ctx: _Context) -> _Response:
        if self.mode in OLD_MODES:
            # the captured page; 5.0.1's has a hidden 64-hex input (not a login token)
            page = DATA / f"{self.mode.replace('.', '')}_22_login_page.body"
            return _Response(200, page.read_bytes(), [("Content-type", _HTML)])
        token = ""
        if self.mode == "5.6":
            # The login form carries a fresh CSRF token stored in the session (§1).
            name, value = secrets.token_hex(32), secrets.token_hex(32)
            ctx.session.token = (name, value)
            token = f"<input type='hidden' name='{name}' value='{value}'>\n"
        body = _LOGIN_PAGE.format(token=token).encode()
        return _Response(200, body, [("Content-type", _HTML)])

    def _token_ok(self, ctx: _Context, params: dict[str, str]) -> bool:
        if self.mode != "5.6":
            return True
        token = ctx.session.token
        return token is not None and params.get(token[0]) == token[1]

    def _login_page_or_post(self, req: RecordedRequest) -> _Response:
        ctx = self.open_session(req.cookies)
        params = {**req.query, **req.form}
        if req.method != "POST" or not (params.get("username") or params.get("key")):
            if self.mode == "5.1" and params.get("domain_name") in self._domains():
                ctx.session.domain = params["domain_name"]  # 5.1 pins the session (51_24)
            return self._finish(ctx, self._login_html(ctx))
        if not self._token_ok(ctx, params):
            return self._finish(ctx, _redirect("login.php"))
        user = self._authenticate(params, req.headers.get("host", ""))
        if user is None:
            return self._finish(ctx, _redirect("/?path=" + quote("/login.php", safe="")))
        self._authorize(ctx, user, req)
        return self._finish(ctx, _redirect(DASHBOARD_PATH))

    def _protected(self, req: RecordedRequest) -> _Response:
        ctx = self.open_session(req.cookies)
        params = {**req.query, **req.form}  # PHP's $_REQUEST: GET, then POST wins
        session = ctx.session
        user_agent = req.headers.get("user-agent", "")
        began_with = session.domain  # the tenant the session held when this request began
        if self.mode == "5.0" and session.key_login:
            session.authorized = False  # 5.0 keeps no key login (50_25)
        if session.authorized:
            if session.user_agent != user_agent:
                # The session is bound to the User-Agent (§1).
                return self._finish(ctx, _redirect("/logout.php"))
        else:
            if not params.get("key") and not params.get("username"):
                if self.mode == "5.0":  # check_auth.php 5.0.1: off to login.php?path=REQUEST_URI
                    return self._finish(ctx, _redirect(_login_path(req.target)))
                return self._finish(ctx, self._login_html(ctx))
            if not self._token_ok(ctx, params):
                return self._finish(ctx, _redirect("login.php"))
            user = self._authenticate(params, req.headers.get("host", ""))
            if user is None:
                if self.mode == "5.0":  # 50_08_bad_key (5.1: /?path=, 51_08)
                    return self._finish(ctx, _redirect(_login_path(req.path)))
                return self._finish(ctx, _redirect("/?path=" + quote(req.path, safe="")))
            self._authorize(ctx, user, req)
            session.key_login = bool(params.get("key"))
            if not params.get("key"):
                # check_auth.php skips its dashboard redirect only for key logins (§1 step 4).
                return self._finish(ctx, _redirect(DASHBOARD_PATH))
        if req.path == EXPORT_PATH:
            tenant = self._row_tenant(session, began_with, req)
            return self._finish(ctx, self._export(session, params, tenant))
        title = "Call Detail Records" if req.path == LIST_PATH else "Dashboard"
        body = f"<!DOCTYPE html>\n<html><head><title>{title}</title></head></html>\n".encode()
        return self._finish(ctx, _Response(200, body, [("Content-type", _HTML)]))

    def _finish(self, ctx: _Context, response: _Response) -> _Response:
        if ctx.send_cookie:
            flags = "" if self.mode in OLD_MODES else "; HttpOnly; SameSite=Lax"  # captures
            cookie = f"PHPSESSID={ctx.session.sid}; path=/{flags}"
            response.headers.insert(0, ("Set-Cookie", cookie))
        return response

    def _row_tenant(self, session: _Session, began_with: str, req: RecordedRequest) -> str:
        """Whose rows the export selects: the session's tenant; in 5.0 and 5.1 the one it held
        when the request began, else the Host's (50_20, 50_26, 51_20, 51_24)."""
        if self.mode not in OLD_MODES:
            return session.domain
        if began_with:
            return began_with
        host = req.headers.get("host", "")
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host
        return name if name in self._domains() else ""  # an IP names no tenant (50_12)

    def _domains(self) -> set[str]:
        with self.lock:
            return {user.domain for user in self.users} | {
                row.get("domain_name", "") for row in self.cdrs
            }

    def _resolve_domain(self, params: dict[str, str], host: str) -> str:
        # authentication::get_domain(): domain_name, else user@domain, else Host (§1 step 2)
        if params.get("domain_name"):
            return params["domain_name"]
        username = params.get("username", "")
        if "@" in username:
            return username.rsplit("@", 1)[1]
        return host.rsplit(":", 1)[0] if not host.startswith("[") else host

    def _authenticate(self, params: dict[str, str], host: str) -> FakeUser | None:
        domain = self._resolve_domain(params, host)
        key = params.get("key", "")
        if len(key) > 30:
            return next((u for u in self.users if u.domain == domain and u.key == key), None)
        username = params.get("username", "").split("@", 1)[0]
        password = params.get("password", "")
        for user in self.users:
            if user.domain == domain and user.username and user.username == username:
                return user if password and password == user.password else None
        return None

    def _authorize(self, ctx: _Context, user: FakeUser, req: RecordedRequest) -> None:
        if self.mode == "5.6":
            self._regenerate(ctx)
        ctx.session.authorized = True
        ctx.session.user = user
        ctx.session.domain = user.domain
        ctx.session.user_agent = req.headers.get("user-agent", "")

    # -- the export ------------------------------------------------------------------------

    def _export(self, session: _Session, params: dict[str, str], tenant: str) -> _Response:
        user = session.user
        assert user is not None
        if user.role == "user" or "cidr_denied" in self.failures:
            return _Response(200, b"access denied", [("Content-type", _HTML)])
        if "php_fatal" in self.failures:
            return _Response(200, FATAL_ERROR_BODY, [("Content-type", _HTML)])
        if params.get("export_format") != "csv" or "empty_no_attachment" in self.failures:
            return _Response(200, b"", [("Content-type", _HTML)])
        try:
            rows = self._select(tenant, user, params)
        except _PhpFatal:
            return _Response(200, FATAL_ERROR_BODY, [("Content-type", _HTML)])
        except _SqlError:
            rows = []
        show_all = user.role == "superadmin" and params.get("show") == "all"
        columns = self._columns(user, show_all)
        body = self._csv(columns, rows)
        stamp = datetime.now(self.domain_tz).strftime("%Y%m%d_%H%M%S")
        filename = f"cdr_{stamp}.csv" if show_all else f"cdr_{session.domain}_{stamp}.csv"
        headers = [
            ("Content-type", "application/octet-binary"),
            ("Content-Disposition", f"attachment; filename={filename}"),
        ]
        return _Response(200, body, headers)

    def _columns(self, user: FakeUser, show_all: bool) -> list[str]:
        if self.mode in OLD_MODES:
            columns = list(COLUMNS_50)
            if self.mode == "5.1":  # 51_01's header: 5.0's columns and missed_call
                columns.insert(columns.index("billmsec") + 1, "missed_call")
            if user.role == "superadmin":
                columns.insert(columns.index("pdd_ms") + 1, "rtp_audio_in_mos")
            return columns + (["domain_name"] if show_all else [])
        columns = list(COLUMNS_55)
        if self.mode == "5.6":
            columns.insert(columns.index("sip_hangup_disposition") + 1, "call_disposition")
        if user.role != "superadmin":
            columns.remove("rtp_audio_in_mos")  # xml_cdr_mos is superadmin-only (§1)
        if show_all:
            columns.append("domain_name")
        return columns

    def _select(self, tenant: str, user: FakeUser, params: dict[str, str]) -> list[dict[str, str]]:
        if "sql_error" in self.failures:
            raise _SqlError
        superadmin = user.role == "superadmin"
        conditions: list[tuple[str, str]] = []
        # Without xml_cdr_b_leg the leg is forced to a (§1).
        leg = params.get("leg", "") if superadmin else "a"
        if leg:
            conditions.append(("leg", leg))
        for name in ("direction", "status", "xml_cdr_uuid", "extension_uuid", "bleg_uuid"):
            if params.get(name):
                conditions.append(("bridge_uuid" if name == "bleg_uuid" else name, params[name]))
        likes = [
            (name, _like_pattern(name, params[name]))
            for name in (
                "caller_id_name",
                "caller_id_number",
                "caller_destination",
                "destination_number",
            )
            if params.get(name)
        ]
        with self.lock:
            cdrs = list(self.cdrs)
        show_all = (superadmin and params.get("show") == "all") or "mixed_tenants" in self.failures
        ranges = [
            ("start_epoch", self._epoch_range(params)),
            ("start_epoch", self._stamp_range(params)),
            ("billsec", _bounds(params.get("duration_min"), params.get("duration_max"))),
        ]
        selected = []
        for row in cdrs:
            if not show_all and row.get("domain_name") != tenant:
                continue
            # NULL != 'LOSE_RACE' is not true, so NULL hangup_cause rows vanish too (§6).
            cause = row.get("hangup_cause")
            if cause is None or cause == "LOSE_RACE":
                continue
            if not superadmin and row.get("cc_side") == "agent":
                continue
            if any(row.get(name) != value for name, value in conditions):
                continue
            if not all(p.fullmatch(row.get(name) or "") for name, p in likes):
                continue
            if not all(
                bounds is None or bounds[0] <= _number(row.get(name)) <= bounds[1]
                for name, bounds in ranges
            ):
                continue
            selected.append(row)
        return self._order(selected, params)

    @staticmethod
    def _epoch_range(params: dict[str, str]) -> tuple[float, float] | None:
        start, stop = params.get("start_epoch", ""), params.get("stop_epoch", "")
        # PHP empty(): "" and "0" both mean "not given", so no time filter at all (§2).
        if start in ("", "0") or stop in ("", "0"):
            return None
        try:
            return float(start), float(stop)
        except ValueError:
            raise _SqlError from None

    def _stamp_range(self, params: dict[str, str]) -> tuple[float, float] | None:
        begin, end = params.get("start_stamp_begin", ""), params.get("start_stamp_end", "")
        if not begin and not end:
            return None
        low = self._parse_stamp(begin) if begin else float("-inf")
        high = self._parse_stamp(end) + 59.999 if end else float("inf")
        return low, high

    def _parse_stamp(self, text: str) -> float:
        """Minute-resolution input in the domain time zone, format by time_format (§2, §2)."""
        if self.time_format == "24h":
            match = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{2})", text)
            if match is None:
                raise _SqlError  # the cast fails in PostgreSQL: an empty export (LIVE)
            year, month, day, hour, minute = map(int, match.groups())
        else:
            match = re.fullmatch(
                r"(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{2}) ([ap]m)", text, re.I
            )
            if match is None or not 1 <= int(match[4]) <= 12:
                raise _PhpFatal  # date_create_from_format() returns false (LIVE)
            year, month, day, hour12, minute = map(int, match.groups()[:5])
            hour = hour12 % 12 + (12 if match[6].lower() == "pm" else 0)
        try:
            local = datetime(year, month, day, hour, minute, tzinfo=self.domain_tz)
        except ValueError:
            raise _SqlError from None
        return local.timestamp()

    @staticmethod
    def _order(rows: list[dict[str, str]], params: dict[str, str]) -> list[dict[str, str]]:
        # ORDER BY <sanitized column> <dir>, default start_stamp desc (§2).
        column = re.sub(r"[^A-Za-z0-9\-_.]", "", params.get("order_by", ""))
        descending = params.get("order") == "desc" if column else True
        column = column or "start_stamp"
        if column == "domain_uuid" or not re.fullmatch(r"[a-z_0-9]+", column):
            raise _SqlError  # ambiguous or unknown: PostgreSQL errors, the export is empty
        source = _STAMP_EPOCH.get(column, {"wait": "waitsec"}.get(column, column))
        numeric = source in _NUMERIC

        def key(row: dict[str, str]) -> tuple[bool, float | str]:
            value = row.get(source)
            if value is None:
                return (True, 0.0 if numeric else "")
            return (False, _number(value) if numeric else value)

        # PostgreSQL puts NULLs last ascending and first descending; sorted() is stable.
        return sorted(rows, key=key, reverse=descending)

    def _csv(self, columns: list[str], rows: list[dict[str, str]]) -> bytes:
        # FusionPBX wraps every value in quotes and never escapes; empty result = "\n\n" (§2).
        if not rows:
            return b"\n\n"
        lines = [",".join(f'"{name}"' for name in columns)]
        for row in rows:
            lines.append(",".join(f'"{self._value(row, name)}"' for name in columns))
        return ("\n".join(lines) + "\n").encode()

    def _value(self, row: dict[str, str], column: str) -> str:
        if column in _STAMP_EPOCH:
            epoch = row.get(_STAMP_EPOCH[column])
            return "" if epoch is None else _pg_timestamptz(int(_number(epoch)), self.db_tz)
        if column in ("start_date_formatted", "start_time_formatted"):
            epoch = row.get("start_epoch")
            if epoch is None:
                return ""
            local = datetime.fromtimestamp(int(_number(epoch)), self.domain_tz)
            if column == "start_date_formatted":
                return f"{local.day:02d} {_MONTHS[local.month - 1]} {local.year}"
            if self.time_format == "24h":
                return local.strftime("%H:%M")
            suffix = "pm" if local.hour >= 12 else "am"
            seconds = f":{local.second:02d}" if self.mode in OLD_MODES else ""  # 'HH12:MI:SS am'
            return f"{(local.hour % 12) or 12:02d}:{local.minute:02d}{seconds} {suffix}"
        if column == "domain_uuid":
            return row.get("domain_uuid") or _domain_uuid(row.get("domain_name", ""))
        if column == "duration":
            if self.mode in OLD_MODES:  # before 5.2 it is FreeSWITCH's total duration (§2)
                return row.get("duration", "")
            return row.get("billsec", "")  # duration is billsec since 5.2 (§2)
        if column == "tta":
            start, answer = row.get("start_epoch"), row.get("answer_epoch")
            if start is None or answer is None:
                return ""
            return str(int(_number(answer) - _number(start)))
        if column == "wait":
            return row.get("waitsec", "")
        value = row.get(column)
        if value is None:
            return ""
        if column in ("missed_call", "voicemail_message"):
            return "1" if value.lower() in _TRUE else ""  # PDO booleans (§2)
        return value


class _PhpFatal(Exception):
    pass


class _SqlError(Exception):
    pass


def _number(text: str | None) -> float:
    try:
        return float(text) if text else 0.0
    except ValueError:
        return 0.0


def _bounds(low: str | None, high: str | None) -> tuple[float, float] | None:
    if not low and not high:
        return None
    try:
        return (float(low) if low else float("-inf")), (float(high) if high else float("inf"))
    except ValueError:
        raise _SqlError from None


def _like_pattern(column: str, value: str) -> re.Pattern[str]:
    # `*` is the wildcard; number filters are stripped to [+0-9.%/] first (§2).
    value = value.replace("*", "%")
    if column != "caller_id_name":
        value = re.sub(r"[^+0-9.%/]", "", value)
    return re.compile(".*".join(re.escape(part) for part in value.split("%")), re.S)


def _pg_timestamptz(epoch: int, tz: ZoneInfo) -> str:
    """timestamptz as PostgreSQL prints it in a session TimeZone: 2024-03-10 13:00:00-04."""
    local = datetime.fromtimestamp(epoch, tz)
    offset = local.utcoffset()
    seconds = int(offset.total_seconds()) if offset is not None else 0
    sign = "+" if seconds >= 0 else "-"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    suffix = f"{sign}{hours:02d}" + (f":{minutes:02d}" if minutes else "")
    return local.strftime("%Y-%m-%d %H:%M:%S") + suffix


def _domain_uuid(domain: str) -> str:
    return DOMAIN_UUID if domain == DOMAIN else str(uuid.uuid5(uuid.NAMESPACE_DNS, domain))


def _login_path(target: str) -> str:
    return "/login.php?path=" + quote(target, safe="")


def _redirect(location: str) -> _Response:
    return _Response(302, b"", [("Location", location), ("Content-type", _HTML)])


def _nginx_page(status: str) -> bytes:
    return (
        f"<html>\r\n<head><title>{status}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


def _write(
    handler: BaseHTTPRequestHandler, mode: str, request: RecordedRequest, response: _Response
) -> None:
    # Header order as captured (tests/data/fusionpbx/*.headers).
    handler.send_response_only(response.status)
    if response.php:
        handler.send_header("Host", request.headers.get("host", ""))
        handler.send_header("Date", handler.date_time_string())
        handler.send_header("Connection", "close")
        # 5.0 and 5.1 send none of 5.5's security headers (50_*, 51_* captures)
        for name, value in _PHP_HEADERS[:1] if mode in OLD_MODES else _PHP_HEADERS:
            handler.send_header(name, value)
        for name, value in response.headers:
            if name == "Set-Cookie":
                handler.send_header(name, value)
        for name, value in _NO_CACHE_HEADERS:
            handler.send_header(name, value)
        for name, value in response.headers:
            if name != "Set-Cookie":
                handler.send_header(name, value)
    else:
        handler.send_header("Server", "nginx")
        handler.send_header("Date", handler.date_time_string())
        for name, value in response.headers:
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(response.body)))
        handler.send_header("Connection", "close")
    handler.close_connection = True
    try:
        handler.end_headers()
        handler.wfile.write(response.body)
        handler.wfile.flush()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up first (a timeout test); nothing to report


def _started(pbx: FakeFusionPBX) -> Iterator[FakeFusionPBX]:
    pbx.start()
    try:
        yield pbx
    finally:
        pbx.stop()


@pytest.fixture
def fake_pbx() -> Iterator[FakeFusionPBX]:
    """FusionPBX 5.5 with the captured seed; the domain tz is UTC as in the captures."""
    yield from _started(FakeFusionPBX(mode="5.5", cdrs=SEED_CDRS, domain_tz="UTC"))


@pytest.fixture
def fake_pbx_50() -> Iterator[FakeFusionPBX]:
    """FusionPBX 5.0.1: the export's rows are those of the tenant the Host header names."""
    yield from _started(FakeFusionPBX(mode="5.0", cdrs=SEED_CDRS, domain_tz="UTC"))


@pytest.fixture
def fake_pbx_56() -> Iterator[FakeFusionPBX]:
    """FusionPBX 5.6-dev: a key needs the login token primed from /login.php (§1)."""
    yield from _started(FakeFusionPBX(mode="5.6", cdrs=SEED_CDRS, domain_tz="UTC"))
