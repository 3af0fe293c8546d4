"""Invariants of the price of a call (rules §6), checked with hypothesis."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.billinghelpers import rate_rows
from tests.cdrfactory import cdr, write_config
from voipbill import config as config_module
from voipbill.rating import CHARGED_STATUSES, RatedCall
from voipbill.report import ServiceTotals, billed_minutes

OCT_15 = 1792069200
DECK = """prefix,description,rate,connect_fee,increment
1,NANP,0.0123,0.015,30/6
1800,Toll-free,0,0,
44,UK,0.0571,0,1/1
"""
PACKAGE = """markup_percent = "17.5"
free_minutes = 3
inbound_billing = true
inbound_rate = "0.0049"
increment = "6/6"
rounding = { digits = 4, mode = "half-up" }
custom_rates = [ { prefix = "1212", rate = "0.02", connect_fee = "0.001" } ]
special = [ { pattern = "1900", mode = "hybrid", flat = "0.35", per_minute = "0.5" } ]
"""
NUMBERS = [
    "15195550100",
    "12125550123",
    "18005551234",
    "442079460000",
    "19005550000",
    "2113",
    "99999",
]


@pytest.fixture(scope="module")
def rater_factory(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    directory: Path = tmp_path_factory.mktemp("config")
    config = config_module.load(write_config(directory, PACKAGE, deck=DECK))
    assert list(config.services) == ["mcon"]

    def rate(calls: list[tuple[str, str, int, int]]) -> list[RatedCall]:
        rows = [
            cdr(
                xml_cdr_uuid=f"uuid-{index:05d}",
                start_epoch=OCT_15 + offset,
                billsec=billsec,
                direction=direction,
                caller_destination=number,
                destination_number=number,
            )
            for index, (direction, number, billsec, offset) in enumerate(calls)
        ]
        return rate_rows(config, rows, export=directory / "cdrs.csv")

    return rate


call_strategy = st.tuples(
    st.sampled_from(["outbound", "inbound", "local"]),
    st.sampled_from(NUMBERS),
    st.integers(min_value=0, max_value=20_000),
    st.integers(min_value=0, max_value=86_400),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(calls=st.lists(call_strategy, max_size=25))
def test_cost_is_never_negative(rater_factory, calls) -> None:  # type: ignore[no-untyped-def]
    for call in rater_factory(calls):
        assert call.cost is None or call.cost >= 0
        assert 0 <= call.free_seconds <= call.billed_seconds


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(call=call_strategy, extra=st.integers(min_value=1, max_value=5_000))
def test_more_seconds_are_never_cheaper(rater_factory, call, extra) -> None:  # type: ignore[no-untyped-def]
    direction, number, billsec, offset = call
    shorter = rater_factory([(direction, number, billsec, offset)])
    longer = rater_factory([(direction, number, billsec + extra, offset)])
    assert (shorter[0].cost or 0) <= (longer[0].cost or 0)
    assert shorter[0].billed_seconds <= longer[0].billed_seconds


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(calls=st.lists(call_strategy, max_size=25))
def test_summary_equals_the_sum_of_the_call_rows(rater_factory, calls) -> None:  # type: ignore[no-untyped-def]
    rated = rater_factory(calls)
    totals = ServiceTotals("mcon", "mcon.wat5.ictvoip.ca")
    for call in rated:
        totals.add(call)
    charged = [call for call in rated if call.status in CHARGED_STATUSES]
    assert totals.total.calls == len(rated)
    assert totals.total.amount == sum((call.cost or Decimal(0) for call in charged), Decimal(0))
    assert totals.total.billed_seconds == sum(call.billed_seconds for call in charged)
    for category, bucket in totals.categories.items():
        in_category = [call for call in charged if call.category == category]
        assert bucket.amount == sum((call.cost or Decimal(0) for call in in_category), Decimal(0))


def test_free_minutes_are_shared_in_start_order_not_row_order(rater_factory) -> None:  # type: ignore[no-untyped-def]
    # deck row 1 is 30/6: 100 s -> 30 + 12×6 = 102 s billed; 3 free minutes = 180 s
    calls = rater_factory([("outbound", "15195550100", 100, offset) for offset in (200, 0, 100)])
    assert [call.start_epoch - OCT_15 for call in calls] == [0, 100, 200]
    assert [call.free_seconds for call in calls] == [102, 78, 0]
    # connect 0.015 × 1.175 = 0.017625; rate 0.0123 × 1.175 = 0.0144525/min
    # second: 0.017625 + 0.0144525 × 24/60 = 0.023406 -> 0.0234
    # third:  0.017625 + 0.0144525 × 102/60 = 0.04219425 -> 0.0422
    assert [call.cost for call in calls] == [
        Decimal("0.0000"),
        Decimal("0.0234"),
        Decimal("0.0422"),
    ]


def test_billed_minutes_round_half_up_to_two_decimals() -> None:
    # rules §7: 90 s = 1.50 min; 61 s = 1.01666… -> 1.02; 3 s = 0.05 exactly; 1 s = 0.0166… -> 0.02
    assert [billed_minutes(s) for s in (90, 61, 3, 1)] == [
        Decimal("1.50"),
        Decimal("1.02"),
        Decimal("0.05"),
        Decimal("0.02"),
    ]
