"""`voipbill deck check`: validate a rate deck before a billing run depends on it (rules §3)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.table import Table

from voipbill.cli import output
from voipbill.cli.context import state
from voipbill.decks import Deck, DeckError, DeckLayout, check_command, load_deck
from voipbill.errors import InvalidInputError, UsageError
from voipbill.money import format_money

app = typer.Typer(help="Rate deck tools.", no_args_is_help=True)
MAX_LINES_SHOWN = 10


class Preset(StrEnum):
    voipbill = "voipbill"
    ictvoip = "ictvoip"
    astpp = "astpp"
    magnus = "magnus"
    twilio = "twilio"


@app.command("check")
def check(
    ctx: typer.Context,
    path: Annotated[
        Path | None,
        typer.Argument(
            help="The deck CSV file (or give --deck to check a deck of the config).",
            dir_okay=False,
            metavar="PATH",
            show_default=False,
        ),
    ] = None,
    deck_name: Annotated[
        str | None,
        typer.Option(
            "--deck",
            "-d",
            help="A deck of the config (--config), by name: its path, preset, columns and "
            "options, read exactly as `rate` reads them.",
        ),
    ] = None,
    preset: Annotated[
        Preset | None,
        typer.Option("--preset", "-p", help="Column layout of PATH (default: voipbill)."),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone",
            help="Zone whose midnight starts an effective_from date of PATH (default: UTC; "
            "with --deck, the config's `timezone`).",
        ),
    ] = None,
) -> None:
    """Check a rate deck: how its cells are read, its size and ranges, or every problem with
    its line number.

    Exit code 1 when the deck would be refused by `voipbill rate`.
    """
    if deck_name is not None:
        if path is not None or preset is not None or timezone is not None:
            raise UsageError(
                "give PATH (with --preset, --timezone) or --deck NAME, not both",
                hint="--deck reads the path, preset and options from the config",
            )
        config = state(ctx).load_config()
        if deck_name not in config.decks:
            known = ", ".join(config.decks) or "none"
            raise UsageError(
                f"no deck named {deck_name!r} in {config.path}", hint=f"configured decks: {known}"
            )
        deck_config = config.decks[deck_name]
        path, layout, zone = deck_config.path, deck_config.layout, config.timezone
        command = check_command(config.path, deck_name)
    elif path is None:
        raise UsageError("give a deck file PATH, or --deck NAME of the config")
    else:
        layout = DeckLayout(preset=(preset or Preset.voipbill).value)
        zone = _zone(timezone or "UTC")
        command = None
    try:
        deck = load_deck(path, layout=layout, timezone=zone, check_command=command)
    except DeckError as exc:
        # The problems are this command's result, so they are data on stdout (all of them).
        with output.data_stream(None) as stream:
            for problem in exc.errors:
                stream.write(f"{problem}\n")
        count = len(exc.errors)
        raise InvalidInputError(
            f"rate deck {path} refused: {count} problem{'s' if count > 1 else ''}",
            hint=exc.fix or "fix every line listed, then check again",
        ) from None
    output.stdout().print(summary_table(deck, layout.preset))


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"--timezone: unknown time zone {name!r}", hint='e.g. "America/Toronto"'
        ) from None


def summary_table(deck: Deck, preset: str) -> Table:
    rows = deck.rows
    report = deck.report
    table = Table()
    table.add_column("rate deck")
    table.add_column("result", overflow="fold")
    table.add_row("file", str(deck.path))
    table.add_row("preset", preset)
    for option, value in report.settings:
        table.add_row(option, value)
    table.add_row("column map", "\n".join(f"{cell!r} -> {name}" for cell, name in report.columns))
    ignored = ", ".join(repr(cell) for cell in report.ignored) or "none"
    if report.extra_cells_ignored:
        ignored += " (and any cell after the eighth)"
    table.add_row("ignored cells", ignored)
    if report.near_misses:
        table.add_row(
            "check these",
            "\n".join(
                f"{cell!r} looks like {column}, which this deck does not read: its values are "
                "not used"
                for cell, column in report.near_misses
            ),
        )
    left_out = [
        f"{len(lines)} row{_s(len(lines))} {reason}: line{_s(len(lines))} {_lines(lines)}"
        for reason, lines in report.left_out.items()
    ]
    table.add_row("rows left out", "\n".join(left_out) or "none")
    table.add_row("rows", str(len(rows)))
    prefixes = {row.prefix for row in rows}
    table.add_row("distinct prefixes", str(len(prefixes)))
    lengths = Counter(len(prefix) for prefix in prefixes)
    spread = ", ".join(f"{length}: {lengths[length]}" for length in sorted(lengths))
    table.add_row("prefix lengths", f"{min(lengths)}-{max(lengths)} digits ({spread})")
    table.add_row("rate per minute", _range(row.rate for row in rows))
    fees = [row.connect_fee for row in rows if row.connect_fee]
    table.add_row(
        "connect fee",
        f"{_range(row.connect_fee for row in rows)} ({len(fees)} row{_s(len(fees))} with a fee)",
    )
    own = sum(1 for row in rows if row.increment is not None)
    table.add_row("own increment", f"{own} row{_s(own)} (the others use the package's)")
    for name in ("no_charge_seconds", "included_seconds"):
        values = [getattr(row, name) for row in rows if getattr(row, name) is not None]
        if values or any(column == name for _, column in report.columns):
            table.add_row(
                name,
                f"{min(values)}-{max(values)} s in {len(values)} row{_s(len(values))} "
                "(the others use the package's)"
                if values
                else "empty in every row (the package's applies)",
            )
    dated = sorted({row.effective_from for row in rows if row.effective_from is not None})
    count = sum(1 for row in rows if row.effective_from is not None)
    table.add_row(
        "dated rows",
        f"{count} ({', '.join(day.isoformat() for day in dated)})" if dated else "none",
    )
    return table


def _range(values: Iterable[Decimal]) -> str:
    ordered = sorted(values)
    return f"{format_money(ordered[0])} - {format_money(ordered[-1])}"


def _lines(lines: Sequence[int]) -> str:
    shown = ", ".join(str(line) for line in lines[:MAX_LINES_SHOWN])
    return shown + (
        f" and {len(lines) - MAX_LINES_SHOWN} more" if len(lines) > MAX_LINES_SHOWN else ""
    )


def _s(count: int) -> str:
    return "" if count == 1 else "s"
