"""`voipbill ledger show|void`: the committed runs of the billing ledger (rules §9)."""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from voipbill.cli import output
from voipbill.cli.context import state
from voipbill.cli.options import LockTimeoutOption, TableOrJson, TableOrJsonOption
from voipbill.errors import ExitCode, Reported, UsageError
from voipbill.invoicing.push import pushed_lines, removal
from voipbill.ledger import COMMITTED, RunRecord, ledger_location, open_ledger
from voipbill.periods import parse_month
from voipbill.wording import amount_text, counted

app = typer.Typer(
    help="Show the committed runs of the billing ledger, or void one.", no_args_is_help=True
)


@app.command("show")
def show(
    ctx: typer.Context,
    period: Annotated[
        str | None,
        typer.Option("--period", help="Only runs that overlap this month, YYYY-MM."),
    ] = None,
    service: Annotated[
        str | None, typer.Option("--service", "-s", help="Only runs that billed this service.")
    ] = None,
    format: TableOrJsonOption = TableOrJson.table,
) -> None:
    """List committed and voided runs with their totals (voided runs count in no total)."""
    config = state(ctx).load_config(check_fields=False)
    month = parse_month(period) if period is not None else None
    with open_ledger(config, commit=False, lock_timeout=0) as ledger:
        records = [] if ledger is None else ledger.runs(service=service)
    if service is not None and service not in config.services and not records:
        raise UsageError(
            f"no service named {service!r} in the config or the ledger",
            hint=f"services in the config: {', '.join(config.services) or 'none'}",
        )
    if ledger is None:
        output.info(f"no ledger at {ledger_location(config)} yet: nothing committed")
    if month is not None:
        first, last = month
        records = [r for r in records if r.first_day <= last and r.last_day >= first]
    rows = [
        (record, total)
        for record in records
        for total in record.per_service
        if service is None or total.service == service
    ]
    totals: dict[str, Decimal] = {}
    for record, total in rows:
        if record.status == COMMITTED:
            totals[record.currency] = totals.get(record.currency, Decimal(0)) + total.amount
    if format is TableOrJson.json:
        output.write_json(
            {
                "version": 1,
                "ledger": ledger_location(config),
                "runs": [record.to_json() for record in records],
                "committed_amount": {currency: str(amount) for currency, amount in totals.items()},
            },
            None,
        )
        return
    table = Table(
        title=f"Ledger {escape(ledger_location(config))}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for name in (
        "run",
        "created",
        "period",
        "service",
        "calls",
        "late",
        "amount",
        "status",
        "sha256",
    ):
        right = name in ("run", "calls", "late", "amount")
        table.add_column(name, justify="right" if right else "left", no_wrap=True)
    reasons = any(record.void_reason for record, _ in rows)
    if reasons:
        table.add_column("reason")
    for record, total in rows:
        table.add_row(
            str(record.id),
            record.created[:16].replace("T", " "),
            record.period,
            escape(total.service),
            str(total.calls),
            str(total.late_calls),
            amount_text(total.amount, record.currency),
            record.status,
            record.output_sha256[:8],
            *([escape(record.void_reason or "")] if reasons else []),
        )
    console = output.stdout()  # piped or in a cron mail: never wrapped
    console.print(table)
    for record in records:
        if record.skipped_rows:
            console.print(
                f"run {record.id} skipped {len(record.skipped_rows)} bad CDR rows "
                f"(--skip-bad-rows): {escape('; '.join(record.skipped_rows))}",
                soft_wrap=True,
            )
    for currency, amount in sorted(totals.items()):
        console.print(f"committed total: {amount_text(amount, currency)}")


@app.command("void")
def void(
    ctx: typer.Context,
    run: Annotated[int, typer.Option("--run", help="The run to void (see `ledger show`).")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="Why (kept in the ledger, shown by `ledger show`)."),
    ] = None,
    yes_pushed: Annotated[
        bool,
        typer.Option(
            "--yes-pushed",
            help="Void it even though its usage was pushed to an invoicing system "
            "(then remove the lines it prints there); implies --yes.",
        ),
    ] = False,
    lock_timeout: LockTimeoutOption = 0,
) -> None:
    """Void a committed run: its calls are released, so the period can be rated again."""
    yes = yes or yes_pushed  # the stronger confirmation holds the weaker one
    config = state(ctx).load_config(check_fields=False)
    with open_ledger(config, commit=False, lock_timeout=0) as found:
        if found is None:
            raise UsageError(f"no ledger at {ledger_location(config)}: nothing was committed")
    if not yes and not sys.stdin.isatty():
        raise UsageError(
            "voiding a run needs confirmation", hint="add --yes when not on a terminal"
        )
    with open_ledger(config, commit=True, lock_timeout=lock_timeout) as ledger:
        assert ledger is not None
        record = ledger.run(run)
        if record.status != COMMITTED:
            raise UsageError(f"run {run} is already voided ({record.voided})")
        pushed = pushed_lines(ledger, record.id)
        if pushed and not yes_pushed:
            raise UsageError(
                f"run {run} was pushed to an invoicing system ({len(pushed)} line"
                f"{'s' if len(pushed) != 1 else ''} sent or pending): voiding it leaves them "
                "there",
                hint="`voipbill invoice status` lists them; add --yes-pushed to void it anyway",
            )
        if not yes and not _confirm(record):
            output.info("nothing voided")
            raise Reported(ExitCode.INVALID_INPUT)
        voided = ledger.void(record.id, reason.strip() if reason else None)
    for line in pushed:
        output.warn(f"remove from {removal(line)}", about_money=True)
    output.info(
        f"voided run {voided.id} ({voided.period}, {counted(voided.calls, 'call')}, "
        f"{amount_text(voided.amount, voided.currency)}); its calls are released: rate "
        f"{voided.period} again to re-bill them"
    )


def _confirm(record: RunRecord) -> bool:
    return typer.confirm(
        f"Void run {record.id}: {record.period}, {', '.join(record.services)}, "
        f"{counted(record.calls, 'call')}, {amount_text(record.amount, record.currency)}, "
        f"file {record.output_path}?",
        default=False,
        err=True,
    )
