"""A committed period is never re-priced (rules §9): after a deck or markup change, a rerun in
any format and detail shows the committed calls and amounts, with one warning saying how many
calls and how much money rating now differs by."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest

from tests.cdrfactory import write_config
from tests.clirunner import invoke
from tests.ledgerbackends import Backend
from tests.ledgerhelpers import SERVICES, Billing, epoch
from voipbill import billing, config
from voipbill.ledger import open_ledger
from voipbill.ledger.sqlite.migrations import MIGRATIONS
from voipbill.periods import resolve_period

# Deck row 1 (Canada/US): 0.0100/min, 6/6; no markup; costs rounded to 4 decimals.
#   oct-a  61 s -> 66 s  x 0.0100/60 = 0.0110
#   oct-b 125 s -> 126 s x 0.0100/60 = 0.0210
#   oct-c  30 s -> 30 s  x 0.0100/60 = 0.0050      committed total 0.0370, 222 s = 3.70 min
# With markup_percent = "50" the rate is 0.0150/min: 0.0165 + 0.0315 + 0.0075 = 0.0555.
COMMITTED_COSTS = {"oct-a": "0.0110", "oct-b": "0.0210", "oct-c": "0.0050"}


@pytest.fixture
def repriced(tmp_path: Path, ledger_backend: Backend) -> Billing:
    """October committed at the old price, then the markup raised by 50%, on either ledger."""
    setup = Billing(tmp_path, backend=ledger_backend)
    setup.add("oct-a", epoch(10, 3), billsec=61)
    setup.add("oct-b", epoch(10, 20), billsec=125)
    setup.add("oct-c", epoch(10, 31, 23, 30), billsec=30)
    setup.commit("2026-10", "oct.csv")
    setup.write_config('markup_percent = "50"')
    return setup


def the_one_warning(stderr: str) -> str:
    warnings = [line for line in stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, stderr
    return warnings[0]


@pytest.mark.parametrize("quiet", [False, True])
@pytest.mark.parametrize("output_format", ["csv", "json", "table"])
@pytest.mark.parametrize("detail", ["calls", "summary"])
def test_a_rerun_after_a_markup_change_shows_the_committed_amounts(
    repriced: Billing, output_format: str, detail: str, quiet: bool
) -> None:
    args = ["--period", "2026-10", "--format", output_format, "--detail", detail]
    result = repriced.rate(*(["-q"] if quiet else []), *args)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    if output_format == "table":
        assert "0.0370" in out
    elif output_format == "csv" and detail == "calls":
        assert out.encode() == repriced.file("oct.csv")  # the committed bytes
        rows = list(csv.DictReader(io.StringIO(out)))
        assert {row["call_uuid"]: row["cost"] for row in rows} == COMMITTED_COSTS
        assert {row["rate"] for row in rows} == {"0.01"}
    elif output_format == "csv":
        [total] = [row for row in csv.DictReader(io.StringIO(out)) if row["category"] == "total"]
        assert (total["calls"], total["billed_minutes"], total["amount"]) == ("3", "3.70", "0.0370")
    elif detail == "calls":
        calls = json.loads(out)["calls"]
        assert {call["call_uuid"]: call["cost"] for call in calls} == COMMITTED_COSTS
    else:
        [total] = [row for row in json.loads(out)["summary"] if row["category"] == "total"]
        assert (total["calls"], total["amount"]) == (3, "0.0370")
    assert "0.0555" not in out and "0.0165" not in out  # never the price of now
    warning = the_one_warning(result.stderr)
    for expected in ("committed run 1", "for 3 calls", "0.0555", "0.0370", "ledger void --run 1"):
        assert expected in warning


def test_a_commit_of_the_summary_keeps_every_call_for_a_rerun_in_calls_detail(
    tmp_path: Path,
) -> None:
    setup = Billing(tmp_path)
    setup.add("oct-a", epoch(10, 3), billsec=61)
    setup.add("oct-b", epoch(10, 20), billsec=125)
    setup.add("oct-c", epoch(10, 31, 23, 30), billsec=30)
    setup.commit("2026-10", "oct-summary.csv", "--detail", "summary")
    setup.write_config('markup_percent = "50"')
    rerun = setup.rate("--period", "2026-10", "--detail", "calls")
    rows = list(csv.DictReader(io.StringIO(rerun.stdout)))
    assert {row["call_uuid"]: row["cost"] for row in rows} == COMMITTED_COSTS
    assert "for 3 calls" in the_one_warning(rerun.stderr)


def test_a_rerun_that_rates_the_same_says_nothing(repriced: Billing) -> None:
    repriced.write_config()  # the markup back as it was committed
    result = repriced.rate("--period", "2026-10", "--format", "json", "--detail", "summary")
    assert result.exit_code == 0
    assert "warning" not in result.stderr


def test_a_commit_rerun_after_a_markup_change_writes_the_committed_file(
    repriced: Billing,
) -> None:
    again = repriced.commit("2026-10", "oct-again.csv", "--detail", "summary")
    [total] = [
        row
        for row in csv.DictReader(io.StringIO(repriced.file("oct-again.csv").decode()))
        if row["category"] == "total"
    ]
    assert total["amount"] == "0.0370"
    assert "nothing new to commit" in again.stderr
    assert repriced.query("SELECT count(*) FROM runs") == [(1,)]


def test_explain_shows_the_committed_price_first_then_the_price_now(repriced: Billing) -> None:
    cdrs = repriced.directory / "cdrs.csv"
    result = invoke(
        "--config", str(repriced.config), "explain", "--service", "mcon", "--uuid", "oct-a",
        "--cdr-file", str(cdrs), "--period", "2026-10",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    committed, now = text.index("Committed row: run 1"), text.index("Rated now")
    # the committed cost first, before any step that prices the call now
    assert committed < text.index("0.0110") < text.index("0.0165") < now
    assert text.rindex("0.0165") > now  # and the row rating gives now, last
    # piped, each title is one whole line, longer than its table as it may be, and no line
    # is padded with spaces
    lines = text.splitlines()
    assert any(
        line.startswith("Committed row: run 1 (2026-10, committed ") and line.endswith(")")
        for line in lines
    )
    assert "Rated now (differs from the committed row above)" in lines
    assert all(line == line.rstrip() for line in lines)


def test_committed_reads_a_period_from_the_ledger_alone(repriced: Billing) -> None:
    settings = config.load(repriced.config)
    october = resolve_period(settings.timezone, from_day=None, to_day=None, month="2026-10")
    assert october is not None
    with open_ledger(settings, commit=False, lock_timeout=0) as ledger:
        result = billing.committed(settings, list(settings.services.values()), october, ledger)
    assert result is not None and not result.fresh
    assert result.reproduced is not None and result.reproduced.id == 1
    [service] = result.services
    assert str(service.total.amount) == "0.0370"
    assert [call.call_uuid for call in service.calls()] == ["oct-a", "oct-b", "oct-c"]


def test_a_version_1_ledger_is_upgraded_by_a_commit_and_keeps_its_runs(tmp_path: Path) -> None:
    setup = Billing(tmp_path)
    setup.add("oct-a", epoch(10, 3), billsec=61)
    setup.add("nov-a", epoch(11, 3), billsec=61)
    setup.ledger.parent.mkdir(parents=True)
    with sqlite3.connect(setup.ledger) as connection:
        connection.executescript(MIGRATIONS[0][1] + "PRAGMA user_version = 1;")
    setup.commit("2026-11", "nov.csv")
    assert setup.query("PRAGMA user_version") == [(len(MIGRATIONS),)]
    assert setup.query("SELECT run_id FROM run_rows") == [(1,)]


class TwoServices(Billing):
    """mcon (2112-2114) and acme (3001), both on the paygo package."""

    def write_config(self, package: str = "") -> Path:
        ledger = f'\n[ledger]\npath = "{self.ledger}"\n'
        acme = """
[services.acme]
package = "paygo"
tenant = "acme.wat5.ictvoip.ca | 4165550199"
extensions = "3001"
"""
        self.config = write_config(self.directory, package, services=SERVICES + acme + ledger)
        return self.config


def test_one_service_of_an_all_commit_is_shown_as_committed_not_priced_again(
    tmp_path: Path,
) -> None:
    setup = TwoServices(tmp_path)
    setup.add("oct-a", epoch(10, 3), billsec=61)
    setup.add("oct-b", epoch(10, 20), billsec=125)
    setup.add("oct-c", epoch(10, 31, 23, 30), billsec=30)
    setup.add("acme-1", epoch(10, 5), billsec=60, extension="3001")  # 60 s x 0.0100 = 0.0100
    setup.commit("2026-10", "oct.csv", "--all")
    setup.write_config('markup_percent = "50"')
    result = setup.rate("-q", "--period", "2026-10", "--service", "mcon", "--detail", "calls")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {row["call_uuid"]: row["cost"] for row in rows} == COMMITTED_COSTS
    warning = the_one_warning(result.stderr)
    for expected in ("committed run 1", "for 3 calls", "0.0555", "0.0370", "ledger void --run 1"):
        assert expected in warning
