"""The PostgreSQL ledger store (a LedgerStore), for operators who run voipbill on several hosts.

The same records and the same commit protocol (voipbill.ledger.commit) as the SQLite store.
What differs is how two hosts are kept from billing one call twice:

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
import json
import logging
import zlib
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from voipbill.config import PostgresSettings
from voipbill.config.postgresql import import_psycopg
from voipbill.errors import UsageError, VoipbillError
from voipbill.free_minutes import given_by_month
from voipbill.ledger.errors import LedgerError
from voipbill.ledger.pgconnect import WRITE_LOCK, connect, location, take_run_lock
from voipbill.ledger.pgschema import (
    READABLE_VERSIONS,
    SCHEMA_VERSION,
    claim_calls,
    create_schema,
    schema_state,
)
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
from voipbill.periods import Period
from voipbill.rating import RatedCall

if TYPE_CHECKING:
    from voipbill.ledger.pgconnect import Connection

log = logging.getLogger("voipbill.ledger")

_RUN_COLUMNS = (
    "id, period, first_day, last_day, services, late_days, format, detail, currency, calls, "
    "late_calls, amount, output_path, output_sha256, status, created, voided"
)
BATCH = 5000  # uuids per `billed_many` round trip


class PostgresLedger:
    """The ledger in PostgreSQL. Open with `PostgresLedger.open`; use as a context manager."""

    def __init__(
        self, settings: PostgresSettings, connection: Connection, *, writable: bool
    ) -> None:
        self.settings = settings
        self.connection = connection
        self.writable = writable
        self.version = SCHEMA_VERSION

    @property
    def where(self) -> str:
        return location(self.settings)  # host, port, dbname, user: never the password

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
            elif version != SCHEMA_VERSION:
                create_schema(connection)
            ledger = cls(settings, connection, writable=create)
            ledger.check_version()
        except BaseException:
            connection.close()
            raise
        log.debug("ledger %s opened (%s)", ledger.where, "read-write" if create else "read-only")
        return ledger

    def check_version(self) -> None:
        row = self.connection.execute("SELECT max(version) FROM ledger_version").fetchone()
        version = 0 if row is None or row[0] is None else int(row[0])
        if version not in READABLE_VERSIONS:
            raise LedgerError(
                f"{self.where} is ledger version {version}; this voipbill reads version "
                f"{SCHEMA_VERSION}",
                hint="point [ledger] postgresql at a voipbill ledger",
            )
        self.version = version

    def close(self) -> None:
        self.connection.close()  # ends the session: the run lock goes with it

    def __enter__(self) -> PostgresLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------------

    def billed(self, server: str, xml_cdr_uuid: str) -> tuple[int, str] | None:
        row = self.connection.execute(
            "SELECT run_id, period FROM calls WHERE server = %s AND xml_cdr_uuid = %s",
            (server, xml_cdr_uuid),
        ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def billed_many(
        self, servers: Collection[str], uuids: Sequence[str]
    ) -> dict[tuple[str, str], tuple[int, str]]:
        found: dict[tuple[str, str], tuple[int, str]] = {}
        names = list(servers)
        for start in range(0, len(uuids), BATCH):
            rows = self.connection.execute(
                "SELECT server, xml_cdr_uuid, run_id, period FROM calls "
                "WHERE server = ANY(%s) AND xml_cdr_uuid = ANY(%s)",
                (names, list(uuids[start : start + BATCH])),
            )
            for server, uuid, run_id, label in rows:
                found[(str(server), str(uuid))] = (int(run_id), str(label))
        return found

    def runs(self, *, service: str | None = None, run_id: int | None = None) -> list[RunRecord]:
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
        ids = [int(row[0]) for row in rows]
        totals: dict[int, list[ServiceTotal]] = {run: [] for run in ids}
        for run, name, calls, late, amount in self.connection.execute(
            "SELECT run_id, service, calls, late_calls, amount FROM run_services "
            "WHERE run_id = ANY(%s) ORDER BY run_id, position",
            (ids,),
        ):
            totals[int(run)].append(ServiceTotal(name, calls, late, Decimal(amount)))
        reasons = self._void_reasons(ids)
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
                void_reason=reasons.get(int(row[0])),
            )
            for row in rows
        ]

    def _void_reasons(self, ids: list[int]) -> dict[int, str]:
        if self.version < 2:
            return {}
        rows = self.connection.execute(
            "SELECT run_id, reason FROM void_reasons WHERE run_id = ANY(%s)", (ids,)
        )
        return {int(run_id): str(reason) for run_id, reason in rows}

    def run(self, run_id: int) -> RunRecord:
        found = self.runs(run_id=run_id)
        if not found:
            raise UsageError(
                f"run {run_id} is not in the ledger {self.where}",
                hint="`voipbill ledger show` lists the runs",
            )
        return found[0]

    def committed_run(self, period: Period, services: Iterable[str]) -> RunRecord | None:
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

    def free_seconds_given(
        self, service: str, timezone: ZoneInfo, *, except_runs: Collection[int] = ()
    ) -> dict[str, int]:
        """Month -> free seconds the committed runs (but `except_runs`) gave `service`, read
        from their committed calls: each call drew on the month of its own start."""
        given: dict[str, int] = {}
        for record in self.runs(service=service):
            if record.status != COMMITTED or record.id in except_runs:
                continue
            calls = [c for c in self.committed_calls(record.id) or [] if c.service == service]
            pairs = ((call.start_epoch, call.free_seconds) for call in calls)
            for month, seconds in given_by_month(pairs, timezone).items():
                given[month] = given.get(month, 0) + seconds
        return given

    def committed_calls(self, run_id: int) -> list[RatedCall] | None:
        if self.version < 2:
            return None  # a read-only version 1 ledger: its runs kept no rows
        row = self.connection.execute(
            "SELECT rows FROM run_rows WHERE run_id = %s", (run_id,)
        ).fetchone()
        if row is None:
            return None
        return [call_from_row(values) for values in json.loads(zlib.decompress(bytes(row[0])))]

    # -- writing ---------------------------------------------------------------------------------

    def begin(self) -> None:
        self.connection.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        # run ids in commit order, without the gaps a sequence leaves after a rollback
        self.connection.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))

    def insert_run(
        self,
        selection: RunSelection,
        calls: Sequence[LedgerCall],
        currency: str,
        output_path: str,
        output: bytes,
    ) -> int:
        """Record the run in the open transaction. Raises RaceLostError when another run
        committed any of `calls` since this run looked them up (the caller rolls back)."""
        per_service = service_totals(selection.services, calls)
        connection = self.connection
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
                output_path,
                hashlib.sha256(output).hexdigest(),
                COMMITTED,
                datetime.now(UTC).replace(microsecond=0),
                None,
                zlib.compress(output),
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
        claim_calls(connection, run_id, selection.period.label, calls)
        rows = json.dumps([call_row(call) for _, call in calls], ensure_ascii=False)
        connection.execute(
            "INSERT INTO run_rows (run_id, rows) VALUES (%s, %s)",
            (run_id, zlib.compress(rows.encode("utf-8"))),
        )
        return run_id

    def commit(self) -> None:
        self.connection.execute("COMMIT")

    def rollback(self) -> None:
        psycopg = import_psycopg()
        if self.connection.broken or self.connection.closed:
            return
        if self.connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self.connection.execute("ROLLBACK")

    def has_run(self, run_id: int) -> bool:
        """Asked on a new session when this one is broken; when that cannot be told either,
        False: the previous file is put back, and a rerun prints the committed bytes from the
        ledger if it did commit."""
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

    def void(self, run_id: int, reason: str | None = None) -> RunRecord:
        record = self.run(run_id)
        if record.status == VOIDED:
            raise UsageError(f"run {run_id} is already voided ({record.voided})")
        connection = self.connection
        self.begin()
        try:
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
            if reason:
                connection.execute("INSERT INTO void_reasons VALUES (%s, %s)", (run_id, reason))
            self.commit()
        except BaseException:
            self.rollback()
            raise
        log.info("voided run %s (%s)", run_id, record.period)
        return self.run(run_id)


def _jsonb(value: Any) -> Any:
    from psycopg.types.json import Jsonb

    return Jsonb(value)


def _text_time(value: datetime | str) -> str:
    """A stored time as the SQLite ledger writes it: ISO 8601 in UTC, to the second."""
    if isinstance(value, str):
        return value
    return value.astimezone(UTC).isoformat(timespec="seconds")
