"""The `[invoicing.whmcs]` and `[invoicing.lago]` tables of the configuration (rules §11).

Like the rest of the config, every problem is a ConfigError naming its key path, and no
secret is ever written in the file itself: only the name of an environment variable or of a
file readable by its owner alone.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from voipbill.config import secret_checks
from voipbill.config.description import DEFAULT_DESCRIPTION, template_problem
from voipbill.config.model import InvoicingConfig, LagoConfig, SecretSource, WhmcsConfig
from voipbill.config.table import Table

MAX_BATCH = 100  # Lago's LAGO_EVENTS_BATCH_MAX_LENGTH default
INVOICE_ACTIONS = ("noinvoice", "nextcron", "nextinvoice", "duedate", "recur")
# `duedate` and `recur` need more parameters (a due date, a cycle) than one usage line has.
_USABLE_ACTIONS = ("noinvoice", "nextcron", "nextinvoice")


def read_invoicing(table: Table, resolve: Callable[[str], Path]) -> InvoicingConfig:
    """The `[invoicing]` table; `resolve` makes a relative file path relative to the config."""
    whmcs = table.pop("whmcs", dict)
    lago = table.pop("lago", dict)
    result = InvoicingConfig(
        whmcs=_whmcs(Table(whmcs, (*table.path, "whmcs")), resolve) if whmcs is not None else None,
        lago=_lago(Table(lago, (*table.path, "lago")), resolve) if lago is not None else None,
    )
    table.finish()
    return result


def _whmcs(table: Table, resolve: Callable[[str], Path]) -> WhmcsConfig:
    url = _url(table, "https://billing.example.net")
    identifier = _secret(table, "identifier", resolve, "the WHMCS API credential's identifier")
    secret = _secret(table, "secret", resolve, "the WHMCS API credential's secret")
    access_key = None
    access_env = _env_name(table, "access_key_env")
    if access_env is not None:
        access_key = SecretSource(
            f"{table.where('access_key')}", "the $api_access_key of configuration.php", access_env
        )
    action = table.string("invoice_action", "nextinvoice") or "nextinvoice"
    if action not in _USABLE_ACTIONS:
        known = "known to WHMCS, but it needs a due date" if action in INVOICE_ACTIONS else ""
        raise table.error(
            "invoice_action",
            f"{action!r} cannot be used for usage lines{': ' + known if known else ''}",
            hint=f"one of {', '.join(_USABLE_ACTIONS)} (default nextinvoice)",
        )
    description = table.string("description", DEFAULT_DESCRIPTION) or DEFAULT_DESCRIPTION
    problem = template_problem(description)
    if problem:
        raise table.error("description", problem)
    result = WhmcsConfig(
        url=url,
        identifier=identifier,
        secret=secret,
        access_key=access_key,
        invoice_action=action,
        description=description,
        timeout_s=_timeout(table),
    )
    table.finish()
    return result


def _lago(table: Table, resolve: Callable[[str], Path]) -> LagoConfig:
    url = _url(table, "https://api.getlago.com")
    api_key = _secret(table, "api_key", resolve, "the Lago API key")
    metric_code = table.require("metric_code", str).strip()
    if not metric_code:
        raise table.error("metric_code", "must not be empty", hint="the billable metric's code")
    batch_size = table.pop("batch_size", int, MAX_BATCH)
    if not 1 <= batch_size <= 10_000:
        raise table.error(
            "batch_size",
            f"must be a whole number of events from 1 to 10000, not {batch_size}",
            hint="Lago's LAGO_EVENTS_BATCH_MAX_LENGTH (100 unless the server sets another)",
        )
    result = LagoConfig(
        url=url,
        api_key=api_key,
        metric_code=metric_code,
        timeout_s=_timeout(table),
        batch_size=batch_size,
    )
    table.finish()
    return result


def _timeout(table: Table) -> float:
    """`timeout_s`: how long to wait for an answer (default 30), as for a server."""
    timeout = table.pop("timeout_s", (int, Decimal), 30)
    # TOML's nan and inf arrive as Decimal: NaN cannot even be compared with 0
    if (isinstance(timeout, Decimal) and not timeout.is_finite()) or timeout <= 0:
        raise table.error("timeout_s", "must be a number of seconds more than 0", hint="e.g. 60")
    return float(timeout)


def _url(table: Table, example: str) -> str:
    url: str = table.require("url", str)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise table.error("url", f"{url!r} is not an http(s) URL", hint=f'e.g. "{example}"')
    secret_checks.check_url(table, url, hint="credentials go in *_env or *_file")
    if parts.query or parts.fragment:
        raise table.error("url", "the base URL takes no ?query or #fragment")
    return url.rstrip("/")


def _secret(table: Table, key: str, resolve: Callable[[str], Path], what: str) -> SecretSource:
    if key in table.data:
        raise table.error(
            key, "secrets are not accepted in the config file", hint=f"use {key}_env or {key}_file"
        )
    env = _env_name(table, f"{key}_env")
    file = table.string(f"{key}_file")
    if (env is None) == (file is None):
        raise table.error(
            f"{key}_env",
            f"set exactly one of {key}_env or {key}_file",
            hint="secrets are never written in the config itself",
        )
    return SecretSource(table.where(key), what, env, resolve(file) if file else None)


def _env_name(table: Table, key: str) -> str | None:
    name = table.string(key)
    if name is not None:
        # it may be the secret itself, pasted in the wrong place: never echo it
        secret_checks.check_variable_name(table, key, name, example="VOIPBILL_WHMCS_SECRET")
    return name
