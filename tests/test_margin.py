"""Carrier cost and margin (rules §15), worked by hand, through `voipbill margin` and `rate`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cdrfactory import cdr, write_export
from tests.clirunner import Result, invoke

# the sell deck: the package sells it with a 20 % markup and 6/6 increments
SELL = """prefix,description,rate,connect_fee,increment
1,NANP,0.0100,0,6/6
1800,Toll-free,0,0,
44,United Kingdom,0.2000,0,
52,Mexico,0.0500,0,
"""
# the carrier's deck: what the operator pays (no 52 row)
CARRIER = """prefix,description,rate,connect_fee,increment,effective_from
1,NANP,0.0100,0,60/60,
1800,Toll-free,0.0200,0,60/60,
44,United Kingdom,0,0.0500,,
"""
PACKAGE = """markup_percent = "20"
increment = "6/6"
no_charge = ["[tollfree]"]
cost_deck = "carrier"
inbound_cost = "0.0060"
inbound_increment = "6/6"
"""
OCT_15 = 1792069200  # 2026-10-15 09:00 in Toronto
OCT_25 = OCT_15 + 10 * 86400


def setup(
    tmp_path: Path,
    rows: list[dict[str, str]],
    *,
    package: str = PACKAGE,
    carrier: str = CARRIER,
    sell: str = SELL,
) -> tuple[Path, Path]:
    (tmp_path / "sell.csv").write_text(sell, encoding="utf-8")
    (tmp_path / "carrier.csv").write_text(carrier, encoding="utf-8")
    config = tmp_path / "voipbill.toml"
    config.write_text(
        f"""
timezone = "America/Toronto"
currency = "CAD"

[ledger]
path = "ledger.sqlite"

[decks.sell]
path = "sell.csv"

[decks.carrier]
path = "carrier.csv"

[packages.paygo]
deck = "sell"
country = "CA"
{package}

