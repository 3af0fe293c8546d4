"""Numbered migrations (voipbill.ledger.migrations): a ledger written by the previous voipbill
(schema version 2, files under tests/data/ledger_v2/ made by it) is upgraded in place by the
first writing run, on both backends, and keeps every run, call, void reason, skipped row and
journal line; a migration that fails leaves the ledger as it was."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.clirunner import invoke
from tests.ledgerbackends import Backend
from tests.ledgerhelpers import TORONTO, Billing, epoch
from tests.pgserver import PgServer
from voipbill.config import load
from voipbill.ledger import migrations, open_ledger
from voipbill.ledger.postgres.migrations import MIGRATIONS as POSTGRES
from voipbill.ledger.sqlite.migrations import MIGRATIONS as SQLITE

DATA = Path(__file__).parent / "data" / "ledger_v2"
LATEST = migrations.latest(SQLITE)
# what the v2 ledgers hold (made by voipbill 21c233b with free_minutes = 1): October committed
# with one bad CDR row skipped (run 1), November committed (run 2), voided "wrong deck", and
# committed again (run 3); in the SQLite one, three journal lines
V2_RUNS = [
    (1, "2026-10", "committed", "0.0220", None),
    (2, "2026-11", "voided", "0.0070", "wrong deck"),
    (3, "2026-11", "committed", "0.0070", None),
]
V2_CALLS = {
    ("oct-a", "2026-10", 1),
    ("oct-b", "2026-10", 1),
    ("nov-a", "2026-11", 3),
    ("nov-b", "2026-11", 3),
}


def test_each_list_is_numbered_one_by_one() -> None:
    for found in (SQLITE, POSTGRES):  # the same numbers on both backends
        assert [number for number, _ in found] == list(range(1, LATEST + 1))
    with pytest.raises(AssertionError, match="numbered"):
        migrations.check([(1, ""), (3, "")])
    assert migrations.pending(SQLITE, 2) == SQLITE[2:]
    assert LATEST >= 3  # 3: what this ledger was made for (journal, ledger_id, ...)


def test_a_migration_splits_into_its_statements() -> None:
    sql = "CREATE TABLE a (x int);\nINSERT INTO a\n    VALUES (1);\n\n"
    assert migrations.statements(sql) == ["CREATE TABLE a (x int)", "INSERT INTO a\n    VALUES (1)"]


@pytest.fixture
def v2(tmp_path: Path, ledger_backend: Backend) -> Billing:
    """The v2 ledger of the backend, and November's calls again plus a December one to commit."""
    billing = Billing(tmp_path, backend=ledger_backend)
    billing.write_config("free_minutes = 1")
    if ledger_backend.pg is None:
        billing.ledger.parent.mkdir(parents=True)
        shutil.copy(DATA / "ledger.sqlite", billing.ledger)
    else:
        ledger_backend.pg.execute((DATA / "ledger-postgresql.sql").read_text())
    billing.add("nov-a", epoch(11, 2), billsec=90)
    billing.add("dec-a", epoch(12, 3), billsec=61)
    return billing


def version(billing: Billing) -> int:
    if billing.backend.pg is None:
        [(found,)] = billing.query("PRAGMA user_version")
    else:
        [(found,)] = billing.query("SELECT version FROM ledger_version")
    return int(str(found))


def show(billing: Billing) -> dict[str, Any]:
    result = invoke("--config", str(billing.config), "ledger", "show", "--format", "json")
    assert result.exit_code == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def journal(billing: Billing) -> list[dict[str, Any]]:
    result = invoke("--config", str(billing.config), "invoice", "status", "--format", "json")
    assert result.exit_code == 0, result.stderr
    lines: list[dict[str, Any]] = json.loads(result.stdout)["lines"]
    return lines


def test_a_v2_ledger_is_upgraded_by_the_first_writing_run_and_keeps_everything(
    v2: Billing,
) -> None:
    assert version(v2) == 2
    before, lines = show(v2), journal(v2)  # read-only: nothing written yet
    assert version(v2) == 2
    runs = [
        (r["run"], r["period"], r["status"], r["amount"], r["void_reason"]) for r in before["runs"]
    ]
    assert runs == V2_RUNS
    sqlite = v2.backend.pg is None
    if sqlite:  # the PostgreSQL v2 ledger kept no skipped rows and no journal
        assert [len(r["skipped_lines"]) for r in before["runs"]] == [1, 1, 1]
        assert [(x["line"], x["system"], x["run"], x["state"]) for x in lines] == [
            (1, "whmcs", 1, "sent"),
            (2, "whmcs", 3, "pending"),
            (3, "lago", 3, "not_sent"),
        ]

    committed = v2.rate("--period", "2026-12", "--commit", "-o", str(v2.directory / "dec.csv"))
    assert committed.exit_code == 0, committed.stderr
    assert version(v2) == LATEST
    after = show(v2)
    assert after["runs"][:3] == before["runs"]  # every run as it was, reason and skipped rows
    assert [(r["run"], r["period"], r["calls"]) for r in after["runs"][3:]] == [(4, "2026-12", 1)]
    assert journal(v2) == lines
    rows = v2.query("SELECT xml_cdr_uuid, period, run_id FROM calls")
    calls = {(str(uuid), str(period), int(str(run))) for uuid, period, run in rows}
    assert calls == V2_CALLS | {("dec-a", "2026-12", 4)}
    assert v2.query("SELECT count(*) FROM voided_calls") == [(2,)]
    [(ledger_id,)] = v2.query("SELECT ledger_id FROM ledger_meta")
    assert re.fullmatch(r"[0-9a-f]{8}", str(ledger_id))
    # free_minutes = 1: each month's first 60 s free; recorded by the SQLite v2 ledger, derived
    # from the committed calls for the PostgreSQL one, which kept no record of them
    with open_ledger(load(v2.config, check_fields=False), commit=False, lock_timeout=0) as store:
        assert store is not None and store.ledger_id == str(ledger_id)
        given = store.free_seconds_given("mcon", TORONTO)
    assert given == {"2026-10": 60, "2026-11": 60, "2026-12": 60}
    # the November rerun still shows what run 3 committed (nov-b is not in today's CDRs)
    rerun = v2.rate("--period", "2026-11")
    assert rerun.exit_code == 0 and "showing the committed result" in rerun.stderr
    assert [line.split(",")[3] for line in rerun.stdout.splitlines()[1:]] == ["nov-a", "nov-b"]


