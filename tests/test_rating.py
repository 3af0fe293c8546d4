"""rules §4 and §6, call by call, against prices worked out by hand."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.billinghelpers import rate_rows
from tests.cdrfactory import cdr, write_config
from voipbill.increments import Increment
from voipbill.rating import RatedCall

OCT_15 = 1792069200  # 2026-10-15 09:00 EDT


def rate_calls(
    tmp_path: Path,
    rows: list[dict[str, str]],
    package: str = "",
    *,
    first: str = "2026-10-01",
    last: str = "2026-10-31",
    **config_options: str,
) -> list[RatedCall]:
    config = write_config(tmp_path, package, **config_options)
    return rate_rows(config, rows, first=first, last=last)


def only(calls: list[RatedCall]) -> RatedCall:
    assert len(calls) == 1, calls
    return calls[0]


# -- increments (rules §6 test vectors) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("billsec", "expected"),
    [
        (1, {"60/60": 60, "30/6": 30, "6/6": 6, "1/1": 1}),
        (61, {"60/60": 120, "30/6": 66, "6/6": 66, "1/1": 61}),
        (205, {"60/60": 240, "30/6": 210, "6/6": 210, "1/1": 205}),
    ],
)
def test_increment_vectors_of_the_spec(billsec: int, expected: dict[str, int]) -> None:
    for text, billed in expected.items():
        initial, following = (int(part) for part in text.split("/"))
        assert Increment(initial, following).billed_seconds(billsec) == billed, text


def test_zero_seconds_bill_nothing_under_any_increment() -> None:
    assert Increment(60, 60).billed_seconds(0) == 0
    assert Increment(30, 6).billed_seconds(0) == 0


@pytest.mark.parametrize(("billsec", "cost"), [(32, "0.0036"), (75, "0.0078")])
def test_thirty_six_increment_at_0_006_per_minute(tmp_path: Path, billsec: int, cost: str) -> None:
    # 32 s -> 36 billed -> 0.006 × 36/60 = 0.0036; 75 s -> 30 + 8×6 = 78 -> 0.0078
    deck = "prefix,description,rate,increment\n1,NANP,0.006,30/6\n"
    call = only(rate_calls(tmp_path, [cdr(billsec=billsec)], deck=deck))
    assert call.cost == Decimal(cost)
    assert call.status == "rated"


# -- rate sources and markup ---------------------------------------------------------------------


def test_markup_applies_to_deck_rate_and_connect_fee(tmp_path: Path) -> None:
    # UK row: 0.05/min + 0.05 connect, 60/60. Markup 20%: 0.06 + 0.06 × 61→120 s / 60 = 0.18
    call = only(
        rate_calls(
            tmp_path,
            [cdr(destination_number="011442079460000", billsec=61)],
            'markup_percent = "20"',
        )
    )
    assert (call.category, call.matched_prefix, call.billed_seconds) == ("international", "44", 120)
    assert call.rate == Decimal("0.06")
    assert call.connect_fee == Decimal("0.06")
    assert call.cost == Decimal("0.1800")


def test_markup_does_not_apply_to_custom_rates(tmp_path: Path) -> None:
    package = """markup_percent = "50"
custom_rates = [ { prefix = "1212", rate = "0.02", increment = "60/60", connect_fee = "0.01" } ]"""
    call = only(rate_calls(tmp_path, [cdr(destination_number="12125550123", billsec=30)], package))
    # 0.01 + 0.02 × 60/60 = 0.03, no markup
    assert (call.matched_prefix, call.rate, call.cost) == (
        "1212",
        Decimal("0.02"),
        Decimal("0.0300"),
    )


def test_markup_does_not_apply_to_the_inbound_rate(tmp_path: Path) -> None:
    package = """markup_percent = "50"
