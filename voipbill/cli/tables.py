"""Readable usage tables of a RunResult for `voipbill rate --format table` (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from voipbill.billing import CategoryTotal, RunResult, ServiceTotals, billed_minutes
from voipbill.money import format_amount
from voipbill.periods import Period
from voipbill.text import shown

TOP_DESTINATIONS = 10


def _money(bucket: CategoryTotal, digits: int) -> str:
    return format_amount(bucket.amount, digits)


def _add_row(table: Table, label: str, bucket: CategoryTotal, digits: int) -> None:
    table.add_row(
        escape(shown(label)),
        str(bucket.calls),
        str(billed_minutes(bucket.billed_seconds)),
        _money(bucket, digits),
    )


def _table(title: str, first: str) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold")
    table.add_column(first)
    table.add_column("calls", justify="right")
    table.add_column("billed min", justify="right")
    table.add_column("amount", justify="right")
    return table


def render_result(console: Console, result: RunResult) -> None:
    """Every service's tables: by category, status, extension and top destinations."""
    result.drain()
    for service in result.services:
        render_service(console, service.totals, result.period, result.currency, service.digits)


def render_service(
    console: Console, totals: ServiceTotals, period: Period, currency: str, digits: int
) -> None:
    scale_note = f"{currency}, costs rounded per call to {digits} decimals"
    console.print(
        f"[bold]{escape(totals.service)}[/] ({escape(totals.tenant)})  "
        f"{period.first_day} to {period.last_day}  "
        f"[dim]{scale_note}[/]"
    )
    summary = _table("By category", "category")
    for category, bucket in sorted(totals.categories.items()):
        _add_row(summary, category, bucket, digits)
    total = totals.total
    summary.add_section()
    summary.add_row(
        "[bold]total[/]",
        str(total.calls),
        str(billed_minutes(total.billed_seconds)),
        f"[bold]{_money(total, digits)} {currency}[/]",
    )
    console.print(summary)

    statuses = ", ".join(f"{status} {count}" for status, count in sorted(totals.statuses.items()))
    console.print(f"Calls by status: {statuses or 'none'}")
    unrated = totals.statuses.get("unrated", 0)
    if unrated:
        console.print(f"[bold red]{unrated} unrated call(s): not in any amount above[/]")

    if totals.extensions:
        extensions = _table("By extension", "extension")
        for extension, bucket in sorted(totals.extensions.items()):
            _add_row(extensions, extension, bucket, digits)
        console.print(extensions)
    if totals.destinations:
        top = sorted(
            totals.destinations.items(), key=lambda item: (-item[1].amount, -item[1].calls, item[0])
        )
        destinations = _table(f"Top destinations (of {len(top)})", "number")
        for number, bucket in top[:TOP_DESTINATIONS]:
            _add_row(destinations, number, bucket, digits)
        console.print(destinations)
    console.print()
