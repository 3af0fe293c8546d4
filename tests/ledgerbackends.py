"""The ledger tests run against both stores: the SQLite file and a real PostgreSQL.

`ledger_backend` is parametrised over the two: a test's config names the SQLite file (`[ledger]
path`) or the PostgreSQL database (`[ledger] postgresql`), and voipbill opens whichever it names.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tests.pgserver import PgServer
from voipbill.config import PostgresSettings


@dataclass(frozen=True)
class Backend:
    name: str = "sqlite"
    pg: PgServer | None = None

    @property
    def settings(self) -> PostgresSettings:
        assert self.pg is not None
        return PostgresSettings(self.pg.conninfo())

    def ledger_toml(self, sqlite_path: Path) -> str:
        if self.pg is None:
            return f'\n[ledger]\npath = "{sqlite_path}"\n'
        return f'\n[ledger]\npostgresql = "{self.pg.conninfo()}"\n'

    def query(self, sql: str, args: tuple[object, ...]) -> list[tuple[object, ...]]:
        """Rows as the SQLite ledger holds them: amounts and days as text, services as JSON."""
        import psycopg

        assert self.pg is not None
        with psycopg.connect(self.pg.conninfo(), autocommit=True) as connection:
            connection.execute("SET search_path TO voipbill")
            rows = connection.execute(sql.replace("?", "%s"), args).fetchall()  # type: ignore[call-overload]
        return [tuple(_as_sqlite(value) for value in row) for row in rows]

    def has_ledger(self) -> bool:
        assert self.pg is not None
        [(count,)] = self.pg.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'voipbill'")
        return bool(count)


def _as_sqlite(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list):
        return json.dumps(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def ledger_backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield Backend()
        return
    yield Backend("postgresql", request.getfixturevalue("pg"))
