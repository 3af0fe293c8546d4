"""The SQLite ledger store (rules §9): one file (WAL mode) at `[ledger] path`.

The body is voipbill.ledger.base; this module holds SQLite's hooks: `?` parameters as they are,
`BEGIN IMMEDIATE` as the write lock, `executemany` to bill a run's calls (the primary key
refuses a call billed twice), batches of lookups sized for SQLite's parameter limit, and the
version in `PRAGMA user_version`. The file itself (what is at the path, making a new one) is
voipbill.ledger.sqlite.file.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Collection, Iterable, Sequence
from decimal import Decimal
from pathlib import Path

from voipbill.errors import VoipbillError
from voipbill.ledger.base import LedgerBase
from voipbill.ledger.errors import LedgerError, LockedError, StorageError
from voipbill.ledger.records import LedgerCall, call_facts
from voipbill.ledger.rows import Rows
from voipbill.ledger.sqlite.file import LedgerFile, create_ledger_file, ledger_file
from voipbill.ledger.sqlite.migrations import MIGRATIONS

log = logging.getLogger("voipbill.ledger")

# how long a writer waits for another program's transaction on the file before giving up
# (exit 6); voipbill's own runs queue on the lock file instead (--lock-timeout)
BUSY_TIMEOUT_S = 30.0


class SqliteLedger(LedgerBase):
    """The SQLite ledger file (a LedgerStore). Open with `SqliteLedger.open`."""

    MIGRATIONS = MIGRATIONS
    MONEY_SUM = "decimal_sum({})"
    connection: sqlite3.Connection

    def __init__(self, path: Path, connection: sqlite3.Connection, *, writable: bool) -> None:
        super().__init__(connection, writable=writable)
        connection.create_aggregate("decimal_sum", 1, _DecimalSum)  # type: ignore[arg-type]
        self.path = path

    @property
    def where(self) -> str:
        return str(self.path)

    @classmethod
    def open(cls, path: Path, *, create: bool) -> SqliteLedger | None:
        """The ledger at `path`; None when it does not exist and `create` is false (a preview
        writes nothing, rules §9, not even an empty ledger). Writable: migrated to the newest
        schema first (one transaction)."""
        try:
            absent = ledger_file(path) is LedgerFile.ABSENT  # refuses a foreign file
            if not create:
                if absent:
                    return None
                connection = sqlite3.connect(
                    f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None
                )
                connection.execute("PRAGMA query_only = ON")
            else:
                if absent:
                    create_ledger_file(path, _initialise)
                connection = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_S)
            ledger = cls(path, connection, writable=create)
            try:
                if create:
                    _initialise(connection)
                ledger.load_schema()
                ledger.check_version()
            except BaseException:
                connection.close()
                raise
        except sqlite3.Error as exc:
            hint = "check [ledger] path; the file must be a voipbill ledger"
            raise error(path, exc, hint=hint) from exc
        except OSError as exc:
            raise LedgerError(
                f"cannot open the ledger {path}: {exc.strerror}",
                hint="check [ledger] path and its directory's permissions",
            ) from exc
        log.debug("ledger %s opened (%s)", path, "read-write" if create else "read-only")
        return ledger

    # -- hooks -----------------------------------------------------------------------------------

    def execute(self, sql: str, args: Sequence[object] = ()) -> Rows:
        return self.connection.execute(sql, args)

    def execute_many(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        self.connection.executemany(sql, rows)

    def _begin(self) -> None:
        self.connection.execute("BEGIN IMMEDIATE")

    def _commit(self) -> None:
        self.connection.execute("COMMIT")

    def _rollback(self) -> None:
        if self.connection.in_transaction:
            self.connection.execute("ROLLBACK")

    def close(self) -> None:
        self.connection.close()

    def billed_many(
        self, servers: Collection[str], uuids: Sequence[str]
    ) -> dict[tuple[str, str], tuple[int, str]]:
        found: dict[tuple[str, str], tuple[int, str]] = {}
        names = list(servers)
        step = max(1, 900 - len(names))  # SQLite's oldest limit: 999 parameters a statement
        for start in range(0, len(uuids), step):
            chunk = list(uuids[start : start + step])
            rows = self.connection.execute(
                "SELECT server, xml_cdr_uuid, run_id, period FROM calls "
                f"WHERE server IN ({','.join('?' * len(names))}) "
                f"AND xml_cdr_uuid IN ({','.join('?' * len(chunk))})",
                names + chunk,
            )
            for server, uuid, run_id, label in rows:
                found[(str(server), str(uuid))] = (int(run_id), str(label))
        return found

    def _stored_version(self) -> int:
        version = int(self.connection.execute("PRAGMA user_version").fetchone()[0])
        if version == 0 and self._table_names():
            raise LedgerError(  # ledger_file refuses it first; never written into
                f"{self.path} is not a voipbill ledger: it holds tables of another program",
                hint="point [ledger] path at a voipbill ledger, or at a path with no file yet",
            )
        return version

    def _record_version(self, version: int) -> None:
        self.connection.execute(f"PRAGMA user_version = {int(version)}")

    def _table_names(self) -> frozenset[str]:
        rows = self.connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return frozenset(str(name) for (name,) in rows)

    def _claim_calls(self, run_id: int, label: str, calls: Sequence[LedgerCall]) -> None:
        try:
            self.connection.executemany(
                "INSERT INTO calls (server, xml_cdr_uuid, service, period, start_epoch, status, "
                "cost, run_id, carrier_cost, carrier_prefix, direction, category, country_code) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        entry.server,
                        entry.call.call_uuid,
                        entry.call.service,
                        entry.period or label,
                        entry.call.start_epoch,
                        entry.call.status,
                        None if entry.call.cost is None else str(entry.call.cost),
                        run_id,
                        None if entry.carrier_cost is None else str(entry.carrier_cost),
                        entry.carrier_prefix,
                        *call_facts(entry.call),
                    )
                    for entry in calls
                ],
            )
        except sqlite3.IntegrityError as exc:
            raise LedgerError(
                f"ledger {self.path}: a call of this run is already billed ({exc})",
                hint="another run committed it at the same time; rate the period again",
            ) from exc


class _DecimalSum:
    """SQLite's `decimal_sum(text)`: the exact sum of decimal strings, as text (NULLs skipped;
    no row: NULL), where sum() would add them as floats."""

    def __init__(self) -> None:
        self.total: Decimal | None = None

    def step(self, value: object) -> None:
        if value is not None:
            self.total = (self.total or Decimal(0)) + Decimal(str(value))

    def finalize(self) -> str | None:
        return None if self.total is None else str(self.total)


def _initialise(connection: sqlite3.Connection) -> None:
    """A writable ledger's settings, then its schema: whole for a new file, the migrations it
    lacks for an older one (one transaction; a newer or foreign file is left alone)."""
    connection.execute("PRAGMA journal_mode = WAL")
    # money: a committed run survives a power cut, not only a crash
    connection.execute("PRAGMA synchronous = FULL")
    SqliteLedger(Path(), connection, writable=True).migrate()


def error(path: Path, exc: sqlite3.Error, *, hint: str) -> VoipbillError:
    """An SQLite error as voipbill reports it: a full disk or a busy file say so."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return LockedError(
            f"the ledger {path} is busy: {text}; it was left as it was",
            hint="another program has it open; retry later",
        )
    if "full" in text or "I/O" in text or "readonly" in text:
        return StorageError(
            f"cannot write the ledger {path}: {text}; it was left as it was",
            hint="free space on its disk (or fix its permissions), then run again",
        )
    return LedgerError(f"cannot open the ledger {path}: {text}", hint=hint)
