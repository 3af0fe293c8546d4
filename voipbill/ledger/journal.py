"""The invoicing journal, kept in the ledger on either backend (rules §11: "the ledger keeps a
journal of every line": `pending` before the request, `sent` with the system's id after it).

One table, `invoice_lines` (migration 3 of each backend), written through the ledger's one body
(voipbill.ledger.base), so SQLite and PostgreSQL keep it alike. Each write is its own committed
transaction: `pending` must be on disk before the request goes out, and `sent` right after the
answer, so a crash between two lines never undoes the first.

The `pending` insert is the claim: (system, run, service, item) is unique, and `INSERT … ON
CONFLICT DO NOTHING` under the write lock lets exactly one push, on any host, make a line
pending; another finds it pending (or sent) and stops (`LineTaken`), so no line is sent twice.

A read-only ledger (a dry run, `invoice status`) reads the journal and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from voipbill.errors import InvalidInputError
from voipbill.ledger.rows import now, text_time

if TYPE_CHECKING:
    from voipbill.ledger.base import LedgerBase


class LineState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    NOT_SENT = "not_sent"


@dataclass(frozen=True)
class JournalLine:
    id: int
    system: str  # "whmcs" or "lago"
    run_id: int
    service: str
    item: str  # WHMCS: the category; Lago: "events" (older voipbills: "batch N")
    account: str  # WHMCS: the client id; Lago: the external_subscription_id
    amount: Decimal
    description: str  # as sent, with its `[vb:…]` token at the end
    state: LineState
    remote_id: str | None = None  # WHMCS: the billableid; Lago: what the answers said
    since: datetime | None = None  # when the line last changed state (for `pending`: when sent)

    @property
    def label(self) -> str:
        return f"line {self.id} ({self.system} run {self.run_id} {self.service} {self.item})"


class LineTaken(InvalidInputError, ValueError):
    """A line is already pending or sent: another push (maybe on another host) claimed it."""

    def __init__(self, line: JournalLine) -> None:
        if line.state is LineState.SENT:
            message = f"{line.label} is sent already: it is never sent twice"
        else:
            message = f"{line.label} is pending: another push is sending it, or was cut off"
        super().__init__(message, hint="`voipbill invoice status` lists the journal")
        self.line = line


class JournalStore(Protocol):
    """Where the journal lives: the ledger (`LedgerJournal`), or memory in the tests.

    `add_pending` of a line whose (system, run_id, service, item) is `not_sent` makes that
    same line pending again; of one that is `pending` or `sent` it raises LineTaken (a
    ValueError). Each write is its own committed transaction.
    """

    def add_pending(
        self,
        system: str,
        run_id: int,
        service: str,
        item: str,
        account: str,
        amount: Decimal,
        description: str,
    ) -> JournalLine: ...

    def mark_sent(self, line_id: int, remote_id: str) -> JournalLine: ...

    def mark_not_sent(self, line_id: int) -> JournalLine: ...

    def line(self, line_id: int) -> JournalLine | None: ...

    def lines_for_run(self, system: str, run_id: int) -> list[JournalLine]: ...


_COLUMNS = (
    "id, system, run_id, service, item, account, amount, description, state, remote_id, updated"
)
_TABLE = "invoice_lines"


class LedgerJournal:
    """The JournalStore of a ledger store, whichever backend (its connection, its lock)."""

    def __init__(self, store: LedgerBase) -> None:
        self.store = store

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
        rows = self.store.execute(
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
        key = (system, run_id, service, item)
        with self.store.transaction():
            row = self.store.execute(
                f"INSERT INTO {_TABLE} (system, run_id, service, item, account, amount, "
                "description, state, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (system, run_id, service, item) DO NOTHING RETURNING id",
                (*key, account, str(amount), description, LineState.PENDING.value, now()),
            ).fetchone()
            if row is not None:
                line_id = int(row[0])
            else:  # the line is there: only a not_sent one may be claimed again
                found = self._select(
                    "WHERE system = ? AND run_id = ? AND service = ? AND item = ?", key
                )
                line_id = found[0].id
                claimed = self.store.execute(
                    f"UPDATE {_TABLE} SET state = ?, account = ?, amount = ?, description = ?, "
                    "remote_id = NULL, updated = ? WHERE id = ? AND state = ?",
                    (
                        LineState.PENDING.value,
                        account,
                        str(amount),
                        description,
                        now(),
                        line_id,
                        LineState.NOT_SENT.value,
                    ),
                ).rowcount
                if claimed != 1:
                    raise LineTaken(found[0])
        return self._get(line_id)

    def mark_sent(self, line_id: int, remote_id: str) -> JournalLine:
        return self._set(line_id, LineState.SENT, remote_id)

    def mark_not_sent(self, line_id: int) -> JournalLine:
        return self._set(line_id, LineState.NOT_SENT, None)

    # -- helpers ---------------------------------------------------------------------------------

    def _set(self, line_id: int, state: LineState, remote_id: str | None) -> JournalLine:
        with self.store.transaction():
            changed = self.store.execute(
                f"UPDATE {_TABLE} SET state = ?, remote_id = ?, updated = ? WHERE id = ?",
                (state.value, remote_id, now(), line_id),
            ).rowcount
            if changed != 1:
                raise KeyError(line_id)
        return self._get(line_id)

    def _get(self, line_id: int) -> JournalLine:
        found = self.line(line_id)
        if found is None:
            raise KeyError(line_id)
        return found

    def _select(self, where: str, args: tuple[object, ...]) -> list[JournalLine]:
        if _TABLE not in self.store.tables:  # a ledger of an older voipbill, read-only
            return []
        sql = f"SELECT {_COLUMNS} FROM {_TABLE} {where} ORDER BY id"
        rows = self.store.execute(sql, args)
        return [_line(row) for row in rows]


def _line(row: Any) -> JournalLine:
    return JournalLine(
        id=int(row[0]),
        system=str(row[1]),
        run_id=int(row[2]),
        service=str(row[3]),
        item=str(row[4]),
        account=str(row[5]),
        amount=Decimal(str(row[6])),
        description=str(row[7]),
        state=LineState(row[8]),
        remote_id=None if row[9] is None else str(row[9]),
        since=datetime.fromisoformat(text_time(row[10])),
    )
