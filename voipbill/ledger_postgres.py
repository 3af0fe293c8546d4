"""The billing ledger in PostgreSQL, for operators who run voipbill on several hosts.

The same records, methods and commit protocol as the SQLite `voipbill.ledger.Ledger`: the run's
rows go into an open transaction, the output file is written atomically, then the transaction
commits. What differs is how two hosts are kept from billing one call twice:

- a committing run holds a session-level advisory lock for its whole session (the flock of
  the SQLite ledger), so a second run waits up to `--lock-timeout` seconds, then exits 6;
- and, whatever any other program does, (server, xml_cdr_uuid) is unique in the database: a
  run's calls are COPYed into a temporary table and moved with `INSERT … ON CONFLICT DO
  NOTHING RETURNING` under READ COMMITTED. A concurrent insert of the same call waits for the
  other transaction, and the rows a run gets back are exactly the calls it owns. A run that
  lost any call to another commits nothing and raises `RaceLostError` naming them: run again,
  and the calls are left out as already billed.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voipbill.config import PostgresSettings
from voipbill.config.postgresql import import_psycopg
from voipbill.errors import UsageError, VoipbillError
from voipbill.ledger import COMMITTED, VOIDED, LedgerError, Publication, _service_totals
from voipbill.ledger_pgconnect import (
    WRITE_LOCK,
    LostCall,
    RaceLostError,
    connect,
    create_schema,
    failure,
    location,
    schema_state,
    take_run_lock,
)
from voipbill.ledger_records import SCHEMA_VERSION, LedgerCall, RunRecord, Selection, ServiceTotal
from voipbill.periods import Period

if TYPE_CHECKING:
    from voipbill.ledger_pgconnect import Connection

log = logging.getLogger("voipbill.ledger")

_RUN_COLUMNS = (
    "id, period, first_day, last_day, services, late_days, format, detail, currency, calls, "
    "late_calls, amount, output_path, output_sha256, status, created, voided"
)


class PostgresLedger:
    """The ledger in PostgreSQL. Open with `PostgresLedger.open`; use as a context manager."""

    def __init__(
        self, settings: PostgresSettings, connection: Connection, *, writable: bool
    ) -> None:
        self.settings = settings
        self.connection = connection
        self.writable = writable
        self.path = location(settings)  # what messages name, as SQLite's ledger names its file

    @classmethod
    def open(
        cls, settings: PostgresSettings, *, create: bool, lock_timeout: float | None = None
    ) -> PostgresLedger | None:
        """The ledger; None when the database has none yet and `create` is false (a preview
        writes nothing). With `lock_timeout`, the run lock is held until `close`."""
        connection = connect(settings)
        try:
            if lock_timeout is not None:
                take_run_lock(connection, lock_timeout, location(settings))
            version = schema_state(connection)
            if version is None and not create:
                connection.close()
                return None
            if not create:
                connection.execute("SET default_transaction_read_only = on")
            elif version is None:
                create_schema(connection)
            ledger = cls(settings, connection, writable=create)
            ledger.check_version()
        except BaseException:
            connection.close()
            raise
        log.debug("ledger %s opened (%s)", ledger.path, "read-write" if create else "read-only")
        return ledger

    def check_version(self) -> None:
        row = self.connection.execute("SELECT max(version) FROM ledger_version").fetchone()
        version = 0 if row is None or row[0] is None else int(row[0])
        if version != SCHEMA_VERSION:
            raise LedgerError(
                f"{self.path} is ledger version {version}; this voipbill reads version "
                f"{SCHEMA_VERSION}",
                hint="point [ledger] postgresql at a voipbill ledger",
            )

    def close(self) -> None:
        self.connection.close()  # ends the session: the run lock goes with it

    def __enter__(self) -> PostgresLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------------

    def billed(self, server: str, xml_cdr_uuid: str) -> tuple[int, str] | None:
        """(run id, period label) of the committed run that billed this call, if any."""
        row = self.connection.execute(
            "SELECT run_id, period FROM calls WHERE server = %s AND xml_cdr_uuid = %s",
            (server, xml_cdr_uuid),
        ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def billed_many(self, server: str, uuids: Iterable[str]) -> dict[str, tuple[int, str]]:
        """`billed` for many calls of one server in one round trip: uuid -> (run id, period)."""
        rows = self.connection.execute(
            "SELECT xml_cdr_uuid, run_id, period FROM calls "
            "WHERE server = %s AND xml_cdr_uuid = ANY(%s)",
            (server, list(uuids)),
        ).fetchall()
        return {str(uuid): (int(run_id), str(label)) for uuid, run_id, label in rows}

    def runs(self, *, service: str | None = None, run_id: int | None = None) -> list[RunRecord]:
        """Committed and voided runs, oldest first."""
        where: list[str] = []
        args: list[object] = []
        if run_id is not None:
            where.append("id = %s")
            args.append(run_id)
        if service is not None:
            where.append("id IN (SELECT run_id FROM run_services WHERE service = %s)")
            args.append(service)
        sql = f"SELECT {_RUN_COLUMNS} FROM runs"
        sql += (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
        rows = self.connection.execute(sql, args).fetchall()
        totals: dict[int, list[ServiceTotal]] = {int(row[0]): [] for row in rows}
        for run, name, calls, late, amount in self.connection.execute(
            "SELECT run_id, service, calls, late_calls, amount FROM run_services "
            "WHERE run_id = ANY(%s) ORDER BY run_id, position",
            (list(totals),),
        ):
            totals[int(run)].append(ServiceTotal(name, calls, late, Decimal(amount)))
        return [
            RunRecord(
                id=int(row[0]),
                period=row[1],
                first_day=row[2],
                last_day=row[3],
                services=tuple(row[4]),
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
                created=_text_time(row[15]),
                voided=None if row[16] is None else _text_time(row[16]),
                per_service=tuple(totals[int(row[0])]),
            )
            for row in rows
        ]

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
        row = self.connection.execute("SELECT output FROM runs WHERE id = %s", (run_id,)).fetchone()
        assert row is not None, f"run {run_id} has no stored output"
        return zlib.decompress(bytes(row[0])).decode("utf-8")

    # -- writing ---------------------------------------------------------------------------------

    def commit_run(
        self,
        selection: Selection,
        calls: list[LedgerCall],
        currency: str,
        output_path: Path,
        text: str,
    ) -> int:
        """Write `text` to `output_path` and record the run and its calls, all or nothing.

        Raises RaceLostError, with nothing written, when another run committed any of `calls`
        since this run looked them up."""
        data = text.encode("utf-8")
        per_service = _service_totals(selection.services, calls)
        connection = self.connection
        connection.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        try:
            # run ids in commit order, without the gaps a sequence leaves after a rollback
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            row = connection.execute("SELECT coalesce(max(id), 0) + 1 FROM runs").fetchone()
            assert row is not None
            run_id = int(row[0])
            connection.execute(
                f"INSERT INTO runs ({_RUN_COLUMNS}, output) VALUES "
                "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    run_id,
                    selection.period.label,
                    selection.period.first_day,
                    selection.period.last_day,
                    _jsonb(list(selection.services)),
                    selection.late_days,
                    selection.format,
                    selection.detail,
                    currency,
                    len(calls),
                    sum(t.late_calls for t in per_service),
                    sum((t.amount for t in per_service), Decimal(0)),
                    str(output_path.resolve()),
                    hashlib.sha256(data).hexdigest(),
                    COMMITTED,
                    datetime.now(UTC).replace(microsecond=0),
                    None,
                    zlib.compress(data),
                ),
            )
            with connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO run_services (run_id, position, service, calls, late_calls, "
                    "amount) VALUES (%s, %s, %s, %s, %s, %s)",
                    [
                        (run_id, index, t.service, t.calls, t.late_calls, t.amount)
                        for index, t in enumerate(per_service)
                    ],
                )
            self._claim(run_id, selection.period.label, calls)
        except BaseException:
            self._rollback()
            raise
        # the file first, atomically; the ledger transaction commits after it
        try:
            publication = Publication.write(output_path, text)
        except BaseException:
            self._rollback()
            raise
        try:
            self._commit()
        except BaseException:
            self._rollback()
            if self._has_run(run_id):
                publication.discard_backup()  # committed after all: the file is the run's
            else:
                publication.restore()
            raise
        publication.discard_backup()
        log.info(
            "committed run %s: %s, %d calls, output %s",
            run_id,
            selection.period.label,
            len(calls),
            output_path,
        )
        return run_id

    def _claim(self, run_id: int, label: str, calls: list[LedgerCall]) -> None:
        """Bill `calls` to the run: COPY into a temp table, then insert the calls no one has."""
        connection = self.connection
        connection.execute(
            "CREATE TEMP TABLE staged_calls (server text, xml_cdr_uuid text, service text, "
            "start_epoch bigint, status text, cost numeric) ON COMMIT DROP"
        )
        with connection.cursor() as cursor:
            with cursor.copy(
                "COPY staged_calls (server, xml_cdr_uuid, service, start_epoch, status, cost) "
                "FROM STDIN"
            ) as copy:
                for c in calls:
                    copy.write_row(
                        (c.server, c.xml_cdr_uuid, c.service, c.start_epoch, c.status, c.cost)
                    )
            row = cursor.execute(
                "WITH claimed AS (INSERT INTO calls (server, xml_cdr_uuid, service, period, "
                "start_epoch, status, cost, run_id) SELECT server, xml_cdr_uuid, service, %s, "
                "start_epoch, status, cost, %s FROM staged_calls "
                "ON CONFLICT (server, xml_cdr_uuid) DO NOTHING RETURNING 1) "
                "SELECT count(*) FROM claimed",
                (label, run_id),
            ).fetchone()
        claimed = 0 if row is None else int(row[0])
        if claimed == len(calls):
            return
        lost = [
            LostCall(str(server), str(uuid), int(other), str(period))
            for server, uuid, other, period in connection.execute(
                "SELECT s.server, s.xml_cdr_uuid, c.run_id, c.period FROM staged_calls s "
                "JOIN calls c USING (server, xml_cdr_uuid) WHERE c.run_id <> %s "
                "ORDER BY s.server, s.xml_cdr_uuid",
                (run_id,),
            )
        ]
        if not lost:  # a call listed twice by this very run: a bug, as in SQLite
            raise VoipbillError(f"run {run_id} lists {len(calls) - claimed} calls twice")
        log.warning("lost %d calls to run(s) committed meanwhile", len(lost))
        raise RaceLostError(lost)

    def _rollback(self) -> None:
        psycopg = import_psycopg()
        if self.connection.broken or self.connection.closed:
            return
        if self.connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self.connection.execute("ROLLBACK")

    def _has_run(self, run_id: int) -> bool:
        """Whether the run is in the ledger, asked on a new session when this one is broken;
        when that cannot be told either, False: the previous file is put back, and a rerun
        prints the committed bytes from the ledger if it did commit."""
        psycopg = import_psycopg()
        try:
            with contextlib.ExitStack() as stack:
                connection = self.connection
                if connection.broken or connection.closed:
                    connection = stack.enter_context(connect(self.settings))
                row = connection.execute("SELECT 1 FROM runs WHERE id = %s", (run_id,)).fetchone()
                return row is not None
        except (psycopg.Error, VoipbillError):
            return False

    def _commit(self) -> None:
        """The one point where a run becomes billed (kept apart so tests can fail it)."""
        self.connection.execute("COMMIT")

    def void(self, run_id: int) -> RunRecord:
        """Mark a committed run voided and release its calls (kept in voided_calls)."""
        record = self.run(run_id)
        if record.status == VOIDED:
            raise UsageError(f"run {run_id} is already voided ({record.voided})")
        connection = self.connection
        connection.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        try:
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            connection.execute(
                "INSERT INTO voided_calls SELECT server, xml_cdr_uuid, service, period, "
                "start_epoch, status, cost, run_id FROM calls WHERE run_id = %s",
                (run_id,),
            )
            connection.execute("DELETE FROM calls WHERE run_id = %s", (run_id,))
            connection.execute(
                "UPDATE runs SET status = %s, voided = %s WHERE id = %s AND status = %s",
                (VOIDED, datetime.now(UTC).replace(microsecond=0), run_id, COMMITTED),
            )
            self._commit()
        except BaseException:
            self._rollback()
            raise
        log.info("voided run %s (%s)", run_id, record.period)
        return self.run(run_id)


@contextlib.contextmanager
def postgres_session(
    settings: PostgresSettings, *, commit: bool, lock_timeout: float
) -> Iterator[PostgresLedger | None]:
    """The ledger for one command: holding the run lock and writable for `--commit`, else
    read-only, or None when the database has no ledger yet (a preview)."""
    psycopg = import_psycopg()
    try:
        found = PostgresLedger.open(
            settings, create=commit, lock_timeout=lock_timeout if commit else None
        )
        if found is None:
            yield None
            return
        with found:
            yield found
    except psycopg.Error as exc:
        raise failure(exc, settings) from exc


def _jsonb(value: Any) -> Any:
    from psycopg.types.json import Jsonb

    return Jsonb(value)


def _text_time(value: datetime | str) -> str:
    """A stored time as the SQLite ledger writes it: ISO 8601 in UTC, to the second."""
    if isinstance(value, str):
        return value
    return value.astimezone(UTC).isoformat(timespec="seconds")
