"""rules §14: the sparkline of a service's daily costs, hand-worked."""

from __future__ import annotations

from decimal import Decimal

from voipbill.watch.sparkline import sparkline


def test_heights_are_the_days_cost_over_the_highest() -> None:
    costs = [Decimal(v) for v in ("0", "1", "3.5", "7")]
    # 7 steps above the lowest block: 0 -> 0, 1 -> 1, 3.5 -> 3, 7 -> 7
    assert sparkline(costs) == "▁▂▄█"


def test_days_without_cost_are_the_lowest_block() -> None:
    assert sparkline([Decimal(0)] * 3) == "▁▁▁"
    assert sparkline([]) == ""
