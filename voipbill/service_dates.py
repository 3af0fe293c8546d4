"""Start and end of service (rules §13): `active_from` and `active_until` on a service.

A call that started before the local midnight opening `active_from`, or after the day
`active_until` ends, is not the service's: a run leaves it out and counts it, and never bills
it. A billing period the service is active for only part of gets the part of its free-minute
allowance that its active days are of the period's days, rounded down to whole seconds. The
period itself comes from the caller (today the calendar month), so the proration holds for
any period rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from voipbill.periods import local_midnight_epoch


@dataclass(frozen=True, slots=True)
class ServiceDates:
    """The days a service is active, both ends included; None: open on that side."""

    active_from: date | None = None
    active_until: date | None = None

    @property
    def bounded(self) -> bool:
        return self.active_from is not None or self.active_until is not None

    def epochs(self, zone: ZoneInfo) -> tuple[int | None, int | None]:
        """[start, end) in epoch seconds: the local midnights that open `active_from` and
        close `active_until` (a DST day is 23 or 25 hours long)."""
        start = None if self.active_from is None else local_midnight_epoch(self.active_from, zone)
        end = None
        if self.active_until is not None:
            end = local_midnight_epoch(self.active_until + timedelta(days=1), zone)
        return start, end

    def active_days(self, first: date, last: date) -> int:
        """How many days of the period `first`..`last` the service is active on."""
        start = max(first, self.active_from) if self.active_from is not None else first
        end = min(last, self.active_until) if self.active_until is not None else last
        return max(0, (end - start).days + 1)

    def allowance(self, seconds: int, first: date, last: date) -> int:
        """The free seconds of the period `first`..`last` for a full allowance of `seconds`:
        allowance × active days / days in the period, rounded down to whole seconds."""
        days = (last - first).days + 1
        active = self.active_days(first, last)
        if active >= days:
            return seconds
        return seconds * active // days


ALWAYS = ServiceDates()
