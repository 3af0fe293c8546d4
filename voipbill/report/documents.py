"""A RunResult written out: the calls CSV, the summary CSV and JSON (rules §7)."""

from __future__ import annotations

import csv
import io
import json
from typing import IO

from voipbill.billing import Layout, RunResult, ServiceResult, billed_minutes
from voipbill.money import format_amount, format_money
from voipbill.report.calls import (
    StartFormatter,
    call_document,
    write_calls_csv,
    write_priced_csv,
)

JSON_VERSION = 1

SUMMARY_COLUMNS = [
    "service",
    "tenant",
    "period_start",
    "period_end",
    "category",
    "calls",
    "unrated_calls",
    "billed_minutes",
    "free_minutes",
    "amount",
    "currency",
]


def write(stream: IO[str], result: RunResult, layout: Layout) -> None:
    """`result` as csv or json in `layout` (tables are cli/tables)."""
    if layout.format == "csv":
        write_csv(stream, result, layout.detail)
    elif layout.format == "json":
        write_json(stream, result, layout.detail)
    else:
        raise ValueError(f"report writes csv and json, not {layout.format}")


def render(result: RunResult, layout: Layout) -> str:
    """The whole output as text: a commit hashes and stores it."""
    buffer = io.StringIO()
    write(buffer, result, layout)
    return buffer.getvalue()


def write_csv(stream: IO[str], result: RunResult, detail: str) -> None:
    if detail == "calls":
        if all(not service.kept for service in result.services):
            # the fast path: no RatedCall per call when nothing keeps them (a month of a million
            # calls, tests/benchmarks/bench_rate.py); only the status counts are read afterwards
            # (the warnings): no buckets to fill
            pairs = [service.take_priced() for service in result.services]
            write_priced_csv(stream, pairs, result.currency, result.timezone, statuses_only=True)
        else:
            write_calls_csv(stream, result.calls(), result.currency, result.timezone)
        return
    writer = csv.DictWriter(stream, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(summary_rows(result))


def write_json(stream: IO[str], result: RunResult, detail: str) -> None:
    """Streamed, so a month of calls is never held in memory as one document."""
    period = result.period
    head = {
        "version": JSON_VERSION,
        "currency": result.currency,
        "timezone": result.timezone_name,
        "period": {"start": period.first_day.isoformat(), "end": period.last_day.isoformat()},
    }
    stream.write(json.dumps(head, indent=2)[:-2] + ",\n")
    if detail == "calls":
        start = StartFormatter(result.timezone)
        stream.write('  "calls": [')
        for index, call in enumerate(result.calls()):
            stream.write(
                ("," if index else "")
                + "\n    "
                + json.dumps(call_document(call, result.currency, start), ensure_ascii=False)
            )
        stream.write("\n  ]\n}\n")
        return
    rows = [
        {**row, "calls": int(row["calls"]), "unrated_calls": int(row["unrated_calls"])}
        for row in summary_rows(result)
    ]
    stream.write(
        '  "summary": ' + json.dumps(rows, indent=2, ensure_ascii=False).replace("\n", "\n  ")
    )
    stream.write("\n}\n")


def summary_rows(result: RunResult) -> list[dict[str, str]]:
    """rules §7 `--detail summary`: every call tallied, then a row per service and category."""
    result.drain()
    return [row for service in result.services for row in service_summary(result, service)]


def service_summary(result: RunResult, service: ServiceResult) -> list[dict[str, str]]:
    """A row per category present, alphabetical, then `total` (also for a service with no
    calls): billed and free minutes of the charged calls, the amount of their costs."""
    period = result.period
    totals = service.totals
    rows = []
    for category, bucket in [*sorted(totals.categories.items()), ("total", service.total)]:
        rows.append(
            {
                "service": service.name,
                "tenant": service.tenant,
                "period_start": period.first_day.isoformat(),
                "period_end": period.last_day.isoformat(),
                "category": category,
                "calls": str(bucket.calls),
                "unrated_calls": str(bucket.unrated_calls),
                "billed_minutes": format_money(billed_minutes(bucket.billed_seconds)),
                "free_minutes": format_money(billed_minutes(bucket.free_seconds)),
                "amount": format_amount(bucket.amount, service.digits),
                "currency": result.currency,
            }
        )
    return rows
