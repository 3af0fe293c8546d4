"""Reaching the PostgreSQL ledger: the connection, its errors and the locks (the tables are in
voipbill.ledger.postgres.migrations).

psycopg 3 is imported only by the PostgreSQL modules of voipbill.ledger, and only when a config
names a PostgreSQL ledger. Every failure becomes one line naming the server, database and role,
never the password: a server that is down, a wrong password or a missing database is exit 4; a
database that holds something other than a voipbill ledger is exit 3, as for SQLite; a full
disk is exit 2 and a lock another session holds past its timeout exit 6, the ledger as it was.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from voipbill.config import PostgresSettings
from voipbill.config.postgresql import conninfo_fields, import_psycopg
from voipbill.errors import ExitCode, LockedError, VoipbillError
from voipbill.ledger.errors import LedgerError, StorageError
from voipbill.wording import counted

if TYPE_CHECKING:
    import psycopg

    Connection = psycopg.Connection[tuple[Any, ...]]

log = logging.getLogger("voipbill.ledger")

SCHEMA_NAME = "voipbill"


def _lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for `name`, the same on every host."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


RUN_LOCK = _lock_key("voipbill:ledger:run")  # session level: one committing run at a time
WRITE_LOCK = _lock_key("voipbill:ledger:write")  # transaction level: run ids, schema creation


@dataclass(frozen=True, slots=True)
class LostCall:
    """A call of this run that another run committed first."""

    server: str
    xml_cdr_uuid: str
    run_id: int
    period: str


class RaceLostError(LockedError):
    """Another run committed some of this run's calls while it was rating: nothing committed."""

    def __init__(self, lost: list[LostCall]) -> None:
        periods = sorted({call.period for call in lost})
        runs = sorted({call.run_id for call in lost})
        super().__init__(
            f"{counted(len(lost), 'call')} of this run {'was' if len(lost) == 1 else 'were'} "
            f"committed meanwhile by run "
            f"{', '.join(map(str, runs))} ({', '.join(periods)}): nothing was committed",
            hint="run it again: those calls are then left out as already billed",
        )
        self.lost = lost


class LedgerConnectionError(VoipbillError):
    """The PostgreSQL ledger cannot be reached, or refused the role, password or a privilege."""

    exit_code = ExitCode.CONNECTION


def location(settings: PostgresSettings) -> str:
    """Where the ledger is, for messages: `postgresql host=… port=… dbname=… user=…`."""
    fields = conninfo_fields(settings.conninfo)
    shown = [f"{key}={fields[key]}" for key in ("host", "port", "dbname", "user") if key in fields]
    return "postgresql " + (" ".join(shown) or "(libpq defaults)")


def connect(settings: PostgresSettings) -> Connection:
    """An autocommit connection whose search_path is the ledger's schema."""
    psycopg = import_psycopg()
    secret = settings.password()
    options: dict[str, Any] = {"autocommit": True, "application_name": "voipbill"}
    fields = conninfo_fields(settings.conninfo)
    if "connect_timeout" not in fields:
        options["connect_timeout"] = 10  # a cron run never hangs on a host that is gone
    if secret is not None:
        options["password"] = secret.reveal()
    try:
        connection: Connection = psycopg.connect(settings.conninfo, **options)
        connection.execute(f"SET search_path TO {SCHEMA_NAME}")
    except psycopg.Error as exc:
        raise failure(exc, settings, connecting=True) from None
    return connection


def failure(exc: Exception, settings: PostgresSettings, *, connecting: bool = False) -> Exception:
    """The VoipbillError for a psycopg error: one line, no password, the right exit code."""
    where = location(settings)
    reason = _reason(str(exc))
    try:
        secret = settings.password()
    except VoipbillError:
        secret = None
    if secret is not None and secret.reveal():
        reason = reason.replace(secret.reveal(), "********")
    state = getattr(exc, "sqlstate", None) or ""
    if connecting or state.startswith(("08", "28", "3D", "57P")) or state == "42501" or not state:
        if "password" in reason:
            hint = "check password_env, password_file or ~/.pgpass for this role"
        elif "database" in reason and "does not exist" in reason:
            hint = "create it (see the README, 'Several hosts, one ledger')"
        elif "role" in reason and "does not exist" in reason:
            hint = "create the role, or fix user= in [ledger] postgresql"
        elif state == "42501":
            hint = "grant the role the privileges the README lists"
        else:
            hint = "is PostgreSQL running? check host and port in [ledger] postgresql"
        verb = "cannot connect to" if connecting else "lost or refused by"
        return LedgerConnectionError(f"{verb} the ledger {where}: {reason}", hint=hint)
    if state.startswith("53") or state.startswith("58"):  # disk full, out of memory, I/O
        return StorageError(
            f"the ledger {where} could not be written: {reason}; it was left as it was",
            hint="free space for the PostgreSQL server, then run again",
        )
    if state in ("55P03", "40P01", "57014"):  # a lock not granted, a deadlock, a timeout
        return LockedError(
            f"the ledger {where} is busy: {reason}; it was left as it was",
            hint="another session holds a lock on it; retry later",
        )
    return LedgerError(f"the ledger {where}: {reason}")


def _reason(message: str) -> str:
    """libpq's own reason, without the socket path it tried and on one line."""
    first = message.strip().splitlines()[0] if message.strip() else "unknown error"
    reason = first.rsplit(" failed: ", 1)[-1]
    return reason.removeprefix("FATAL:").strip()


def take_run_lock(connection: Connection, timeout: float, where: str) -> None:
    """The advisory lock every committing run holds for its whole session (exit 6 when
    another holds it past `timeout`); it is released when the session ends, even a killed one."""
    deadline = time.monotonic() + max(timeout, 0)
    waited = False
    while True:
        row = connection.execute("SELECT pg_try_advisory_lock(%s)", (RUN_LOCK,)).fetchone()
        if row is not None and row[0]:
            log.debug("ledger lock of %s acquired", where)
            return
        if time.monotonic() >= deadline:
            raise LockedError(
                f"another voipbill run holds the ledger lock of {where}",
                hint="wait for it to finish, or give --lock-timeout SECONDS to wait",
            )
        if not waited:
            log.info("ledger lock of %s is held; waiting up to %ss", where, timeout)
            waited = True
        time.sleep(0.05)
