"""Margin totals (rules §15): per service and group, what calls sold for and what they cost.

A call's margin is its cost (what the customer pays: the cost of a `rated` or `late` call, else
0) minus its carrier cost. A call with no carrier cost has no margin: it adds to `calls`,
`amount` and the count of calls with no carrier cost, never to the carrier cost, the margin or
the amount the margin percentage is taken of (its carrier cost is unknown, not 0). A call is
sold below cost when it is `rated` or `late`, took no free seconds, and its margin is negative.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from voipbill.margin.costs import CarrierCost
from voipbill.rating import CHARGED_STATUSES, RatedCall

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
BY = ("category", "prefix", "service")


def sold_below_cost(call: RatedCall, carrier: CarrierCost | None) -> bool:
    """rules §15: rated or late, no free seconds, and a negative margin."""
    return (
        carrier is not None
        and call.status in CHARGED_STATUSES
        and not call.free_seconds
        and call.cost is not None
        and call.cost < carrier.amount
    )


@dataclass(slots=True)
class MarginTotal:
    """The margin figures of some calls."""

    calls: int = 0
    amount: Decimal = _ZERO
    costed_amount: Decimal = _ZERO  # the amount of the calls that have a carrier cost
    carrier_cost: Decimal = _ZERO
    margin: Decimal = _ZERO
    below_cost: int = 0  # calls sold below cost
    below_cost_margin: Decimal = _ZERO  # their margin (negative)
    no_carrier_cost: int = 0  # calls with no carrier cost
    before_carrier_costs: int = 0  # of those: committed before carrier costs were recorded

    def add(self, call: RatedCall, carrier: CarrierCost | None, *, recorded: bool = True) -> None:
        """One call; `recorded` False: committed before the ledger kept carrier costs."""
        self.calls += 1
        amount = call.cost if call.status in CHARGED_STATUSES and call.cost is not None else _ZERO
        self.amount += amount
        if carrier is None:
            self.no_carrier_cost += 1
            self.before_carrier_costs += not recorded
            return
        self.costed_amount += amount
        self.carrier_cost += carrier.amount
        self.margin += amount - carrier.amount
        if sold_below_cost(call, carrier):
            self.below_cost += 1
            self.below_cost_margin += amount - carrier.amount

    def merge(self, other: MarginTotal) -> None:
        self.calls += other.calls
        self.amount += other.amount
        self.costed_amount += other.costed_amount
        self.carrier_cost += other.carrier_cost
        self.margin += other.margin
        self.below_cost += other.below_cost
        self.below_cost_margin += other.below_cost_margin
        self.no_carrier_cost += other.no_carrier_cost
        self.before_carrier_costs += other.before_carrier_costs

    @property
    def percent(self) -> Decimal | None:
        """The margin as a percentage of the amount it was earned on (that of the calls with
        a carrier cost: all of them, unless some have none), half-up to 2 decimals; None when
        that amount is 0."""
        if not self.costed_amount:
            return None
        return (self.margin * _HUNDRED / self.costed_amount).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )


@dataclass
class ServiceMargin:
    """One service's margin by group (`category`, `prefix` or `service`)."""

    service: str
    digits: int  # the package's rounding digits: amounts print with these
    by: str = "category"
    groups: dict[str, MarginTotal] = field(default_factory=dict)

    def add(self, call: RatedCall, carrier: CarrierCost | None, *, recorded: bool = True) -> None:
        key = self.key(call, carrier)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = MarginTotal()
        group.add(call, carrier, recorded=recorded)

    def key(self, call: RatedCall, carrier: CarrierCost | None) -> str:
        if self.by == "category":
            return call.category
        if self.by == "prefix":
            return "" if carrier is None else carrier.prefix
        return call.service

    def rows(self) -> list[tuple[str, MarginTotal]]:
        """The groups in order (categories alphabetical, prefixes by their digits), then
        `total`; `--by service` has the total only."""
        if self.by == "service":
            return [("total", self.total)]
        return [*sorted(self.groups.items()), ("total", self.total)]

    @property
    def total(self) -> MarginTotal:
        total = MarginTotal()
        for group in self.groups.values():
            total.merge(group)
        return total


def tally_calls(
    margin: ServiceMargin, calls: Iterable[tuple[RatedCall, CarrierCost | None, bool]]
) -> ServiceMargin:
    """Add (call, carrier cost, recorded) triples to `margin`."""
    for call, carrier, recorded in calls:
        margin.add(call, carrier, recorded=recorded)
    return margin
