"""Option aliases shared by the commands, so each is spelled and documented once."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

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
DaysOption = Annotated[
    int | None,
    typer.Option(
        "--days", help="The N calendar days that end today, today included (config time zone)."
    ),
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


def plain_help() -> None:
    """`--help` as click has always written it: recent typer prints `--debug <bool>` and
    `-q <int>`, which read as options that take a value, and a required argument as `{path}`.
    A flag shows no type, a count says it repeats, a required argument is `PATH`."""
    from typer.core import TyperArgument, TyperOption

    usage_name = getattr(TyperArgument, "_usage_display_name", None)
    if usage_name is not None and not getattr(usage_name, "voipbill_plain", False):

        def usage_display_name(self: TyperArgument) -> str:
            name: str = usage_name(self)
            if self.required and name.startswith("{"):
                name = name[1:].replace("}", "", 1)
            return name

        usage_display_name.voipbill_plain = True  # type: ignore[attr-defined]
        setattr(TyperArgument, "_usage_display_name", usage_display_name)  # noqa: B010

    typed = getattr(TyperOption, "display_type_rich", None)
    if typed is None or getattr(typed, "voipbill_plain", False):
        return  # an older typer, which prints no type there; or done already

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        if self.count:
            return "(repeatable)"
        if self.is_flag:
            return None
        result: str | None = typed(self, ctx)
        return result

    display_type_rich.voipbill_plain = True  # type: ignore[attr-defined]
    setattr(TyperOption, "display_type_rich", display_type_rich)  # noqa: B010
