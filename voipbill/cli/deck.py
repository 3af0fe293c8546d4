"""`voipbill deck check`: validate a rate deck before a billing run depends on it (SPEC §3)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.table import Table

from voipbill.cli import output
from voipbill.decks import Deck, DeckError, load_deck
from voipbill.errors import InvalidInputError, UsageError
from voipbill.money import format_money

app = typer.Typer(help="Rate deck tools.", no_args_is_help=True)


class Preset(StrEnum):
    voipbill = "voipbill"
    ictvoip = "ictvoip"
    astpp = "astpp"
    magnus = "magnus"


@app.command("check")
def check(
    path: Annotated[
        Path, typer.Argument(metavar="PATH", help="The deck CSV file.", dir_okay=False)
    ],
    preset: Annotated[
        Preset, typer.Option("--preset", "-p", help="Column layout of the file.")
    ] = Preset.voipbill,
    timezone: Annotated[
        str,
        typer.Option(
            "--timezone",
            help="Zone whose midnight starts an effective_from date (the config's `timezone`).",
        ),
    ] = "UTC",
) -> None:
    """Check a rate deck: print its size and ranges, or every problem with its line number.

    Exit code 1 when the deck would be refused by `voipbill rate`.
    """
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"--timezone: unknown time zone {timezone!r}", hint='e.g. "America/Toronto"'
        ) from None
    try:
        deck = load_deck(path, preset=preset.value, timezone=zone)
    except DeckError as exc:
        # The problems are this command's result, so they are data on stdout (all of them).
        with output.data_stream(None) as stream:
            for problem in exc.errors:
                stream.write(f"{problem}\n")
        count = len(exc.errors)
        raise InvalidInputError(
            f"rate deck {path} refused: {count} problem{'s' if count > 1 else ''}",
            hint=exc.hint if count == 1 else "fix every line listed, then check again",
        ) from None
    output.stdout().print(summary_table(deck, preset.value))


def summary_table(deck: Deck, preset: str) -> Table:
    rows = deck.rows
    table = Table()
    table.add_column("rate deck")
    table.add_column("result", overflow="fold")
    table.add_row("file", str(deck.path))
    table.add_row("preset", preset)
    table.add_row("rows", str(len(rows)))
    table.add_row("distinct prefixes", str(len({row.prefix for row in rows})))
    lengths = Counter(len(prefix) for prefix in {row.prefix for row in rows})
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


def _s(count: int) -> str:
    return "" if count == 1 else "s"
