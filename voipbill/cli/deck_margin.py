"""`voipbill deck margin`: check a package against its carrier's deck before it goes live
(rules §15)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from voipbill.cli import output
from voipbill.cli.context import state
from voipbill.cli.options import Format, FormatOption, OutputOption
from voipbill.errors import InvalidInputError, UsageError
from voipbill.margin.golive import (
    BELOW_COST,
    DEFAULT_LENGTHS,
    GoLiveCheck,
    check_package,
    finding_rows,
    write_csv,
    write_json,
)
from voipbill.outputs import refuse_inputs, run_inputs

_DEFAULT_LENGTHS = ",".join(str(length) for length in DEFAULT_LENGTHS)


def command(
    ctx: typer.Context,
    package: Annotated[str, typer.Option("--package", "-p", help="The package to check.")],
    lengths: Annotated[
        str,
        typer.Option("--lengths", help="Call lengths in seconds, comma separated."),
    ] = _DEFAULT_LENGTHS,
    day: Annotated[
        str | None,
        typer.Option("--date", help="Check the rows in effect on this day (default: today)."),
    ] = None,
    output_format: FormatOption = None,
    output_path: OutputOption = None,
) -> None:
    """List every prefix a customer would pay less for than the carrier charges (exit 1 if any).

    Each prefix of the package's sell side and of its cost deck is priced as an answered
    outbound call of each length, each side by its own longest prefix.
    """
    config = state(ctx).load_config()
    refuse_inputs(output_path, run_inputs(config))
    found = check_package(config, package, _lengths(lengths), _day(day))
    to_file = output_path is not None and str(output_path) != "-"
    chosen = output_format or (
        Format.table if output.stdout_is_terminal() and not to_file else Format.csv
    )
    with output.data_stream(output_path) as stream:
        if chosen is Format.csv:
            write_csv(stream, found, config.currency)
        elif chosen is Format.json:
            write_json(stream, found, config.currency)
        else:
            console = output.file_console(stream) if to_file else output.stdout()
            console.print(_table(found, config.currency))
    shown = ", ".join(str(length) for length in found.lengths)
    output.info(
        f"package {found.package!r} on {found.day}: {found.prefixes} prefixes checked at "
        f"{shown} s; {found.unsold} sold by the carrier but not in the package, "
        f"{found.no_carrier_row} with no carrier row"
    )
    if found.below_cost:
        raise InvalidInputError(
            f"package {found.package!r}: {found.below_cost} prefixes sold below carrier cost",
            hint="raise the markup, or add custom_rates for those prefixes, before it goes live",
        )


def _table(found: GoLiveCheck, currency: str) -> Table:
    table = Table(
        title=f"package {found.package} against its carrier's deck, {found.day} ({currency})",
        title_justify="left",
    )
    for name in ("prefix", "status", "seconds", "sold by", "price", "carrier", "cost", "margin"):
        table.add_column(
            name, justify="right" if name in ("seconds", "price", "cost", "margin") else "left"
        )
    for row in finding_rows(found, currency):
        sold_by = f"{row['sell_source']} {row['sell_prefix']}".strip()
        status = "BELOW COST" if row["status"] == BELOW_COST else row["status"]
        table.add_row(
            *(
                escape(text)
                for text in (
                    row["prefix"],
                    status,
                    row["seconds"],
                    sold_by,
                    row["price"],
                    row["cost_prefix"],
                    row["cost"],
                    row["margin"],
                )
            )
        )
    return table


def _lengths(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if not values or any(not 1 <= value <= 99_999 for value in values):
        raise UsageError(
            f"--lengths {text!r}: give call lengths in seconds, comma separated",
            hint="e.g. --lengths 30,60,300",
        )
    return tuple(sorted(set(values)))


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--date {text!r} is not a date", hint="write YYYY-MM-DD") from None
