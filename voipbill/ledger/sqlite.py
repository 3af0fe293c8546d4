"""The SQLite ledger store (rules §9): one file (WAL mode) at `[ledger] path`.

`rate --commit` records every call its output lists, keyed by (server, xml_cdr_uuid), together
with the run itself: its selection (period, services, format, detail), its totals, every listed
call with the fields and costs it was committed with, and the exact bytes of the file it wrote
(zlib), so a rerun of a committed period shows the committed result, never a new price.
The commit protocol (the file first, then the transaction) is voipbill.ledger.commit.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import zlib
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from voipbill.errors import UsageError
from voipbill.ledger.errors import LedgerError
from voipbill.ledger.records import (
    COMMITTED,
    VOIDED,
    LedgerCall,
    RunRecord,
    RunSelection,
    ServiceTotal,
    call_from_row,
    call_row,
    service_totals,
)
from voipbill.ledger.sqlite_extras import (
    add_run_extras,
    free_seconds_given,
    insert_run_extras,
    skipped_rows,
)
from voipbill.ledger.sqlite_file import LedgerFile, create_ledger_file, ledger_file
from voipbill.ledger.sqlite_schema import (
    READABLE_VERSIONS,
    SCHEMA_1,
    SCHEMA_2,
    SCHEMA_VERSION,
    VOID_REASONS,
)
from voipbill.periods import Period
from voipbill.rating import RatedCall

# one logger name for every ledger line of --log-file, whichever module writes it
log = logging.getLogger("voipbill.ledger")


class SqliteLedger:
    """The SQLite ledger file (a LedgerStore). Open with `SqliteLedger.open`."""

    def __init__(self, path: Path, connection: sqlite3.Connection, *, writable: bool) -> None:
        self.path = path
        self.connection = connection
        self.writable = writable

    @property
    def where(self) -> str:
        return str(self.path)

    @classmethod
    def open(cls, path: Path, *, create: bool) -> SqliteLedger | None:
        """The ledger at `path`; None when it does not exist and `create` is false (a preview
        writes nothing, rules §9, not even an empty ledger)."""
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
                connection = sqlite3.connect(path, isolation_level=None, timeout=30)
                _initialise(connection)
            ledger = cls(path, connection, writable=create)
            ledger.check_version()
        except sqlite3.Error as exc:
            raise LedgerError(
                f"cannot open the ledger {path}: {exc}",
                hint="check [ledger] path; the file must be a voipbill ledger",
            ) from exc
        except OSError as exc:
            raise LedgerError(
                f"cannot open the ledger {path}: {exc.strerror}",
                hint="check [ledger] path and its directory's permissions",
            ) from exc
        log.debug("ledger %s opened (%s)", path, "read-write" if create else "read-only")
        return ledger

    def check_version(self) -> None:
        version = self.version
        if version not in READABLE_VERSIONS:
            raise LedgerError(
                f"{self.path} is ledger version {version}; this voipbill reads version "
                f"{SCHEMA_VERSION}",
                hint="point [ledger] path at a voipbill ledger",
            )

    @property
    def version(self) -> int:
        return int(self.connection.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> SqliteLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------------

    def billed(self, server: str, xml_cdr_uuid: str) -> tuple[int, str] | None:
        """(run id, period label) of the committed run that billed this call, if any."""
        row = self.connection.execute(
            "SELECT run_id, period FROM calls WHERE server = ? AND xml_cdr_uuid = ?",
            (server, xml_cdr_uuid),
        ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

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

    def runs(self, *, service: str | None = None, run_id: int | None = None) -> list[RunRecord]:
        """Committed and voided runs, oldest first."""
        where, args = [], []
        if run_id is not None:
            where.append("id = ?")
            args.append(str(run_id))
        if service is not None:
            where.append("id IN (SELECT run_id FROM run_services WHERE service = ?)")
            args.append(service)
        sql = (
            "SELECT id, period, first_day, last_day, services, late_days, format, detail, "
            "currency, calls, late_calls, amount, output_path, output_sha256, status, created, "
            "voided FROM runs" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
        )
        records = []
        reasons = self._void_reasons()
        skipped = skipped_rows(self.connection)
        for row in self.connection.execute(sql, args).fetchall():
            totals = tuple(
                ServiceTotal(name, calls, late, Decimal(amount))
                for name, calls, late, amount in self.connection.execute(
                    "SELECT service, calls, late_calls, amount FROM run_services "
                    "WHERE run_id = ? ORDER BY position",
                    (row[0],),
                )
            )
            records.append(
                RunRecord(
                    id=row[0],
                    period=row[1],
                    first_day=date.fromisoformat(row[2]),
                    last_day=date.fromisoformat(row[3]),
                    services=tuple(json.loads(row[4])),
                    late_days=row[5],
                    format=row[6],
                    detail=row[7],
                    currency=row[8],
                    calls=row[9],
                    late_calls=row[10],
                    amount=Decimal(row[11]),
                    output_path=row[12],
                    output_sha256=row[13],
                    status=row[14],
                    created=row[15],
                    voided=row[16],
                    per_service=totals,
                    void_reason=reasons.get(row[0]),
                    skipped_rows=skipped.get(row[0], ()),
                )
            )
        return records

    def _void_reasons(self) -> dict[int, str]:
        try:
            rows = self.connection.execute("SELECT run_id, reason FROM void_reasons").fetchall()
        except sqlite3.OperationalError:  # no run of this ledger was voided with a reason
            return {}
        return {int(run_id): str(reason) for run_id, reason in rows}

    def run(self, run_id: int) -> RunRecord:
        found = self.runs(run_id=run_id)
        if not found:
            raise UsageError(
                f"run {run_id} is not in the ledger {self.path}",
                hint="`voipbill ledger show` lists the runs",
            )
        return found[0]

    def committed_run(self, period: Period, services: Iterable[str]) -> RunRecord | None:
        """The committed run of exactly this period and set of services, if there is one."""
        wanted = sorted(services)
        for record in self.runs():
            if (
                record.status == COMMITTED
                and record.first_day == period.first_day
                and record.last_day == period.last_day
                and sorted(record.services) == wanted
            ):
                return record
        return None

    def stored_output(self, run_id: int) -> str:
        row = self.connection.execute("SELECT output FROM runs WHERE id = ?", (run_id,)).fetchone()
        return zlib.decompress(row[0]).decode("utf-8")

    def committed_calls(self, run_id: int) -> list[RatedCall] | None:
        if self.version < 2:
            return None  # a read-only version 1 ledger: its runs kept no rows
        row = self.connection.execute(
            "SELECT rows FROM run_rows WHERE run_id = ?", (run_id,)
        ).fetchone()
        if row is None:
            return None  # committed by a voipbill that kept no rows
        return [call_from_row(values) for values in json.loads(zlib.decompress(row[0]))]

    def free_seconds_given(
        self, service: str, timezone: ZoneInfo, *, except_runs: Collection[int] = ()
    ) -> dict[str, int]:
        committed = [
            record.id
            for record in self.runs(service=service)
            if record.status == COMMITTED and record.id not in except_runs
        ]
        return free_seconds_given(
            self.connection, service, committed, timezone, self.committed_calls
        )

    # -- writing ---------------------------------------------------------------------------------

    def begin(self) -> None:
        self.connection.execute("BEGIN IMMEDIATE")

    def insert_run(
        self,
        selection: RunSelection,
        calls: Sequence[LedgerCall],
        currency: str,
        output_path: str,
        output: bytes,
    ) -> int:
        per_service = service_totals(selection.services, calls)
        connection = self.connection
        try:
            cursor = connection.execute(
                "INSERT INTO runs (period, first_day, last_day, services, late_days, format, "
                "detail, currency, calls, late_calls, amount, output_path, output_sha256, output, "
                "status, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    selection.period.label,
                    selection.period.first_day.isoformat(),
                    selection.period.last_day.isoformat(),
                    json.dumps(list(selection.services)),
                    selection.late_days,
                    selection.format,
                    selection.detail,
                    currency,
                    len(calls),
                    sum(t.late_calls for t in per_service),
                    str(sum((t.amount for t in per_service), Decimal(0))),
                    output_path,
                    hashlib.sha256(output).hexdigest(),
                    zlib.compress(output),
                    COMMITTED,
                    _now(),
                ),
            )
            run_id = int(cursor.lastrowid or 0)
            connection.executemany(
                "INSERT INTO run_services (run_id, position, service, calls, late_calls, amount) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (run_id, index, t.service, t.calls, t.late_calls, str(t.amount))
                    for index, t in enumerate(per_service)
                ],
            )
            connection.executemany(
                "INSERT INTO calls (server, xml_cdr_uuid, service, period, start_epoch, status, "
                "cost, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        server,
                        call.call_uuid,
                        call.service,
                        selection.period.label,
                        call.start_epoch,
                        call.status,
                        None if call.cost is None else str(call.cost),
                        run_id,
                    )
                    for server, call in calls
                ],
            )
            rows = json.dumps([call_row(call) for _, call in calls], ensure_ascii=False)
            connection.execute(
                "INSERT INTO run_rows (run_id, rows) VALUES (?, ?)",
                (run_id, zlib.compress(rows.encode("utf-8"))),
            )
            insert_run_extras(connection, run_id, selection)
        except sqlite3.IntegrityError as exc:
            raise LedgerError(
                f"ledger {self.path}: a call of this run is already billed ({exc})",
                hint="another run committed it at the same time; rate the period again",
            ) from exc
        return run_id

    def commit(self) -> None:
        self.connection.execute("COMMIT")

    def rollback(self) -> None:
        if self.connection.in_transaction:
            self.connection.execute("ROLLBACK")

    def has_run(self, run_id: int) -> bool:
        row = self.connection.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone()
        return row is not None

    def void(self, run_id: int, reason: str | None = None) -> RunRecord:
        """Mark a committed run voided and release its calls (kept in voided_calls)."""
        record = self.run(run_id)
        if record.status == VOIDED:
            raise UsageError(f"run {run_id} is already voided ({record.voided})")
        connection = self.connection
        self.begin()
        try:
            connection.execute(
                "INSERT INTO voided_calls SELECT server, xml_cdr_uuid, service, period, "
                "start_epoch, status, cost, run_id FROM calls WHERE run_id = ?",
                (run_id,),
            )
            connection.execute("DELETE FROM calls WHERE run_id = ?", (run_id,))
            connection.execute(
                "UPDATE runs SET status = ?, voided = ? WHERE id = ?", (VOIDED, _now(), run_id)
            )
            if reason:
                connection.execute(VOID_REASONS)
                connection.execute("INSERT INTO void_reasons VALUES (?, ?)", (run_id, reason))
            self.commit()
        except BaseException:
            self.rollback()
            raise
        log.info("voided run %s (%s)", run_id, record.period)
        return self.run(run_id)


def _initialise(connection: sqlite3.Connection) -> None:
    """A writable ledger's settings and schema: whole for a new file, upgraded for an old one."""
    connection.execute("PRAGMA journal_mode = WAL")
    # money: a committed run survives a power cut, not only a crash
    connection.execute("PRAGMA synchronous = FULL")
    _create_or_upgrade(connection)
    add_run_extras(connection)


def _create_or_upgrade(connection: sqlite3.Connection) -> None:
    """A new ledger gets the whole schema; a version 1 ledger gets run_rows added."""
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version not in (0, 1):
        return  # a newer or foreign file: check_version refuses it
    if version == 0 and connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
        return  # tables of something else: not ours to write into (check_version refuses it)
    # one script, one transaction: a ledger is never left half created or half upgraded
    connection.executescript(
        "BEGIN IMMEDIATE;"
        + (SCHEMA_1 if version == 0 else "")
        + SCHEMA_2
        + f"PRAGMA user_version = {SCHEMA_VERSION};COMMIT;"
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