def test_a_failed_migration_leaves_the_ledger_as_it_was(
    v2: Billing, monkeypatch: pytest.MonkeyPatch
) -> None:
    if v2.backend.pg is None:
        from voipbill.ledger.sqlite import SqliteLedger as Store

        full: Exception = sqlite3.OperationalError("database or disk is full")
    else:
        import psycopg

        from voipbill.ledger.postgres import PostgresLedger as Store

        full = psycopg.errors.DiskFull("could not extend file: No space left on device")
    tables = set(v2.query(_TABLES[v2.backend.name]))

    def disk_full(self: Any, version: int) -> None:
        raise full

    monkeypatch.setattr(Store, "_record_version", disk_full)
    out = v2.directory / "dec.csv"
    result = v2.rate("--period", "2026-12", "--commit", "-o", str(out))
    assert result.exit_code == 2, result.stderr
    assert "left as it was" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()
    assert version(v2) == 2 and set(v2.query(_TABLES[v2.backend.name])) == tables
    monkeypatch.undo()
    assert v2.rate("--period", "2026-12", "--commit", "-o", str(out)).exit_code == 0
    assert version(v2) == LATEST


_TABLES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table'",
    "postgresql": "SELECT tablename FROM pg_tables WHERE schemaname = 'voipbill'",
}


def test_a_new_ledger_has_the_same_tables_on_both_backends(pg: PgServer, tmp_path: Path) -> None:
    from voipbill.ledger.postgres import PostgresLedger
    from voipbill.ledger.sqlite import SqliteLedger

    store = PostgresLedger.open(Backend("postgresql", pg).settings, create=True)
    assert store is not None
    with store:
        assert store.version == LATEST and {"ledger_meta", "invoice_lines"} <= store.tables
    made = SqliteLedger.open(tmp_path / "new.sqlite", create=True)
    assert made is not None
    with made:
        assert made.version == LATEST
        # each backend's own bookkeeping apart: user_version is SQLite's ledger_version
        assert made.tables - {"sqlite_sequence"} == store.tables - {"ledger_version"}


def test_a_migration_that_finds_the_file_locked_leaves_it_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another program holds a write transaction on the v2 file: exit 6, nothing changed."""
    from voipbill.ledger.sqlite import store

    billing = Billing(tmp_path)
    billing.ledger.parent.mkdir(parents=True)
    shutil.copy(DATA / "ledger.sqlite", billing.ledger)
    billing.add("dec-a", epoch(12, 3))
    monkeypatch.setattr(store, "BUSY_TIMEOUT_S", 0.2)
    other = sqlite3.connect(billing.ledger, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        out = billing.directory / "dec.csv"
        result = billing.rate("--period", "2026-12", "--commit", "-o", str(out))
        assert result.exit_code == 6, result.stderr
        assert "left as it was" in result.stderr and not out.exists()
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert version(billing) == 2


def test_a_migration_that_waits_too_long_for_a_postgresql_lock_leaves_it_as_it_was(
    pg: PgServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pg_dump (or any long reader) holds a lock on a ledger table: the upgrade gives up
    after the lock timeout, exit 6, version 2 still; once it is gone the upgrade goes through."""
    import psycopg

    from voipbill.ledger.postgres import store

    billing = Billing(tmp_path, backend=Backend("postgresql", pg))
    pg.execute((DATA / "ledger-postgresql.sql").read_text())
    billing.add("dec-a", epoch(12, 3))
    monkeypatch.setattr(store, "MIGRATION_LOCK_TIMEOUT", "200ms")
    out = billing.directory / "dec.csv"
    with psycopg.connect(pg.conninfo()) as reader:  # a transaction left open, as a dump's
        reader.execute("SELECT count(*) FROM voipbill.calls").fetchall()
        result = billing.rate("--period", "2026-12", "--commit", "-o", str(out))
    assert result.exit_code == 6, result.stderr
    assert "left as it was" in result.stderr and not out.exists()
    assert version(billing) == 2
    assert billing.rate("--period", "2026-12", "--commit", "-o", str(out)).exit_code == 0
    assert version(billing) == LATEST
