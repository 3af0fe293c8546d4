"""rules §6 per-call rules: no-charge time, included seconds and minimum cost, worked by hand."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.billinghelpers import rate_rows
from tests.cdrfactory import cdr
from voipbill.errors import ConfigError
from voipbill.rating import RatedCall

MAGNUS = (
    "prefix,destination,rateinitial,initblock,billingblock,connectcharge,"
    "disconnectcharge,minimal_time_charge\n"
)
ASTPP = (
    "Code,Destination,Connect Cost,Included Seconds,Per Minute Cost,Initial Increment,Increment\n"
)


def rate(
    tmp_path: Path,
    deck: str,
    rows: list[dict[str, str]],
    package: str = "",
    preset: str = "voipbill",
) -> list[RatedCall]:
    (tmp_path / "deck.csv").write_text(deck, encoding="utf-8")
    config_path = tmp_path / "voipbill.toml"
    config_path.write_text(
        f"""
timezone = "America/Toronto"
currency = "CAD"

[decks.main]
path = "deck.csv"
preset = "{preset}"

[packages.paygo]
deck = "main"
country = "CA"
{package}

[services.mcon]
package = "paygo"
tenant = "mcon.wat5.ictvoip.ca | 5192229000"
extensions = "2112"
""",
        encoding="utf-8",
    )
    return rate_rows(config_path, rows)


def one(tmp_path: Path, deck: str, billsec: int, package: str = "", **options: str) -> RatedCall:
    calls = rate(tmp_path, deck, [cdr(billsec=billsec)], package, **options)
    assert len(calls) == 1
    return calls[0]


# -- the the rules' test vectors -------------------------------------------------------------------


def test_magnusbilling_example_45_s_at_30_6_bills_48_s(tmp_path: Path) -> None:
    # 45 s at 30/6: 30 + ceil(15/6) × 6 = 48 s; 0.05/min × 48/60 = 0.0400
    call = one(tmp_path, MAGNUS + "1,NANP,0.05,30,6,0,0,0\n", 45, preset="magnus")
    assert (call.billed_seconds, call.cost, call.status) == (48, Decimal("0.0400"), "rated")


def test_included_seconds_25_with_25_25_bill_61_s_as_50_s(tmp_path: Path) -> None:
    # 61 − 25 = 36 s left; 25 + ceil(11/25) × 25 = 50 s; 0.06/min × 50/60 = 0.0500
    package = 'included_seconds = 25\nincrement = "25/25"'
    call = one(tmp_path, "prefix,rate\n1,0.06\n", 61, package)
    assert (call.billed_seconds, call.cost) == (50, Decimal("0.0500"))


def test_astpp_included_seconds_column_does_the_same(tmp_path: Path) -> None:
    call = one(tmp_path, ASTPP + "1,NANP,0,25,0.06,25,25\n", 61, preset="astpp")
    assert (call.billed_seconds, call.cost) == (50, Decimal("0.0500"))


@pytest.mark.parametrize(
    ("billsec", "status", "cost"), [(5, "no_charge", "0.0000"), (6, "rated", "0.0010")]
)
def test_no_charge_seconds_5(tmp_path: Path, billsec: int, status: str, cost: str) -> None:
    # 6 s at 6/6 and 0.01/min: 0.01 × 6/60 = 0.0010
    call = one(tmp_path, "prefix,rate,increment\n1,0.01,6/6\n", billsec, "no_charge_seconds = 5")
    assert (call.status, call.cost) == (status, Decimal(cost))
    assert call.billed_seconds == (0 if status == "no_charge" else 6)


def test_magnus_minimal_time_charge_is_the_rows_no_charge_time(tmp_path: Path) -> None:
    deck = MAGNUS + "1,NANP,0.05,30,6,0,0,10\n"
    calls = rate(tmp_path, deck, [cdr(billsec=10), cdr(billsec=11)], preset="magnus")
    assert [(c.status, c.billed_seconds) for c in calls] == [("no_charge", 0), ("rated", 30)]


# -- minimum cost --------------------------------------------------------------------------------


def test_minimum_cost_lifts_a_cheap_call_and_leaves_dearer_ones(tmp_path: Path) -> None:
    # 0.01/min at 6/6: 6 s = 0.001 -> 0.0150; 120 s = 0.02 stays 0.0200
    deck = "prefix,rate,increment\n1,0.01,6/6\n"
    calls = rate(tmp_path, deck, [cdr(billsec=6), cdr(billsec=120)], 'minimum_cost = "0.015"')
    assert [c.cost for c in calls] == [Decimal("0.0150"), Decimal("0.0200")]


def test_minimum_cost_is_not_charged_to_a_call_free_minutes_cover(tmp_path: Path) -> None:
    # 1 free minute: the first 60 s call costs 0 (not lifted); the second pays 0.01 -> 0.05
    deck = "prefix,rate,increment\n1,0.01,60/60\n"
    package = 'free_minutes = 1\nminimum_cost = "0.05"'
    rows = [cdr(billsec=60, start_epoch=1792069200), cdr(billsec=60, start_epoch=1792069300)]
    calls = rate(tmp_path, deck, rows, package)
    assert [(c.free_seconds, c.cost) for c in calls] == [
        (60, Decimal("0.0000")),
        (0, Decimal("0.0500")),
    ]


# -- included seconds, the subtle cases ----------------------------------------------------------


def test_a_call_inside_its_included_seconds_bills_0_s_and_pays_its_connect_fee(
    tmp_path: Path,
) -> None:
    # 20 s with 25 included: d = 0 -> 0 s billed; connect fee 0.05; no free seconds taken
    deck = "prefix,rate,connect_fee,increment\n1,0.06,0.05,6/6\n"
    call = one(tmp_path, deck, 20, "included_seconds = 25\nfree_minutes = 10")
    assert (call.billed_seconds, call.free_seconds, call.cost) == (0, 0, Decimal("0.0500"))
    assert call.status == "rated"


def test_a_deck_cell_of_0_overrides_the_package_and_an_empty_one_does_not(tmp_path: Path) -> None:
    # package 30 included, 6/6: row 1 says 0 -> 61 s bills 66; row 44 empty -> 31 s -> 36 s
    deck = "prefix,rate,increment,included_seconds\n1,0.06,6/6,0\n44,0.06,6/6,\n"
    rows = [cdr(billsec=61), cdr(billsec=61, destination_number="442079460000")]
    calls = rate(tmp_path, deck, rows, "included_seconds = 30")
    assert sorted(c.billed_seconds for c in calls) == [36, 66]


def test_special_per_minute_rule_counts_seconds_after_the_packages_included_seconds(
    tmp_path: Path,
) -> None:
    # 66 s − 30 included = 36 s at the package's 6/6 -> 36 s; 0.60/min × 36/60 = 0.3600
    package = (
        'included_seconds = 30\nincrement = "6/6"\n'
        'special = [ { pattern = "1900", mode = "per_minute", per_minute = "0.60" } ]'
    )
    calls = rate(
        tmp_path,
        "prefix,rate\n1,0.01\n",
        [cdr(billsec=66, destination_number="19005550100")],
        package,
    )
    assert (calls[0].category, calls[0].billed_seconds, calls[0].cost) == (
        "special",
        36,
        Decimal("0.3600"),
    )


def test_custom_rate_uses_the_packages_no_charge_seconds(tmp_path: Path) -> None:
    package = (
        "no_charge_seconds = 8\n"
        'custom_rates = [ { prefix = "1212", rate = "0.02", increment = "6/6" } ]'
    )
    calls = rate(
        tmp_path,
        "prefix,rate\n1,0.01\n",
        [cdr(billsec=8, destination_number="12125550123")],
        package,
    )
    assert calls[0].status == "no_charge"


def test_unrated_calls_show_billed_seconds_after_included_seconds(tmp_path: Path) -> None:
    # no deck row for 44: 61 − 25 = 36 at the package's 25/25 -> 50 s, cost empty
    package = 'included_seconds = 25\nincrement = "25/25"'
    calls = rate(
        tmp_path,
        "prefix,rate\n1,0.01\n",
        [cdr(billsec=61, destination_number="442079460000")],
        package,
    )
    assert (calls[0].status, calls[0].billed_seconds, calls[0].cost) == ("unrated", 50, None)


def test_no_rate_source_means_unrated_whatever_no_charge_seconds_says(tmp_path: Path) -> None:
    package = "no_charge_seconds = 30"
    calls = rate(
        tmp_path,
        "prefix,rate\n1,0.01\n",
        [cdr(billsec=5, destination_number="442079460000")],
        package,
    )
    assert calls[0].status == "unrated"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("included_seconds = -1", "included_seconds: must be a whole number of seconds"),
        ('no_charge_seconds = "5"', "no_charge_seconds: expected an integer"),
        ('minimum_cost = "-0.01"', "minimum_cost"),
    ],
)
def test_bad_package_rule_values_are_config_errors(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        rate(tmp_path, "prefix,rate\n1,0.01\n", [cdr()], line)
