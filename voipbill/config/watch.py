"""`[watch]` and `[services.X.watch]` (rules §14): the alert thresholds, every key optional.

`[watch]` gives every service's defaults; a service's own `[services.X.watch]` overrides them
key by key (`WatchSettings.over`). A rule without a value is off.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from urllib.parse import urlsplit

from voipbill.config import secret_checks
from voipbill.config.table import Table

MONEY_KEYS = ("spend_per_day", "spend_per_period", "call_cost", "spike_factor", "spike_floor")


@dataclass(frozen=True, slots=True)
class Burst:
    """At least `calls` outbound international or premium calls within some `minutes` minutes."""

    calls: int
    minutes: int


@dataclass(frozen=True, slots=True)
class WatchSettings:
    """One watch table as written: None is a key left out (off, or the [watch] default)."""

    spend_per_day: Decimal | None = None
    spend_per_period: Decimal | None = None
    call_cost: Decimal | None = None
    spike_factor: Decimal | None = None
    spike_floor: Decimal | None = None  # default 0 where spike_factor is set
    new_country: bool | None = None
    burst: Burst | None = None
    webhook_url: str | None = None
    webhook_secret_env: str | None = None

    def over(self, defaults: WatchSettings) -> WatchSettings:
        """These settings over `defaults`, key by key (a service's table over [watch])."""
        changes = {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }
        return replace(defaults, **changes)

    @property
    def any_rule(self) -> bool:
        return any(
            value is not None and value is not False
            for name, value in ((f.name, getattr(self, f.name)) for f in fields(self))
            if not name.startswith("webhook") and name != "spike_floor"
        )


def read_watch(table: Table) -> WatchSettings:
    """One `[watch]` or `[services.X.watch]` table; a bad value is a ConfigError naming it."""
    money = {key: table.decimal(key) for key in MONEY_KEYS}
    new_country = table.pop("new_country", bool)
    burst = _burst(table) if "burst" in table.data else None
    table.asked.add("burst")
    url = table.string("webhook_url")
    if url is not None:
        _check_webhook(table, url)
    secret_env = table.string("webhook_secret_env")
    if secret_env is not None:
        secret_checks.check_variable_name(table, "webhook_secret_env", secret_env, "VOIPBILL_HOOK")
    table.finish()
    return WatchSettings(
        **money,
        new_country=new_country,
        burst=burst,
        webhook_url=url,
        webhook_secret_env=secret_env,
    )


def _burst(table: Table) -> Burst:
    entry = table.table("burst")
    calls = entry.require("calls", int)
    if calls < 1:
        raise entry.error("calls", f"must be 1 or more (got {calls})")
    minutes = entry.require("minutes", int)
    entry.finish()
    if not 1 <= minutes <= 1440:
        raise entry.error("minutes", f"must be between 1 and 1440 (got {minutes})")
    return Burst(calls, minutes)


_HTTP = re.compile(r"https?://[^/\s]+")


def _check_webhook(table: Table, url: str) -> None:
    """https, or http to a loopback address only; never a user:password@ (URLs are printed)."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        raise table.error(
            "webhook_url",
            "a URL with a user name or password is refused (the value is not shown)",
            hint="remove the user:password@ part; sign the posts with webhook_secret_env",
        )
    if not _HTTP.match(url) or not parts.hostname:
        raise table.error(
            "webhook_url",
            f"{display_url(url)!r} is not an https URL",
            hint='e.g. "https://hooks.slack.com/services/…"',
        )
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise table.error(
            "webhook_url",
            f"{display_url(url)!r}: plain http is for a loopback address only",
            hint="use https (alerts name customers and their spend)",
        )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def display_url(url: str) -> str:
    """The URL as printed: never its query or fragment (a webhook's token may be there)."""
    parts = urlsplit(url)
    shown = f"{parts.scheme}://{parts.netloc}{parts.path}"
    return shown + ("?…" if parts.query else "")
