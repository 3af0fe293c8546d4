"""`voipbill test-connection`: check every configured FusionPBX server, step by step.

With `--service NAME` it checks one customer's account the way an admin does after typing
the fields: the key for the service's tenant domain, then the calls of each extension and DID.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from voipbill.cli import output
from voipbill.cli.context import state
from voipbill.cli.options import FromOption, TableOrJson, TableOrJsonOption, ToOption
from voipbill.config import Config
from voipbill.errors import ConfigError, UsageError
from voipbill.fusionpbx import FusionPBXClient
from voipbill.fusionpbx.errors import error_code
from voipbill.fusionpbx.probe import ProbeResult, probe
from voipbill.fusionpbx.service_check import NAMED_UNBILLED, ServiceCheck, check_service
from voipbill.periods import Period, make_period, resolve_period

DEFAULT_DAYS = 30

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
        # A server no service uses: its own domain, else the URL's host name (docs/fusionpbx.md §1)
        pairs.extend((name, domain) for domain in domains or [config.servers[name].domain])
    return pairs


def command(
    ctx: typer.Context,
    server: Annotated[
        str | None, typer.Option("--server", help="Check only this server (default: all).")
    ] = None,
    service: Annotated[
        str | None,
        typer.Option(
            "--service",
            "-s",
            help="Check one customer: its tenant domain, and the calls of each extension and "
            "DID of its fields (last 30 days, or --from/--to).",
        ),
    ] = None,
    from_day: FromOption = None,
    to_day: ToOption = None,
    format: TableOrJsonOption = TableOrJson.table,
) -> None:
    """Check each FusionPBX server: reachable, key accepted, export allowed, columns present."""
    config = state(ctx).load_config()
    if service is not None:
        if server is not None:
            raise UsageError("give either --server or --service, not both")
        _check_service(config, service, from_day, to_day, format)
        return
    if from_day is not None or to_day is not None:
        raise UsageError("--from and --to go with --service")
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
    output.info(f"{len(results)} of {len(results)} connection(s) OK{_warned(results)}")


def _warned(results: list[ProbeResult]) -> str:
    """ ", 1 with a warning (tenant)": the checks that passed with a warning, beyond plain http."""
    warned = [
        f"{r.server} {r.domain}: " + ", ".join(c.name for c in r.checks if c.status == "warn")
        if len(results) > 1
        else ", ".join(c.name for c in r.checks if c.status == "warn" and c.name != "url")
        for r in results
        if any(c.status == "warn" and c.name != "url" for c in r.checks)
    ]
    if not warned:
        return ""
    return f", {len(warned)} with a warning ({'; '.join(warned)})"


def _check_service(
    config: Config, name: str, from_day: str | None, to_day: str | None, format: TableOrJson
) -> None:
    chosen = config.service(name)
    server = config.server_of(chosen)
    domain = config.export_domain(chosen)
    period = resolve_period(
        config.timezone, from_day=from_day, to_day=to_day, month=None, required=False
    ) or _last_days(config, DEFAULT_DAYS)
    result = probe(server, domain)
    if format is TableOrJson.table:
        output.stdout().print(_table(result))
    if result.error is not None:
        if format is TableOrJson.json:
            output.write_json({"version": 1, "servers": [_json(result)], "service": None}, None)
        raise result.error
    with FusionPBXClient(server, domain, retries=0) as client:
        check = check_service(client, config, chosen, period, explicit_dates=from_day is not None)
    warnings = check.warnings()
    if format is TableOrJson.table:
        output.stdout().print(
            f"\n{escape(check.service)}: calls of {escape(check.domain)} from "
            f"{check.period.first_day} to {check.period.last_day}"
        )
        output.stdout().print(_counts_table(check))
    else:
        document = {"version": 1, "servers": [_json(result)], "service": _service_json(check)}
        output.write_json(document, None)
    for line in warnings:
        output.warn(line)
    output.info(
        f"{chosen.name}: connection OK; {check.calls} call(s) of {domain} from "
        f"{period.first_day} to {period.last_day}, {len(warnings)} warning(s)"
    )


def _last_days(config: Config, days: int) -> Period:
    today = datetime.now(config.timezone).date()
    return make_period(today - timedelta(days=days - 1), today, config.timezone)


def _counts_table(check: ServiceCheck) -> Table:
    table = Table(show_edge=False)
    table.add_column("field")
    table.add_column("value")
    table.add_column("calls", justify="right")
    for count in check.counts:
        shown = str(count.calls) if count.calls else "[yellow]0[/]"
        table.add_row(count.field, escape(count.value), shown)
    for extension, calls in check.unbilled[:NAMED_UNBILLED]:
        table.add_row("[yellow]no service[/]", escape(extension), str(calls))
    if len(check.unbilled) > NAMED_UNBILLED:
        rest = check.unbilled[NAMED_UNBILLED:]
        table.add_row("[yellow]no service[/]", f"{len(rest)} more", str(sum(n for _, n in rest)))
    if check.outbound_without_extension:
        table.add_row("[yellow]no extension[/]", "outbound", str(check.outbound_without_extension))
    table.add_row("all calls", "", str(check.calls))
    return table


def _service_json(check: ServiceCheck) -> dict[str, Any]:
    return {
        "service": check.service,
        "domain": check.domain,
        "from": check.period.first_day.isoformat(),
        "to": check.period.last_day.isoformat(),
        "calls": check.calls,
        "fields": [{"field": c.field, "value": c.value, "calls": c.calls} for c in check.counts],
        "unbilled": {
            "calls": check.unbilled_calls,
            "extensions": [{"extension": e, "calls": n} for e, n in check.unbilled],
        },
        "outbound_without_extension": check.outbound_without_extension,
        "unreadable_rows": len(check.problems),
        "warnings": check.warnings(),
    }


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
