"""`voipbill deck margin`: a package checked against its carrier's deck (rules §15), by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.clirunner import Result, invoke

SELL = """prefix,description,rate,connect_fee,increment
1,NANP,0.0100,0,6/6
44,United Kingdom,0.0500,0,6/6
"""
CARRIER = """prefix,description,rate,connect_fee,increment,effective_from
1,NANP,0.0100,0,60/60,
44,United Kingdom,0.0400,0,6/6,
4420,London,0.0700,0,6/6,
33,France,0.0200,0,1/1,
"""


def check(
    tmp_path: Path,
    package: str = "",
    *args: str,
    sell: str = SELL,
    carrier: str = CARRIER,
) -> tuple[Result, dict[str, Any]]:
    (tmp_path / "sell.csv").write_text(sell, encoding="utf-8")
    (tmp_path / "carrier.csv").write_text(carrier, encoding="utf-8")
    config = tmp_path / "voipbill.toml"
    config.write_text(
        f"""
timezone = "America/Toronto"
currency = "CAD"

[decks.sell]
path = "sell.csv"

[decks.carrier]
path = "carrier.csv"

[packages.p]
deck = "sell"
cost_deck = "carrier"
country = "CA"
markup_percent = "20"
increment = "6/6"
{package}
""",
        encoding="utf-8",
    )
    result = invoke(
        "--config", str(config), "deck", "margin", "--package", "p", "-f", "json",
        "--date", "2026-11-01", *args,
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.stderr
    return result, json.loads(result.stdout)


def found(document: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (
            f["prefix"],
            f["status"],
            f["seconds"],
            f["sell_prefix"],
            f["price"],
            f["cost_prefix"],
            f["cost"],
        )
        for f in document["findings"]
    ]


def test_a_carrier_row_4420_under_a_deck_row_44_and_a_60_60_carrier_increment(
    tmp_path: Path,
) -> None:
    # 1 (sold 0.012/min at 6/6; the carrier bills 0.0100 at 60/60):
    #   30 s: 0.012 × 30/60 = 0.0060 < 0.0100 × 60/60 = 0.0100 (below cost)
    #   60 s: 0.0120 vs 0.0100; 300 s: 0.0600 vs 0.0500: fine
    # 4420 (sold by the deck's 44 at 0.06/min; the carrier's 4420 is 0.07/min, both 6/6):
    #   30 s: 0.0300 < 0.0350; 60 s: 0.0600 < 0.0700; 300 s: 0.3000 < 0.3500
    # 44: 0.06 vs 0.04/min: fine; 33: the carrier's only, not sold: listed, not an error
    result, document = check(tmp_path)
    assert result.exit_code == 1
    assert found(document) == [
        ("1", "below_cost", 30, "1", "0.0060", "1", "0.0100"),
        ("33", "unsold", None, "", None, "33", None),
        ("4420", "below_cost", 30, "44", "0.0300", "4420", "0.0350"),
        ("4420", "below_cost", 60, "44", "0.0600", "4420", "0.0700"),
        ("4420", "below_cost", 300, "44", "0.3000", "4420", "0.3500"),
    ]
    assert (document["below_cost_prefixes"], document["unsold_prefixes"]) == (2, 1)
    assert document["findings"][0]["margin"] == "-0.0040"
    assert "2 prefixes sold below carrier cost" in result.stderr


def test_custom_rates_and_special_prefix_rules_are_the_sell_side_first(tmp_path: Path) -> None:
    # 4420 at a custom 0.0800/min (no markup): 30 s 0.0400 > 0.0350; 1 by a special rule of
    # 0.05 a call whatever its length: at 300 s 0.0500 = the carrier's 0.0500 (not below)
    package = """custom_rates = [ { prefix = "4420", rate = "0.0800" } ]
special = [ { pattern = "1", type = "prefix", mode = "flat_per_call", flat = "0.05" } ]
"""
    result, document = check(tmp_path, package)
    assert result.exit_code == 0
    assert found(document) == [("33", "unsold", None, "", None, "33", None)]


def test_only_unsold_prefixes_exit_0(tmp_path: Path) -> None:
    sell = SELL.replace("0.0500,0,6/6", "0.1000,0,6/6").replace(
        "1,NANP,0.0100,0,6/6", "1,NANP,0.0200,0,60/60"
    )
    result, document = check(tmp_path, sell=sell)
    assert result.exit_code == 0, result.stdout
    assert [f["status"] for f in document["findings"]] == ["unsold"]


def test_lengths_within_no_charge_seconds_are_priced_0_and_listed(tmp_path: Path) -> None:
    # no_charge_seconds = 30: a 30 s call pays 0 and the carrier bills it 0.0100 (1) …
    _, document = check(tmp_path, "no_charge_seconds = 30", "--lengths", "30")
    assert ("1", "below_cost", 30, "1", "0.0000", "1", "0.0100") in found(document)
    assert ("44", "below_cost", 30, "44", "0.0000", "44", "0.0200") in found(document)


def test_minimum_cost_and_the_date_choose_the_figures(tmp_path: Path) -> None:
    # minimum_cost 0.0100 lifts 1 at 30 s from 0.0060 to 0.0100 = the carrier's: not below;
    # from 2026-12-01 the carrier charges 0.0800 for 44: on 2026-12-01, 44 is below cost
    carrier = CARRIER + "44,United Kingdom,0.0800,0,6/6,2026-12-01\n"
    _, document = check(tmp_path, 'minimum_cost = "0.0100"', "--lengths", "30", carrier=carrier)
    assert [f["prefix"] for f in document["findings"]] == ["33", "4420"]
    _, document = check(
        tmp_path,
        'minimum_cost = "0.0100"',
        "--lengths",
        "30",
        "--date",
        "2026-12-01",
        carrier=carrier,
    )
    assert ("44", "below_cost", 30, "44", "0.0300", "44", "0.0400") in found(document)


def test_bad_arguments_are_usage_errors(tmp_path: Path) -> None:
    check(tmp_path)
    config = str(tmp_path / "voipbill.toml")
    for args in (["--lengths", "30,x"], ["--lengths", "0"], ["--date", "2026-13-01"]):
        result = invoke("--config", config, "deck", "margin", "--package", "p", *args)
        assert result.exit_code == 2, (args, result.stderr)
    result = invoke("--config", config, "deck", "margin", "--package", "nope")
    assert result.exit_code == 2 and "no package named 'nope'" in result.stderr


def test_the_table_names_both_prefixes(tmp_path: Path) -> None:
    check(tmp_path)
    result = invoke(
        "--config", str(tmp_path / "voipbill.toml"), "deck", "margin", "--package", "p",
        "--date", "2026-11-01", "-f", "table",
    )  # fmt: skip
    assert result.exit_code == 1
    line = next(line for line in result.stdout.splitlines() if "4420" in line and " 60 " in line)
    assert "deck 44" in line and "0.0600" in line and "0.0700" in line
