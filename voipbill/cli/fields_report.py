"""What validate-fields shows: one checked pair of fields as a table row, JSON, problem lines.

Shared by `validate-fields` and its `--whmcs` mode (cli/validate_whmcs.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.table import Table
from rich.text import Text

from voipbill import fields
from voipbill.cli import output


@dataclass(frozen=True)
class Checked:
    """One checked pair of fields, with where it came from."""

    service: str | None
    line: int | None  # the CSV line, for --file
    result: fields.FieldsResult


def to_json(checked: list[Checked], pbx: str, country: str) -> dict[str, Any]:
    return {
        "version": 1,
        "pbx": pbx,
        "country": country,
        "valid": all(item.result.ok for item in checked),
        "results": [
            {
                "service": item.service,
                "line": item.line,
                "valid": item.result.ok,
                "tenant": None
                if item.result.tenant is None
                else {
                    "domain": item.result.tenant.domain,
                    "dids": list(item.result.tenant.dids),
                    "extension": item.result.tenant.extension,
                    "peer_id": item.result.tenant.peer_id,
                },
                "extensions": list(item.result.extensions),
                "problems": [
                    {
                        "field": problem.field,
                        "segment": problem.segment,
                        "text": problem.text,
                        "message": problem.message,
                    }
                    for problem in item.result.problems
                ],
            }
            for item in checked
        ],
    }


def render_table(checked: list[Checked], pbx: str, country: str, *, bulk: bool) -> Table:
    """One row per service: what was understood, or the problems to fix."""
    table = Table(title=f"{pbx} fields, DIDs checked for {country}", title_justify="left")
    if bulk:
        table.add_column("line", justify="right", overflow="fold")
    if bulk or any(item.service for item in checked):
        table.add_column("service", overflow="fold")
    table.add_column("peer id" if pbx == "lesnet" else "tenant domain", overflow="fold")
    table.add_column("DIDs (E.164)", overflow="fold")
    if pbx == "vodia":
        table.add_column("ext", overflow="fold")
    table.add_column("extensions", overflow="fold")
    table.add_column("status")
    for item in checked:
        tenant = item.result.tenant
        cells: list[Text] = []
        if bulk:
            cells.append(Text(str(item.line)))
        if bulk or any(entry.service for entry in checked):
            cells.append(Text(printable(item.service or "")))
        if tenant is not None:
            cells.append(Text(tenant.peer_id or "" if pbx == "lesnet" else tenant.domain))
            cells.append(Text("\n".join(tenant.dids)))
            if pbx == "vodia":
                cells.append(Text(tenant.extension or ""))
        else:
            cells.extend(Text("") for _ in range(3 if pbx == "vodia" else 2))
        cells.append(Text(" ".join(item.result.extensions)))
        count = len(item.result.problems)
        status = f"{count} problem{'s' if count != 1 else ''}" if count else "valid"
        cells.append(Text(status, style="red" if count else "green"))
        table.add_row(*cells)
    return table


def print_problems(checked: list[Checked]) -> None:
    """Each problem on a line of its own under the table: long messages stay whole and greppable."""
    for item in checked:
        prefix = f"{printable(item.service)}: " if item.service else ""
        if item.line is not None:
            prefix = f"line {item.line} ({printable(item.service or '')}): "
        for problem in item.result.problems:
            output.stdout().print(Text(f"{prefix}{problem}"), soft_wrap=True)


def summarise(checked: list[Checked]) -> None:
    invalid = sum(1 for item in checked if not item.result.ok)
    problems = sum(len(item.result.problems) for item in checked)
    if len(checked) > 1:
        output.info(f"{len(checked)} services: {len(checked) - invalid} valid, {invalid} invalid")
    elif invalid:
        output.info(f"{problems} problem{'s' if problems != 1 else ''}: fix them and check again")
    else:
        output.info("valid")


def printable(text: str) -> str:
    """A service name from a CSV file, with control characters shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