inbound_billing = true
inbound_rate = "0.0049"
increment = "6/6"
"""
    row = cdr(
        direction="inbound",
        extension="2113",
        caller_destination="5192229000",
        destination_number="2113",
        caller_id_number="4165550100",
        billsec=61,
    )
    call = only(rate_calls(tmp_path, [row], package))
    # 61 s -> 66 billed; 0.0049 × 66 / 60 = 0.00539 -> 0.0054
    assert (call.category, call.status, call.billed_seconds) == ("inbound", "rated", 66)
    assert call.cost == Decimal("0.0054")
    assert call.connect_fee == Decimal(0)


def test_longest_deck_prefix_wins_not_the_cheapest(tmp_path: Path) -> None:
    deck = "prefix,rate\n1,0.01\n1212,0.05\n"
    call = only(rate_calls(tmp_path, [cdr(destination_number="12125550123")], deck=deck))
    assert (call.matched_prefix, call.cost) == ("1212", Decimal("0.0500"))


def test_call_without_a_rate_is_unrated_not_free(tmp_path: Path) -> None:
    deck = "prefix,rate\n44,0.05\n"
    call = only(
        rate_calls(tmp_path, [cdr(destination_number="15195550100", billsec=61)], deck=deck)
    )
    assert call.status == "unrated"
    assert call.cost is None and call.rate is None and call.connect_fee is None
    assert call.billed_seconds == 120  # computed with the package increment (default 60/60)


def test_inbound_billing_without_an_inbound_rate_is_unrated(tmp_path: Path) -> None:
    row = cdr(
        direction="inbound",
        extension="2112",
        caller_destination="5192229000",
        destination_number="2112",
    )
    call = only(rate_calls(tmp_path, [row], "inbound_billing = true"))
    assert call.status == "unrated"


# -- special rules -----------------------------------------------------------------------------


def test_special_rule_priority_beats_length_and_deck(tmp_path: Path) -> None:
    package = """
[[packages.paygo.special]]
pattern = "19005"
direction = "outbound"
mode = "per_minute"
per_minute = "2.00"
priority = 10

[[packages.paygo.special]]
pattern = "1900"
type = "prefix"
direction = "outbound"
mode = "flat_per_call"
flat = "0.35"
priority = 20
"""
    call = only(rate_calls(tmp_path, [cdr(destination_number="19005550123", billsec=300)], package))
    assert (call.category, call.matched_prefix, call.cost) == ("special", "1900", Decimal("0.3500"))
    assert (call.rate, call.connect_fee) == (Decimal(0), Decimal("0.35"))


def test_special_rule_tie_goes_to_the_longest_pattern(tmp_path: Path) -> None:
    package = """increment = "60/60"
special = [
  { pattern = "1900", mode = "flat_per_call", flat = "0.35" },
  { pattern = "19005", mode = "hybrid", flat = "0.10", per_minute = "1.00" },
]"""
    call = only(rate_calls(tmp_path, [cdr(destination_number="19005550123", billsec=90)], package))
    # hybrid: 0.10 + 1.00 × 120/60 = 2.10
    assert (call.matched_prefix, call.cost) == ("19005", Decimal("2.1000"))


def test_special_rule_for_inbound_only_leaves_outbound_calls_alone(tmp_path: Path) -> None:
    package = """special = [
  { pattern = "1519", direction = "inbound", mode = "flat_per_call", flat = "1" },
]"""
    call = only(rate_calls(tmp_path, [cdr(destination_number="15195550100")], package))
    assert (call.category, call.matched_prefix) == ("national", "1")


# -- free minutes ---------------------------------------------------------------------------------


def test_free_minutes_run_out_mid_call(tmp_path: Path) -> None:
    deck = "prefix,rate,connect_fee,increment\n1,0.06,0.01,6/6\n"
    rows = [
        cdr(start_epoch=OCT_15 + 100, billsec=40),  # second by time
        cdr(start_epoch=OCT_15, billsec=40),  # first: 42 billed, all free
    ]
    calls = rate_calls(tmp_path, rows, "free_minutes = 1", deck=deck)
    first, second = calls
    assert first.start_epoch < second.start_epoch
    # first call: 42 s billed, fully covered: costs 0, connect fee included
    assert (first.billed_seconds, first.free_seconds, first.cost) == (42, 42, Decimal("0.0000"))
    # second: 42 s billed, 18 free, 24 paid: 0.01 + 0.06 × 24/60 = 0.034
    assert (second.billed_seconds, second.free_seconds, second.cost) == (42, 18, Decimal("0.0340"))


def test_free_minutes_are_not_used_by_international_calls(tmp_path: Path) -> None:
    rows = [cdr(destination_number="011442079460000", billsec=60)]
    call = only(rate_calls(tmp_path, rows, "free_minutes = 100"))
    assert call.free_seconds == 0
    assert call.cost == Decimal("0.1000")


# -- exclude, no_charge and statuses ------------------------------------------------------------


def test_exclude_hides_a_call_and_no_charge_shows_it_free(tmp_path: Path) -> None:
    package = """exclude = ["*xx"]
