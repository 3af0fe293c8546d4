"""The totals of a run's calls, per service: by category, extension, destination and status.

What `--detail summary` and the tables print (rules §7): `calls` counts every listed call,
`unrated_calls` those with status `unrated`; billed and free seconds and the amount are those
of the charged calls (rated and late, free ones included).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from voipbill.rating import CHARGED_STATUSES, UNRATED, RatedCall

_ZERO = Decimal(0)


def billed_minutes(seconds: int) -> Decimal:
    """rules §7: seconds / 60, rounded half-up to 2 decimals (minutes, not money)."""
    return (Decimal(seconds) / 60).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(slots=True)
class CategoryTotal:
    calls: int = 0
    billed_seconds: int = 0
    amount: Decimal = _ZERO
    unrated_calls: int = 0
    free_seconds: int = 0


def bucket_of(buckets: dict[str, CategoryTotal], key: str) -> CategoryTotal:
    bucket = buckets.get(key)
    if bucket is None:
        bucket = buckets[key] = CategoryTotal()
    return bucket


@dataclass
class ServiceTotals:
    """Running totals of one service, filled while its calls are read."""

    service: str
    tenant: str
    categories: dict[str, CategoryTotal] = field(default_factory=dict)
    extensions: dict[str, CategoryTotal] = field(default_factory=dict)
    destinations: dict[str, CategoryTotal] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)

    def add(self, call: RatedCall) -> None:
        charged = call.status in CHARGED_STATUSES
        self.statuses[call.status] = self.statuses.get(call.status, 0) + 1
        buckets = [
            bucket_of(self.categories, call.category),
            bucket_of(self.extensions, call.extension or "(no extension)"),
        ]
        if call.direction != "inbound" and call.category != "local":
            buckets.append(bucket_of(self.destinations, call.normalized))
        unrated = call.status == UNRATED
        for bucket in buckets:
            bucket.calls += 1
            bucket.unrated_calls += unrated
            if charged:
                bucket.billed_seconds += call.billed_seconds
                bucket.free_seconds += call.free_seconds
                bucket.amount += call.cost or _ZERO

    @property
    def total(self) -> CategoryTotal:
        total = CategoryTotal()
        for bucket in self.categories.values():
            total.calls += bucket.calls
            total.billed_seconds += bucket.billed_seconds
            total.amount += bucket.amount
            total.unrated_calls += bucket.unrated_calls
            total.free_seconds += bucket.free_seconds
        return total

    def count(self, status: str) -> int:
        return self.statuses.get(status, 0)


def tally(calls: Iterable[RatedCall], totals: ServiceTotals) -> Iterator[RatedCall]:
    """Pass calls through, adding each to `totals` on the way."""
    for call in calls:
        totals.add(call)
        yield call
