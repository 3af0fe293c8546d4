"""The SQLite ledger as a file (rules §9): what is at the path, making a new one, removing it.

- A file at the ledger path that is not empty and not a voipbill ledger (another program's
  SQLite database, any other file) is refused and left untouched: it is only ever read, and
  read-only, before it is known to be a ledger.
- A new ledger is made whole in a temporary file of mode 0600 (it holds every customer's
  dialled numbers) and renamed into place, so no half-made ledger is ever at the path.
- A commit that fails leaves no ledger it made (`remove_if_unused`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable
from enum import Enum
from pathlib import Path

from voipbill.ledger.errors import LedgerError

# the tables every voipbill ledger has had since version 1
LEDGER_TABLES = frozenset({"runs", "run_services", "calls", "voided_calls"})
FILE_MODE = 0o600
_SIDE_FILES = ("-wal", "-shm", "-journal")


class LedgerFile(Enum):
    ABSENT = "absent"  # no file, a 0-byte file or an SQLite file with no tables: none yet
    LEDGER = "ledger"


def ledger_file(path: Path) -> LedgerFile:
    """What is at `path`; LedgerError (exit 3) for a file that is not a voipbill ledger."""
    try:
        if not path.exists() or (path.is_file() and path.stat().st_size == 0):
            return LedgerFile.ABSENT
        if not path.is_file():
            raise _foreign(path, "not a regular file")
        with path.open("rb") as handle:
            magic = handle.read(16)
    except OSError as exc:
        raise LedgerError(
            f"cannot read the ledger {path}: {exc.strerror or exc}",
            hint="check [ledger] path and its directory's permissions",
        ) from exc
    if magic != b"SQLite format 3\x00":
        raise _foreign(path, "not an SQLite database")
    try:
        with contextlib.closing(_read_only(path)) as connection:
            version = int(connection.execute("PRAGMA user_version").fetchone()[0])
            tables = {
                str(row[0])
                for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
    except sqlite3.Error as exc:
        raise LedgerError(
            f"cannot read the ledger {path}: {exc}; it was left untouched",
            hint="if it is your ledger, keep it and its -wal file together: free space on its "
            "disk and run again; `sqlite3 FILE 'PRAGMA integrity_check'` checks it",
        ) from exc
    if version == 0 and not tables:
        return LedgerFile.ABSENT  # an SQLite file with nothing in it (an older voipbill's)
    if not tables >= LEDGER_TABLES:
        what = f"another program's SQLite database (tables: {', '.join(sorted(tables)[:5])})"
        raise _foreign(path, what)
    return LedgerFile.LEDGER  # of any version: SqliteLedger.check_version judges it


def _read_only(path: Path) -> sqlite3.Connection:
    """A read-only look at the file, the way SQLite recovers it: with its -wal file when there
    is one (a commit cut off by a full disk leaves its last transactions there, and the main
    file alone may read as malformed); without one, immutable, so nothing is made beside it."""
    uri = path.resolve().as_uri()
    wal = path.with_name(path.name + "-wal")
    if wal.is_file() and wal.stat().st_size > 0:
        return sqlite3.connect(f"{uri}?mode=ro", uri=True)
    return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True)


def create_ledger_file(path: Path, initialise: Callable[[sqlite3.Connection], None]) -> None:
    """Make a whole new ledger at `path` (mode 0600): in a temporary file, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.new")
    remove_files(temporary)
    try:
        os.close(os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_EXCL, FILE_MODE))
        connection = sqlite3.connect(temporary, isolation_level=None)
        try:
            initialise(connection)
        finally:
            connection.close()
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        temporary.replace(path)
    finally:
        remove_files(temporary)


def remove_if_unused(path: Path) -> bool:
    """Remove the ledger at `path` when no run was ever committed to it (a failed first
    commit): rules §9, a run that fails creates no ledger file. Whether it removed it."""
    try:
        uri = f"{path.resolve().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as connection:
            runs = int(connection.execute("SELECT count(*) FROM runs").fetchone()[0])
    except sqlite3.Error:
        return False
    if runs:
        return False
    remove_files(path)
    return True


def remove_files(path: Path) -> None:
    for name in (path, *(path.with_name(path.name + side) for side in _SIDE_FILES)):
        with contextlib.suppress(FileNotFoundError):
            name.unlink()


def _foreign(path: Path, what: str) -> LedgerError:
    return LedgerError(
        f"{path} is not a voipbill ledger: {what}; it was left untouched",
        hint="point [ledger] path at a voipbill ledger, or at a file that does not exist yet",
    )
