"""The PostgreSQL ledger with several hosts at once: the advisory run lock and the race on a
call's (server, xml_cdr_uuid) key, with real processes against a real PostgreSQL."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.cdrfactory import write_export
from tests.clirunner import invoke
from tests.ledgerbackends import Backend
from tests.ledgerhelpers import Billing, epoch, rated_call, uuids
from tests.pgserver import PgServer
from voipbill.periods import make_period

ROOT = Path(__file__).resolve().parent.parent

HOLD_LOCK = """
import sys, time, psycopg
from voipbill.ledger.postgres.connect import RUN_LOCK
with psycopg.connect(sys.argv[1], autocommit=True) as connection:
    connection.execute("SELECT pg_advisory_lock(%s)", (RUN_LOCK,))
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""

# One host's commit of the calls in argv[3] (comma-separated uuids), bypassing the run lock as
# a second program or an older voipbill might. With argv[4] = "slow" it stops inside its open
# transaction, after claiming its calls, until the file `go` exists; "fail" then fails it.
COMMIT = """
import sys, time
from decimal import Decimal
from pathlib import Path
from voipbill.ledger import commit
from voipbill.config import PostgresSettings
from voipbill.errors import VoipbillError
from voipbill.ledger.postgres.connect import RaceLostError
from voipbill.ledger.postgres import PostgresLedger
from voipbill.ledger.records import LedgerCall, RunSelection
from voipbill.periods import make_period
from tests.ledgerhelpers import rated_call
from datetime import date
from zoneinfo import ZoneInfo

conninfo, out, calls, mode = sys.argv[1], Path(sys.argv[2]), sys.argv[3].split(","), sys.argv[4]
real_write = commit.write_output

def write_output(path, text):
    print("claimed", flush=True)
    while not (path.parent / "go").exists():
        time.sleep(0.02)
    if mode == "fail":
        raise OSError(28, "No space left on device")
    real_write(path, text)

if mode != "plain":
    commit.write_output = write_output
store = PostgresLedger.open(PostgresSettings(conninfo), create=True)
period = make_period(date(2026, 10, 1), date(2026, 10, 31), ZoneInfo("America/Toronto"))
selection = RunSelection(period, ("mcon",), 0, "csv", "calls")
rows = [LedgerCall("wat5", rated_call(u)) for u in calls]
try:
    run = commit.commit_run(store, selection, rows, "CAD", out, "\\n".join(calls) + "\\n")
    print("run", run, flush=True)
except RaceLostError as exc:
    print("lost", " ".join(sorted(c.xml_cdr_uuid for c in exc.lost)), flush=True)
    sys.exit(6)
except VoipbillError:  # the failed write
    sys.exit(2)
"""


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def commit_process(pg: PgServer, out: Path, calls: list[str], mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        python("-c", COMMIT, pg.conninfo(), str(out), ",".join(calls), mode),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_host_that_loses_the_race_commits_none_of_its_calls(pg: PgServer, tmp_path: Path) -> None:
    first = commit_process(pg, tmp_path / "a.csv", ["c1", "c2", "c3"], "slow")
    assert first.stdout is not None and first.stdout.readline().strip() == "claimed"
    # the first host's transaction is open with c1..c3 claimed; the second host rated the same
    # period before that commit, so it found c2 and c3 unbilled too
    second = commit_process(pg, tmp_path / "b.csv", ["c2", "c3", "c4"], "plain")
    time.sleep(0.5)
    assert second.poll() is None  # it waits for the first transaction
    (tmp_path / "go").touch()
    out_first, err_first = first.communicate(timeout=30)
    out_second, err_second = second.communicate(timeout=30)
    assert (first.returncode, out_first.strip()) == (0, "run 1"), err_first
    assert (second.returncode, out_second.strip()) == (6, "lost c2 c3"), err_second
    rows = pg.execute("SELECT xml_cdr_uuid, run_id FROM voipbill.calls ORDER BY 1")
    assert rows == [("c1", 1), ("c2", 1), ("c3", 1)]  # c4 waits for the loser's next run
    assert pg.execute("SELECT count(*) FROM voipbill.runs") == [(1,)]
    assert not (tmp_path / "b.csv").exists()  # the loser wrote no file


def test_when_the_first_host_rolls_back_the_second_bills_the_calls(
    pg: PgServer, tmp_path: Path
) -> None:
    first = commit_process(pg, tmp_path / "a.csv", ["c1", "c2"], "fail")
    assert first.stdout is not None and first.stdout.readline().strip() == "claimed"
    second = commit_process(pg, tmp_path / "b.csv", ["c2", "c3"], "plain")
    time.sleep(0.3)
    (tmp_path / "go").touch()
    assert first.wait(timeout=30) == 2
    out_second, err_second = second.communicate(timeout=30)
    assert (second.returncode, out_second.strip()) == (0, "run 1"), err_second
    rows = pg.execute("SELECT xml_cdr_uuid, run_id FROM voipbill.calls ORDER BY 1")
    assert rows == [("c2", 1), ("c3", 1)]


@pytest.fixture
def billing(tmp_path: Path, pg: PgServer) -> Billing:
    setup = Billing(tmp_path, backend=Backend("postgresql", pg))
    for day in range(1, 29):
        setup.add(f"oct-{day}", epoch(10, day))
    for day in range(1, 16):
        setup.add(f"nov-{day}", epoch(11, day))
    write_export(tmp_path / "cdrs.csv", setup.rows)
    return setup


def voipbill(billing: Billing, out: str, *args: str) -> subprocess.Popen[str]:
    """`voipbill rate … --commit` in a process of its own, as a second host runs it."""
    assert billing.backend.pg is not None
    return subprocess.Popen(
        [
            *python("-m", "voipbill"),
            *("--config", str(billing.config), "rate", "--commit"),
            *(
                "--cdr-file",
                str(billing.directory / "cdrs.csv"),
                "-o",
                str(billing.directory / out),
            ),
            *args,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def hold_lock(billing: Billing, seconds: float) -> subprocess.Popen[str]:
    assert billing.backend.pg is not None
    holder = subprocess.Popen(
        python("-c", HOLD_LOCK, billing.backend.pg.conninfo(), str(seconds)),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def test_a_run_while_another_host_holds_the_lock_exits_6(billing: Billing) -> None:
    holder = hold_lock(billing, 30)
    try:
        out = str(billing.directory / "oct.csv")
        result = billing.rate("--period", "2026-10", "--commit", "-o", out)
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 6
    assert "another voipbill run holds the ledger lock of postgresql host=" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (billing.directory / "oct.csv").exists()
    # the killed holder's session ended, and its lock with it
    billing.commit("2026-10", "oct.csv")


def test_lock_timeout_waits_for_the_other_host(billing: Billing) -> None:
    holder = hold_lock(billing, 0.5)
    out = str(billing.directory / "oct.csv")
    result = billing.rate("--period", "2026-10", "--commit", "-o", out, "--lock-timeout", "20")
    holder.wait()
    assert result.exit_code == 0, result.stderr


def test_two_hosts_committing_overlapping_periods_bill_each_call_once(billing: Billing) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        october, overlap = pool.map(
            lambda job: voipbill(billing, *job).communicate(timeout=60),
            [
                ("oct.csv", "--period", "2026-10", "--lock-timeout", "30"),
                ("mid.csv", "--from", "2026-10-15", "--to", "2026-11-15", "--lock-timeout", "30"),
            ],
        )
    listed = set(uuids(billing.file("oct.csv")) + uuids(billing.file("mid.csv")))
    assert len(listed) == 28 + 15, october[1] + overlap[1]
    ledger = [str(u) for (u,) in billing.query("SELECT xml_cdr_uuid FROM calls")]
    assert len(ledger) == len(set(ledger)) and set(ledger) == listed  # each call billed once
    assert billing.query("SELECT count(*) FROM runs") == [(2,)]
    # whichever ran second left the other's calls out, or (October's run, second) listed the
    # October calls the window's run committed as committed, and said so
    said = october[1] + overlap[1]
    assert "calls already committed" in said or "committed by earlier runs" in said


def test_ledger_show_prints_the_same_on_both_backends(tmp_path: Path, pg: PgServer) -> None:
    shown = []
    for backend in (Backend(), Backend("postgresql", pg)):
        (tmp_path / backend.name).mkdir()
        setup = Billing(tmp_path / backend.name, backend=backend)
        setup.add("oct-a", epoch(10, 3), billsec=61)
        setup.add("nov-a", epoch(11, 2), billsec=90)
        setup.commit("2026-10", "oct.csv")
        export = write_export(setup.directory / "cdrs.csv", setup.rows)
        text = export.read_text()
        export.write_text(text + text.splitlines()[1][:40])  # a cut-off last line: a bad row
        nov = invoke(
            "--config", str(setup.config), "rate", "--cdr-file", str(export), "--format", "csv",
            "--period", "2026-11", "--commit", "-o", str(setup.directory / "nov.csv"),
            "--skip-bad-rows",
        )  # fmt: skip
        assert nov.exit_code == 0, nov.stderr
        void = invoke(
            "--config", str(setup.config), "ledger", "void", "-y", "--run", "1", "--reason", "typo"
        )
        assert void.exit_code == 0, void.stderr
        table = invoke("--config", str(setup.config), "ledger", "show").stdout
        # the title names the ledger; the created minute may tick between the two
        body = table[table.index(" run ") :]
        body = body.replace(str(setup.directory), "<dir>")
        shown.append(re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d", "<created>", body))
    assert shown[0] == shown[1]
    assert "voided" in shown[0] and "committed total: 0.0150 CAD" in shown[0]
    assert "typo" in shown[0]  # the reason it was voided
    # the rows --skip-bad-rows left out, kept by PostgreSQL too
    assert "run 2 skipped 1 bad CDR rows (--skip-bad-rows): <dir>/cdrs.csv line 4" in shown[0]


def test_many_calls_are_committed_and_looked_up(pg: PgServer, tmp_path: Path) -> None:
    """COPY and the ON CONFLICT claim with some volume; `billed_many` in one round trip."""
    from voipbill.ledger.commit import commit_run
    from voipbill.ledger.postgres import PostgresLedger
    from voipbill.ledger.records import LedgerCall, RunSelection
    from voipbill.periods import parse_month

    zone = ZoneInfo("America/Toronto")
    first, last = parse_month("2026-10")
    selection = RunSelection(make_period(first, last, zone), ("mcon",), 0, "csv", "calls")
    calls = [LedgerCall("wat5", rated_call(f"u{i:06d}")) for i in range(20_000)]
    store = PostgresLedger.open(Backend("postgresql", pg).settings, create=True)
    assert store is not None
    with store:
        assert commit_run(store, selection, calls, "CAD", tmp_path / "big.csv", "big\n") == 1
        found = store.billed_many(["wat5", "other"], ["u000000", "u019999", "nope"])
        assert found == {("wat5", "u000000"): (1, "2026-10"), ("wat5", "u019999"): (1, "2026-10")}
        assert store.billed("wat5", "u000123") == (1, "2026-10")
        assert store.billed("wat5", "nope") is None
        [record] = store.runs()
        assert (record.calls, record.amount) == (20_000, Decimal("200.0000"))
        committed = store.committed_calls(1)
        assert committed is not None and committed[19_999] == rated_call("u019999")


def test_a_version_1_ledger_is_upgraded_by_a_commit(pg: PgServer, tmp_path: Path) -> None:
    """A ledger of the first PostgreSQL voipbill (no run_rows, no void reasons) is brought to
    the newest version by the next commit, which then keeps its calls for reruns."""
    from voipbill.ledger.postgres.migrations import MIGRATIONS

    pg.execute(MIGRATIONS[0][1] + "INSERT INTO voipbill.ledger_version VALUES (1);")
    setup = Billing(tmp_path, backend=Backend("postgresql", pg))
    setup.add("oct-a", epoch(10, 3))
    assert setup.commit("2026-10", "oct.csv").exit_code == 0
    assert pg.execute("SELECT version FROM voipbill.ledger_version") == [(len(MIGRATIONS),)]
    assert pg.execute("SELECT run_id FROM voipbill.run_rows") == [(1,)]
