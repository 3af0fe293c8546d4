"""`voipbill close --period` (rules §9): a month that has ended, committed as it went or not at
all, gets its run and invoice file; a month that has not ended cannot be closed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.clirunner import Result, invoke
from tests.ledgerhelpers import Billing, epoch, uuids
from voipbill import periods


@pytest.fixture
def billing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Billing:
    monkeypatch.setattr(periods, "today", lambda zone: date(2026, 11, 3))
    setup = Billing(tmp_path)
    setup.add("oct-03", epoch(10, 3), billsec=60)
    setup.add("oct-20", epoch(10, 20), billsec=60)
    setup.add("nov-01", epoch(11, 1), billsec=60)
    return setup


def close(setup: Billing, *args: str) -> Result:
    return invoke("--config", str(setup.config), "close", "--all", *args)


def test_close_bills_a_month_alone_like_a_monthly_commit(billing: Billing) -> None:
    once = billing.commit("2026-10", "commit.csv")
    assert once.exit_code == 0
    # a second operator, with a ledger of nights: close reads the CDRs and bills the rest
    (billing.directory / "other").mkdir()
    other = Billing(billing.directory / "other")
    other.rows = billing.rows
    night = other.rate("--from", "2026-10-03", "--to", "2026-10-03", "--commit")
    assert night.exit_code == 0, night.stderr
    cdrs = other.directory / "cdrs.csv"
    closed = close(
        other,
        "--period",
        "2026-10",
        "--cdr-file",
        str(cdrs),
        "-o",
        str(other.directory / "oct.csv"),
    )
    assert closed.exit_code == 0, closed.stderr
    assert "closed 2026-10 by run 2" in closed.stderr
    assert other.file("oct.csv") == billing.file("commit.csv")
    assert uuids(other.file("oct.csv")) == ["oct-03", "oct-20"]


def test_close_from_the_ledger_reads_no_cdrs(billing: Billing) -> None:
    for day in ("2026-10-03", "2026-10-20"):
        assert billing.rate("--from", day, "--to", day, "--commit").exit_code == 0
    out = billing.directory / "oct.csv"
    closed = close(billing, "--period", "2026-10", "--from-ledger", "-o", str(out))
    assert closed.exit_code == 0, closed.stderr
    assert uuids(out.read_bytes()) == ["oct-03", "oct-20"]
    assert "warning" not in closed.stderr
    # again: the month's run is there; its file is written again, the same bytes
    again = close(billing, "--period", "2026-10", "--from-ledger", "-o", str(out) + ".2")
    assert again.exit_code == 0, again.stderr
    assert "was closed by run 3" in again.stderr
    assert Path(str(out) + ".2").read_bytes() == out.read_bytes()
    assert billing.query("SELECT count(*) FROM runs") == [(3,)]


def test_a_month_that_has_not_ended_cannot_be_closed(billing: Billing) -> None:
    out = billing.directory / "nov.csv"
    result = close(billing, "--period", "2026-11", "--from-ledger", "-o", str(out))
    assert result.exit_code == 2
    assert "2026-11 has not ended: it can be closed from 2026-12-01" in result.stderr
    assert not out.exists() and not billing.ledger_exists()


def test_close_needs_an_output_file_and_a_period(billing: Billing) -> None:
    assert close(billing, "--period", "2026-10", "--from-ledger").exit_code == 2
    assert close(billing, "--from-ledger", "-o", "x.csv").exit_code == 2
