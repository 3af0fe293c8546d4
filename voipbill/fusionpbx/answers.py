"""What FusionPBX answers, read without any HTTP: an export, its tenants and version, the login
form's token (docs/fusionpbx.md §1-§4)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

import requests

from voipbill.cdrs import header_columns

SESSION_COOKIE = "PHPSESSID"
_INPUT = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""(\w+)\s*=\s*(?:'([^']*)'|"([^"]*)"|([^\s>]+))""")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
# The first field of each data line: domain_uuid leads every FusionPBX export (§2).
_FIRST_FIELD = re.compile(r'^"([^"\n]*)"', re.MULTILINE)


@dataclass(frozen=True)
class Export:
    """One export answer: the CSV text exactly as FusionPBX wrote it."""

    body: str
    filename: str | None
    server_date: datetime | None


def host_header(url: str, domain: str) -> str:
    """`Host: <tenant domain>` (with the URL's port, if it names one)."""
    port = urlsplit(url).port
    return f"{domain}:{port}" if port is not None else domain


def row_tenants(body: str) -> set[str]:
    """The distinct `domain_uuid` values of an export's rows (empty without that column)."""
    columns = header_columns(body)
    if "domain_uuid" not in columns:
        return set()
    data = body.lstrip("\n").partition("\n")[2]
    index = columns.index("domain_uuid")
    if index == 0:
        values = _FIRST_FIELD.findall(data)
    else:  # split as the reader's quote repair does (§6)
        values = [
            fields[index]
            for line in data.split("\n")
            if len(fields := line.strip().strip('"').split('","')) > index
        ]
    return {value for value in values if value}


def export_version(body: str) -> str | None:
    """Which FusionPBX wrote an export, from its columns (§4): "5.2+", "5.1" or "5.0".

    None for an export without rows (it has no header line to tell).
    """
    columns = header_columns(body)
    if not columns:
        return None
    if "status" in columns:
        return "5.2+"
    return "5.1" if "missed_call" in columns else "5.0"


def login_token(page: str) -> dict[str, str]:
    """The hidden login-form token of FusionPBX 5.6+ (name and value both 64 hex), if any."""
    token = {}
    for tag in _INPUT.findall(page):
        attributes = {
            match.group(1).lower(): next(g for g in match.groups()[1:] if g is not None)
            for match in _ATTRIBUTE.finditer(tag)
        }
        name, value = attributes.get("name", ""), attributes.get("value", "")
        if attributes.get("type", "").lower() == "hidden" and _HEX64.fullmatch(name):
            token[name] = value
    return token


def in_session(response: requests.Response) -> bool:
    """Was this answer given in the session the request named: it carried a PHPSESSID cookie,
    and the answer started no other session (a cookie that never comes back starts a new
    session each time, even when a proxy hides the new cookie)."""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(str(response.request.headers.get("Cookie", "")))
    except CookieError:
        return False
    sent = jar.get(SESSION_COOKIE)
    issued = response.cookies.get(SESSION_COOKIE)
    return sent is not None and issued in (None, sent.value)


def server_date(response: requests.Response) -> datetime | None:
    try:
        return parsedate_to_datetime(response.headers.get("Date", ""))
    except (TypeError, ValueError):
        return None
