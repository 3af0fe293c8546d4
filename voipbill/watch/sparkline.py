"""A service's daily cost as a one-line chart (rules §14: the watch table on a terminal)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(costs: Sequence[Decimal]) -> str:
    """One block per day, its height the day's cost over the highest day's (a day at 0 is
    the lowest block; all days at 0 are all lowest)."""
    top = max(costs, default=Decimal(0))
    if top <= 0:
        return BLOCKS[0] * len(costs)
    last = len(BLOCKS) - 1
    return "".join(BLOCKS[int(cost * last / top)] for cost in costs)
