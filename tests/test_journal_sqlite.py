"""The invoicing journal in the SQLite ledger file: a JournalStore that survives a crash."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.ledgerhelpers import Billing, epoch
from voipbill.errors import ConfigError, ExitCode
from voipbill.invoicing.journal import LAGO, WHMCS, LineState
from voipbill.invoicing.push import journal_of
from voipbill.ledger import SqliteLedger
from voipbill.ledger.journal_sqlite import SqliteJournal


@pytest.fixture
def ledger(tmp_path: Path) -> Any:
    billing = Billing(tmp_path)
    billing.add("a", epoch(10, 5))
    billing.commit("2026-10", "calls.csv")
    opened = SqliteLedger.open(billing.ledger, create=True)
    assert opened is not None
    yield opened
    opened.close()


def other_connection(ledger: SqliteLedger) -> sqlite3.Connection:
    return sqlite3.connect(ledger.path)


def test_each_write_is_committed_at_once_and_keeps_the_ledger_version(
    ledger: SqliteLedger,
) -> None:
    version = ledger.version
    journal = SqliteJournal(ledger)
    assert journal.all_lines() == []  # no table yet: an empty journal
    line = journal.add_pending(WHMCS, 1, "mcon", "national", "7", Decimal("0.05"), "d [vb:1]")
    with other_connection(ledger) as seen:  # another process sees it before any request
        assert seen.execute("SELECT state FROM invoice_lines").fetchall() == [("pending",)]
    sent = journal.mark_sent(line.id, "31")
    assert (sent.state, sent.remote_id, sent.amount) == (LineState.SENT, "31", Decimal("0.05"))
    with other_connection(ledger) as seen:
        assert seen.execute("SELECT state, remote_id FROM invoice_lines").fetchall() == [
            ("sent", "31")
        ]
    assert ledger.version == version
    ledger.check_version()


def test_a_pending_or_sent_line_cannot_be_added_again_a_not_sent_one_can(
    ledger: SqliteLedger,
) -> None:
    journal = SqliteJournal(ledger)
    line = journal.add_pending(WHMCS, 1, "mcon", "national", "7", Decimal("0.05"), "d")
    with pytest.raises(ValueError, match="pending"):
        journal.add_pending(WHMCS, 1, "mcon", "national", "7", Decimal("0.05"), "d")
    journal.mark_not_sent(line.id)
    again = journal.add_pending(WHMCS, 1, "mcon", "national", "8", Decimal("0.06"), "e")
    assert (again.id, again.state, again.account, again.amount) == (
        line.id,
        LineState.PENDING,
        "8",
        Decimal("0.06"),
    )
    journal.mark_sent(line.id, "1")
    with pytest.raises(ValueError, match="sent"):
        journal.add_pending(WHMCS, 1, "mcon", "national", "7", Decimal("0.05"), "d")
    # the same item for the other system is another line
    lago = journal.add_pending(LAGO, 1, "mcon", "national", "sub", Decimal("0.05"), "d")
    assert lago.id != line.id
    assert [entry.id for entry in journal.lines_for_run(WHMCS, 1)] == [line.id]
    assert journal.line(999) is None
    with pytest.raises(KeyError):
        journal.mark_sent(999, "x")


def test_the_server_half_of_each_call_key_is_read_from_the_ledger(ledger: SqliteLedger) -> None:
    assert SqliteJournal(ledger).call_servers(1) == {("mcon", "a"): "file"}


def test_a_postgresql_ledger_has_no_journal_yet(ledger: SqliteLedger) -> None:
    config: Any = SimpleNamespace(ledger_postgresql="host=db.example.net dbname=voipbill")
    with pytest.raises(ConfigError, match="SQLite ledger") as raised:
        journal_of(config, ledger)
    assert raised.value.exit_code == ExitCode.CONFIG
