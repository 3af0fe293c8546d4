"""Free minutes are one allowance per service per calendar month (in the config timezone): each
call draws on its own month's, and what committed runs gave in a month is used up."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

from tests.clirunner import invoke
from tests.ledgerhelpers import Billing, epoch

# The test deck prices 1… at 0.0100 a minute, 6/6 increments, no markup: a 60 s call is 0.0100.


def rows(result_csv: bytes | str) -> dict[str, tuple[str, str]]:
    text = result_csv.decode() if isinstance(result_csv, bytes) else result_csv
    return {
        row["call_uuid"]: (row["free_seconds"], row["cost"])
        for row in csv.DictReader(io.StringIO(text))
    }


def setup(tmp_path: Path, free_minutes: int) -> Billing:
    billing = Billing(tmp_path)
    billing.write_config(f"free_minutes = {free_minutes}")
    return billing


def test_two_half_month_commits_share_one_allowance(tmp_path: Path) -> None:
    billing = setup(tmp_path, 4)  # 240 free seconds for October
    billing.add("oct-03", epoch(10, 3), billsec=120)
    billing.add("oct-10", epoch(10, 10), billsec=60)
    billing.add("oct-20", epoch(10, 20), billsec=120)
    billing.add("oct-25", epoch(10, 25), billsec=60)
    billing.rate(
        "--from", "2026-10-01", "--to", "2026-10-15", "--commit", "-o", str(tmp_path / "a.csv")
    )
    # first half: 120 + 60 = 180 free seconds, 60 left
    assert rows(billing.file("a.csv")) == {"oct-03": ("120", "0.0000"), "oct-10": ("60", "0.0000")}
    billing.rate(
        "--from", "2026-10-16", "--to", "2026-10-31", "--commit", "-o", str(tmp_path / "b.csv")
    )
    # second half: the 60 left go to oct-20, which pays its other 60 s (0.0100); oct-25 pays all
    assert rows(billing.file("b.csv")) == {"oct-20": ("60", "0.0100"), "oct-25": ("0", "0.0100")}


def test_a_late_call_draws_on_its_own_month(tmp_path: Path) -> None:
    billing = setup(tmp_path, 2)  # 120 free seconds a month
    billing.add("oct-10", epoch(10, 10), billsec=120)
    billing.commit("2026-10", "oct.csv")
    assert rows(billing.file("oct.csv")) == {"oct-10": ("120", "0.0000")}  # October used up
    billing.add("oct-31", epoch(10, 31, 23, 30), billsec=60)  # reached FusionPBX late
    billing.add("nov-02", epoch(11, 2), billsec=120)
    billing.commit("2026-11", "nov.csv", "--late-days", "3")
    # the late call has nothing left in October: it pays 0.0100; November's 120 s are whole
    assert rows(billing.file("nov.csv")) == {"oct-31": ("0", "0.0100"), "nov-02": ("120", "0.0000")}


def test_a_run_over_two_months_uses_each_months_allowance(tmp_path: Path) -> None:
    billing = setup(tmp_path, 1)  # no ledger yet: every month starts full
    billing.add("oct-30", epoch(10, 30), billsec=90)
    billing.add("nov-02", epoch(11, 2), billsec=90)
    result = billing.rate("--from", "2026-10-20", "--to", "2026-11-10")
    assert result.exit_code == 0, result.stderr
    # each: 90 s billed, 60 free, 30 s paid = 0.0050
    assert rows(result.stdout) == {"oct-30": ("60", "0.0050"), "nov-02": ("60", "0.0050")}


def test_a_voided_run_gives_its_free_seconds_back(tmp_path: Path) -> None:
    billing = setup(tmp_path, 1)
    billing.add("oct-03", epoch(10, 3), billsec=60)
    billing.rate(
        "--from", "2026-10-01", "--to", "2026-10-15", "--commit", "-o", str(tmp_path / "a.csv")
    )
    billing.add("oct-20", epoch(10, 20), billsec=60)
    later = billing.rate("--from", "2026-10-16", "--to", "2026-10-31")
    assert rows(later.stdout) == {"oct-20": ("0", "0.0100")}
    voided = invoke("--config", str(billing.config), "ledger", "void", "--run", "1", "--yes")
    assert voided.exit_code == 0, voided.stderr
    again = billing.rate("--from", "2026-10-16", "--to", "2026-10-31")
    assert rows(again.stdout) == {"oct-20": ("60", "0.0000")}


def test_a_rerun_of_a_committed_period_matches_it(tmp_path: Path) -> None:
    billing = setup(tmp_path, 1)
    billing.add("oct-03", epoch(10, 3), billsec=60)
    billing.commit("2026-10", "oct.csv")
    rerun = billing.rate("--period", "2026-10", "--detail", "summary")
    assert rerun.exit_code == 0 and "differen" not in rerun.stderr, rerun.stderr


def test_a_run_committed_before_free_seconds_were_recorded_counts_from_its_calls(
    tmp_path: Path,
) -> None:
    billing = setup(tmp_path, 1)
    billing.add("oct-03", epoch(10, 3), billsec=60)
    first_half = str(tmp_path / "a.csv")
    billing.rate("--from", "2026-10-01", "--to", "2026-10-15", "--commit", "-o", first_half)
    with sqlite3.connect(billing.ledger) as connection:  # as an older voipbill left it
        connection.execute("DROP TABLE run_free_seconds")
    connection.close()
    billing.add("oct-20", epoch(10, 20), billsec=60)
    later = billing.rate("--from", "2026-10-16", "--to", "2026-10-31")
    assert rows(later.stdout) == {"oct-20": ("0", "0.0100")}
