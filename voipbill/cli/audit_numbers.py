"""`voipbill audit-numbers`: the CDR numbers that will be mis-billed, with the fix (rules §10)."""

from __future__ import annotations

import csv
import json
from typing import IO

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from voipbill import billing
from voipbill.audit import NORMALISED, OUTBOUND, VERDICT_ORDER, Audit, AuditedNumber
from voipbill.cli import output
from voipbill.cli.context import state
from voipbill.cli.options import (
    CdrFileOption,
    Format,
    FormatOption,
    FromOption,
    OutputOption,
    PeriodOption,
    ServiceOption,
    ToOption,
)
from voipbill.errors import ExitCode, Reported
from voipbill.outputs import refuse_inputs
from voipbill.periods import Period, resolve_period

JSON_VERSION = 1
# rules §10 columns first, exactly; then ours.
CSV_COLUMNS = (
    "number",
    "direction",
    "calls",
    "verdict",
    "country",
    "fix",
    "field",
    "normalized",
    "intended",
    "note",
)
_STYLE = {
    "wrong_country": "bold red",
    "not_e164": "red",
    "normalised": "yellow",
    "valid": "green",
    "short": "cyan",
    "extension": "dim",
}


def command(
    ctx: typer.Context,
    service: ServiceOption,
    from_day: FromOption = None,
    to_day: ToOption = None,
    period_month: PeriodOption = None,
    cdr_file: CdrFileOption = None,
    output_format: FormatOption = None,
    output_path: OutputOption = None,
) -> None:
    """List each number on a service's calls, whether rating reads it right, and the fix."""
    config = state(ctx).load_config()
    refuse_inputs(output_path, state(ctx).inputs(config, cdr_file=cdr_file))
    chosen = config.service(service)
    period = resolve_period(
        config.timezone,
        from_day=from_day,
        to_day=to_day,
        month=period_month,
        required=cdr_file is None,
    )
    found = billing.audit_numbers(config, chosen, period, billing.source_of(cdr_file))
    result = found.audit

    shown = output_format or (Format.table if output.stdout_is_terminal() else Format.csv)
    with output.data_stream(output_path) as stream:
        if shown is Format.table:
            console = output.stdout() if output_path is None else output.file_console(stream)
            render_table(console, result, period)
        elif shown is Format.csv:
            write_csv(stream, result.numbers)
        else:
            write_json(stream, result, period)
    output.messages(found.messages)
    if result.outbound_problems:
        raise Reported(ExitCode.INVALID_INPUT)


def write_csv(stream: IO[str], numbers: list[AuditedNumber]) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for number in numbers:
        writer.writerow([getattr(number, column) for column in CSV_COLUMNS])


def write_json(stream: IO[str], result: Audit, period: Period | None) -> None:
    document = {
        "version": JSON_VERSION,
        "service": result.service,
        "package": result.package,
        "country": result.country,
        "period": None
        if period is None
        else {"start": period.first_day.isoformat(), "end": period.last_day.isoformat()},
        "numbers": [{column: getattr(n, column) for column in CSV_COLUMNS} for n in result.numbers],
        "hints": [
            {
                "settings": hint.settings,
                "toml": "\n".join(hint.toml),
                "suggested": hint.suggested,
                "fixes": list(hint.fixes),
                "misses": list(hint.misses),
                "breaks": list(hint.breaks),
            }
            for hint in result.hints
        ],
        "hints_fix_all": result.hints_fix_all,
        "outbound_problems": len(result.outbound_problems),
        "verdict": verdict_line(result),
    }
    json.dump(document, stream, indent=2, ensure_ascii=False)
    stream.write("\n")


