"""`voipbill watch`: alerts from the committed calls (rules §14); the rules in voipbill.watch."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from voipbill import billing
from voipbill.cli import output
from voipbill.cli.context import state
from voipbill.cli.options import LockTimeoutOption, TableOrJson, TableOrJsonOption
from voipbill.config import Config
from voipbill.errors import ExitCode, Reported
from voipbill.ledger import ledger_location, open_ledger
from voipbill.periods import parse_day, today
from voipbill.watch.rules import Alert
from voipbill.watch.run import daily_chart, has_calls, watch
from voipbill.watch.sparkline import sparkline
from voipbill.wording import amount_text


def command(
    ctx: typer.Context,
    service: Annotated[
        list[str] | None, typer.Option("--service", "-s", help="Service (repeatable).")
    ] = None,
    all_services: Annotated[bool, typer.Option("--all", help="Every configured service.")] = False,
    day: Annotated[
        str | None, typer.Option("--date", help="The watch day, YYYY-MM-DD (default: today).")
    ] = None,
    output_format: TableOrJsonOption = TableOrJson.table,
    repeat: Annotated[
        bool, typer.Option("--repeat", help="Print every alert of the day again, even if shown.")
    ] = False,
    lock_timeout: LockTimeoutOption = 0,
) -> None:
    """Alerts: spend, costly calls, spikes, new countries and bursts of international calls.

    Each alert is one line on stderr (even with -q), printed by one run only; exit 1 if any.
    """
    config = state(ctx).load_config()
    services = billing.select_services(config, service, all_services)
    watch_day: date = parse_day(day, "--date") if day else today(config.timezone)
    with open_ledger(config, commit=False, lock_timeout=0) as found:
        empty = found is None or not has_calls(found)  # type: ignore[arg-type]
    if empty:
        output.info(
            f"nothing to watch: the ledger {ledger_location(config)} holds no committed call "
            "(run `voipbill rate --commit` first)"
        )
        return
    with open_ledger(config, commit=True, lock_timeout=lock_timeout) as ledger:
        assert ledger is not None
        result = watch(
            ledger,  # type: ignore[arg-type]
            config,
            services,
            watch_day,
            repeat=repeat,
            announce=lambda alerts: _announce(alerts, output_format, ledger, config, watch_day),
        )
    for warning in result.warnings:
        output.warn(warning, about_money=True)
    if result.alerts:
        raise Reported(ExitCode.INVALID_INPUT)  # an alert printed (rules §8)


def _announce(
    alerts: list[Alert], chosen: TableOrJson, ledger: Any, config: Config, day: date
) -> None:
    if chosen is TableOrJson.json:
        output.write_json([alert.to_json() for alert in alerts], None)
    elif alerts:
        table = Table(title="alerts", title_justify="left", title_style="bold")
        for name in ("service", "rule", "day", "value", "threshold", "detail"):
            table.add_column(name, justify="right" if name in ("value", "threshold") else "left")
        for alert in alerts:
            table.add_row(
                *(escape(str(v)) for v in alert.to_json().values()),
            )
        output.stdout().print(table)
        if output.stdout_is_terminal():
            _charts(sorted({a.service for a in alerts}), ledger, config, day)
    for alert in alerts:  # never silenced by -q (rules §14)
        output.stderr().print(escape(alert.line), soft_wrap=True, highlight=False)


def _charts(services: list[str], ledger: Any, config: Config, day: date) -> None:
    """Each alerting service's daily cost over the 28 days before and the watch day (last,
    highlighted): what a spike or a runaway day looks like next to the customer's usual."""
    width = max(len(name) for name in services)
    for name in services:
        costs = daily_chart(ledger, config, name, day)
        line = sparkline(costs)
        text = Text(f"{name:<{width}}  ")
        text.append(line[:-1], style="cyan")
        text.append(line[-1], style="bold red")
        text.append(f"  28 days to {day}: {amount_text(costs[-1], config.currency)} on the day")
        output.stdout().print(text)
