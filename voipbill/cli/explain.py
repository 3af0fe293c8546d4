"""`voipbill explain`: every step that produced one call's price, for a disputed invoice line."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from voipbill import billing
from voipbill.cli import output
from voipbill.cli.context import state
from voipbill.cli.options import CdrFileOption, FromOption, PeriodOption, ServiceOption, ToOption
from voipbill.errors import InvalidInputError, UsageError
from voipbill.ledger import open_ledger
from voipbill.periods import resolve_period
from voipbill.rating import RatedCall
from voipbill.report import CALL_COLUMNS, StartFormatter, call_values
from voipbill.text import shown


def command(
    ctx: typer.Context,
    service: ServiceOption,
    uuid: Annotated[str, typer.Option("--uuid", help="The call's xml_cdr_uuid.")],
    from_day: FromOption = None,
    to_day: ToOption = None,
    period_month: PeriodOption = None,
    cdr_file: CdrFileOption = None,
) -> None:
    """Show every step from a CDR's raw fields to its rounded cost."""
    config = state(ctx).load_config()
    chosen = config.service(service)
    period = resolve_period(
        config.timezone,
        from_day=from_day,
        to_day=to_day,
        month=period_month,
        required=cdr_file is None,
    )
    if period is None and str(cdr_file) == "-":
        raise UsageError(
            "explain --cdr-file - needs --period or --from/--to",
            hint="without them the call's month is found by a first pass over the file, "
            "and standard input can be read only once",
        )
    with open_ledger(config, commit=False, lock_timeout=0) as ledger:
        found = billing.explain(config, chosen, uuid, period, billing.source_of(cdr_file), ledger)
    if not found.records:
        raise InvalidInputError(
            f"no CDR with xml_cdr_uuid {uuid} in {cdr_file or 'the export'} for "
            f"{found.period.label}",
            hint="check the uuid (FusionPBX: Call Detail Records, the call's details page)",
        )

    console = output.stdout()
    console.print(
        f"[bold]Call {escape(shown(uuid))}[/] — service {escape(chosen.name)}, period "
        f"{found.period.first_day} to {found.period.last_day} ({config.timezone_name})"
    )
    if found.committed is not None:
        # rules §9: a committed call shows its committed price and run first
        run, row = found.committed
        title = f"Committed row: run {run.id} ({run.period}, committed {run.created})"
        _print_row(console, title, row, config.currency, StartFormatter(config.timezone))
        if found.differs:
            console.print(
                f"[bold]Rating it now differs[/] (below); `voipbill ledger void --run {run.id}` "
                "to re-rate the period"
            )
    record = found.records[0]
    raw = Table(show_header=False)
    for name in (
        "xml_cdr_uuid",
        "start_epoch",
        "billsec",
        "direction",
        "leg",
        "extension",
        "caller_id_number",
        "caller_destination",
        "destination_number",
        "status",
        "domain_name",
    ):
        value = getattr(record, name)
        if name == "start_epoch" and value is not None:
            value = f"{value} ({_local_time(value, config.timezone)})"
        raw.add_row(name, escape(shown("" if value is None else str(value))))
    _print_table(console, "Raw fields used", raw)

    steps = Table()
    steps.add_column("step")
    steps.add_column("decision")
    for step, detail in found.steps:
        steps.add_row(step, escape(shown(detail)))
    _print_table(console, "Steps", steps)

    if found.now is None:
        console.print("[bold]Not on the invoice:[/] the call is left out (see the steps above).")
        return
    title = "Rated now (differs from the committed row above)" if found.differs else "Invoice row"
    if found.committed is None or found.differs:
        _print_row(console, title, found.now, config.currency, StartFormatter(config.timezone))
    else:
        console.print("Rating it now gives the committed row.")


def _print_row(
    console: Console, title: str, row: RatedCall, currency: str, start: StartFormatter
) -> None:
    final = Table(show_header=False)
    for name, value in zip(CALL_COLUMNS, call_values(row, currency, start), strict=True):
        final.add_row(name, escape(shown(value)))
    _print_table(console, title, final)


def _print_table(console: Console, title: str, table: Table) -> None:
    """The title on its own line: a table's own title wraps to the table's width (a long one
    broke over lines even when piped) and is padded with spaces to it."""
    console.print(Text(title, style="italic"), soft_wrap=True)
    console.print(table)


def _local_time(epoch: int, zone: ZoneInfo) -> str:
    try:
        return datetime.fromtimestamp(epoch, zone).isoformat()
    except (OverflowError, OSError, ValueError):
        return "not a date"
