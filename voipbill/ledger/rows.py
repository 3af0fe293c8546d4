"""Rows as the ledger stores them, read back whatever types the driver gives (SQLite: text;
PostgreSQL: dates, numerics, jsonb, timestamptz), into the ledger's records."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Protocol

from voipbill.ledger.records import RunRecord, ServiceTotal


class Rows(Protocol):
    """What `execute` gives back: a cursor of either driver."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


def now() -> str:
    """A time as the ledger keeps it: ISO 8601 in UTC, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def text_time(value: object) -> str:
    """A stored time as text (ISO 8601 in UTC), whether the driver gave a str or a datetime."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    return str(value)


def money(value: object) -> Decimal:
    return Decimal(str(value))


def day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def run_record(
    row: Sequence[Any],
    totals: tuple[ServiceTotal, ...],
    reason: str | None,
    skipped: tuple[str, ...],
) -> RunRecord:
    services = row[4] if isinstance(row[4], list) else json.loads(row[4])
    return RunRecord(
        id=int(row[0]),
        period=str(row[1]),
        first_day=day(row[2]),
        last_day=day(row[3]),
        services=tuple(services),
        late_days=int(row[5]),
        format=str(row[6]),
        detail=str(row[7]),
        currency=str(row[8]),
        calls=int(row[9]),
        late_calls=int(row[10]),
        amount=money(row[11]),
        output_path=str(row[12]),
        output_sha256=str(row[13]),
        status=str(row[14]),
        created=text_time(row[15]),
        voided=None if row[16] is None else text_time(row[16]),
        per_service=totals,
        void_reason=reason,
        skipped_rows=skipped,
    )
