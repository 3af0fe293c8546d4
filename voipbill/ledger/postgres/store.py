"""The PostgreSQL ledger store (a LedgerStore), for operators who run voipbill on several hosts.

The body is voipbill.ledger.base, the same as SQLite's; this module holds PostgreSQL's hooks.
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
import logging
from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING

from voipbill.config import PostgresSettings
from voipbill.config.postgresql import import_psycopg
from voipbill.errors import VoipbillError
from voipbill.ledger.base import LedgerBase
from voipbill.ledger.errors import LedgerError
from voipbill.ledger.postgres.connect import (
    SCHEMA_NAME,
    WRITE_LOCK,
    LostCall,
    RaceLostError,
    connect,
    location,
    take_run_lock,
)
from voipbill.ledger.postgres.migrations import MIGRATIONS
from voipbill.ledger.records import LedgerCall, call_facts
from voipbill.ledger.rows import Rows

if TYPE_CHECKING:
    from voipbill.ledger.postgres.connect import Connection

log = logging.getLogger("voipbill.ledger")

BATCH = 5000  # uuids per `billed_many` round trip
# How long a schema change waits for another session's lock on a ledger table (a pg_dump, a
# long report) before it gives up: exit 6, the ledger as it was, rather than a cron run hung.
MIGRATION_LOCK_TIMEOUT = "60s"


class PostgresLedger(LedgerBase):
    """The ledger in PostgreSQL. Open with `PostgresLedger.open`; use as a context manager."""

    MIGRATIONS = MIGRATIONS
    connection: Connection

    def __init__(
        self, settings: PostgresSettings, connection: Connection, *, writable: bool
    ) -> None:
        super().__init__(connection, writable=writable)
        self.settings = settings

    @property
    def where(self) -> str:
        return location(self.settings)  # host, port, dbname, user: never the password

    @classmethod
    def open(
        cls, settings: PostgresSettings, *, create: bool, lock_timeout: float | None = None
    ) -> PostgresLedger | None:
        """The ledger; None when the database has none yet and `create` is false (a preview
        writes nothing). Writable: migrated to the newest schema first (one transaction).
        With `lock_timeout`, the run lock is held until `close`."""
        connection = connect(settings)
        try:
            if lock_timeout is not None:
                take_run_lock(connection, lock_timeout, location(settings))
            ledger = cls(settings, connection, writable=create)
            if not create:
                if ledger._stored_version() == 0:
                    connection.close()
                    return None
                connection.execute("SET default_transaction_read_only = on")
            else:
                ledger.migrate()
            ledger.load_schema()
            ledger.check_version()
        except BaseException:
            connection.close()
            raise
        log.debug("ledger %s opened (%s)", ledger.where, "read-write" if create else "read-only")
        return ledger

    # -- hooks -----------------------------------------------------------------------------------

    def execute(self, sql: str, args: Sequence[object] = ()) -> Rows:
        if not args:
            return self.connection.execute(sql)
        return self.connection.execute(sql.replace("?", "%s"), args)

    def execute_many(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        with self.connection.cursor() as cursor:
            cursor.executemany(sql.replace("?", "%s"), rows)

    def _begin(self) -> None:
        self.connection.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        # one writer at a time, across hosts: run ids in commit order, without the gaps a
        # sequence leaves after a rollback; a migration applied once
        self.connection.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))

    def _begin_migration(self) -> None:
        self._begin()
        self.connection.execute(f"SET LOCAL lock_timeout = '{MIGRATION_LOCK_TIMEOUT}'")

    def _commit(self) -> None:
        self.connection.execute("COMMIT")

    def _rollback(self) -> None:
        psycopg = import_psycopg()
        if self.connection.broken or self.connection.closed:
            return
        if self.connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self.connection.execute("ROLLBACK")

    def close(self) -> None:
        self.connection.close()  # ends the session: the run lock goes with it

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

    def _stored_version(self) -> int:
        """The ledger's version; 0 when the database has no ledger yet (no schema, or an
        empty one). Raises LedgerError when the schema holds something else."""
        row = self.connection.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = %s", (SCHEMA_NAME,)
        ).fetchone()
        if row is None or row[0] == 0:
            return 0
        found = self.connection.execute("SELECT to_regclass('voipbill.ledger_version')").fetchone()
        if found is None or found[0] is None:
            raise LedgerError(
                "the PostgreSQL schema voipbill holds tables that are not a voipbill ledger",
                hint="point [ledger] postgresql at a database of its own",
            )
        version = self.connection.execute("SELECT max(version) FROM ledger_version").fetchone()
        return int(version[0]) if version is not None and version[0] is not None else 0

    def _record_version(self, version: int) -> None:
        self.connection.execute("DELETE FROM voipbill.ledger_version")
        self.connection.execute("INSERT INTO voipbill.ledger_version VALUES (%s)", (version,))

    def _table_names(self) -> frozenset[str]:
        rows = self.connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (SCHEMA_NAME,)
        )
        return frozenset(str(name) for (name,) in rows)

    def _claim_calls(self, run_id: int, label: str, calls: Sequence[LedgerCall]) -> None:
        """COPY into a temp table, then insert the calls no one has; RaceLostError when
        another run committed any of them meanwhile (the caller rolls back)."""
        connection = self.connection
        connection.execute(
            "CREATE TEMP TABLE staged_calls (server text, xml_cdr_uuid text, service text, "
            "start_epoch bigint, status text, cost numeric, carrier_cost numeric, "
            "carrier_prefix text, period text, direction text, category text, country_code text) "
            "ON COMMIT DROP"
        )
        with connection.cursor() as cursor:
            with cursor.copy(
                "COPY staged_calls (server, xml_cdr_uuid, service, start_epoch, status, cost, "
                "carrier_cost, carrier_prefix, period, direction, category, country_code) "
                "FROM STDIN"
            ) as copy:
                for entry in calls:
                    c = entry.call
                    copy.write_row(
                        (
                            entry.server,
                            c.call_uuid,
                            c.service,
                            c.start_epoch,
                            c.status,
                            c.cost,
                            entry.carrier_cost,
                            entry.carrier_prefix,
                            entry.period or label,
                            *call_facts(c),
                        )
                    )
            row = cursor.execute(
                "WITH claimed AS (INSERT INTO calls (server, xml_cdr_uuid, service, period, "
                "start_epoch, status, cost, run_id, carrier_cost, carrier_prefix, direction, "
                "category, country_code) SELECT server, xml_cdr_uuid, service, period, "
                "start_epoch, status, cost, %s, carrier_cost, carrier_prefix, direction, "
                "category, country_code FROM staged_calls "
                "ON CONFLICT (server, xml_cdr_uuid) DO NOTHING RETURNING 1) "
                "SELECT count(*) FROM claimed",
                (run_id,),
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
            raise LedgerError(f"run {run_id} lists {len(calls) - claimed} calls twice")
        log.warning("lost %d calls to run(s) committed meanwhile", len(lost))
        raise RaceLostError(lost)
