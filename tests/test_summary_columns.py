"""`--detail summary` (rules §7): calls, unrated_calls, billed_minutes, free_minutes, amount per
category and in total; JSON mirrors them; `description` of custom, inbound and special rows."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.cdrfactory import cdr, write_config, write_export
from tests.clirunner import invoke
from voipbill.report import SUMMARY_COLUMNS

OCT_15 = 1792069200  # 2026-10-15 09:00 EDT


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    # 1 free minute; the deck prices 1... at 0.0100/min in 6/6 and has no row for 882
    config = write_config(tmp_path, "free_minutes = 1")
    rows = [
        cdr(xml_cdr_uuid="n-1", billsec=61, start_epoch=OCT_15),  # 66 s: 60 free, 6 charged
        cdr(xml_cdr_uuid="n-2", billsec=30, start_epoch=OCT_15 + 60),  # 30 s, nothing free left
        cdr(xml_cdr_uuid="u-1", destination_number="88213456789", start_epoch=OCT_15 + 120),
    ]
    return config, write_export(tmp_path / "cdrs.csv", rows)


def summary(files: tuple[Path, Path], output_format: str) -> str:
    config, cdrs = files
    result = invoke(
        "rate", "-c", str(config), "--cdr-file", str(cdrs), "--period", "2026-10",
        "--format", output_format, "--detail", "summary",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_summary_columns_count_unrated_calls_and_free_minutes(files: tuple[Path, Path]) -> None:
    text = summary(files, "csv")
    assert text.splitlines()[0] == (
        "service,tenant,period_start,period_end,category,calls,unrated_calls,billed_minutes,"
        "free_minutes,amount,currency"
    )
    rows = {row["category"]: row for row in csv.DictReader(io.StringIO(text))}
    pick = ("calls", "unrated_calls", "billed_minutes", "free_minutes", "amount")
    # n-1: 6 s x 0.01/60 = 0.0010; n-2: 30 s x 0.01/60 = 0.0050; (66 + 30) s = 1.60 min
    assert [rows["national"][k] for k in pick] == ["2", "0", "1.60", "1.00", "0.0060"]
    # an unrated call is listed and counted, but has no billed minutes and no amount
    assert [rows["international"][k] for k in pick] == ["1", "1", "0.00", "0.00", "0.0000"]
    assert [rows["total"][k] for k in pick] == ["3", "1", "1.60", "1.00", "0.0060"]


def test_json_summary_mirrors_the_csv_columns(files: tuple[Path, Path]) -> None:
    rows = json.loads(summary(files, "json"))["summary"]
    assert list(rows[0]) == SUMMARY_COLUMNS
    total = rows[-1]
    assert (total["calls"], total["unrated_calls"]) == (3, 1)
    assert (total["billed_minutes"], total["free_minutes"], total["amount"]) == (
        "1.60",
        "1.00",
        "0.0060",
    )


def test_description_names_custom_inbound_and_special_sources(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        'inbound_billing = true\ninbound_rate = "0.0049"\n'
        'custom_rates = [ { prefix = "1416", rate = "0.0090" } ]\n'
        'special = [ { pattern = "1900", mode = "flat_per_call", flat = "2.50" } ]',
    )
    rows = [
        cdr(xml_cdr_uuid="deck", destination_number="15195550100", start_epoch=OCT_15),
        cdr(xml_cdr_uuid="custom", destination_number="14165550100", start_epoch=OCT_15 + 1),
        cdr(xml_cdr_uuid="special", destination_number="19005550100", start_epoch=OCT_15 + 2),
        cdr(
            xml_cdr_uuid="inbound",
            direction="inbound",
            caller_id_number="15195550100",
            caller_destination="5192229000",
            destination_number="2112",
            start_epoch=OCT_15 + 3,
        ),
    ]
    result = invoke(
        "rate", "-c", str(config), "--cdr-file", str(write_export(tmp_path / "c.csv", rows)),
        "--period", "2026-10", "--format", "csv",
    )  # fmt: skip
    described = {
        row["call_uuid"]: row["description"] for row in csv.DictReader(io.StringIO(result.stdout))
    }
    assert described == {
        "deck": "Canada/US",
        "custom": "custom rate",
        "special": "",
        "inbound": "inbound",
    }