def render_table(console: Console, result: Audit, period: Period | None) -> None:
    scope = f"{period.first_day} to {period.last_day}" if period else "every row of the file"
    console.print(
        f"[bold]Numbers of {escape(result.service)}[/] (package {escape(result.package)}, "
        f"country {result.country})  {scope}"
    )
    # Fixes are long: the table refers to them by number and lists them below it, so the
    # table fits 80 columns.
    fixes: dict[tuple[str, str], list[AuditedNumber]] = {}
    for n in result.numbers:
        if n.fix:
            fixes.setdefault((n.direction, n.fix), []).append(n)
    references = {key: index for index, key in enumerate(fixes, 1)}
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for name in ("verdict", "number", "direction", "calls", "country", "meant", "fix"):
        table.add_column(name, justify="right" if name == "calls" else "left", no_wrap=True)
    for verdict in VERDICT_ORDER:
        group = [n for n in result.numbers if n.verdict == verdict]
        if not group:
            continue
        if table.row_count:
            table.add_section()
        for n in group:
            reference = references.get((n.direction, n.fix))
            table.add_row(
                f"[{_STYLE[verdict]}]{verdict}[/]",
                escape(n.number or "(empty)"),
                n.direction,
                str(n.calls),
                n.country,
                n.intended if n.is_problem else "",
                f"[{reference}]" if reference else "",
            )
    console.print(table)
    if fixes:
        console.print(
            "[bold]Dialplan fixes[/] (FusionPBX: Dialplan Manager, application and data):"
        )
    for (direction, fix), numbers in fixes.items():
        where = (
            "inbound route (Destinations), first action"
            if direction == "inbound"
            else "outbound route, before the bridge"
        )
        listed = ", ".join(n.number for n in numbers[:3]) + (" ..." if len(numbers) > 3 else "")
        console.print(f"  [{references[(direction, fix)]}] {escape(fix)}", soft_wrap=True)
        console.print(f"      [dim]on the {where}; for {escape(listed)}[/]", soft_wrap=True)
    if result.hints:
        where = escape(f"[packages.{result.package}]")
        console.print(f"[bold]Or change the package instead of the dialplan[/] ({where}):")
    for hint in result.hints:
        lines = escape("; ".join(hint.toml))
        if hint.suggested:
            console.print(
                f"  {lines}   [dim]fixes {len(hint.fixes)} number(s), breaks none[/]",
                soft_wrap=True,
            )
            continue
        why = []
        if hint.breaks:
            why.append(f"would change {len(hint.breaks)} good number(s), e.g. {hint.breaks[0]}")
        if hint.misses:
            why.append(f"leaves {len(hint.misses)} of its numbers wrong, e.g. {hint.misses[0]}")
        console.print(
            f"  [dim]not suggested: {lines} ({escape('; '.join(why))})[/]", soft_wrap=True
        )
    if result.hints_fix_all is False:
        console.print("  [dim]these settings leave other numbers wrong: see the table[/]")
    style = "bold red" if result.outbound_problems else "bold green"
    console.print(f"[{style}]{escape(verdict_line(result))}[/]", soft_wrap=True)


def verdict_line(result: Audit) -> str:
    outbound = result.outbound_problems
    if outbound:
        calls = sum(n.calls for n in outbound)
        unknown = sum(1 for n in outbound if not n.fix)
        advice = []
        if unknown < len(outbound):
            advice.append("fix the dialplan or the package as shown above")
        if unknown:
            advice.append(f"{unknown} without a known fix: check how they were dialled")
        return (
            f"FAIL: {len(outbound)} outbound number(s) on {calls} call(s) will be mis-billed; "
            + "; ".join(advice)
            + "."
        )
    others = result.problems
    if others:
        return (
            f"OK for outbound billing; {len(others)} inbound or local number(s) are not E.164 "
            "(see above)."
        )
    total = sum(1 for n in result.numbers if n.direction == OUTBOUND)
    normalised = sum(1 for n in result.numbers if n.verdict == NORMALISED)
    if normalised:
        return (
            f"OK: all {total} outbound number(s) are read right; {normalised} number(s) only "
            "through the package's number rules (normalised): the dialplan fixes above would "
            "have FusionPBX write them in E.164."
        )
    return f"OK: all {total} outbound number(s) are valid E.164, short numbers or extensions."
