"""Rated calls into invoice-ready rows: calls CSV, summary CSV and JSON (SPEC §7)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import IO, Any
from zoneinfo import ZoneInfo

from voipbill.money import format_money
from voipbill.periods import Period
from voipbill.rating import CHARGED_STATUSES, RatedCall

JSON_VERSION = 1

CALL_COLUMNS = [
    "service",
    "tenant",
    "extension",
    "call_uuid",
    "start",
    "direction",
    "category",
    "caller",
    "dialed",
    "normalized",
    "matched_prefix",
    "description",
    "billsec",
    "billed_seconds",
    "free_seconds",
    "rate",
    "connect_fee",
    "cost",
    "currency",
    "status",
]
SUMMARY_COLUMNS = [
    "service",
    "tenant",
    "period_start",
    "period_end",
    "category",
    "calls",
    "billed_minutes",
    "amount",
    "currency",
]


def plain(value: Decimal | None) -> str:
    """A rate or fee as a plain decimal without trailing zeros; empty for None."""
    if value is None:
        return ""
    return format_money(value.normalize()) if value else "0"


def billed_minutes(seconds: int) -> Decimal:
    """SPEC §7: billed seconds / 60, rounded half-up to 2 decimals (minutes, not money)."""
    return (Decimal(seconds) / 60).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class StartFormatter:
    """`start` as 2026-11-03T09:15:00-05:00 in the config time zone, cached per epoch."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone

    def __call__(self, epoch: int) -> str:
        return datetime.fromtimestamp(epoch, self.zone).isoformat()


def call_values(call: RatedCall, currency: str, start: StartFormatter) -> list[str]:
    return [
        call.service,
        call.tenant,
        call.extension,
        call.call_uuid,
        start(call.start_epoch),
        call.direction,
        call.category,
        call.caller,
        call.dialed,
        call.normalized,
        call.matched_prefix,
        call.description,
        str(call.billsec),
        str(call.billed_seconds),
        str(call.free_seconds),
        plain(call.rate),
        plain(call.connect_fee),
        "" if call.cost is None else format_money(call.cost),
        currency,
        call.status,
    ]


def call_document(call: RatedCall, currency: str, start: StartFormatter) -> dict[str, Any]:
    """One call for JSON: the CSV fields, integers as numbers, money as strings or null."""
    values = dict(zip(CALL_COLUMNS, call_values(call, currency, start), strict=True))
    document: dict[str, Any] = dict(values)
    for key in ("billsec", "billed_seconds", "free_seconds"):
        document[key] = int(values[key])
    for key in ("rate", "connect_fee", "cost"):
        document[key] = values[key] or None
    return document


@dataclass
class CategoryTotal:
    calls: int = 0
    billed_seconds: int = 0
    amount: Decimal = Decimal(0)


@dataclass
class ServiceTotals:
    """Running totals of one service, filled while its calls are written."""

    service: str
    tenant: str
    categories: dict[str, CategoryTotal] = field(default_factory=dict)
    extensions: dict[str, CategoryTotal] = field(default_factory=dict)
    destinations: dict[str, CategoryTotal] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)

    def add(self, call: RatedCall) -> None:
        self.statuses[call.status] = self.statuses.get(call.status, 0) + 1
        charged = call.status in CHARGED_STATUSES
        buckets = [
            self.categories.setdefault(call.category, CategoryTotal()),
            self.extensions.setdefault(call.extension or "(no extension)", CategoryTotal()),
        ]
        if call.direction != "inbound" and call.category != "local":
            buckets.append(self.destinations.setdefault(call.normalized, CategoryTotal()))
        for bucket in buckets:
            bucket.calls += 1
            if charged:
                bucket.billed_seconds += call.billed_seconds
                bucket.amount += call.cost or 0

    @property
    def total(self) -> CategoryTotal:
        total = CategoryTotal()
        for bucket in self.categories.values():
            total.calls += bucket.calls
            total.billed_seconds += bucket.billed_seconds
            total.amount += bucket.amount
        return total

    def summary_rows(self, period: Period, currency: str, digits: int) -> list[dict[str, str]]:
        """SPEC §7 `--detail summary`: a row per category present, alphabetical, then `total`."""
        scale = Decimal(1).scaleb(-digits)
        rows = []
        named = sorted(self.categories.items())
        for category, bucket in [*named, ("total", self.total)]:
            rows.append(
                {
                    "service": self.service,
                    "tenant": self.tenant,
                    "period_start": period.first_day.isoformat(),
                    "period_end": period.last_day.isoformat(),
                    "category": category,
                    "calls": str(bucket.calls),
                    "billed_minutes": format_money(billed_minutes(bucket.billed_seconds)),
                    # sums of rounded costs: quantize only pads, it never rounds here
                    "amount": format_money(bucket.amount.quantize(scale)),
                    "currency": currency,
                }
            )
        return rows


def write_calls_csv(
    stream: IO[str], calls: Iterable[RatedCall], currency: str, zone: ZoneInfo
) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CALL_COLUMNS)
    start = StartFormatter(zone)
    writer.writerows(call_values(call, currency, start) for call in calls)


def write_summary_csv(stream: IO[str], rows: Iterable[dict[str, str]]) -> None:
    writer = csv.DictWriter(stream, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


def tally(calls: Iterable[RatedCall], totals: ServiceTotals) -> Iterator[RatedCall]:
    """Pass calls through, adding each to `totals` on the way."""
    for call in calls:
        totals.add(call)
        yield call
