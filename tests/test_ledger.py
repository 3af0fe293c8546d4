"""The billing ledger through `voipbill rate --commit` (rules §9), with real files and SQLite."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.cdrfactory import write_config
from tests.clirunner import invoke
from tests.ledgerbackends import Backend
from tests.ledgerhelpers import SERVICES, Billing, epoch, statuses, uuids


@pytest.fixture
def billing(tmp_path: Path, ledger_backend: Backend) -> Billing:
    setup = Billing(tmp_path, backend=ledger_backend)
    setup.add("oct-a", epoch(10, 3), billsec=61)
    setup.add("oct-b", epoch(10, 20), billsec=125)
    setup.add("oct-c", epoch(10, 31, 23, 30), billsec=30)
    setup.add("nov-a", epoch(11, 2), billsec=90)
    setup.add("nov-b", epoch(11, 20), billsec=12)
    return setup


def test_rerun_of_a_committed_period_writes_the_same_file_byte_for_byte(billing: Billing) -> None:
    billing.commit("2026-10", "oct-1.csv")
    second = billing.commit("2026-10", "oct-2.csv")
    assert billing.file("oct-1.csv") == billing.file("oct-2.csv")
    assert uuids(billing.file("oct-1.csv")) == ["oct-a", "oct-b", "oct-c"]
    assert "committed by run 1: nothing new to commit" in second.stderr
    # the rerun committed nothing new: one run, each call once
    assert billing.query("SELECT id, status FROM runs") == [(1, "committed")]
    assert billing.billed() == {u: ("2026-10", "rated") for u in ("oct-a", "oct-b", "oct-c")}


def test_rerun_preview_on_stdout_prints_the_committed_bytes(billing: Billing) -> None:
    billing.commit("2026-10", "oct.csv")
    preview = billing.rate("--period", "2026-10")
    assert preview.exit_code == 0
    assert preview.stdout.encode() == billing.file("oct.csv")


def test_rerun_after_a_deck_change_still_prints_the_committed_result(billing: Billing) -> None:
    committed = billing.commit("2026-10", "oct.csv")
    assert "committed run 1" in committed.stderr
    billing.write_config('markup_percent = "50"')  # every price changes
    rerun = billing.rate("--period", "2026-10")
    assert rerun.stdout.encode() == billing.file("oct.csv")
    assert "different result than committed run 1" in rerun.stderr
    assert "ledger void --run 1" in rerun.stderr


def test_the_ledger_records_the_run_totals_and_the_hash_of_the_file(billing: Billing) -> None:
    billing.commit("2026-10", "oct.csv")
    [(period, services, calls, amount, digest, fmt, detail)] = billing.query(
        "SELECT period, services, calls, amount, output_sha256, format, detail FROM runs"
    )
    assert (period, json.loads(str(services)), calls) == ("2026-10", ["mcon"], 3)
    assert digest == hashlib.sha256(billing.file("oct.csv")).hexdigest()
    assert (fmt, detail) == ("csv", "calls")
    # 61 s -> 66 s, 125 s -> 126 s, 30 s -> 30 s at 0.01/min: 0.011 + 0.021 + 0.005
    assert amount == "0.0370"


def test_a_call_committed_to_another_period_is_left_out_and_counted(billing: Billing) -> None:
    billing.commit("2026-10", "oct.csv")
    overlap = billing.rate("--from", "2026-10-15", "--to", "2026-11-15")
    assert overlap.exit_code == 0
    assert uuids(overlap.stdout) == ["nov-a"]
    assert "2 calls already billed in 2026-10" in overlap.stderr


def test_a_run_asks_the_ledger_about_its_calls_in_batches(
    billing: Billing, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voipbill.ledger.postgres import PostgresLedger
    from voipbill.ledger.sqlite import SqliteLedger

    billing.commit("2026-10", "oct.csv")
    batches: list[list[str]] = []
    for store in (SqliteLedger, PostgresLedger):
        real = store.billed_many

        def billed_many(self: Any, servers: Any, ids: Any, real: Any = real) -> Any:
            batches.append(sorted(ids))
            return real(self, servers, ids)

        def one_by_one(*args: object) -> None:
            raise AssertionError("a lookup of one call")

        monkeypatch.setattr(store, "billed_many", billed_many)
        monkeypatch.setattr(store, "billed", one_by_one)
    overlap = billing.rate("--from", "2026-10-15", "--to", "2026-11-15", "--late-days", "30")
    assert overlap.exit_code == 0, overlap.stderr
    assert uuids(overlap.stdout) == ["nov-a"]
    assert "2 calls already billed in 2026-10" in overlap.stderr
    assert batches == [["nov-a", "nov-b", "oct-a", "oct-b", "oct-c"]]  # one batch, every row


def test_overlapping_commits_bill_every_call_exactly_once(billing: Billing) -> None:
    billing.commit("2026-10", "oct.csv")
    mid = billing.rate(
        "--from",
        "2026-10-15",
        "--to",
        "2026-11-15",
        "--commit",
        "-o",
        str(billing.directory / "mid.csv"),
    )
    assert mid.exit_code == 0, mid.stderr
    # the window's calls are each recorded in their own month (rules §9): October is
    # committed already (oct-b, oct-c), so only nov-a is new, and it is billed in November
    assert "2 calls already committed" in mid.stderr  # oct-b and oct-c
    assert "warning" not in mid.stderr
    nov = billing.commit("2026-11", "nov.csv")
    # November's run lists nov-a as committed by the window's run, and bills nov-b
    assert uuids(billing.file("nov.csv")) == ["nov-a", "nov-b"]
    assert "1 call committed by earlier runs of 2026-11, 1 by this run" in nov.stderr
    assert "warning" not in nov.stderr
    assert billing.billed() == {
        "oct-a": ("2026-10", "rated"),
        "oct-b": ("2026-10", "rated"),
        "oct-c": ("2026-10", "rated"),
        "nov-a": ("2026-11", "rated"),
        "nov-b": ("2026-11", "rated"),
    }
    assert billing.query("SELECT run_id FROM calls WHERE xml_cdr_uuid = 'nov-a'") == [(2,)]


def test_a_late_cdr_is_billed_by_the_next_period_with_late_days(billing: Billing) -> None:
    billing.commit("2026-10", "oct.csv")
    # a CDR of 31 October reaches FusionPBX after October was committed
    billing.add("oct-late", epoch(10, 31, 22), billsec=60)
    rerun = billing.rate("--period", "2026-10")
    assert rerun.stdout.encode() == billing.file("oct.csv")  # still the committed month
    assert "1 call of 2026-10 is not in committed run 1" in rerun.stderr

    nov = billing.commit("2026-11", "nov.csv", "--late-days", "3")
    assert statuses(billing.file("nov.csv")) == {
        "oct-late": "late",
        "nov-a": "rated",
        "nov-b": "rated",
    }
    assert "1 late call from before 2026-11-01 billed in this run" in nov.stderr
    # oct-c (31 Oct, committed in October) is in the window but already billed: silently out
    assert "already billed in 2026-10" not in nov.stderr
    assert billing.billed()["oct-late"] == ("2026-11", "late")
    assert billing.query("SELECT late_calls FROM runs WHERE id = 2") == [(1,)]
    again = billing.commit("2026-11", "nov-again.csv", "--late-days", "3")
    assert billing.file("nov-again.csv") == billing.file("nov.csv")
    assert "nothing new to commit" in again.stderr


def test_late_days_do_not_reach_further_back_than_n_days(billing: Billing) -> None:
    billing.add("oct-27", epoch(10, 27), billsec=60)  # in no period, 5 days before November
    result = billing.rate("--period", "2026-11", "--late-days", "3")
    assert "oct-27" not in uuids(result.stdout)
    assert "oct-c" in uuids(result.stdout)  # 31 October: in the window, in no period yet


def test_a_preview_writes_nothing_but_reads_the_ledger(billing: Billing) -> None:
    preview = billing.rate("--period", "2026-10", "-o", str(billing.directory / "preview.csv"))
    assert preview.exit_code == 0
    assert not billing.ledger_exists() and not billing.ledger.parent.exists()
    billing.commit("2026-10", "oct.csv")
    sqlite = billing.backend.pg is None
    before = billing.ledger.read_bytes() if sqlite else billing.query("SELECT * FROM runs")
    nov_preview = billing.rate("--period", "2026-11", "--late-days", "3")
    assert uuids(nov_preview.stdout) == ["nov-a", "nov-b"]  # oct-c is October's
    after = billing.ledger.read_bytes() if sqlite else billing.query("SELECT * FROM runs")
    assert after == before
    assert billing.query("SELECT count(*) FROM runs") == [(1,)]


def test_a_commit_without_an_output_file_keeps_its_output_in_the_ledger(
    billing: Billing,
) -> None:
    result = billing.rate("--period", "2026-10", "--commit")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""  # rules §9: a commit without -o prints no data
    assert "committed run 1: 2026-10, 3 calls" in result.stderr
    assert "written to" not in result.stderr
    assert billing.query("SELECT output_path, calls FROM runs") == [("", 3)]
    # its rerun prints what it committed
    rerun = billing.rate("--period", "2026-10")
    assert uuids(rerun.stdout) == ["oct-a", "oct-b", "oct-c"]


def test_commit_to_stdout_is_refused(billing: Billing) -> None:
    result = billing.rate("--period", "2026-10", "--commit", "-o", "-")
    assert result.exit_code == 2
    assert "--commit writes its data to -o FILE, not to stdout" in result.stderr
    assert not billing.ledger_exists()


def test_void_releases_the_calls_so_the_period_can_be_rated_again(billing: Billing) -> None:
    billing.commit("2026-10", "oct.csv")
    billing.write_config('markup_percent = "100"')  # the deck fix
    voided = invoke("--config", str(billing.config), "ledger", "void", "--run", "1", "--yes")
    assert voided.exit_code == 0, voided.stderr
    assert "voided run 1" in voided.stderr
    assert billing.billed() == {}
    billing.commit("2026-10", "oct-fixed.csv")
    assert billing.file("oct-fixed.csv") != billing.file("oct.csv")
    assert billing.query("SELECT id, status, amount FROM runs ORDER BY id") == [
        (1, "voided", "0.0370"),
        (2, "committed", "0.0740"),
    ]
    assert set(billing.billed()) == {"oct-a", "oct-b", "oct-c"}
    shown = invoke("--config", str(billing.config), "ledger", "show", "--format", "json")
    document = json.loads(shown.stdout)
    assert [(r["run"], r["status"]) for r in document["runs"]] == [(1, "voided"), (2, "committed")]
    assert document["committed_amount"] == {"CAD": "0.0740"}  # voided runs count in no total


def test_void_needs_yes_when_stdin_is_not_a_terminal(billing: Billing) -> None:
    billing.commit("2026-10", "oct.csv")
    result = invoke("--config", str(billing.config), "ledger", "void", "--run", "1")
    assert result.exit_code == 2
    assert "--yes" in result.stderr
    assert billing.query("SELECT status FROM runs") == [("committed",)]


def test_void_of_an_unknown_or_voided_run_is_a_usage_error(billing: Billing) -> None:
    billing.commit("2026-10", "oct.csv")
    args = ("--config", str(billing.config), "ledger", "void", "--yes", "--run")
    assert invoke(*args, "7").exit_code == 2
    assert invoke(*args, "1").exit_code == 0
    again = invoke(*args, "1")
    assert again.exit_code == 2 and "already voided" in again.stderr


def test_ledger_show_lists_runs_per_service_with_filters(billing: Billing) -> None:
    billing.commit("2026-10", "oct.csv")
    billing.commit("2026-11", "nov.csv")
    table = invoke("--config", str(billing.config), "ledger", "show")
    assert table.exit_code == 0
    assert "2026-10" in table.stdout and "2026-11" in table.stdout
    # October 0.0370 + November (90 s: 0.015, 12 s: 0.002)
    assert "committed total: 0.0540 CAD" in table.stdout
    october = invoke(
        "--config", str(billing.config), "ledger", "show", "--period", "2026-10", "--format", "json"
    )
    assert [r["period"] for r in json.loads(october.stdout)["runs"]] == ["2026-10"]
    other = invoke(
        "--config", str(billing.config), "ledger", "show", "--service", "nobody", "--format", "json"
    )
    assert other.exit_code == 2  # a service neither configured nor in the ledger is a typo


def test_ledger_show_without_a_ledger_lists_nothing(billing: Billing) -> None:
    result = invoke("--config", str(billing.config), "ledger", "show", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["runs"] == []
    assert not billing.ledger_exists()


def test_quiet_commit_prints_nothing_on_success(billing: Billing) -> None:
    result = billing.rate(
        "-q", "--period", "2026-10", "--commit", "-o", str(billing.directory / "oct.csv")
    )
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_log_file_keeps_the_run_and_its_error_with_a_traceback(billing: Billing) -> None:
    log = billing.directory / "voipbill.log"
    billing.commit("2026-10", "oct.csv", "--log-file", str(log))
    failed = invoke(
        "--config",
        str(billing.config),
        "--log-file",
        str(log),
        "rate",
        "--cdr-file",
        str(billing.directory / "missing.csv"),
        "--period",
        "2026-11",
    )
    assert failed.exit_code == 2
    text = log.read_text()
    assert "rate 2026-10 for mcon" in text and "committed run 1" in text
    assert "Traceback" in text and "cannot read CDR file" in text


def test_strict_commit_with_unrated_calls_commits_nothing(billing: Billing) -> None:
    billing.add("oct-unrated", epoch(10, 5), destination_number="88213456789")
    result = billing.rate(
        "--period", "2026-10", "--strict", "--commit", "-o", str(billing.directory / "oct.csv")
    )
    assert result.exit_code == 1
    assert "nothing was committed" in result.stderr
    assert not (billing.directory / "oct.csv").exists()
    assert not billing.ledger_exists() or billing.query("SELECT id FROM runs") == []


def test_one_service_of_a_committed_all_run_is_shown_in_a_preview(billing: Billing) -> None:
    acme = """
[services.acme]
package = "paygo"
tenant = "acme.wat5.ictvoip.ca | 4165550199"
extensions = "3001"
"""
    services = SERVICES + acme + billing.ledger_toml()
    billing.config = write_config(billing.directory, services=services)
    billing.add("acme-a", epoch(10, 4), extension="3001")
    billing.commit("2026-10", "oct.csv", "--all")
    # rules §9 leaves out only calls committed to *another* period
    preview = billing.rate("--period", "2026-10", "--service", "mcon")
    assert preview.exit_code == 0
    assert uuids(preview.stdout) == ["oct-a", "oct-b", "oct-c"]
    assert "already billed" not in preview.stderr
    # a commit of the subset never takes those calls a second time
    again = billing.rate(
        "--period",
        "2026-10",
        "--service",
        "mcon",
        "--commit",
        "-o",
        str(billing.directory / "mcon.csv"),
    )
    assert again.exit_code == 0
    assert uuids(again.stdout + billing.file("mcon.csv").decode()) == []
    assert "3 calls already committed" in again.stderr
    assert "nothing new to commit, no run recorded" in again.stderr
    assert "warning" not in again.stderr
    assert billing.query("SELECT count(*) FROM calls") == [(4,)]
