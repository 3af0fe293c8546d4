"""`voipbill test-connection`: check every configured FusionPBX server, step by step."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from voipbill.cli import output
from voipbill.cli.context import state
from voipbill.cli.options import TableOrJson, TableOrJsonOption
from voipbill.config import Config
from voipbill.errors import ConfigError, UsageError
from voipbill.fusionpbx.errors import error_code
from voipbill.fusionpbx.probe import ProbeResult, probe

_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


def targets(config: Config, server_name: str | None) -> list[tuple[str, str | None]]:
    """(server, domain) pairs: each server with the domains of the services that use it."""
    if server_name is not None and server_name not in config.servers:
        known = ", ".join(config.servers) or "none"
        raise UsageError(f"no server named {server_name!r}", hint=f"configured servers: {known}")
    names = [server_name] if server_name is not None else list(config.servers)
    if not names:
        raise ConfigError(
            f"no [servers.NAME] table in {config.path}", hint="add one; see the README"
        )
    pairs: list[tuple[str, str | None]] = []
    for name in names:
        domains: list[str | None] = [
            *sorted({config.export_domain(s) for s in config.services.values() if s.server == name})
        ]
        # A server no service uses: its own domain, else the URL's host name (CONTRACT §1.1)
        pairs.extend((name, domain) for domain in domains or [config.servers[name].domain])
    return pairs


def command(
    ctx: typer.Context,
    server: Annotated[
        str | None, typer.Option("--server", help="Check only this server (default: all).")
    ] = None,
    format: TableOrJsonOption = TableOrJson.table,
) -> None:
    """Check each FusionPBX server: reachable, key accepted, export allowed, columns present."""
    config = state(ctx).load_config()
    results = []
    for name, domain in targets(config, server):
        result = probe(config.servers[name], domain)
        results.append(result)
        if format is TableOrJson.table:
            output.stdout().print(_table(result))
    if format is TableOrJson.json:
        output.write_json({"version": 1, "servers": [_json(r) for r in results]}, None)
    failed = [r for r in results if r.error is not None]
    if failed:
        assert failed[0].error is not None
        raise failed[0].error
    output.info(f"{len(results)} of {len(results)} connection(s) OK")


def _table(result: ProbeResult) -> Table:
    table = Table(
        title=f"{escape(result.server)}  {escape(result.url)}  domain {escape(result.domain)}",
        title_justify="left",
        show_edge=False,
    )
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail", overflow="fold")
    for check in result.checks:
        style = _STYLE.get(check.status, "")
        table.add_row(check.label, f"[{style}]{check.status}[/]", escape(check.detail))
    return table


def _json(result: ProbeResult) -> dict[str, Any]:
    error = result.error
    return {
        "server": result.server,
        "url": result.url,
        "domain": result.domain,
        "ok": result.ok,
        "checks": [
            {"check": c.name, "status": c.status, "detail": c.detail} for c in result.checks
        ],
        "clock_skew_s": result.clock_skew_s,
        "error": None
        if error is None
        else {
            "code": error_code(error),
            "exit_code": int(error.exit_code),
            "message": error.message,
            "hint": error.hint,
        },
    }
