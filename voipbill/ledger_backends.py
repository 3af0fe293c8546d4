"""Which ledger a configuration names: the SQLite file at `[ledger] path`, or PostgreSQL.

`open_ledger` is the one door both `rate` and `ledger` go through; what it yields has the same
methods either way (`billed`, `runs`, `run`, `committed_run`, `stored_output`, `commit_run`,
`void`), so the run code does not know which store it talks to.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from voipbill.config import PostgresSettings
from voipbill.ledger import Ledger
from voipbill.ledger_postgres import PostgresLedger, postgres_session
from voipbill.ledger_session import ledger_session

AnyLedger = Ledger | PostgresLedger


@contextlib.contextmanager
def open_ledger(
    path: Path, postgresql: PostgresSettings | None, *, commit: bool, lock_timeout: float
) -> Iterator[AnyLedger | None]:
    """The ledger for one command (see `ledger_session`): locked and writable for `--commit`,
    else read-only, or None when nothing was ever committed."""
    if postgresql is None:
        with ledger_session(path, commit=commit, lock_timeout=lock_timeout) as ledger:
            yield ledger
    else:
        with postgres_session(postgresql, commit=commit, lock_timeout=lock_timeout) as found:
            yield found


def ledger_location(path: Path, postgresql: PostgresSettings | None) -> str:
    """What `ledger show` and messages name: the file, or `postgresql host=… dbname=…`."""
    if postgresql is None:
        return str(path)
    from voipbill.ledger_pgconnect import location

    return location(postgresql)


def ledger_exists(path: Path, postgresql: PostgresSettings | None) -> bool:
    """Whether anything was ever committed there (`ledger void` refuses an empty ledger)."""
    if postgresql is None:
        return path.exists()
    with postgres_session(postgresql, commit=False, lock_timeout=0) as found:
        return found is not None
