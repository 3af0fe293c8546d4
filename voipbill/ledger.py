"""The billing ledger (SPEC §9): which call was billed in which period, by which committed run.

One SQLite file (WAL mode) at `[ledger] path`. `rate --commit` records every call its output
lists, keyed by (server, xml_cdr_uuid), together with the run itself: its selection (period,
services, format, detail), its totals, and the exact bytes of the file it wrote (zlib), so a
rerun of the same committed selection prints the committed result byte for byte.

The commit protocol (SPEC §9, "the file is written first, atomically, and the ledger transaction
commits after it"): the run's rows are inserted in an open transaction; the output file is then
written to a temp file, fsynced and renamed into place (the previous file kept as a hard-linked
backup); then the transaction commits. Any failure before the commit rolls the transaction back
and puts the previous file back, so the file and the ledger always agree.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from voipbill.errors import ExitCode, UsageError, VoipbillError
from voipbill.files import OutputError, atomic_writer, output_target
from voipbill.ledger_records import (
    SCHEMA,
    SCHEMA_VERSION,
    VOID_REASONS,
    LedgerCall,
    RunRecord,
    Selection,
    ServiceTotal,
)
from voipbill.periods import Period
from voipbill.rating import CHARGED_STATUSES

log = logging.getLogger(__name__)

COMMITTED, VOIDED = "committed", "voided"


class LedgerError(VoipbillError):
    """The ledger file cannot be opened, read or written (a path or permission problem)."""

    exit_code = ExitCode.CONFIG


class Ledger:
    """The SQLite ledger file. Open with `Ledger.open`; use as a context manager."""

    def __init__(self, path: Path, connection: sqlite3.Connection, *, writable: bool) -> None:
        self.path = path
        self.connection = connection
        self.writable = writable

    @classmethod
    def open(cls, path: Path, *, create: bool) -> Ledger | None:
        """The ledger at `path`; None when it does not exist and `create` is false (a preview
        writes nothing, SPEC §9, not even an empty ledger)."""
        try:
            if not create:
                if not path.exists():
                    return None
                connection = sqlite3.connect(
                    f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None
                )
                connection.execute("PRAGMA query_only = ON")
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                connection = sqlite3.connect(path, isolation_level=None, timeout=30)
                connection.execute("PRAGMA journal_mode = WAL")
                # money: a committed run survives a power cut, not only a crash
                connection.execute("PRAGMA synchronous = FULL")
                version = connection.execute("PRAGMA user_version").fetchone()[0]
                if version == 0:
                    connection.execute("BEGIN IMMEDIATE")
                    connection.executescript(SCHEMA)  # executescript commits
                    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
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
        version = self.connection.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            raise LedgerError(
                f"{self.path} is ledger version {version}; this voipbill reads version "
                f"{SCHEMA_VERSION}",
                hint="point [ledger] path at a voipbill ledger",
            )

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Ledger:
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

    # -- writing ---------------------------------------------------------------------------------

    def commit_run(
        self,
        selection: Selection,
        calls: list[LedgerCall],
        currency: str,
        output_path: Path,
        text: str,
    ) -> int:
        """Write `text` to `output_path` and record the run and its calls, all or nothing."""
        data = text.encode("utf-8")
        per_service = _service_totals(selection.services, calls)
        connection = self.connection
        connection.execute("BEGIN IMMEDIATE")
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
                    str(output_path.resolve()),
                    hashlib.sha256(data).hexdigest(),
                    zlib.compress(data),
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
                        c.server,
                        c.xml_cdr_uuid,
                        c.service,
                        selection.period.label,
                        c.start_epoch,
                        c.status,
                        None if c.cost is None else str(c.cost),
                        run_id,
                    )
                    for c in calls
                ],
            )
        except BaseException:
            self._rollback()
            raise
        # SPEC §9: the file first, atomically; the ledger transaction commits after it
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

    def _rollback(self) -> None:
        if self.connection.in_transaction:
            self.connection.execute("ROLLBACK")

    def _has_run(self, run_id: int) -> bool:
        row = self.connection.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone()
        return row is not None

    def _commit(self) -> None:
        """The one point where a run becomes billed (kept apart so tests can fail it)."""
        self.connection.execute("COMMIT")

    def void(self, run_id: int, reason: str | None = None) -> RunRecord:
        """Mark a committed run voided and release its calls (kept in voided_calls)."""
        record = self.run(run_id)
        if record.status == VOIDED:
            raise UsageError(f"run {run_id} is already voided ({record.voided})")
        connection = self.connection
        connection.execute("BEGIN IMMEDIATE")
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
            self._commit()
        except BaseException:
            self._rollback()
            raise
        log.info("voided run %s (%s)", run_id, record.period)
        return self.run(run_id)


@dataclass
class Publication:
    """An output file put in place, with the file it replaced kept until the ledger commits."""

    path: Path
    backup: Path | None
    in_place: bool = False  # a device or /dev/stdout: written through, nothing to put back

    @classmethod
    def write(cls, path: Path, text: str) -> Publication:
        """Put `text` at `path` atomically (temp file, fsync, rename), keeping the old file as
        a hard link; if the write fails, nothing changed."""
        backup = None
        path, in_place = output_target(path)  # a symbolic link's target, never the link
        if in_place:
            write_output(path, text)
            return cls(path, None, in_place=True)
        try:
            if path.is_file():
                backup = path.with_name(f".{path.name}.voipbill-previous")
                backup.unlink(missing_ok=True)
                os.link(path, backup)
            write_output(path, text)
        except BaseException as exc:
            if backup is not None:
                backup.unlink(missing_ok=True)
            if isinstance(exc, OSError):  # a full disk, a vanished directory: nothing replaced
                raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
            raise
        return cls(path, backup)

    def restore(self) -> None:
        """Undo the write: the previous file back, or no file."""
        if self.backup is not None:
            self.backup.replace(self.path)
        elif self.path.is_file() and not self.in_place:
            self.path.unlink()

    def discard_backup(self) -> None:
        if self.backup is not None:
            self.backup.unlink(missing_ok=True)


def write_output(path: Path, text: str) -> None:
    """The export file, whole or not at all (kept apart so tests can fail it)."""
    with atomic_writer(path, newline="") as stream:
        stream.write(text)


def _service_totals(services: tuple[str, ...], calls: list[LedgerCall]) -> list[ServiceTotal]:
    """Per service: calls listed, late calls, and the amount (rated and late costs, SPEC §7)."""
    counts = dict.fromkeys(services, 0)
    late = dict.fromkeys(services, 0)
    amounts = dict.fromkeys(services, Decimal(0))
    for call in calls:
        counts[call.service] += 1
        if call.status == "late":
            late[call.service] += 1
        if call.status in CHARGED_STATUSES and call.cost is not None:
            amounts[call.service] += call.cost
    return [ServiceTotal(name, counts[name], late[name], amounts[name]) for name in services]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
