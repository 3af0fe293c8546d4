"""`[ledger] postgresql`: where the password comes from, and the one-line errors (exit 3, 4)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.clirunner import Result, invoke
from tests.ledgerhelpers import SERVICES, Billing, epoch
from tests.pgserver import PASSWORD, PASSWORD_ROLE, PgServer
from voipbill.config import PostgresSettings, load
from voipbill.errors import ConfigError


def config_with(billing: Billing, ledger: str) -> Path:
    from tests.cdrfactory import write_config

    billing.config = write_config(billing.directory, services=SERVICES + "\n[ledger]\n" + ledger)
    return billing.config


@pytest.fixture
def billing(tmp_path: Path) -> Billing:
    setup = Billing(tmp_path)
    setup.add("oct-a", epoch(10, 3))
    return setup


def show(billing: Billing, settings: PostgresSettings, monkeypatch: pytest.MonkeyPatch) -> Result:
    """`ledger show` with a config whose [ledger] table holds `settings`."""
    ledger = f'postgresql = "{settings.conninfo}"\n'
    if settings.password_env is not None:
        ledger += f'password_env = "{settings.password_env}"\n'
    if settings.password_file is not None:
        ledger += f'password_file = "{settings.password_file}"\n'
    config_with(billing, ledger)
    return invoke("--config", str(billing.config), "ledger", "show", "--format", "json")


def test_a_password_in_the_connection_string_is_refused_and_never_repeated(
    billing: Billing,
) -> None:
    for conninfo in ("host=db dbname=v user=v password=hunter2", "postgresql://v:hunter2@db/v"):
        config_with(billing, f'postgresql = "{conninfo}"\n')
        result = invoke("--config", str(billing.config), "ledger", "show")
        assert result.exit_code == 3
        assert "ledger -> postgresql: a password is not accepted" in result.stderr
        assert "hunter2" not in result.stderr + result.stdout


def test_the_ledger_settings_are_checked_when_the_config_is_read(billing: Billing) -> None:
    cases = {
        'postgresql = "host=db"\npath = "x.sqlite"\n': "set either path or postgresql",
        'postgresql = "host=db"\npassword_env = "A"\npassword_file = "b"\n': "at most one",
        'password_env = "PGPW"\n': "ledger -> password_env: needs [ledger] postgresql",
        'postgresql = "host=db \'unterminated"\n': "not a libpq connection string",
    }
    for ledger, message in cases.items():
        with pytest.raises(ConfigError, match=re.escape(message)):
            load(config_with(billing, ledger))
    loaded = load(config_with(billing, 'postgresql = "dbname=v"\npassword_file = "pw"\n'))
    assert loaded.ledger_postgresql == PostgresSettings("dbname=v", None, billing.directory / "pw")


def test_without_psycopg_the_error_names_the_extra(
    billing: Billing, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` raises ImportError
    config_with(billing, 'postgresql = "dbname=voipbill"\n')
    result = invoke("--config", str(billing.config), "ledger", "show")
    assert result.exit_code == 3
    assert "psycopg (PostgreSQL) is not installed" in result.stderr
    assert "pip install 'voipbill[postgresql]'" in result.stderr


def test_a_server_that_is_down_is_exit_4_on_one_line(
    billing: Billing, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = show(billing, PostgresSettings(f"host={tmp_path} dbname=v user=v"), monkeypatch)
    assert result.exit_code == 4
    [line, hint] = result.stderr.strip().splitlines()
    assert f"cannot connect to the ledger postgresql host={tmp_path} dbname=v user=v" in line
    assert "No such file or directory" in line
    assert "is PostgreSQL running?" in hint


def test_a_missing_database_is_exit_4(
    billing: Billing, pg: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = show(billing, PostgresSettings(pg.conninfo(dbname="nope")), monkeypatch)
    assert result.exit_code == 4
    assert 'database "nope" does not exist' in result.stderr
    assert "Traceback" not in result.stderr


def test_a_wrong_password_is_exit_4_and_never_printed(
    billing: Billing, pg: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPW", "wrong-guess-123")
    settings = PostgresSettings(pg.conninfo(user=PASSWORD_ROLE), password_env="PGPW")
    result = show(billing, settings, monkeypatch)
    assert result.exit_code == 4
    assert f'password authentication failed for user "{PASSWORD_ROLE}"' in result.stderr
    assert "wrong-guess-123" not in result.stderr
    assert "check password_env, password_file or ~/.pgpass" in result.stderr
    monkeypatch.delenv("PGPW")
    unset = show(billing, settings, monkeypatch)
    assert unset.exit_code == 3 and "$PGPW is not set" in unset.stderr


def test_the_password_comes_from_the_env_a_0600_file_or_pgpass(
    billing: Billing, pg: PgServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    conninfo = pg.conninfo(user=PASSWORD_ROLE)
    monkeypatch.setenv("PGPW", PASSWORD)
    assert (
        show(billing, PostgresSettings(conninfo, password_env="PGPW"), monkeypatch).exit_code == 0
    )

    secret = tmp_path / "pg.password"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o644)
    loose = show(billing, PostgresSettings(conninfo, password_file=secret), monkeypatch)
    assert loose.exit_code == 3 and "chmod 600" in loose.stderr
    secret.chmod(0o600)
    assert (
        show(billing, PostgresSettings(conninfo, password_file=secret), monkeypatch).exit_code == 0
    )

    nothing = show(billing, PostgresSettings(conninfo), monkeypatch)
    assert nothing.exit_code == 4 and "password" in nothing.stderr
    pgpass = Path.home() / ".pgpass"  # the test's own HOME
    pgpass.write_text(f"*:*:*:{PASSWORD_ROLE}:{PASSWORD}\n")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))  # libpq may look up HOME in the passwd file
    assert show(billing, PostgresSettings(conninfo), monkeypatch).exit_code == 0


def test_a_database_whose_voipbill_schema_is_something_else_is_refused(
    billing: Billing, pg: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pg.execute("CREATE SCHEMA voipbill; CREATE TABLE voipbill.invoices (id int)")
    result = show(billing, PostgresSettings(pg.conninfo()), monkeypatch)
    assert result.exit_code == 3
    assert "holds tables that are not a voipbill ledger" in result.stderr
    assert pg.execute("SELECT count(*) FROM voipbill.invoices") == [(0,)]  # left untouched


def test_a_preview_on_an_empty_database_creates_nothing(
    billing: Billing, pg: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = show(billing, PostgresSettings(pg.conninfo()), monkeypatch)
    assert result.exit_code == 0, result.stderr
    assert pg.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'voipbill'") == [(0,)]