no_charge = ["[tollfree]"]"""
    rows = [cdr(destination_number="*97"), cdr(destination_number="18005551234", billsec=120)]
    call = only(rate_calls(tmp_path, rows, package))
    assert (call.dialed, call.category, call.status) == ("18005551234", "tollfree", "no_charge")
    assert call.cost == Decimal("0.0000")
    assert (call.billed_seconds, call.rate, call.matched_prefix) == (0, None, "")


def test_local_category_comes_before_unanswered(tmp_path: Path) -> None:
    rows = [cdr(direction="local", destination_number="2113", billsec=0)]
    assert only(rate_calls(tmp_path, rows)).status == "local"


@pytest.mark.parametrize("status", ["missed", "no_answer", "cancelled", "busy", "failed"])
def test_unanswered_statuses_are_not_billed_even_with_billsec(tmp_path: Path, status: str) -> None:
    call = only(rate_calls(tmp_path, [cdr(status=status, billsec=30)]))
    assert (call.status, call.cost) == ("unanswered", Decimal("0.0000"))


def test_voicemail_with_billsec_is_answered(tmp_path: Path) -> None:
    call = only(rate_calls(tmp_path, [cdr(status="voicemail", billsec=30)]))
    assert call.status == "rated"


def test_inbound_without_inbound_billing_is_no_charge(tmp_path: Path) -> None:
    row = cdr(
        direction="inbound",
        extension="",
        caller_destination="+15192229000",
        destination_number="2112",
    )
    call = only(rate_calls(tmp_path, [row]))
    assert (call.category, call.status, call.dialed) == ("inbound", "no_charge", "+15192229000")


# -- duplicates and scope -------------------------------------------------------------------------


def test_b_leg_and_repeated_uuid_are_billed_once(tmp_path: Path) -> None:
    first = cdr(billsec=60)
    rows = [
        first,
        {**first, "leg": "b", "xml_cdr_uuid": "bbbbbbbb-0000-4000-8000-000000000001"},
        {**first, "billsec": "600"},  # same uuid again: the first row wins
    ]
    call = only(rate_calls(tmp_path, rows))
    assert (call.billsec, call.cost) == (60, Decimal("0.0100"))


def test_extension_of_another_tenant_is_out_of_scope(tmp_path: Path) -> None:
    assert rate_calls(tmp_path, [cdr(extension="3001")]) == []


def test_inbound_to_a_did_of_the_service_is_in_scope(tmp_path: Path) -> None:
    rows = [
        cdr(
            direction="inbound",
            extension="",
            caller_destination="5192229000",
            destination_number="2112",
        ),
        cdr(
            direction="inbound",
            extension="",
            caller_destination="5197779999",
            destination_number="2112",
        ),
    ]
    assert only(rate_calls(tmp_path, rows)).dialed == "5192229000"


def test_last_second_of_the_period_is_in_and_next_midnight_is_out(tmp_path: Path) -> None:
    rows = [
        cdr(start_epoch=1793505599),  # 2026-10-31 23:59:59 EDT
        cdr(start_epoch=1793505600),  # 2026-11-01 00:00:00 EDT
        cdr(start_epoch=1790827200),  # 2026-10-01 00:00:00 EDT
        cdr(start_epoch=1790827199),  # 2026-09-30 23:59:59 EDT
    ]
    calls = rate_calls(tmp_path, rows)
    assert [call.start_epoch for call in calls] == [1790827200, 1793505599]


def test_dst_end_day_has_twenty_five_hours(tmp_path: Path) -> None:
    rows = [
        cdr(start_epoch=1793505600),  # 2026-11-01 00:00 EDT: in
        cdr(start_epoch=1793511000),  # 01:30 EDT, before the clocks go back
        cdr(start_epoch=1793514600),  # 01:30 EST, after
        cdr(start_epoch=1793593800),  # 23:30 EST: the 25th hour's day still
        cdr(start_epoch=1793595600),  # 2026-11-02 00:00 EST: out
    ]
    calls = rate_calls(tmp_path, rows, first="2026-11-01", last="2026-11-01")
    assert [call.start_epoch for call in calls] == [1793505600, 1793511000, 1793514600, 1793593800]


def test_calls_come_out_in_start_then_uuid_order(tmp_path: Path) -> None:
    rows = [
        cdr(start_epoch=OCT_15 + 5, xml_cdr_uuid="c"),
        cdr(start_epoch=OCT_15, xml_cdr_uuid="b"),
        cdr(start_epoch=OCT_15, xml_cdr_uuid="a"),
    ]
    assert [call.call_uuid for call in rate_calls(tmp_path, rows)] == ["a", "b", "c"]


# -- rounding --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("half-up", "0.0025"), ("half-even", "0.0024"), ("up", "0.0025"), ("down", "0.0024")],
)
def test_rounding_modes_round_once_per_call(tmp_path: Path, mode: str, expected: str) -> None:
    # 0.0049/min for 30 s = 0.00245 exactly
    deck = "prefix,rate,increment\n1,0.0049,30/30\n"
    package = f'rounding = {{ digits = 4, mode = "{mode}" }}'
    call = only(rate_calls(tmp_path, [cdr(billsec=30)], package, deck=deck))
    assert call.cost == Decimal(expected)
