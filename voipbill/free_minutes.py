"""Free minutes (rules §6): one allowance per service per calendar month, in the config timezone.

A call draws on the allowance of the month it started in, in (start_epoch, xml_cdr_uuid) order;
what committed runs already gave in a month is used up, so two half-month runs share one
allowance, and a late call of last month draws on last month's, not this month's. A month no
committed run gave anything in starts full, or, for a service active for only part of it
(`active_from`/`active_until`, rules §13), with its prorated allowance.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from voipbill.periods import local_midnight_epoch, period_days
from voipbill.service_dates import ALWAYS, ServiceDates


def month_of(start_epoch: int, timezone: ZoneInfo) -> str:
    """The calendar month of a call, "YYYY-MM", in the config timezone."""
    return datetime.fromtimestamp(start_epoch, timezone).strftime("%Y-%m")


class MonthlyAllowance:
    """The free seconds one service has left in each month, as one run hands them out."""

    __slots__ = (
        "_end",
        "_left",
        "_month",
        "_start",
        "dates",
        "given",
        "per_month",
        "timezone",
        "used",
    )

    def __init__(
        self,
        per_month: int,
        timezone: ZoneInfo,
        used: Mapping[str, int],
        dates: ServiceDates = ALWAYS,
    ) -> None:
        self.per_month = per_month  # free_minutes × 60
        self.timezone = timezone
        self.dates = dates  # rules §13: a period active in part has a prorated allowance
        self.used = used  # month -> free seconds committed runs already gave
        self.given: dict[str, int] = {}  # month -> free seconds this run gave
        self._month = ""
        self._start = self._end = 0  # the epochs [start, end) of `_month`
        self._left = 0

    def take(self, start_epoch: int, billed_seconds: int) -> int:
        """The free seconds of a call of `billed_seconds` that started at `start_epoch`."""
        if not self._start <= start_epoch < self._end:
            self._enter(start_epoch)
        free = min(self._left, billed_seconds)
        if free > 0:
            self._left -= free
            self.given[self._month] = self.given.get(self._month, 0) + free
        return max(free, 0)

    def _enter(self, start_epoch: int) -> None:
        # calls come sorted by start: this runs once per month a service's calls span
        local = datetime.fromtimestamp(start_epoch, self.timezone).date()
        first, last = period_days(local, None)  # the calendar month
        self._month = first.strftime("%Y-%m")
        self._start = local_midnight_epoch(first, self.timezone)
        self._end = local_midnight_epoch(last + timedelta(days=1), self.timezone)
        whole = self.dates.allowance(self.per_month, first, last)
        self._left = whole - self.used.get(self._month, 0) - self.given.get(self._month, 0)


def given_by_month(calls: Iterable[tuple[int, int]], timezone: ZoneInfo) -> dict[str, int]:
    """Month -> free seconds, from (start_epoch, free_seconds) pairs of committed calls."""
    given: dict[str, int] = {}
    for start_epoch, free_seconds in calls:
        if free_seconds:
            month = month_of(start_epoch, timezone)
            given[month] = given.get(month, 0) + free_seconds
    return given
