"""`voipbill invoice push|status|reconcile`: committed usage onto WHMCS or Lago (rules §11)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from voipbill.cli import output
from voipbill.cli.context import state
from voipbill.cli.options import LockTimeoutOption, TableOrJson, TableOrJsonOption
from voipbill.config import Config
from voipbill.errors import BadResponseError, ConfigError, ExitCode, Reported, UsageError
from voipbill.invoicing import lago_push
from voipbill.invoicing import push as pushing
from voipbill.invoicing.journal import PushReport, settle
from voipbill.invoicing.lago import LagoClient
from voipbill.invoicing.plan import PushPlan, plan_push
from voipbill.invoicing.records import JournalLine
from voipbill.invoicing.whmcs import WhmcsClient
from voipbill.ledger import RunRecord, ledger_location, open_ledger
from voipbill.periods import make_period, parse_month

app = typer.Typer(
    help="Put the usage of committed runs on WHMCS invoices or into Lago, never twice.",
    no_args_is_help=True,
)


class Refusal(BadResponseError):
    """The pre-flight refused a service: nothing sent for it (exit 5, rules §8)."""


class System(StrEnum):
    whmcs = "whmcs"
    lago = "lago"


@app.command("push")
def push(
    ctx: typer.Context,
    to: Annotated[System, typer.Option("--to", help="The invoicing system.")],
    period: Annotated[str, typer.Option("--period", help="The committed month, YYYY-MM.")],
    service: Annotated[
        list[str] | None,
        typer.Option("--service", "-s", help="Only this service (repeatable)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be sent; send and write nothing.")
    ] = False,
    format: TableOrJsonOption = TableOrJson.table,
    lock_timeout: LockTimeoutOption = 0,
) -> None:
    """Send the committed run of a month: WHMCS billable items, or Lago events."""
    config = state(ctx).load_config(check_fields=False)
    first, last = parse_month(period)
    month = make_period(first, last, config.timezone)
    settings = config.invoicing.whmcs if to is System.whmcs else config.invoicing.lago
    if settings is None:
        raise ConfigError(
            f"invoicing -> {to.value}: not configured",
            hint=f"add an [invoicing.{to.value}] table (see the README)",
        )
    _require_ledger(
        config,
        f"no committed run for {month.label} to push",
        hint=f"commit it first: `voipbill rate --all --period {month.label} --commit -o FILE`",
    )
    with open_ledger(config, commit=not dry_run, lock_timeout=lock_timeout) as ledger:
        assert ledger is not None
        journal = ledger.journal
        runs = pushing.committed_runs(config, ledger, month, service or ())
        plan = plan_push(config, to.value, runs, journal)
        if dry_run:
            _dry_run(plan, to, format)
            return
        if to is System.whmcs:
            assert config.invoicing.whmcs is not None
            whmcs = WhmcsClient(config.invoicing.whmcs)
            report = pushing.push_to_whmcs(config, journal, whmcs, plan)
        else:
            assert config.invoicing.lago is not None
            lago = LagoClient(config.invoicing.lago)
            report = lago_push.push_to_lago(config, journal, lago, plan)
    _tell(report, to, month.label)


def _dry_run(plan: PushPlan, to: System, format: TableOrJson) -> None:
    previews = plan.previews()
    if format is TableOrJson.json:
        output.write_json(
            {"version": 1, "dry_run": True, "lines": [p.to_json() for p in previews]}, None
        )
        return
    table = _table(("run", "service", "item", "account", "amount", "action", "description"))
    for p in previews:
        table.add_row(
            str(p.run_id),
            escape(p.service),
            escape(p.item),
            escape(p.account),
            p.amount,
            p.action,
            escape(p.description),
        )
    output.stdout().print(table)
    output.info(f"dry run: nothing sent to {to.value}, nothing written")


def _tell(report: PushReport, to: System, label: str) -> None:
    """What was sent, the money warnings, then exit 5 when a service was refused."""
    for line in report.sent:
        remote = f"billable item {line.remote_id}" if to is System.whmcs else line.remote_id
        output.info(f"sent {line.label}: {line.amount}, {remote}")
    for warning in report.warnings:
        output.warn(warning, about_money=True)
    now, before = report.counts or (len(report.sent), len(report.already_sent))
    unit = "events; " if report.counts is not None else ""
    output.info(
        f"{label}: {now} sent to {to.value} now, {before} sent before"
        + (f" ({unit}those left alone)" if before else "")
    )
    if report.refused:
        for service, reason in report.refused:
            output.warn(f"{service}: nothing sent to {to.value}: {reason}", about_money=True)
        names = ", ".join(service for service, _ in report.refused)
        raise Refusal(
            f"{len(report.refused)} service{'s' if len(report.refused) != 1 else ''} refused, "
            f"nothing sent for {names}",
            hint=f"fix it in {'WHMCS' if to is System.whmcs else 'Lago'} or in the config, then "
            "push again: what was sent is never sent twice",
        )


@app.command("status")
def status(
    ctx: typer.Context,
    period: Annotated[
        str | None, typer.Option("--period", help="Only lines of runs of this month, YYYY-MM.")
    ] = None,
    format: TableOrJsonOption = TableOrJson.table,
) -> None:
    """List the journal: every line handed to an invoicing system, and its state."""
    config = state(ctx).load_config(check_fields=False)
    wanted = parse_month(period) if period is not None else None
    with open_ledger(config, commit=False, lock_timeout=0) as ledger:
        lines: list[JournalLine] = []
        runs: dict[int, RunRecord] = {}
        if ledger is not None:
            lines = ledger.journal.all_lines()
            for record in ledger.runs():
                if wanted is None or (record.first_day, record.last_day) == wanted:
                    runs[record.id] = record
    lines = [line for line in lines if line.run_id in runs]
    if not lines:
        output.info(
            "no line in the journal" + (f" for {period}" if period else "") + ": nothing pushed"
        )
    if format is TableOrJson.json:
        document = [pushing.journal_entry(line, runs[line.run_id]) for line in lines]
        output.write_json({"version": 1, "lines": document}, None)
        return
    table = _table(
        (
            "line",
            "system",
            "run",
            "period",
            "service",
            "item",
            "account",
            "amount",
            "state",
            "remote id",
        )
    )
    for line in lines:
        table.add_row(
            str(line.id),
            line.system,
            str(line.run_id),
            runs[line.run_id].period + ("" if runs[line.run_id].voided is None else " (voided)"),
            escape(line.service),
            escape(line.item),
            escape(line.account),
            str(line.amount),
            line.state.value,
            escape(line.remote_id or ""),
        )
    if lines:
        output.stdout().print(table)


@app.command("reconcile")
def reconcile(
    ctx: typer.Context,
    line: Annotated[
        int | None, typer.Option("--line", help="Settle this pending line (see `invoice status`).")
    ] = None,
    sent: Annotated[
        bool | None,
        typer.Option("--sent/--not-sent", help="With --line: it is on WHMCS / it is not."),
    ] = None,
    lock_timeout: LockTimeoutOption = 0,
) -> None:
    """Find pending WHMCS lines on the clients' invoices, or settle one by hand."""
    config = state(ctx).load_config(check_fields=False)
    if (line is None) != (sent is None):
        raise UsageError("--line and --sent/--not-sent go together")
    _require_ledger(config, "nothing was pushed")
    with open_ledger(config, commit=True, lock_timeout=lock_timeout) as ledger:
        assert ledger is not None
        journal = ledger.journal
        if line is not None and sent is not None:
            settled = settle(journal, line, sent=sent)
            output.info(f"{settled.label} is now {settled.state.value}")
            return
        if not any(e.state.value == "pending" and e.system == "whmcs" for e in journal.all_lines()):
            output.info("no pending WHMCS line: nothing to reconcile")
            return
        if config.invoicing.whmcs is None:
            raise ConfigError("invoicing -> whmcs: not configured", hint="add [invoicing.whmcs]")
        found = pushing.reconcile(journal, WhmcsClient(config.invoicing.whmcs))
    left = [entry for entry, item in found if item is None]
    for entry, item in found:
        if item is not None:
            output.info(f"{entry.label} found on WHMCS invoice {item.invoice_id}: now sent")
    for entry in left:
        output.warn(
            f"{entry.label} is not on any invoice of client {entry.account} yet: look under "
            f"the client's Billable Items in WHMCS for {entry.description!r}, then "
            f"`voipbill invoice reconcile --line {entry.id} --sent` or `--not-sent`",
            about_money=True,
        )
    if left:
        raise Reported(ExitCode.INVALID_INPUT)


def _require_ledger(config: Config, what: str, *, hint: str | None = None) -> None:
    """UsageError (exit 2) when the configured ledger does not exist yet: `what` follows."""
    with open_ledger(config, commit=False, lock_timeout=0) as found:
        if found is None:
            raise UsageError(f"no ledger at {ledger_location(config)}: {what}", hint=hint)


def _table(columns: tuple[str, ...]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for name in columns:
        right = name in ("run", "line", "amount")
        table.add_column(name, justify="right" if right else "left", no_wrap=name != "description")
    return table
