"""The ledger's one body (rules §9): everything that does not depend on the SQL dialect.

`LedgerBase` reads runs and calls, records a run, voids one, keeps the invoicing journal's
table (voipbill.ledger.journal) and brings the schema up to date, in SQL that SQLite and
PostgreSQL both run: `?` parameters (the PostgreSQL store hands psycopg `%s`), values passed as
text, integers or bytes, and rows read back through one mapping whatever types the driver gives.

A backend supplies only its hooks: the connection and its parameter style (`execute`,
`execute_many`), the write transaction and its lock (`begin`, `commit`, `rollback`), how a run
claims its calls in bulk (`_claim_calls`: `executemany`, or COPY and `INSERT … ON CONFLICT`),
how many calls it looks up at once (`billed_many`), where its version is kept, and the mapping
of its driver's errors. voipbill.ledger.sqlite and voipbill.ledger.postgres are the two.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import zlib
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from voipbill.errors import UsageError
from voipbill.free_minutes import given_by_month
from voipbill.ledger.errors import LedgerError
from voipbill.ledger.migrations import Migration, latest, pending, statements
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
from voipbill.ledger.rows import Rows, money, now, run_record
from voipbill.periods import Period
from voipbill.rating import RatedCall

if TYPE_CHECKING:
    from voipbill.ledger.journal import LedgerJournal

log = logging.getLogger("voipbill.ledger")

CARRIER_COSTS_VERSION = 4  # the migration that gave each committed call its carrier cost
RUN_COLUMNS = (
    "id, period, first_day, last_day, services, late_days, format, detail, currency, calls, "
    "late_calls, amount, output_path, output_sha256, status, created, voided"
)


class LedgerBase(ABC):
    """A LedgerStore (voipbill.ledger.store) written once over a backend's hooks."""

    MIGRATIONS: ClassVar[Sequence[Migration]]
    # the exact sum of a money column in this dialect (SQLite keeps money as text: a function
    # of the store's own adds it as Decimal; PostgreSQL's numeric sums exactly)
    MONEY_SUM: ClassVar[str] = "sum({})"

    def __init__(self, connection: Any, *, writable: bool) -> None:
        self.connection = connection
        self.writable = writable
        self.version = 0  # of the schema, once `load_schema` read it
        self.tables: frozenset[str] = frozenset()
        self._ledger_id: str | None = None

    # -- hooks -----------------------------------------------------------------------------------

    @property
    @abstractmethod
    def where(self) -> str:
        """Where the ledger is, for messages (a path, or a server; never a password)."""

    @abstractmethod
    def execute(self, sql: str, args: Sequence[object] = ()) -> Rows:
        """Run one statement written with `?` parameters."""

    @abstractmethod
    def execute_many(self, sql: str, rows: Iterable[Sequence[object]]) -> None: ...

    @abstractmethod
    def _begin(self) -> None:
        """Start a write transaction (exclusive: no other writer until commit/rollback)."""

    @abstractmethod
    def _commit(self) -> None: ...

    @abstractmethod
    def _rollback(self) -> None:
        """Roll the open transaction back, if there is one."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def billed_many(
        self, servers: Collection[str], uuids: Sequence[str]
    ) -> dict[tuple[str, str], tuple[int, str]]:
        """(server, uuid) -> (run id, period label) for those of `uuids` under any of
        `servers` that a committed run holds, in a few round trips."""

    @abstractmethod
    def _stored_version(self) -> int:
        """The schema version the database records; 0 when it holds no ledger yet."""

    @abstractmethod
    def _record_version(self, version: int) -> None: ...

    @abstractmethod
    def _table_names(self) -> frozenset[str]: ...

    @abstractmethod
    def _claim_calls(self, run_id: int, label: str, calls: Sequence[LedgerCall]) -> None:
        """Bill `calls` to the run in the open transaction; a call another run holds raises."""

    def _begin_migration(self) -> None:
        """The migration's transaction: `_begin`, and a backend's limits on waiting."""
        self._begin()

    def money_sum(self, column: str) -> str:
        """SQL for the exact sum of a money column, e.g. `sum(cost)` on PostgreSQL."""
        return self.MONEY_SUM.format(column)

    # -- schema ----------------------------------------------------------------------------------

    def load_schema(self) -> None:
        """Read the schema's version and tables (after opening, after migrating)."""
        self.version = self._stored_version()
        self.tables = self._table_names()
        self._ledger_id = None

    def check_version(self) -> None:
        newest = latest(self.MIGRATIONS)
        if 1 <= self.version <= newest:
            return
        if self.version > newest:
            raise LedgerError(
                f"{self.where} is ledger version {self.version}, written by a newer voipbill; "
                f"this one reads versions 1 to {newest}",
                hint="upgrade voipbill on this host (the ledger was left untouched)",
            )
        raise LedgerError(
            f"{self.where} is not a voipbill ledger (version {self.version})",
            hint="point the [ledger] settings at a voipbill ledger",
        )

    def migrate(self) -> None:
        """Apply the migrations the ledger lacks, all in one transaction, the version recorded
        once: a ledger is never half upgraded (rules §9: upgraded in place by a writing run)."""
        self._begin_migration()
        try:
            version = self._stored_version()
            todo = pending(self.MIGRATIONS, version) if version <= latest(self.MIGRATIONS) else []
            for _, sql in todo:
                for statement in statements(sql):
                    self.execute(statement)
            if todo:
                self._record_version(todo[-1][0])
            self._commit()
        except BaseException:
            self._rollback()
            raise
        if todo:
            verb = "upgraded" if version else "created"
            log.info("ledger %s %s to version %d", self.where, verb, todo[-1][0])
        self.load_schema()

    @property
    def ledger_id(self) -> str:
        """The ledger's own id, 8 hex digits made when it was created (or upgraded to keep
        one); "" for a ledger of an older voipbill opened read-only, before its upgrade."""
        if self._ledger_id is None:
            row = None
            if "ledger_meta" in self.tables:
                row = self.execute("SELECT ledger_id FROM ledger_meta").fetchone()
            self._ledger_id = "" if row is None else str(row[0])
        return self._ledger_id

    @property
    def journal(self) -> LedgerJournal:
        """The invoicing journal kept in this ledger (rules §11)."""
        from voipbill.ledger.journal import LedgerJournal

        return LedgerJournal(self)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction of its own, committed at the end of the block, else rolled back."""
        self._writing()
        self._begin()
        try:
            yield
        except BaseException:
            self._rollback()
            raise
        self._commit()

    # -- a run's commit, driven by voipbill.ledger.commit.commit_run ------------------------------

    def begin(self) -> None:
        """Start the run's write transaction (exclusive: no other writer until commit)."""
        self._writing()
        self._begin()

    def commit(self) -> None:
        """Commit the open transaction: the one point where a run becomes billed."""
        self._commit()

    def rollback(self) -> None:
        """Roll the open transaction back, if there is one."""
        self._rollback()

    def _writing(self) -> None:
        if not self.writable:  # a preview, `ledger show`, a dry run: never a write
            raise LedgerError(f"the ledger {self.where} is open read-only: nothing written")

    def __enter__(self) -> LedgerBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------------

    def billed(self, server: str, xml_cdr_uuid: str) -> tuple[int, str] | None:
        row = self.execute(
            "SELECT run_id, period FROM calls WHERE server = ? AND xml_cdr_uuid = ?",
            (server, xml_cdr_uuid),
        ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def period_calls(self, label: str, services: Collection[str]) -> dict[tuple[str, str], int]:
        """(server, uuid) -> run id of every call of these services billed in the period."""
        if not services:
            return {}
        marks = ", ".join("?" for _ in services)
        rows = self.execute(
            f"SELECT server, xml_cdr_uuid, run_id FROM calls WHERE period = ? "
            f"AND service IN ({marks})",
            (label, *services),
        )
        return {(str(server), str(uuid)): int(run) for server, uuid, run in rows}

    def runs(self, *, service: str | None = None, run_id: int | None = None) -> list[RunRecord]:
        """Committed and voided runs, oldest first; a few queries however many runs."""
        where: list[str] = []
        args: list[object] = []
        if run_id is not None:
            where.append("id = ?")
            args.append(run_id)
        if service is not None:
            where.append("id IN (SELECT run_id FROM run_services WHERE service = ?)")
            args.append(service)
        condition = " WHERE " + " AND ".join(where) if where else ""
        rows = self.execute(
            f"SELECT {RUN_COLUMNS} FROM runs{condition} ORDER BY id", args
        ).fetchall()
        chosen = f"SELECT id FROM runs{condition}"
        totals: dict[int, list[ServiceTotal]] = {int(row[0]): [] for row in rows}
        for run, name, calls, late, amount in self.execute(
            "SELECT run_id, service, calls, late_calls, amount FROM run_services "
            f"WHERE run_id IN ({chosen}) ORDER BY run_id, position",
            args,
        ):
            totals[int(run)].append(ServiceTotal(str(name), int(calls), int(late), money(amount)))
        reasons = self._by_run("void_reasons", "reason", chosen, args)
        skipped = self._by_run("run_skipped_rows", "lines", chosen, args)
        return [
            run_record(
                row,
                tuple(totals[int(row[0])]),
                reasons.get(int(row[0])),
                tuple(json.loads(skipped[int(row[0])])) if int(row[0]) in skipped else (),
            )
            for row in rows
        ]

    def _by_run(self, table: str, column: str, chosen: str, args: list[object]) -> dict[int, str]:
        if table not in self.tables:  # a ledger of an older voipbill, opened read-only
            return {}
        sql = f"SELECT run_id, {column} FROM {table} WHERE run_id IN ({chosen})"
        rows = self.execute(sql, args)
        return {int(run_id): str(value) for run_id, value in rows}

    def run(self, run_id: int) -> RunRecord:
        found = self.runs(run_id=run_id)
        if not found:
            raise UsageError(
                f"run {run_id} is not in the ledger {self.where}",
                hint="`voipbill ledger show` lists the runs",
            )
        return found[0]

    def has_run(self, run_id: int) -> bool:
        return self.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is not None

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
        row = self.execute("SELECT output FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise UsageError(f"run {run_id} is not in the ledger {self.where}")
        return zlib.decompress(bytes(row[0])).decode("utf-8")

    def committed_calls(self, run_id: int) -> list[RatedCall] | None:
        """Every call a run listed, as committed; None for a run of a voipbill that kept none."""
        if "run_rows" not in self.tables:
            return None  # a version 1 ledger opened read-only
        row = self.execute("SELECT rows FROM run_rows WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        return [call_from_row(values) for values in json.loads(zlib.decompress(bytes(row[0])))]

    def carrier_costs(self, run_id: int) -> dict[tuple[str, str], tuple[Decimal | None, str]]:
        """(service, uuid) -> (carrier cost, cost-deck prefix) recorded with each call the run
        still bills (rules §15); a call committed before they were recorded is not in it."""
        if self.version < CARRIER_COSTS_VERSION:
            return {}  # a ledger of an older voipbill, opened read-only
        return {
            (str(service), str(uuid)): (None if cost is None else money(cost), str(prefix))
            for service, uuid, cost, prefix in self.execute(
                "SELECT service, xml_cdr_uuid, carrier_cost, carrier_prefix FROM calls "
                "WHERE run_id = ? AND carrier_prefix IS NOT NULL",
                (run_id,),
            )
        }

    def free_seconds_given(
        self, service: str, timezone: ZoneInfo, *, except_runs: Collection[int] = ()
    ) -> dict[str, int]:
        """Month -> free seconds the committed runs (but `except_runs`) gave `service`: as
        recorded at commit; a run committed before they were recorded has its months derived
        from its committed calls in `timezone` (each call drew on its own start's month)."""
        runs = [
            record.id
            for record in self.runs(service=service)
            if record.status == COMMITTED and record.id not in except_runs
        ]
        recorded: dict[int, list[tuple[str, int]]] = {}
        if "run_free_seconds" in self.tables:
            for run_id, name, month, seconds in self.execute(
                "SELECT run_id, service, month, seconds FROM run_free_seconds WHERE run_id IN "
                "(SELECT run_id FROM run_services WHERE service = ?) ORDER BY run_id, month",
                (service,),
            ):
                entries = recorded.setdefault(int(run_id), [])
                if name == service:
                    entries.append((str(month), int(seconds)))
        given: dict[str, int] = {}
        for run_id in sorted(runs):
            months = recorded.get(run_id)
            if months is None:
                calls = [c for c in self.committed_calls(run_id) or [] if c.service == service]
                pairs = ((call.start_epoch, call.free_seconds) for call in calls)
                months = list(given_by_month(pairs, timezone).items())
            for month, seconds in months:
                given[month] = given.get(month, 0) + seconds
        return given

    # -- writing ---------------------------------------------------------------------------------

    def insert_run(
        self,
        selection: RunSelection,
        calls: Sequence[LedgerCall],
        currency: str,
        output_path: str,
        output: bytes,
    ) -> int:
        """Record a run, its totals, its calls, its skipped rows and the free seconds it gave,
        in the open transaction (`begin` holds the write lock, so ids follow commit order)."""
        per_service = service_totals(selection.services, calls)
        row = self.execute("SELECT coalesce(max(id), 0) + 1 FROM runs").fetchone()
        run_id = int(row[0])
        self.execute(
            f"INSERT INTO runs ({RUN_COLUMNS}, output) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
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
                COMMITTED,
                now(),
                None,
                zlib.compress(output),
            ),
        )
        self.execute_many(
            "INSERT INTO run_services (run_id, position, service, calls, late_calls, amount) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (run_id, index, t.service, t.calls, t.late_calls, str(t.amount))
                for index, t in enumerate(per_service)
            ],
        )
        self._claim_calls(run_id, selection.period.label, [c for c in calls if not c.held])
        rows = json.dumps([call_row(entry.call) for entry in calls], ensure_ascii=False)
        self.execute(
            "INSERT INTO run_rows (run_id, rows) VALUES (?, ?)",
            (run_id, zlib.compress(rows.encode("utf-8"))),
        )
        self.execute_many(
            "INSERT INTO run_free_seconds (run_id, service, month, seconds) VALUES (?, ?, ?, ?)",
            [(run_id, "", "", 0)]  # the marker: this run's free seconds are recorded
            + [(run_id, name, month, seconds) for name, month, seconds in selection.free_seconds],
        )
        if selection.skipped_rows:
            self.execute(
                "INSERT INTO run_skipped_rows (run_id, count, lines) VALUES (?, ?, ?)",
                (run_id, len(selection.skipped_rows), json.dumps(list(selection.skipped_rows))),
            )
        return run_id

    def void(self, run_id: int, reason: str | None = None) -> RunRecord:
        """Mark a committed run voided and release its calls (kept apart in voided_calls)."""
        record = self.run(run_id)
        if record.status == VOIDED:
            raise UsageError(f"run {run_id} is already voided ({record.voided})")
        with self.transaction():
            changed = self.execute(
                "UPDATE runs SET status = ?, voided = ? WHERE id = ? AND status = ?",
                (VOIDED, now(), run_id, COMMITTED),
            ).rowcount
            if changed != 1:  # another host voided it meanwhile
                raise UsageError(f"run {run_id} is already voided")
            self.execute(
                "INSERT INTO voided_calls SELECT server, xml_cdr_uuid, service, period, "
                "start_epoch, status, cost, run_id FROM calls WHERE run_id = ?",
                (run_id,),
            )
            self.execute("DELETE FROM calls WHERE run_id = ?", (run_id,))
            if reason:
                self.execute(
                    "INSERT INTO void_reasons (run_id, reason) VALUES (?, ?)", (run_id, reason)
                )
        log.info("voided run %s (%s)", run_id, record.period)
        return self.run(run_id)
