"""`voipbill rate` and `voipbill explain` as an operator runs them (rules §7, §8)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.cdrfactory import cdr, write_config, write_export
from tests.clirunner import invoke
from voipbill.report import CALL_COLUMNS, SUMMARY_COLUMNS

OCT_15 = 1792069200  # 2026-10-15 09:00 EDT


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    config = write_config(tmp_path, 'markup_percent = "10"\nno_charge = ["[tollfree]"]')
    rows = [
        cdr(xml_cdr_uuid="call-1", destination_number="15195550100", billsec=61),
        cdr(
            xml_cdr_uuid="call-2",
            destination_number="18005551234",
            billsec=30,
            start_epoch=OCT_15 + 60,
        ),
        cdr(
            xml_cdr_uuid="call-3",
            destination_number="88213456789",
            billsec=30,
            start_epoch=OCT_15 + 120,
        ),
        cdr(
            xml_cdr_uuid="call-4",
            direction="local",
            destination_number="2113",
            start_epoch=OCT_15 + 180,
        ),
    ]
    return config, write_export(tmp_path / "cdrs.csv", rows)


def rate(files: tuple[Path, Path], *extra: str) -> tuple[int, str, str]:
    config, cdrs = files
    result = invoke(
        "rate", "--config", str(config), "--cdr-file", str(cdrs), "--period", "2026-10", *extra
    )
    return result.exit_code, result.stdout, result.stderr


def test_calls_csv_has_exactly_the_spec_columns_and_one_row_per_call(
    files: tuple[Path, Path],
) -> None:
    code, stdout, stderr = rate(files, "--format", "csv")
    assert code == 0, stderr
    rows = list(csv.DictReader(io.StringIO(stdout)))
    assert stdout.splitlines()[0].split(",") == CALL_COLUMNS
    assert [row["call_uuid"] for row in rows] == ["call-1", "call-2", "call-3", "call-4"]
    first = rows[0]
    # 61 s at the deck's 6/6 -> 66 s; 0.01 × 1.10 = 0.011/min × 66/60 = 0.0121
    assert (first["billed_seconds"], first["rate"], first["cost"]) == ("66", "0.011", "0.0121")
    assert first["start"] == "2026-10-15T09:00:00-04:00"
    assert (first["tenant"], first["currency"], first["status"]) == (
        "mcon.wat5.ictvoip.ca",
        "CAD",
        "rated",
    )
    assert [row["status"] for row in rows] == ["rated", "no_charge", "unrated", "local"]
    assert rows[2]["cost"] == "" and rows[2]["rate"] == ""
    assert "1 call unrated" in stderr


def test_summary_csv_has_a_total_row_and_amounts_of_rated_calls(files: tuple[Path, Path]) -> None:
    code, stdout, _ = rate(files, "--format", "csv", "--detail", "summary")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(stdout)))
    assert stdout.splitlines()[0].split(",") == SUMMARY_COLUMNS
    assert [row["category"] for row in rows] == [
        "international",
        "local",
        "national",
        "tollfree",
        "total",
    ]
    total = rows[-1]
    assert (total["calls"], total["billed_minutes"], total["amount"]) == ("4", "1.10", "0.0121")
    assert (total["period_start"], total["period_end"]) == ("2026-10-01", "2026-10-31")


def test_summary_lists_a_service_without_calls(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    cdrs = write_export(tmp_path / "cdrs.csv", [])
    result = invoke(
        "rate",
        "-c",
        str(config),
        "--cdr-file",
        str(cdrs),
        "--period",
        "2026-10",
        "--format",
        "csv",
        "--detail",
        "summary",
    )
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1:] == [
        # calls, unrated_calls, billed_minutes, free_minutes, amount (rules §7 columns)
        "mcon,mcon.wat5.ictvoip.ca,2026-10-01,2026-10-31,total,0,0,0.00,0.00,0.0000,CAD"
    ]


def test_json_has_a_version_and_money_as_strings(files: tuple[Path, Path]) -> None:
    code, stdout, _ = rate(files, "--format", "json")
    assert code == 0
    document = json.loads(stdout)
    assert document["version"] == 1
    first = document["calls"][0]
    assert first["cost"] == "0.0121" and first["rate"] == "0.011" and first["billed_seconds"] == 66
    assert document["calls"][2]["cost"] is None


def test_quiet_json_run_keeps_stderr_empty(files: tuple[Path, Path], tmp_path: Path) -> None:
    # every call rated: nothing about money to warn of (an unrated call is warned even with -q)
    config, _ = files
    rows = [cdr(xml_cdr_uuid="call-1", destination_number="15195550100", billsec=61)]
    files = (config, write_export(tmp_path / "rated.csv", rows))
    code, stdout, stderr = rate(files, "--format", "json", "-q")
    assert code == 0
    assert stderr == ""
    json.loads(stdout)


def test_strict_exits_1_on_unrated_calls_even_when_quiet(files: tuple[Path, Path]) -> None:
    code, stdout, stderr = rate(files, "--format", "csv", "--strict", "-q")
    assert code == 1
    assert "unrated" in stderr
    assert stdout.count("\n") == 5  # the rows are still written


def test_output_file_is_written_whole_and_stdout_stays_empty(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    target = tmp_path / "out" / "calls.csv"
    target.parent.mkdir()
    code, stdout, _ = rate(files, "--format", "csv", "-o", str(target))
    assert code == 0
    assert stdout == ""
    assert target.read_text().splitlines()[0].split(",") == CALL_COLUMNS
    assert [p.name for p in target.parent.iterdir()] == ["calls.csv"]


def test_table_shows_categories_and_unrated_count(files: tuple[Path, Path]) -> None:
    code, stdout, _ = rate(files, "--format", "table")
    assert code == 0
    assert "By category" in stdout and "national" in stdout
    assert "1 unrated call(s)" in stdout
    assert "0.0121" in stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--period", "2026-13"], 2, "not a month"),
        (["--from", "2026-10-01"], 2, "--from and --to go together"),
        (["--period", "2026-10", "--service", "nope"], 2, "no service named 'nope'"),
        (["--period", "2026-10", "--format", "xml"], 2, "xml"),
        (["--period", "0000-01"], 2, "out of range"),
        (["--from", "9999-12-01", "--to", "9999-12-31"], 2, "out of range"),
        (["--period", "2026-11", "--late-days", "800000"], 2, "out of range"),
    ],
)
def test_bad_arguments_give_one_line_and_the_spec_exit_code(
    files: tuple[Path, Path], args: list[str], code: int, message: str
) -> None:
    config, cdrs = files
    result = invoke("rate", "--config", str(config), "--cdr-file", str(cdrs), *args)
    assert result.exit_code == code
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_cdr_file_is_a_clear_error(files: tuple[Path, Path], tmp_path: Path) -> None:
    config, _ = files
    result = invoke(
        "rate",
        "--config",
        str(config),
        "--cdr-file",
        str(tmp_path / "nope.csv"),
        "--period",
        "2026-10",
    )
    assert result.exit_code == 2
    assert "nope.csv" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_error_exits_3(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('timezone = "America/Toronto"\ncurrency = "CAD"\nbogus = 1\n')
    result = invoke("rate", "--config", str(config), "--period", "2026-10")
    assert result.exit_code == 3
    assert "bogus: unknown key" in result.stderr


def test_explain_follows_one_call_from_raw_fields_to_cost(files: tuple[Path, Path]) -> None:
    config, cdrs = files
    result = invoke(
        "explain",
        "--config",
        str(config),
        "--service",
        "mcon",
        "--uuid",
        "call-1",
        "--cdr-file",
        str(cdrs),
    )
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    for expected in (
        "Raw fields used",
        "belongs to service 'mcon'",
        "class national",
        "deck prefix 1",
        "6/6: billsec 61 s -> billed 66 s",
        "0.0121",
    ):
        assert expected in text, expected


def test_explain_says_why_a_call_is_not_billed(files: tuple[Path, Path], tmp_path: Path) -> None:
    config, _ = files
    cdrs = write_export(tmp_path / "legs.csv", [cdr(xml_cdr_uuid="b-1", leg="b")])
    result = invoke(
        "explain", "-c", str(config), "-s", "mcon", "--uuid", "b-1", "--cdr-file", str(cdrs)
    )
    assert result.exit_code == 0
    assert "leg b, dropped" in result.stdout


def test_explain_unknown_uuid_exits_1(files: tuple[Path, Path]) -> None:
    config, cdrs = files
    result = invoke(
        "explain", "-c", str(config), "-s", "mcon", "--uuid", "nope", "--cdr-file", str(cdrs)
    )
    assert result.exit_code == 1
    assert "no CDR with xml_cdr_uuid nope" in result.stderr


def test_an_absurd_billsec_is_reported_not_billed(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    rows = [cdr(xml_cdr_uuid="huge", billsec="9" * 35), cdr(xml_cdr_uuid="fine")]
    cdrs = write_export(tmp_path / "cdrs.csv", rows)
    args = ("rate", "-c", str(config), "--cdr-file", str(cdrs), "--period", "2026-10")
    refused = invoke(*args, "--format", "csv")
    assert refused.exit_code == 5 and refused.stdout == ""
    assert "cdrs.csv line 2: huge: unreadable billsec '99999" in refused.stderr
    result = invoke(*args, "--format", "csv", "--skip-bad-rows")
    assert result.exit_code == 0
    assert "line 2: huge: unreadable billsec" in result.stderr
    assert [row["call_uuid"] for row in csv.DictReader(io.StringIO(result.stdout))] == ["fine"]


@pytest.mark.parametrize(
    "package",
    [
        "free_minutes = 1e400",
        'markup_percent = "12345678901234567890"',
        'special = [ { pattern = "a{99999999999}", type = "regex", mode = "flat_per_call" } ]',
    ],
)
def test_absurd_config_values_are_configuration_errors(tmp_path: Path, package: str) -> None:
    config = write_config(tmp_path, package)
    result = invoke(
        "rate",
        "-c",
        str(config),
        "--period",
        "2026-10",
        "--cdr-file",
        str(write_export(tmp_path / "cdrs.csv", [])),
    )
    assert result.exit_code == 3, result.stderr
    assert "packages -> paygo" in result.stderr
