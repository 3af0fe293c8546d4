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

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import sqlite3
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from voipbill.config import Config, Service
from voipbill.errors import ExitCode, LockedError, UsageError, VoipbillError
from voipbill.files import OutputError, atomic_writer
from voipbill.periods import Period
from voipbill.rating import RatedCall

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
# A --cdr-file run of a service with no `server`: its calls are keyed under this name.
FILE_SERVER = "file"
COMMITTED, VOIDED = "committed", "voided"
_CHARGED = frozenset({"rated", "late"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    period TEXT NOT NULL,
    first_day TEXT NOT NULL,
    last_day TEXT NOT NULL,
    services TEXT NOT NULL,
    late_days INTEGER NOT NULL,
    format TEXT NOT NULL,
    detail TEXT NOT NULL,
    currency TEXT NOT NULL,
    calls INTEGER NOT NULL,
    late_calls INTEGER NOT NULL,
    amount TEXT NOT NULL,
    output_path TEXT NOT NULL,
    output_sha256 TEXT NOT NULL,
    output BLOB NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('committed', 'voided')),
    created TEXT NOT NULL,
    voided TEXT
);
CREATE TABLE IF NOT EXISTS run_services (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    position INTEGER NOT NULL,
    service TEXT NOT NULL,
    calls INTEGER NOT NULL,
    late_calls INTEGER NOT NULL,
    amount TEXT NOT NULL,
    PRIMARY KEY (run_id, service)
);
CREATE TABLE IF NOT EXISTS calls (
    server TEXT NOT NULL,
    xml_cdr_uuid TEXT NOT NULL,
    service TEXT NOT NULL,
    period TEXT NOT NULL,
    start_epoch INTEGER NOT NULL,
    status TEXT NOT NULL,
    cost TEXT,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    PRIMARY KEY (server, xml_cdr_uuid)
);
CREATE INDEX IF NOT EXISTS calls_by_run ON calls(run_id);
CREATE TABLE IF NOT EXISTS voided_calls (
    server TEXT NOT NULL,
    xml_cdr_uuid TEXT NOT NULL,
    service TEXT NOT NULL,
    period TEXT NOT NULL,
    start_epoch INTEGER NOT NULL,
    status TEXT NOT NULL,
    cost TEXT,
    run_id INTEGER NOT NULL REFERENCES runs(id)
);
"""


class LedgerError(VoipbillError):
    """The ledger file cannot be opened, read or written (a path or permission problem)."""

    exit_code = ExitCode.CONFIG


@dataclass(frozen=True, slots=True)
class LedgerCall:
    """One row of a committed run, as the ledger keeps it."""

    service: str
    server: str
    xml_cdr_uuid: str
    start_epoch: int
    status: str
    cost: Decimal | None


@dataclass(frozen=True, slots=True)
class ServiceTotal:
    service: str
    calls: int
    late_calls: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Selection:
    """What a run rated and how it printed it: a rerun of the same selection is a replay."""

    period: Period
    services: tuple[str, ...]
    late_days: int
    format: str
    detail: str


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: int
    period: str
    first_day: date
    last_day: date
    services: tuple[str, ...]
    late_days: int
    format: str
    detail: str
    currency: str
    calls: int
    late_calls: int
    amount: Decimal
    output_path: str
    output_sha256: str
    status: str
    created: str
    voided: str | None
    per_service: tuple[ServiceTotal, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "run": self.id,
            "period": self.period,
            "period_start": self.first_day.isoformat(),
            "period_end": self.last_day.isoformat(),
            "services": [
                {
                    "service": t.service,
                    "calls": t.calls,
                    "late_calls": t.late_calls,
                    "amount": str(t.amount),
                }
                for t in self.per_service
            ],
            "late_days": self.late_days,
            "format": self.format,
            "detail": self.detail,
            "calls": self.calls,
            "late_calls": self.late_calls,
            "amount": str(self.amount),
            "currency": self.currency,
            "output": self.output_path,
            "sha256": self.output_sha256,
            "status": self.status,
            "created": self.created,
            "voided": self.voided,
        }


def server_key(config: Config, service: Service) -> str:
    """The `server` half of a call's ledger key (SPEC §9: keyed by (server, xml_cdr_uuid)).

    A `--cdr-file` is an export of the service's server (what `pull` writes), so its calls are
    keyed under that server's name too: the same call rated from the file and from the server
    is one ledger entry. Only a service with no `server` uses "file".
    """
    del config  # the key is the configured server name, not its URL, which may change
    return service.server if service.server is not None else FILE_SERVER


def lock_path_of(ledger_path: Path) -> Path:
    return ledger_path.with_name(ledger_path.name + ".lock")


@contextlib.contextmanager
def ledger_lock(ledger_path: Path, timeout: float) -> Iterator[None]:
    """Hold the ledger's lock file (fcntl.flock) for the whole block (SPEC §9: exit 6).

    flock locks vanish with the process, so a run that dies never leaves a stale lock.
    """
    path = lock_path_of(ledger_path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise LedgerError(
            f"cannot open the ledger lock {path}: {exc.strerror}",
            hint="check [ledger] path and its directory's permissions",
        ) from exc
    try:
        deadline = time.monotonic() + max(timeout, 0)
        waited = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise LedgerError(f"cannot lock {path}: {exc.strerror}") from exc
                if time.monotonic() >= deadline:
                    raise LockedError(
                        f"another voipbill run holds the ledger lock {path}",
                        hint="wait for it to finish, or give --lock-timeout SECONDS to wait",
                    ) from None
                if not waited:
                    log.info("ledger lock %s is held; waiting up to %ss", path, timeout)
                    waited = True
                time.sleep(0.05)
        log.debug("ledger lock %s acquired", path)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


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
                    connection.executescript(_SCHEMA)  # executescript commits
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

    def runs(
        self, *, period: str | None = None, service: str | None = None, run_id: int | None = None
    ) -> list[RunRecord]:
        """Committed and voided runs, oldest first."""
        where, args = [], []
        if period is not None:
            where.append("period = ?")
            args.append(period)
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
                )
            )
        return records

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

    def void(self, run_id: int) -> RunRecord:
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

    @classmethod
    def write(cls, path: Path, text: str) -> Publication:
        """Put `text` at `path` atomically (temp file, fsync, rename), keeping the old file as
        a hard link; if the write fails, nothing changed."""
        backup = None
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
        elif self.path.is_file():
            self.path.unlink()

    def discard_backup(self) -> None:
        if self.backup is not None:
            self.backup.unlink(missing_ok=True)


def write_output(path: Path, text: str) -> None:
    """The export file, whole or not at all (kept apart so tests can fail it)."""
    with atomic_writer(path, newline="") as stream:
        stream.write(text)


class CallBook:
    """The ledger's answer for each call of a run (runs.LedgerCheck).

    A call is billed when no committed run has it. When the run reruns a committed selection
    (`replay`), exactly that run's calls are billed and nothing else, so the rerun prints what
    was committed; calls of the period that reached FusionPBX after the commit are left for a
    later run's `--late-days`.
    """

    def __init__(
        self, ledger: Ledger | None, server_keys: Mapping[str, str], replay: RunRecord | None
    ) -> None:
        self.ledger = ledger
        self.server_keys = server_keys
        self.replay = replay

    def check(self, service: Service, xml_cdr_uuid: str) -> tuple[bool, str | None]:
        if self.ledger is None:
            return True, None
        billed = self.ledger.billed(self.server_keys[service.name], xml_cdr_uuid)
        if billed is None:
            return self.replay is None, None
        run_id, label = billed
        if self.replay is not None and run_id == self.replay.id:
            return True, None
        return False, label


def _service_totals(services: tuple[str, ...], calls: list[LedgerCall]) -> list[ServiceTotal]:
    """Per service: calls listed, late calls, and the amount (rated and late costs, SPEC §7)."""
    counts = dict.fromkeys(services, 0)
    late = dict.fromkeys(services, 0)
    amounts = dict.fromkeys(services, Decimal(0))
    for call in calls:
        counts[call.service] += 1
        if call.status == "late":
            late[call.service] += 1
        if call.status in _CHARGED and call.cost is not None:
            amounts[call.service] += call.cost
    return [ServiceTotal(name, counts[name], late[name], amounts[name]) for name in services]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextlib.contextmanager
def ledger_session(path: Path, *, commit: bool, lock_timeout: float) -> Iterator[Ledger | None]:
    """The ledger for one command: locked and writable for `--commit` (the lock held for the
    whole run, SPEC §9), else read-only, or None when there is none yet (a preview)."""
    try:
        if commit:
            with ledger_lock(path, lock_timeout):
                ledger = Ledger.open(path, create=True)
                assert ledger is not None
                with ledger:
                    yield ledger
        else:
            found = Ledger.open(path, create=False)
            try:
                yield found
            finally:
                if found is not None:
                    found.close()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise LockedError(
                f"the ledger {path} is busy: {exc}", hint="another program has it open; retry later"
            ) from exc
        raise LedgerError(f"ledger {path}: {exc}") from exc
    except sqlite3.Error as exc:
        raise LedgerError(
            f"ledger {path}: {exc}", hint="check [ledger] path: it must be a voipbill ledger"
        ) from exc


@dataclass(frozen=True)
class RunPlan:
    """How one `rate` run uses the ledger: what it fetches and which calls it may bill."""

    replay: RunRecord | None  # the committed run of this very selection, if any
    book: CallBook
    late_window: Period | None
    fetch_period: Period  # the period, extended back by the late window


def plan_run(
    ledger: Ledger | None,
    config: Config,
    services: list[Service],
    period: Period,
    late_days: int,
) -> RunPlan:
    if late_days < 0:
        raise UsageError(f"--late-days {late_days} is negative", hint="give 0 or more days")
    replay = None if ledger is None else ledger.committed_run(period, [s.name for s in services])
    if replay is not None:
        # a rerun bills exactly the committed calls: fetch as far back as the commit did
        late_days = max(late_days, replay.late_days)
        log.info(
            "%s for %s was committed by run %s: rerunning it",
            period.label,
            ", ".join(replay.services),
            replay.id,
        )
    keys = {service.name: server_key(config, service) for service in services}
    window = period.extended_back(late_days) if late_days else None
    return RunPlan(
        replay=replay,
        book=CallBook(ledger, keys, replay),
        late_window=window,
        fetch_period=window or period,
    )


def ledger_call(call: RatedCall, server: str) -> LedgerCall:
    return LedgerCall(
        call.service, server, call.call_uuid, call.start_epoch, call.status, call.cost
    )