[services.mcon]
package = "paygo"
tenant = "mcon.wat5.ictvoip.ca | 5192229000"
extensions = "2112 | 2113"
""",
        encoding="utf-8",
    )
    return config, write_export(tmp_path / "cdrs.csv", rows)


def margin(config: Path, cdrs: Path, *args: str) -> tuple[Result, dict[str, Any]]:
    result = invoke(
        "--config", str(config), "margin", "--cdr-file", str(cdrs), "--period", "2026-10",
        "-f", "json", *args,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return result, json.loads(result.stdout)


def rows_by(document: dict[str, Any], key: str = "category") -> dict[str, dict[str, Any]]:
    return {row[key]: row for row in document["margin"]}


def one_call(tmp_path: Path, **fields: object) -> dict[str, Any]:
    config, cdrs = setup(tmp_path, [cdr(**fields)])
    _, document = margin(config, cdrs)
    return rows_by(document)["total"]


# -- the carrier cost of one call, by hand ----------------------------------------------------


def test_a_60_60_carrier_increment_makes_a_6_6_sold_61_s_call_cost_more_than_it_sells_for(
    tmp_path: Path,
) -> None:
    # sold: 0.0100 × 1.20 = 0.012/min; 61 s at 6/6 = 66 s: 0.012 × 66 / 60 = 0.0132
    # carrier: 0.0100/min; 61 s at 60/60 = 120 s: 0.0100 × 120 / 60 = 0.0200
    total = one_call(tmp_path, destination_number="15195550100", billsec=61)
    assert total["amount"] == "0.0132"
    assert total["carrier_cost"] == "0.0200"
    assert total["margin"] == "-0.0068"
    assert total["margin_percent"] == "-51.52"  # -0.0068 / 0.0132 = -51.515…%
    assert total["below_cost_calls"] == 1


def test_a_connect_fee_only_carrier_row_costs_its_fee_at_any_length(tmp_path: Path) -> None:
    # sold: 0.2000 × 1.20 = 0.24/min; 30 s: 0.1200 and 300 s: 1.2000; the carrier's row
    # 44 has rate 0 and a connect fee 0.0500: each call costs 0.0500
    config, cdrs = setup(
        tmp_path,
        [
            cdr(destination_number="442079460000", billsec=30),
            cdr(destination_number="442079460000", billsec=300),
        ],
    )
    _, document = margin(config, cdrs)
    row = rows_by(document)["international"]
    assert (row["calls"], row["amount"], row["carrier_cost"]) == (2, "1.3200", "0.1000")
    assert (row["margin"], row["below_cost_calls"]) == ("1.2200", 0)


def test_a_no_charge_toll_free_call_has_a_carrier_cost_and_is_not_sold_below_cost(
    tmp_path: Path,
) -> None:
    # no_charge (pattern [tollfree]): the customer pays 0; the carrier bills 90 s at 60/60 =
    # 120 s × 0.0200 / 60 = 0.0400: a negative margin, but not a pricing mistake
    total = one_call(tmp_path, destination_number="18005550100", billsec=90)
    assert (total["amount"], total["carrier_cost"], total["margin"]) == (
        "0.0000",
        "0.0400",
        "-0.0400",
    )
    assert total["margin_percent"] is None  # of an amount of 0
    assert total["below_cost_calls"] == 0


def test_an_inbound_no_charge_call_costs_inbound_cost_by_inbound_increment(
    tmp_path: Path,
) -> None:
    # inbound_billing is off: no_charge; the operator pays inbound_cost 0.0060/min for
    # 61 s at 6/6 = 66 s: 0.0060 × 66 / 60 = 0.0066
    total = one_call(
        tmp_path,
        direction="inbound",
        extension="",
        caller_id_number="14165550123",
        caller_destination="5192229000",
        destination_number="5192229000",
        billsec=61,
    )
    assert (total["calls"], total["amount"], total["carrier_cost"]) == (1, "0.0000", "0.0066")
    assert (total["margin"], total["below_cost_calls"]) == ("-0.0066", 0)


def test_unanswered_calls_cost_0_and_a_number_without_a_carrier_row_has_no_cost(
    tmp_path: Path,
) -> None:
    # 52 is sold (0.05 × 1.2 = 0.06/min, 60 s: 0.0600) but the carrier's deck has no 52 row:
    # no carrier cost, counted, never 0 (its margin would look like 100 %)
    config, cdrs = setup(
        tmp_path,
        [
            cdr(destination_number="525555555555", billsec=60),
            cdr(destination_number="15195550100", billsec=0, status="missed"),
        ],
    )
    result, document = margin(config, cdrs)
    by = rows_by(document)
    mexico = by["international"]
    assert (mexico["amount"], mexico["carrier_cost"], mexico["margin"]) == (
        "0.0600",
        "0.0000",
        "0.0000",
    )
    assert mexico["margin_percent"] is None and mexico["no_carrier_cost_calls"] == 1
    assert (by["national"]["carrier_cost"], by["national"]["no_carrier_cost_calls"]) == (
        "0.0000",
        0,
    )
    assert by["total"]["no_carrier_cost_calls"] == 1
    assert "1 call with no carrier cost (1 with no cost-deck row)" in result.stderr


def test_free_minutes_are_no_sale_below_cost(tmp_path: Path) -> None:
    # the 61 s call of the first test, inside 10 free minutes: it pays 0, costs 0.0200
    config, cdrs = setup(
        tmp_path,
        [cdr(destination_number="15195550100", billsec=61)],
        package=PACKAGE + "free_minutes = 10\n",
    )
    _, document = margin(config, cdrs)
    total = rows_by(document)["total"]
    assert (total["amount"], total["carrier_cost"], total["below_cost_calls"]) == (
        "0.0000",
        "0.0200",
        0,
    )


def test_the_cost_deck_row_in_effect_at_the_call_start_prices_it(tmp_path: Path) -> None:
    # from 2026-10-20 the carrier charges 0.0300/min for 1: the call of the 15th costs
    # 120 s × 0.0100 / 60 = 0.0200, that of the 25th 120 s × 0.0300 / 60 = 0.0600
    carrier = CARRIER + "1,NANP,0.0300,0,60/60,2026-10-20\n"
    config, cdrs = setup(
        tmp_path,
        [
            cdr(destination_number="15195550100", billsec=61, start_epoch=OCT_15),
            cdr(destination_number="15195550100", billsec=61, start_epoch=OCT_25),
        ],
        carrier=carrier,
    )
    _, document = margin(config, cdrs)
    assert rows_by(document)["total"]["carrier_cost"] == "0.0800"


def test_the_default_cost_deck_is_the_package_deck_without_markup(tmp_path: Path) -> None:
    # no cost_deck: the sell deck at deck price; 61 s sold at 6/6 (66 s): 0.0132, cost
    # 0.0100 × 66 / 60 = 0.0110
    package = PACKAGE.replace('cost_deck = "carrier"\n', "")
    config, cdrs = setup(
        tmp_path, [cdr(destination_number="15195550100", billsec=61)], package=package
    )
    _, document = margin(config, cdrs)
    total = rows_by(document)["total"]
    assert (total["amount"], total["carrier_cost"], total["margin"]) == (
        "0.0132",
        "0.0110",
        "0.0022",
    )
    assert total["margin_percent"] == "16.67"


def test_margin_by_prefix_service_and_csv(tmp_path: Path) -> None:
    config, cdrs = setup(
        tmp_path,
        [
            cdr(destination_number="15195550100", billsec=61),
            cdr(destination_number="442079460000", billsec=30),
        ],
    )
    _, document = margin(config, cdrs, "--by", "prefix")
    by_prefix = rows_by(document, "prefix")
    assert sorted(by_prefix) == ["1", "44", "total"]
    assert by_prefix["44"]["carrier_cost"] == "0.0500"
    _, document = margin(config, cdrs, "--by", "service")
    assert [(r["service"], r["amount"], r["carrier_cost"]) for r in document["margin"]] == [
        ("mcon", "0.1332", "0.0700")
    ]
    result = invoke(
        "--config", str(config), "margin", "--cdr-file", str(cdrs), "--period", "2026-10",
        "-f", "csv",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "service,category,calls,amount,carrier_cost,margin,margin_percent,below_cost_calls,"
        "no_carrier_cost_calls,currency"
    )
    assert lines[-1] == "mcon,total,2,0.1332,0.0700,0.0632,47.45,1,0,CAD"


# -- the money warning of rate ----------------------------------------------------------------

WARNING = "warning: mcon: 1 call sold below carrier cost (margin -0.0068 CAD): see voipbill margin"


@pytest.mark.parametrize(
    "layout",
    [["-f", "csv"], ["-f", "json"], ["-f", "table"], ["-f", "csv", "--detail", "summary"]],
)
def test_rate_warns_of_calls_sold_below_cost_even_with_q(tmp_path: Path, layout: list[str]) -> None:
    config, cdrs = setup(
        tmp_path,
        [
            cdr(destination_number="15195550100", billsec=61),  # below cost by 0.0068
            cdr(destination_number="15195550100", billsec=120),  # 0.0240 vs 0.0200
            cdr(destination_number="18005550100", billsec=90),  # no_charge: not a sale
        ],
    )
    result = invoke(
        "--config", str(config), "-q", "rate", "--cdr-file", str(cdrs), "--period", "2026-10",
        *layout,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [WARNING]
    assert "carrier" not in result.stdout


def test_a_commit_warns_of_the_calls_it_commits(tmp_path: Path) -> None:
    config, cdrs = setup(tmp_path, [cdr(destination_number="15195550100", billsec=61)])
    result = invoke(
        "--config", str(config), "-q", "rate", "--cdr-file", str(cdrs), "--period", "2026-10",
        "--commit", "-o", str(tmp_path / "out.csv"),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert WARNING in result.stderr.splitlines()


# -- bad configuration: exit 3 naming the key -------------------------------------------------


def test_a_cost_deck_naming_no_deck_is_refused(tmp_path: Path) -> None:
    config, cdrs = setup(tmp_path, [cdr()], package=PACKAGE.replace('"carrier"', '"carier"'))
    result = invoke("--config", str(config), "rate", "--cdr-file", str(cdrs), "--period", "2026-10")
    assert result.exit_code == 3
    assert "packages -> paygo -> cost_deck: no deck named 'carier'" in result.stderr


def test_a_negative_inbound_cost_is_refused(tmp_path: Path) -> None:
    config, cdrs = setup(tmp_path, [cdr()], package=PACKAGE.replace('"0.0060"', '"-0.0060"'))
    result = invoke(
        "--config", str(config), "margin", "--cdr-file", str(cdrs), "--period", "2026-10"
    )
    assert result.exit_code == 3
    assert "packages -> paygo -> inbound_cost" in result.stderr
    assert "negative" in result.stderr


@pytest.mark.parametrize("command", ["rate", "margin"])
def test_a_broken_cost_deck_is_refused_with_its_lines(tmp_path: Path, command: str) -> None:
    broken = CARRIER + "1800,Toll-free again,0.0200,0,60/60,\n33,France,-0.02,0,,\n"
    config, cdrs = setup(tmp_path, [cdr()], carrier=broken)
    result = invoke(
        "--config", str(config), command, "--cdr-file", str(cdrs), "--period", "2026-10"
    )
    assert result.exit_code == 3, result.stderr
    assert "packages -> paygo -> cost_deck ('carrier')" in result.stderr
    assert "line 5" in result.stderr and "line 6" in result.stderr
    assert "voipbill deck check --config" in result.stderr
    assert "Traceback" not in result.stderr


def test_included_seconds_can_sell_a_call_below_the_deck_it_is_sold_from(tmp_path: Path) -> None:
    # no cost_deck: the sell deck at deck price. 61 s with 30 included seconds bills 31 s at
    # 6/6 = 36 s: 0.012 × 36 / 60 = 0.0072; the carrier bills all 61 s (66 s): 0.0110
    package = PACKAGE.replace('cost_deck = "carrier"\n', "") + "included_seconds = 30\n"
    config, cdrs = setup(
        tmp_path, [cdr(destination_number="15195550100", billsec=61)], package=package
    )
    result = invoke(
        "--config", str(config), "-q", "rate", "--cdr-file", str(cdrs), "--period", "2026-10",
        "-f", "csv",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        "warning: mcon: 1 call sold below carrier cost (margin -0.0038 CAD): see voipbill margin"
    ]
    # without included seconds the same deck never sells below itself: no warning
    config, cdrs = setup(
        tmp_path,
        [cdr(destination_number="15195550100", billsec=61)],
        package=package.replace("included_seconds = 30\n", ""),
    )
    quiet = invoke(
        "--config",
        str(config),
        "-q",
        "rate",
        "--cdr-file",
        str(cdrs),
        "--period",
        "2026-10",
        "-f",
        "csv",
    )
    assert quiet.exit_code == 0 and quiet.stderr == ""
