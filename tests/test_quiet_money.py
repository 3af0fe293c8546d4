"""`-q` silences information, never a warning about money (rules §7): each of these is one
warning line on stderr even with -q, so cron mail is empty only when nothing needs a look."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.cdrfactory import cdr, write_config, write_export
from tests.clirunner import invoke
from tests.ledgerhelpers import Billing, epoch


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def test_quiet_still_warns_of_unrated_calls_in_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    rows = [cdr(destination_number="88213456789"), cdr(destination_number="88213456780")]
    result = invoke(
        "-q", "rate", "-c", str(config), "--cdr-file", str(write_export(tmp_path / "c.csv", rows)),
        "--period", "2026-10", "--format", "csv",
    )  # fmt: skip
    assert result.exit_code == 0
    [line] = warnings(result.stderr)
    assert line.startswith("warning: 2 calls unrated")


def test_quiet_still_warns_of_skipped_rows_in_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    rows = [cdr(xml_cdr_uuid=f"bad-{n}", billsec="soon") for n in range(7)] + [cdr()]
    result = invoke(
        "-q", "rate", "-c", str(config), "--cdr-file", str(write_export(tmp_path / "c.csv", rows)),
        "--period", "2026-10", "--format", "csv", "--skip-bad-rows",
    )  # fmt: skip
    [line] = warnings(result.stderr)
    assert line.startswith("warning: 7 bad CDR rows skipped (unreadable: their calls are left out)")
    assert "line 2: bad-0: unreadable billsec 'soon'" in line and "also " in line
    assert line.endswith("c.csv line 7, 8")


def test_quiet_still_warns_of_calls_already_billed_and_held_back(tmp_path: Path) -> None:
    setup = Billing(tmp_path)
    setup.add("oct-a", epoch(10, 3))
    setup.add("oct-b", epoch(10, 20))
    setup.add("nov-a", epoch(11, 2))
    setup.commit("2026-10", "oct.csv", "-q")
    overlap = setup.rate("-q", "--from", "2026-10-15", "--to", "2026-11-15")
    assert warnings(overlap.stderr) == ["warning: 1 call already billed in 2026-10: left out"]

    setup.add("oct-late", epoch(10, 25))  # reached FusionPBX after the commit
    rerun = setup.rate("-q", "--period", "2026-10")
    [line] = warnings(rerun.stderr)
    assert line.startswith("warning: 1 call of 2026-10 is not in committed run 1")


def test_quiet_still_warns_of_late_calls_billed(tmp_path: Path) -> None:
    setup = Billing(tmp_path)
    setup.add("oct-31", epoch(10, 31, 23, 30))  # in no committed period yet
    setup.add("nov-a", epoch(11, 2))
    result = setup.commit("2026-11", "nov.csv", "-q", "--late-days", "3")
    [line] = warnings(result.stderr)
    assert line == "warning: 1 late call from before 2026-11-01 billed in this run (status late)"
    statuses = {
        row["call_uuid"]: row["status"]
        for row in csv.DictReader(io.StringIO(setup.file("nov.csv").decode()))
    }
    assert statuses == {"oct-31": "late", "nov-a": "rated"}


def test_quiet_hides_information_lines(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    rows = [cdr(leg="b"), cdr()]  # a dropped b-leg is information, not money
    result = invoke(
        "-q", "rate", "-c", str(config), "--cdr-file", str(write_export(tmp_path / "c.csv", rows)),
        "--period", "2026-10", "--format", "json",
    )  # fmt: skip
    assert (result.exit_code, result.stderr) == (0, "")
    assert len(json.loads(result.stdout)["calls"]) == 1
    loud = invoke(
        "rate", "-c", str(config), "--cdr-file", str(tmp_path / "c.csv"), "--period", "2026-10",
        "--format", "json",
    )  # fmt: skip
    assert "dropped 1 b-legs" in loud.stderr
