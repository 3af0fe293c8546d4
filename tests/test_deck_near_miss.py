"""A deck column whose name is one typo away from a price column is never dropped in silence."""

from __future__ import annotations

from pathlib import Path

from tests.cdrfactory import cdr, write_config, write_export
from tests.clirunner import invoke

# `conect_fee`: the connect fee of every row would be read as 0
MISSPELT = "prefix,description,rate,conect_fee\n1,NANP,0.0100,0.50\n"


def test_deck_check_names_a_cell_that_looks_like_a_price_column(tmp_path: Path) -> None:
    deck = tmp_path / "deck.csv"
    deck.write_text(MISSPELT, encoding="utf-8")
    result = invoke("deck", "check", str(deck))
    assert "'conect_fee' looks like connect_fee" in result.stdout


def test_deck_check_is_quiet_about_cells_that_resemble_no_column(tmp_path: Path) -> None:
    deck = tmp_path / "deck.csv"
    deck.write_text("prefix,rate,Trunk,Priority\n1,0.01,t1,5\n", encoding="utf-8")
    result = invoke("deck", "check", str(deck))
    assert result.exit_code == 0
    assert "check these" not in result.stdout


def test_rate_warns_about_the_misspelt_column_even_with_q(tmp_path: Path) -> None:
    config = write_config(tmp_path, deck=MISSPELT)
    export = write_export(
        tmp_path / "cdrs.csv", [cdr(destination_number="14165550123", billsec=60)]
    )
    result = invoke(
        "-q", "--config", str(config), "rate", "--cdr-file", str(export),
        "--period", "2026-10", "--format", "csv",
    )  # fmt: skip
    assert result.exit_code == 0
    assert "'conect_fee' (did you mean connect_fee?)" in result.stderr
    assert "--deck main" in result.stderr
