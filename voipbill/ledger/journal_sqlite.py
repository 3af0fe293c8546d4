"""The invoicing journal kept in the SQLite ledger file (rules §11: "the ledger keeps a journal").

One table, `invoice_lines`, made by the first line ever written: a ledger that never pushed
anything has none, and adding it changes no schema version, so every voipbill that reads the
ledger still reads it (like `void_reasons`). Each method is its own committed transaction:
`pending` must be on disk before the request goes out, and `sent` right after the answer, so
a crash between two lines never undoes the first.

A read-only ledger (a dry run, `invoice status`) reads the table if it is there and writes
nothing, not even the empty table.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal

from voipbill.invoicing.records import JournalLine, LineState
from voipbill.ledger.sqlite import SqliteLedger

TABLE = "invoice_lines"
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    system TEXT NOT NULL,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    service TEXT NOT NULL,
    item TEXT NOT NULL,
    account TEXT NOT NULL,
    amount TEXT NOT NULL,
    description TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'not_sent')),
    remote_id TEXT,
    updated TEXT NOT NULL,
    UNIQUE (system, run_id, service, item)
)
"""
_COLUMNS = (
    "id, system, run_id, service, item, account, amount, description, state, remote_id, updated"
)


class SqliteJournal:
    """A JournalStore in the ledger file of `ledger` (its connection, its lock)."""

    def __init__(self, ledger: SqliteLedger) -> None:
        self.ledger = ledger
        self.connection = ledger.connection

    # -- reading ---------------------------------------------------------------------------------

    def line(self, line_id: int) -> JournalLine | None:
        found = self._select("WHERE id = ?", (line_id,))
        return found[0] if found else None

    def lines_for_run(self, system: str, run_id: int) -> list[JournalLine]:
        return self._select("WHERE system = ? AND run_id = ?", (system, run_id))

    def all_lines(self) -> list[JournalLine]:
        return self._select("", ())

    def call_servers(self, run_id: int) -> dict[tuple[str, str], str]:
        """(service, xml_cdr_uuid) -> the server half of its ledger key, for one run."""
        rows = self.connection.execute(
            "SELECT service, xml_cdr_uuid, server FROM calls WHERE run_id = ?", (run_id,)
        ).fetchall()
        return {(str(service), str(uuid)): str(server) for service, uuid, server in rows}

    # -- writing: one committed transaction each -------------------------------------------------

    def add_pending(
        self,
        system: str,
        run_id: int,
        service: str,
        item: str,
        account: str,
        amount: Decimal,
        description: str,
    ) -> JournalLine:
        with self._transaction():
            self.connection.execute(SCHEMA)
            row = self.connection.execute(
                f"SELECT id, state FROM {TABLE} "
                "WHERE system = ? AND run_id = ? AND service = ? AND item = ?",
                (system, run_id, service, item),
            ).fetchone()
            if row is None:
                cursor = self.connection.execute(
                    f"INSERT INTO {TABLE} (system, run_id, service, item, account, amount, "
                    "description, state, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        system,
                        run_id,
                        service,
                        item,
                        account,
                        str(amount),
                        description,
                        LineState.PENDING.value,
                        _now(),
                    ),
                )
                line_id = int(cursor.lastrowid or 0)
            else:
                line_id, state = int(row[0]), str(row[1])
                if state != LineState.NOT_SENT:
                    raise ValueError(f"line {line_id} ({system} {service} {item}) is {state}")
                self.connection.execute(
                    f"UPDATE {TABLE} SET state = ?, account = ?, amount = ?, description = ?, "
                    "remote_id = NULL, updated = ? WHERE id = ?",
                    (LineState.PENDING.value, account, str(amount), description, _now(), line_id),
                )
        return self._get(line_id)

    def mark_sent(self, line_id: int, remote_id: str) -> JournalLine:
        return self._set(line_id, LineState.SENT, remote_id)

    def mark_not_sent(self, line_id: int) -> JournalLine:
        return self._set(line_id, LineState.NOT_SENT, None)

    # -- helpers ---------------------------------------------------------------------------------

    def _set(self, line_id: int, state: LineState, remote_id: str | None) -> JournalLine:
        with self._transaction():
            cursor = self.connection.execute(
                f"UPDATE {TABLE} SET state = ?, remote_id = ?, updated = ? WHERE id = ?",
                (state.value, remote_id, _now(), line_id),
            )
            if cursor.rowcount != 1:
                raise KeyError(line_id)
        return self._get(line_id)

    def _get(self, line_id: int) -> JournalLine:
        found = self.line(line_id)
        if found is None:
            raise KeyError(line_id)
        return found

    def _select(self, where: str, args: tuple[object, ...]) -> list[JournalLine]:
        if not self._has_table():
            return []
        rows = self.connection.execute(
            f"SELECT {_COLUMNS} FROM {TABLE} {where} ORDER BY id", args
        ).fetchall()
        return [
            JournalLine(
                id=int(row[0]),
                system=str(row[1]),
                run_id=int(row[2]),
                service=str(row[3]),
                item=str(row[4]),
                account=str(row[5]),
                amount=Decimal(row[6]),
                description=str(row[7]),
                state=LineState(row[8]),
                remote_id=None if row[9] is None else str(row[9]),
                since=_when(row[10]),
            )
            for row in rows
        ]

    def _has_table(self) -> bool:
        row = self.connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)
        ).fetchone()
        return row is not None

    def _transaction(self) -> _Transaction:
        return _Transaction(self.connection)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error (the connection is autocommit)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __enter__(self) -> None:
        self.connection.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is None:
            self.connection.execute("COMMIT")
        elif self.connection.in_transaction:
            self.connection.execute("ROLLBACK")


def _when(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
