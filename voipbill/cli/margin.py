"""`voipbill margin`: what the calls of a period sold for and cost the operator (rules §15)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from voipbill import billing
from voipbill.cli import output
from voipbill.cli.context import state
from voipbill.cli.options import (
    CdrFileOption,
    Format,
    FormatOption,
    FromOption,
    OutputOption,
    PeriodOption,
    ToOption,
)
from voipbill.ledger import open_ledger
from voipbill.margin import ServiceMargin
from voipbill.margin.report import figures, write_csv, write_json
from voipbill.outputs import refuse_inputs, run_inputs
from voipbill.periods import Period, resolve_period
from voipbill.wording import counted


class By(StrEnum):
    category = "category"
    prefix = "prefix"
    service = "service"


def command(
    ctx: typer.Context,
    service: Annotated[
        list[str] | None,
        typer.Option("--service", "-s", help="Service (repeatable), in output order."),
    ] = None,
    all_services: Annotated[bool, typer.Option("--all", help="Every configured service.")] = False,
    from_day: FromOption = None,
    to_day: ToOption = None,
    period_month: PeriodOption = None,
    by: Annotated[
        By,
        typer.Option(
            "--by", help="Group by call category, by the cost deck's prefix, or by service."
        ),
    ] = By.category,
    cdr_file: CdrFileOption = None,
    output_format: FormatOption = None,
    output_path: OutputOption = None,
) -> None:
    """Margin: each group's calls, amount, carrier cost, margin and calls sold below cost.

    Committed calls come from the ledger; the others are priced now, as `rate` does.
    """
    config = state(ctx).load_config()
    refuse_inputs(output_path, run_inputs(config, cdr_file=cdr_file))
    services = billing.select_services(config, service, all_services)
    period = resolve_period(config.timezone, from_day=from_day, to_day=to_day, month=period_month)
    assert period is not None
    to_file = output_path is not None and str(output_path) != "-"
    chosen = output_format or (
        Format.table if output.stdout_is_terminal() and not to_file else Format.csv
    )
    selection = billing.Selection(tuple(services), stream=True)
    with open_ledger(config, commit=False, lock_timeout=0) as ledger:
        result, margins = billing.margin_of(
            config, selection, period, billing.source_of(cdr_file), ledger, by.value
        )
    with output.data_stream(output_path) as stream:
        if chosen is Format.table:
            console = output.file_console(stream) if to_file else output.stdout()
            render(console, margins, period, config.currency)
        elif chosen is Format.csv:
            write_csv(stream, margins, by.value, config.currency)
        else:
            write_json(stream, margins, by.value, config.currency, period)
    result.drain()
    # the below-cost warning points here; this command shows those calls in its figures
    output.messages(m for m in billing.messages(result) if m.code != "below_cost")
    missing = sum(m.total.no_carrier_cost for m in margins)
    if missing:
        before = sum(m.total.before_carrier_costs for m in margins)
        why = [f"{missing - before} with no cost-deck row"] if missing > before else []
        why += [f"{before} committed before carrier costs were recorded"] if before else []
        output.warn(
            f"{counted(missing, 'call')} with no carrier cost ({', '.join(why)}): left out of "
            "the carrier cost and the margin",
            about_money=True,
        )


def render(console: Console, margins: list[ServiceMargin], period: Period, currency: str) -> None:
    for service_margin in margins:
        by = service_margin.by
        table = Table(
            title=f"{service_margin.service}  {period.first_day} to {period.last_day}  "
            f"({currency})",
            title_justify="left",
            title_style="bold",
        )
        table.add_column(by)
        for name in ("calls", "amount", "carrier cost", "margin", "margin %", "below cost"):
            table.add_column(name, justify="right")
        table.add_column("no carrier cost", justify="right")
        for group, total in service_margin.rows():
            shown = figures(total, service_margin.digits, currency)
            if group == "total":
                table.add_section()
            table.add_row(
                escape(service_margin.service if by == "service" else group or "(none)"),
                shown["calls"],
                shown["amount"],
                shown["carrier_cost"],
                shown["margin"],
                shown["margin_percent"],
                shown["below_cost_calls"],
                shown["no_carrier_cost_calls"],
            )
        console.print(table)
