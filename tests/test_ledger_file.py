"""The ledger file itself: a foreign file is refused untouched, a failed first commit leaves no
ledger behind, and the ledger and its lock are private to their owner (mode 0600)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clirunner import invoke
from tests.ledgerhelpers import Billing, epoch


@pytest.fixture
def billing(tmp_path: Path) -> Billing:
    setup = Billing(tmp_path)
    setup.add("oct-a", epoch(10, 3))
    setup.ledger.parent.mkdir()
    return setup


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def other_programs_database(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE contacts (name TEXT, phone TEXT)")
        connection.execute("INSERT INTO contacts VALUES ('Ann', '5551234')")
        connection.execute("PRAGMA user_version = 2")  # even with a version number like ours
    connection.close()


@pytest.mark.parametrize("kind", ["sqlite", "text"])
def test_a_file_that_is_not_a_ledger_is_refused_and_left_untouched(
    billing: Billing, kind: str
) -> None:
    if kind == "sqlite":
        other_programs_database(billing.ledger)
    else:
        billing.ledger.write_text("my notes\n")
    before = digest(billing.ledger)
    out = billing.directory / "oct.csv"
    for result in (
        billing.rate("--period", "2026-10", "--commit", "-o", str(out)),
        billing.rate("--period", "2026-10"),
        invoke("--config", str(billing.config), "ledger", "show"),
    ):
        assert result.exit_code == 3, result.stderr
        assert "is not a voipbill ledger" in result.stderr and "left untouched" in result.stderr
    assert digest(billing.ledger) == before
    assert not out.exists()
    assert sorted(p.name for p in billing.ledger.parent.iterdir()) == [
        "ledger.sqlite",
        "ledger.sqlite.lock",
    ]  # no -wal or -shm beside it: SQLite never opened it for writing


def test_a_0_byte_file_at_the_ledger_path_becomes_the_ledger(billing: Billing) -> None:
    billing.ledger.write_bytes(b"")
    billing.commit("2026-10", "oct.csv")
    assert set(billing.billed()) == {"oct-a"}


def test_a_commit_onto_a_full_disk_creates_no_ledger(billing: Billing) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    result = billing.rate("--period", "2026-10", "--commit", "-o", "/dev/full")
    assert result.exit_code == 2, result.stderr
    assert not billing.ledger.exists()
    show = invoke("--config", str(billing.config), "ledger", "show")
    assert show.exit_code == 0 and "version 0" not in show.stderr + show.stdout


def test_a_commit_with_bad_rows_creates_no_ledger(billing: Billing) -> None:
    billing.add("broken", epoch(10, 4), billsec="soon")  # type: ignore[arg-type]
    result = billing.rate("--period", "2026-10", "--commit", "-o", str(billing.directory / "o.csv"))
    assert result.exit_code == 5
    assert not billing.ledger.exists()


def test_the_ledger_and_its_lock_are_created_mode_0600(billing: Billing, umask_022: None) -> None:
    billing.commit("2026-10", "oct.csv")
    for path in (billing.ledger, billing.ledger.with_name("ledger.sqlite.lock")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
