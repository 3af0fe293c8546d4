"""Option aliases shared by the commands, so each is spelled and documented once."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class TableOrJson(StrEnum):
    table = "table"
    json = "json"


FormatOption = Annotated[
    Format | None,
    typer.Option("--format", "-f", help="Output format (default: table on a terminal, else csv)."),
]
TableOrJsonOption = Annotated[TableOrJson, typer.Option("--format", "-f", help="Output format.")]
OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Write data to this file (atomically) instead of stdout.",
        dir_okay=False,
    ),
]
ServiceOption = Annotated[
    str, typer.Option("--service", "-s", help="Service name from the config.")
]
FromOption = Annotated[
    str | None, typer.Option("--from", help="First day billed, YYYY-MM-DD (config time zone).")
]
ToOption = Annotated[
    str | None, typer.Option("--to", help="Last day billed, inclusive, YYYY-MM-DD.")
]
PeriodOption = Annotated[
    str | None, typer.Option("--period", help="A calendar month, YYYY-MM (instead of --from/--to).")
]
CdrFileOption = Annotated[
    Path | None,
    typer.Option(
        "--cdr-file", help="Read a FusionPBX CSV export instead of the server.", dir_okay=False
    ),
]
LockTimeoutOption = Annotated[
    float,
    typer.Option(
        "--lock-timeout",
        min=0,
        help="Seconds to wait for another run holding the ledger lock, then exit 6.",
    ),
]
