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
from voipbill.ledger.sqlite.file import FILE_MODE, LedgerFile, ledger_file, remove_if_unused
from voipbill.ledger.sqlite.store import SqliteLedger, error
from voipbill.ledger.store import LedgerStore

log = logging.getLogger("voipbill.ledger")


def lock_path_of(ledger_path: Path) -> Path:
    return ledger_path.with_name(ledger_path.name + ".lock")


@contextlib.contextmanager
def ledger_lock(ledger_path: Path, timeout: float) -> Iterator[None]:
    """Hold the ledger's lock file (fcntl.flock) for the whole block (rules §9: exit 6).

    flock locks vanish with the process, so a run that dies never leaves a stale lock. The
    holder may remove the lock file (a failed first commit leaves nothing behind), so a lock
    taken on a file no longer at the path is let go and taken again on the new one.
    """
    path = lock_path_of(ledger_path)
    deadline = time.monotonic() + max(timeout, 0)
    waited = False
    while True:
        fd = _open_lock(path)
        try:
            locked = _try_lock(fd, path)
            if locked and _still_at(fd, path):
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # also lets go of a lock on a file its last holder removed
        if locked:
            continue  # take the lock on the file now at the path
        if time.monotonic() >= deadline:
            raise LockedError(
                f"another voipbill run holds the ledger lock {path}",
                hint="wait for it to finish, or give --lock-timeout SECONDS to wait",
            )
        if not waited:
            log.info("ledger lock %s is held; waiting up to %ss", path, timeout)
            waited = True
        time.sleep(0.05)
    log.debug("ledger lock %s acquired", path)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _open_lock(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)  # beside a 0600 ledger
    except OSError as exc:
        raise LedgerError(
            f"cannot open the ledger lock {path}: {exc.strerror}",
            hint="check [ledger] path and its directory's permissions",
        ) from exc


def _try_lock(fd: int, path: Path) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EACCES):
            raise LedgerError(f"cannot lock {path}: {exc.strerror}") from exc
        return False
    return True


def _still_at(fd: int, path: Path) -> bool:
    try:
        here = path.stat()
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (here.st_dev, here.st_ino) == (mine.st_dev, mine.st_ino)


@contextlib.contextmanager
def open_ledger(
    config: Config, *, commit: bool, lock_timeout: float
) -> Iterator[LedgerStore | None]:
    """The ledger the configuration names, for one command: locked, writable and brought to
    the newest schema for a write (the lock held for the whole command, rules §9), else
    read-only, or None when there is none yet (a preview). The only way in: the CLI never
    opens a ledger path itself."""
    if config.ledger_postgresql is not None:
        with _postgres(config.ledger_postgresql, commit=commit, lock_timeout=lock_timeout) as found:
            yield found
        return
    with _sqlite(config.ledger_path, commit=commit, lock_timeout=lock_timeout) as ledger:
        yield ledger


def ledger_location(config: Config) -> str:
    """Where the configuration's ledger is, for messages: its file, or the PostgreSQL server,
    database and role (never a password)."""
    if config.ledger_postgresql is None:
        return str(config.ledger_path)
    from voipbill.ledger.postgres.connect import location

    return location(config.ledger_postgresql)


@contextlib.contextmanager
def _postgres(
    settings: PostgresSettings, *, commit: bool, lock_timeout: float
) -> Iterator[LedgerStore | None]:
    from voipbill.config.postgresql import import_psycopg
    from voipbill.ledger.postgres.connect import failure
    from voipbill.ledger.postgres.store import PostgresLedger

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
                    # a run that fails creates no ledger file (rules §9), nor its lock file
                    if created and remove_if_unused(path):
                        lock_path_of(path).unlink(missing_ok=True)
        else:
            found = SqliteLedger.open(path, create=False)
            try:
                yield found
            finally:
                if found is not None:
                    found.close()
    except sqlite3.Error as exc:
        raise error(path, exc, hint="check [ledger] path: it must be a voipbill ledger") from exc
