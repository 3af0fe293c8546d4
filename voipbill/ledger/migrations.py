"""Numbered schema migrations: one list per SQL dialect, applied in order, in one transaction.

Each backend keeps its list as `[(1, sql), (2, sql), …]` (voipbill.ledger.sqlite.migrations,
voipbill.ledger.postgres.migrations): migration N is exactly the SQL that takes a version N - 1
ledger to version N. A new ledger runs them all; an older one runs those it lacks, all in one
transaction with the version recorded once at its end (`LedgerBase.migrate`), so a ledger is
never left half upgraded: a migration that fails (a full disk, a lock) leaves it as it was.

Adding a table or a column later is one more numbered entry in each list; nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence

Migration = tuple[int, str]


def latest(migrations: Sequence[Migration]) -> int:
    """The version a ledger has once every migration is applied."""
    return migrations[-1][0] if migrations else 0


def pending(migrations: Sequence[Migration], version: int) -> list[Migration]:
    """The migrations a ledger at `version` lacks, in order."""
    return [(number, sql) for number, sql in migrations if number > version]


def check(migrations: Sequence[Migration]) -> Sequence[Migration]:
    """The list itself, once checked to be numbered 1, 2, 3, … with no gap or repeat."""
    numbers = [number for number, _ in migrations]
    if numbers != list(range(1, len(numbers) + 1)):
        raise AssertionError(f"migrations must be numbered 1..n in order, not {numbers}")
    return migrations


def statements(sql: str) -> list[str]:
    """The statements of a migration's SQL, one per `;` that ends a line (the migrations
    are ours: no semicolon ends a line inside a statement)."""
    found, current = [], []
    for line in sql.splitlines():
        current.append(line)
        if line.rstrip().endswith(";"):
            text = "\n".join(current).strip().removesuffix(";").strip()
            if text:
                found.append(text)
            current = []
    rest = "\n".join(current).strip()
    if rest:
        found.append(rest)
    return found
