"""rules §9: a run that fails half-way commits nothing, and the export file and ledger agree.

Failures are injected at each step of the commit: before the file is written, half-way through
writing it, after it is in place but before the ledger commits, during the commit (SQLite rolls
back), and after the commit.
"""

from __future__ import annotations

import errno
import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.clirunner import invoke
from tests.ledgerbackends import Backend
from tests.ledgerhelpers import Billing, epoch
from voipbill.files import atomic_writer
from voipbill.ledger import SqliteLedger as Ledger
from voipbill.ledger import commit as ledger_module
from voipbill.ledger.commit import Publication

PREVIOUS = b"last month's invoice\n"

# the store class whose `commit` is failed, and how its database reports a full disk, I/O error
Store = type[Any]
_STORE: list[tuple[Store, Callable[[str], Exception], Callable[[str], Exception]]] = []


@pytest.fixture
def billing(tmp_path: Path, ledger_backend: Backend) -> Billing:
    setup = Billing(tmp_path, backend=ledger_backend)
    setup.add("oct-a", epoch(10, 3))
    setup.add("oct-b", epoch(10, 20))
    _STORE.clear()
    if ledger_backend.pg is None:
        _STORE.append((Ledger, sqlite3.OperationalError, sqlite3.OperationalError))
    else:
        import psycopg

        from voipbill.ledger.postgres import PostgresLedger

        _STORE.append((PostgresLedger, psycopg.errors.DiskFull, psycopg.errors.IoError))
    return setup


def store() -> Store:
    return _STORE[0][0]


def disk_full() -> Exception:
    return _STORE[0][1]("database or disk is full")


def io_error() -> Exception:
    return _STORE[0][2]("disk I/O error")


def fail_before_write(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(path: Path, text: str) -> None:
        raise ledger_module.OutputError(f"cannot write {path}: injected")

    monkeypatch.setattr(ledger_module, "write_output", refuse)


def fail_half_way_through_the_write(monkeypatch: pytest.MonkeyPatch) -> None:
    def half(path: Path, text: str) -> None:
        with atomic_writer(path, newline="") as stream:
            stream.write(text[: len(text) // 2])
            stream.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ledger_module, "write_output", half)


def fail_after_write_before_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Ledger) -> None:
        raise disk_full()

    monkeypatch.setattr(store(), "commit", refuse)


def fail_during_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(self: Ledger) -> None:
        # the database rolls a transaction back itself on an I/O error at COMMIT
        self.connection.execute("ROLLBACK")
        raise io_error()

    monkeypatch.setattr(store(), "commit", fail)


@pytest.mark.parametrize(
    "inject",
    [
        fail_before_write,
        fail_half_way_through_the_write,
        fail_after_write_before_commit,
        fail_during_commit,
    ],
)
@pytest.mark.parametrize("had_previous_file", [False, True])
def test_a_failed_commit_leaves_neither_file_nor_ledger_entry(
    billing: Billing,
    monkeypatch: pytest.MonkeyPatch,
    inject: Callable[[pytest.MonkeyPatch], None],
    had_previous_file: bool,
) -> None:
    out = billing.directory / "oct.csv"
    if had_previous_file:
        out.write_bytes(PREVIOUS)
    inject(monkeypatch)
    result = billing.rate("--period", "2026-10", "--commit", "-o", str(out))
    assert result.exit_code in (2, 3), result.stderr
    assert "Traceback" not in result.stderr
    if had_previous_file:
        assert out.read_bytes() == PREVIOUS  # the previous file, untouched
    else:
        assert not out.exists()
    # no temp file or backup left behind
    assert sorted(p.name for p in billing.directory.iterdir() if p.name.startswith(".")) == []
    # the first commit failed: no ledger file at all, nothing `ledger show` calls "version 0"
    if billing.backend.pg is None:  # SQLite: the file; PostgreSQL: the rolled-back run above
        assert sorted(p.name for p in billing.ledger.parent.iterdir()) == []  # no lock either
    show = invoke("--config", str(billing.config), "ledger", "show")
    if billing.backend.pg is None:
        assert (show.exit_code, "nothing committed" in show.stderr) == (0, True)
    else:  # the schema may stand; no run is in it
        assert (show.exit_code, "committed total" in show.stdout) == (0, False)

    # the cause fixed, the same run commits normally
    monkeypatch.undo()
    retry = billing.commit("2026-10", "oct.csv")
    assert "committed run" in retry.stderr
    assert set(billing.billed()) == {"oct-a", "oct-b"}


def test_a_failure_right_after_the_commit_keeps_file_and_ledger_in_agreement(
    billing: Billing, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_commit = store().commit

    def commit_then_fail(self: Ledger) -> None:
        real_commit(self)
        raise io_error()  # e.g. while reporting the commit

    monkeypatch.setattr(store(), "commit", commit_then_fail)
    out = billing.directory / "oct.csv"
    out.write_bytes(PREVIOUS)
    result = billing.rate("--period", "2026-10", "--commit", "-o", str(out))
    assert result.exit_code != 0
    [(digest,)] = billing.query("SELECT output_sha256 FROM runs")
    assert hashlib.sha256(out.read_bytes()).hexdigest() == digest  # the committed file stays
    assert set(billing.billed()) == {"oct-a", "oct-b"}


def test_a_failure_after_commit_while_cleaning_up_keeps_the_committed_file(
    billing: Billing, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(self: Publication) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(Publication, "discard_backup", fail)
    out = billing.directory / "oct.csv"
    result = billing.rate("--period", "2026-10", "--commit", "-o", str(out))
    assert result.exit_code == 70  # an unexpected OSError: reported, not hidden
    [(digest,)] = billing.query("SELECT output_sha256 FROM runs")
    assert hashlib.sha256(out.read_bytes()).hexdigest() == digest
    # and the next run sees the period as committed
    monkeypatch.undo()
    again = billing.commit("2026-10", "oct-again.csv")
    assert billing.file("oct-again.csv") == out.read_bytes()
    assert "nothing new to commit" in again.stderr


def test_a_failing_rerun_with_a_previous_invoice_restores_it_exactly(
    billing: Billing, monkeypatch: pytest.MonkeyPatch
) -> None:
    billing.commit("2026-10", "oct.csv")
    billing.add("nov-a", epoch(11, 4))
    fail_after_write_before_commit(monkeypatch)
    result = billing.rate(
        "--period", "2026-11", "--commit", "-o", str(billing.directory / "oct.csv")
    )  # the wrong name, by mistake
    assert result.exit_code == 2  # the ledger's disk is full: nothing written, exit 2
    [(digest,)] = billing.query("SELECT output_sha256 FROM runs")
    assert hashlib.sha256(billing.file("oct.csv")).hexdigest() == digest
