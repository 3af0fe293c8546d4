"""`[ledger] postgresql = "<libpq connection string>"`: the ledger kept in PostgreSQL.

psycopg is an optional extra (`pip install 'voipbill[postgresql]'`), imported only when a
configuration asks for PostgreSQL. A password is never accepted in the connection string, and
no part of a rejected string is repeated in an error: it may hold one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from voipbill.config.model import PostgresSettings
from voipbill.config.table import Table
from voipbill.errors import ConfigError

EXTRA_HINT = "install the PostgreSQL extra: pip install 'voipbill[postgresql]'"


def import_psycopg(where: str = "ledger -> postgresql") -> ModuleType:
    """psycopg 3, or a ConfigError naming the extra that brings it."""
    try:
        import psycopg
    except ImportError:
        raise ConfigError(
            f"{where}: psycopg (PostgreSQL) is not installed", hint=EXTRA_HINT
        ) from None
    return psycopg


def conninfo_fields(conninfo: str, where: str = "ledger -> postgresql") -> dict[str, str]:
    """The keywords of a libpq connection string (key=value or postgresql:// URI)."""
    psycopg = import_psycopg(where)
    try:
        fields: dict[str, str] = psycopg.conninfo.conninfo_to_dict(conninfo)
    except psycopg.Error:
        raise ConfigError(
            f"{where}: not a libpq connection string",
            hint='e.g. "host=db.example.net dbname=voipbill user=voipbill"',
        ) from None
    return {key: str(value) for key, value in fields.items()}


def postgres_ledger(table: Table, resolve: Callable[[str], Path]) -> PostgresSettings | None:
    """Read `postgresql`, `password_env` and `password_file` from the [ledger] table."""
    conninfo = table.string("postgresql")
    password_env = table.string("password_env")
    password_file = table.string("password_file")
    if conninfo is None:
        for key, value in (("password_env", password_env), ("password_file", password_file)):
            if value is not None:
                raise table.error(key, "needs [ledger] postgresql")
        return None
    fields = conninfo_fields(conninfo, table.where("postgresql"))
    if "password" in fields:
        raise table.error(
            "postgresql",
            "a password is not accepted in the connection string",
            hint="use password_env, password_file (mode 0600) or ~/.pgpass",
        )
    if password_env is not None and password_file is not None:
        raise table.error("password_env", "set at most one of password_env or password_file")
    return PostgresSettings(
        conninfo=conninfo,
        password_env=password_env,
        password_file=resolve(password_file) if password_file else None,
    )
