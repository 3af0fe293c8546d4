"""A real PostgreSQL for the tests: one server per test session (so one per pytest-xdist
worker), started by the suite itself.

initdb and pg_ctl on a Unix socket in a temp directory: no TCP, no port to clash, fsync off.
As root (CI), PostgreSQL refuses to run, so it runs as the `postgres` user (Debian's package
creates it). Two roles: `voipbill` (trust, the owner) and `billing` (password only), so the
tests can give a wrong password. Each test gets the ledger database emptied (its schema dropped).
The suite is skipped only where there are no PostgreSQL binaries at all.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

DATABASE = "ledger_tests"
PASSWORD_ROLE, PASSWORD = "billing", "correct horse"
HBA = f"""
local all voipbill trust
local all {PASSWORD_ROLE} scram-sha-256
"""


def find_bindir() -> Path | None:
    """The directory of initdb and pg_ctl: pg_config's, Debian's newest, or the PATH's."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if found and (Path(found) / "pg_ctl").exists() and (Path(found) / "initdb").exists():
            return Path(found)
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parts[4]) if p.parts[4].isdigit() else 0,
    )
    if versions:
        return versions[-1].parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).resolve().parent if pg_ctl else None


@dataclass(frozen=True)
class PgServer:
    socket_dir: Path

    def conninfo(self, dbname: str = DATABASE, user: str = "voipbill") -> str:
        return f"host={self.socket_dir} user={user} dbname={dbname}"

    def execute(self, sql: str, dbname: str = DATABASE) -> list[tuple[object, ...]]:
        import psycopg

        with psycopg.connect(self.conninfo(dbname), autocommit=True) as connection:
            cursor = connection.execute(sql)  # type: ignore[call-overload]
            return list(cursor.fetchall()) if cursor.description else []

    def reset(self) -> None:
        """An empty ledger database for the next test."""
        self.execute("DROP SCHEMA IF EXISTS voipbill CASCADE")


def _start(bindir: Path) -> Iterator[PgServer]:
    as_root = os.geteuid() == 0
    if as_root:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no `postgres` user to run PostgreSQL")
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    base = Path(tempfile.mkdtemp(prefix="voipbill-pg-"))
    if as_root:
        os.chown(base, owner.pw_uid, owner.pw_gid)
    data, log = base / "data", base / "log"
    try:
        initdb = [str(bindir / "initdb"), "--no-sync", "-A", "trust", "-U", "voipbill"]
        subprocess.run(
            [*prefix, *initdb, "-D", str(data)],
            check=True,
            capture_output=True,
        )
        (data / "pg_hba.conf").write_text(HBA)
        options = f"-k {base} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
        pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options]
        subprocess.run(
            [*prefix, *pg_ctl, "-w", "start"],
            check=True,
            capture_output=True,
        )
        try:
            server = PgServer(base)
            server.execute(f"CREATE DATABASE {DATABASE}", dbname="postgres")
            server.execute(f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{PASSWORD}'")
            server.execute(f"GRANT ALL ON DATABASE {DATABASE} TO {PASSWORD_ROLE}")
            yield server
        finally:
            subprocess.run(
                [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                check=False,
                capture_output=True,
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the server is `slow`: `pytest -m "not slow"` starts no PostgreSQL."""
    for item in items:
        if "pg_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl): apt-get install postgresql")
    pytest.importorskip("psycopg", reason="psycopg is not installed: pip install -e '.[test]'")
    yield from _start(bindir)


@pytest.fixture
def pg(pg_server: PgServer) -> PgServer:
    """The session's server, its ledger database emptied for this test."""
    pg_server.reset()
    return pg_server
