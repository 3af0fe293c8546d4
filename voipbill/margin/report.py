"""`voipbill margin` (rules §15): a run's calls with their carrier costs, totalled and written.

Calls rated now get their carrier cost from the cost deck (`priced_now`); committed calls get
the one the ledger recorded with them (voipbill.billing.carrier), never priced again.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import IO, Any

from voipbill.margin.costs import CarrierCost, CarrierCosts
from voipbill.margin.tally import MarginTotal, ServiceMargin
from voipbill.money import format_amount
from voipbill.periods import Period
from voipbill.rating import RatedCall

JSON_VERSION = 1
# the figures of every row, after `service` and the group column (none with --by service)
FIGURES = [
    "calls",
    "amount",
    "carrier_cost",
    "margin",
    "margin_percent",
    "below_cost_calls",
    "no_carrier_cost_calls",
    "currency",
]

# (call) -> (its carrier cost, recorded?): recorded False for a call committed before the
# ledger kept carrier costs
CarrierOf = Callable[[RatedCall], tuple[CarrierCost | None, bool]]


def priced_now(costs: CarrierCosts) -> CarrierOf:
    """The carrier cost of a call rated now, from the cost deck."""

    def carrier(call: RatedCall) -> tuple[CarrierCost | None, bool]:
        return costs.of_call(call), True

    return carrier


def tally_service(
    margin: ServiceMargin, calls: Iterator[RatedCall], carrier_of: CarrierOf
) -> ServiceMargin:
    for call in calls:
        carrier, recorded = carrier_of(call)
        margin.add(call, carrier, recorded=recorded)
    return margin


def columns(by: str) -> list[str]:
    return ["service", *([] if by == "service" else [by]), *FIGURES]


def rows(margins: list[ServiceMargin], currency: str) -> list[dict[str, str]]:
    """A row per group of each service, then its total (rules §15); money as strings."""
    found = []
    for margin in margins:
        for group, total in margin.rows():
            row = {"service": margin.service}
            if margin.by != "service":
                row[margin.by] = group
            row.update(figures(total, margin.digits, currency))
            found.append(row)
    return found


def figures(total: MarginTotal, digits: int, currency: str) -> dict[str, str]:
    percent = total.percent
    return {
        "calls": str(total.calls),
        "amount": money(total.amount, digits),
        "carrier_cost": money(total.carrier_cost, digits),
        "margin": money(total.margin, digits),
        "margin_percent": "" if percent is None else f"{percent:f}",
        "below_cost_calls": str(total.below_cost),
        "no_carrier_cost_calls": str(total.no_carrier_cost),
        "currency": currency,
    }


def money(value: Decimal, digits: int) -> str:
    """A sum of rounded costs with the package's decimals (more, should a committed cost
    have more: an amount is never rounded when printed)."""
    exponent = value.as_tuple().exponent
    own = -exponent if isinstance(exponent, int) else 0
    return format_amount(value, max(digits, own))


def write_csv(stream: IO[str], margins: list[ServiceMargin], by: str, currency: str) -> None:
    writer = csv.DictWriter(stream, fieldnames=columns(by), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows(margins, currency))


def write_json(
    stream: IO[str], margins: list[ServiceMargin], by: str, currency: str, period: Period
) -> None:
    document: dict[str, Any] = {
        "version": JSON_VERSION,
        "currency": currency,
        "period": {"start": period.first_day.isoformat(), "end": period.last_day.isoformat()},
        "by": by,
        "margin": [
            {
                **row,
                **{key: int(row[key]) for key in _COUNTS},
                "margin_percent": row["margin_percent"] or None,
            }
            for row in rows(margins, currency)
        ],
    }
    json.dump(document, stream, indent=2, ensure_ascii=False)
    stream.write("\n")


_COUNTS = ("calls", "below_cost_calls", "no_carrier_cost_calls")
