"""What one customer statement shows, frozen: the renderers read only this.

`build.build_statement` fills it from a period's rated calls; `render` turns it into HTML or
PDF. Money is Decimal, minutes are Decimal rounded as the summary CSV rounds them, and every
text that came from a CDR is kept as written (the template escapes it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class Operator:
    """The company that sends the statement (`[statement]` in the config)."""

    company: str = ""
    address: str = ""
    logo_data_uri: str | None = None  # the logo file embedded as a data: URI


@dataclass(frozen=True)
class UsageRow:
    """Calls, minutes and amount of a group of calls: a category, an extension or a day.

    `calls` counts every listed call; minutes and amount only the charged (rated and late)
    ones, like the summary CSV.
    """

    label: str
    calls: int
    billed_seconds: int
    free_seconds: int
    billed_minutes: Decimal
    free_minutes: Decimal
    amount: Decimal


@dataclass(frozen=True)
class DayUsage:
    """One bar of the daily chart; `day` is None for late calls from before the period."""

    day: date | None
    calls: int
    billed_seconds: int
    billed_minutes: Decimal
    amount: Decimal


@dataclass(frozen=True)
class CallLine:
    """One row of the call list, with the start already in the config's time zone."""

    start: str  # 2026-11-03 09:15:07
    extension: str
    direction: str
    number: str  # the number dialled; for an inbound call, the caller
    description: str
    category: str
    billsec: int
    billed_seconds: int
    free_seconds: int
    cost: Decimal | None  # None: unrated
    status: str


@dataclass(frozen=True)
class StatementData:
    """Everything one statement prints, for one service and one period."""

    operator: Operator
    service: str
    tenant: str  # the tenant domain
    dids: tuple[str, ...]
    period_label: str  # 2026-11, or 2026-11-01..2026-11-15
    first_day: date
    last_day: date
    timezone: str
    currency: str
    rounding_digits: int  # every call cost is rounded to this many decimals
    run_id: str | None  # None: a preview, no committed run
    committed_at: datetime | None  # the commit time; None for a preview
    made_at: datetime  # the document date: the commit time, or when a preview was made
    categories: tuple[UsageRow, ...]  # alphabetical
    extensions: tuple[UsageRow, ...]  # by extension
    days: tuple[DayUsage, ...]  # every day of the period, in order; late calls first
    total: UsageRow
    # the category amounts, each rounded half-up to the minor unit, summed: the invoice lines
    total_in_minor_unit: Decimal
    calls: tuple[CallLine, ...]  # at most max_calls, in the run's order
    more_calls: int  # listed calls left off the call list by max_calls

    @property
    def preview(self) -> bool:
        return self.committed_at is None
