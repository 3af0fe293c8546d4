"""Opening the ledger for one command: the SQLite file and its lock file, or PostgreSQL
(rules §9). The configuration chooses: `[ledger] postgresql` when set, else `[ledger] path`."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from voipbill.config import Config, PostgresSettings
from voipbill.errors import LockedError
from voipbill.ledger.errors import LedgerError
from voipbill.ledger.sqlite import SqliteLedger
from voipbill.ledger.sqlite_file import FILE_MODE, LedgerFile, ledger_file, remove_if_unused
from voipbill.ledger.store import LedgerStore

log = logging.getLogger("voipbill.ledger")


def lock_path_of(ledger_path: Path) -> Path:
    return ledger_path.with_name(ledger_path.name + ".lock")


@contextlib.contextmanager
def ledger_lock(ledger_path: Path, timeout: float) -> Iterator[None]:
    """Hold the ledger's lock file (fcntl.flock) for the whole block (rules §9: exit 6).

    flock locks vanish with the process, so a run that dies never leaves a stale lock.
    """
    path = lock_path_of(ledger_path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)  # beside a 0600 ledger
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


@contextlib.contextmanager
def open_ledger(
    where: Config | Path, *, commit: bool, lock_timeout: float
) -> Iterator[LedgerStore | None]:
    """The ledger of a configuration (or the SQLite file at a path) for one command: locked and
    writable for `--commit` (the lock held for the whole run, rules §9), else read-only, or None
    when there is none yet (a preview)."""
    if isinstance(where, Config) and where.ledger_postgresql is not None:
        with _postgres(where.ledger_postgresql, commit=commit, lock_timeout=lock_timeout) as found:
            yield found
        return
    with _sqlite(
        where.ledger_path if isinstance(where, Config) else where,
        commit=commit,
        lock_timeout=lock_timeout,
    ) as ledger:
        yield ledger


def ledger_location(config: Config) -> str:
    """Where the configuration's ledger is, for messages: its file, or the PostgreSQL server,
    database and role (never a password)."""
    if config.ledger_postgresql is None:
        return str(config.ledger_path)
    from voipbill.ledger.pgconnect import location

    return location(config.ledger_postgresql)


@contextlib.contextmanager
def _postgres(
    settings: PostgresSettings, *, commit: bool, lock_timeout: float
) -> Iterator[LedgerStore | None]:
    from voipbill.config.postgresql import import_psycopg
    from voipbill.ledger.pgconnect import failure
    from voipbill.ledger.postgres import PostgresLedger

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


@contextlib.contextmanager
def _sqlite(path: Path, *, commit: bool, lock_timeout: float) -> Iterator[LedgerStore | None]:
    try:
        if commit:
            with ledger_lock(path, lock_timeout):
                created = ledger_file(path) is LedgerFile.ABSENT
                ledger = SqliteLedger.open(path, create=True)
                assert ledger is not None
                try:
                    with ledger:
                        yield ledger
                finally:
                    if created:  # a run that fails creates no ledger file (rules §9)
                        remove_if_unused(path)
        else:
            found = SqliteLedger.open(path, create=False)
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
