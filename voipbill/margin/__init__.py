"""Margin (rules §15): what each call cost the operator, and what it earned.

```
CarrierCosts(package, cost_deck).of_call(call) -> CarrierCost | None   # one call's carrier cost
MarginRater, watch(config, raters) -> {service: BelowCost}        # below-cost calls of a run
ServiceMargin(service, digits, by).add(call, carrier)              # `voipbill margin` totals
```
Customer-facing outputs never show any of it.
"""

from __future__ import annotations

from voipbill.margin.costs import CarrierCost, CarrierCosts, row_cost
from voipbill.margin.tally import BY, MarginTotal, ServiceMargin, sold_below_cost
from voipbill.margin.watch import BelowCost, MarginRater, carrier_costs, cost_decks, watch

__all__ = [
    "BY",
    "BelowCost",
    "CarrierCost",
    "CarrierCosts",
    "MarginRater",
    "MarginTotal",
    "ServiceMargin",
    "carrier_costs",
    "cost_decks",
    "row_cost",
    "sold_below_cost",
    "watch",
]
