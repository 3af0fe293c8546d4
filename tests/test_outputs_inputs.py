"""Rules §7: every input of a run — the log file and every secret file included — is refused as
an `-o` output (exit 2, the file untouched), by every command that writes `-o`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cdrfactory import cdr, write_config, write_export
from tests.clirunner import Result, invoke

SECRETS = {
    "whmcs-identifier": "identifier.key",
    "whmcs-secret": "whmcs.secret",
    "lago-key": "lago.key",
    "server-key": "wat5.key",
    "ca-bundle": "ca.pem",
}


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    for name in SECRETS.values():
        (tmp_path / name).write_text("s3cr3t-value\n")
        (tmp_path / name).chmod(0o600)
    config = write_config(tmp_path)
    with config.open("a", encoding="utf-8") as stream:
        stream.write(
            """
[ledger]
path = "ledger.sqlite"

[servers.wat5]
url = "https://wat5.example.net"
api_key_file = "wat5.key"
ca_bundle = "ca.pem"

[invoicing.whmcs]
url = "https://billing.example.net"
identifier_file = "identifier.key"
secret_file = "whmcs.secret"

[invoicing.lago]
url = "https://lago.example.net"
api_key_file = "lago.key"
metric_code = "voip_cost"
"""
        )
    rows = [cdr(xml_cdr_uuid="call-1", destination_number="15195550100", billsec=61)]
    return config, write_export(tmp_path / "cdrs.csv", rows)


def _run(command: str, config: Path, cdrs: Path, output: Path, *extra: str) -> Result:
    args = {
        "rate": ["rate", "--cdr-file", str(cdrs), "--period", "2026-10"],
        "audit-numbers": ["audit-numbers", "--service", "mcon", "--cdr-file", str(cdrs)],
        "statement": ["statement", "--service", "mcon", "--period", "2026-10"],
        "statement-cdrs": [
            "statement",
            "--service",
            "mcon",
            "--period",
            "2026-10",
            "--cdr-file",
            str(cdrs),
        ],
    }[command]
    return invoke("--config", str(config), *extra, *args, "-o", str(output))


@pytest.mark.parametrize("which", [*SECRETS, "log-file"])
@pytest.mark.parametrize("command", ["rate", "audit-numbers", "statement-cdrs"])
def test_output_naming_a_secret_file_or_the_log_file_is_exit_2_and_untouched(
    setup: tuple[Path, Path], tmp_path: Path, which: str, command: str
) -> None:
    config, cdrs = setup
    log = tmp_path / "voipbill.log"
    named = log if which == "log-file" else tmp_path / SECRETS[which]
    if which == "log-file":
        log.write_text("yesterday's log\n")
    before = named.read_bytes()
    result = _run(command, config, cdrs, named, "--log-file", str(log))
    assert result.exit_code == 2, result.stderr
    assert "never overwrites an input" in result.stderr
    assert "s3cr3t" not in result.stderr + result.stdout
    after = named.read_bytes()
    if which == "log-file":  # the run may log that it started, never replace the file
        assert after.startswith(before)
    else:
        assert after == before


def test_the_log_file_given_after_the_command_is_refused_too(
    setup: tuple[Path, Path], tmp_path: Path
) -> None:
    config, cdrs = setup
    log = tmp_path / "run.log"
    result = invoke(
        "rate", "--config", str(config), "--cdr-file", str(cdrs), "--period", "2026-10",
        "--log-file", str(log), "-o", str(log), "--commit",
    )  # fmt: skip
    assert result.exit_code == 2, result.stderr
    assert "--log-file" in result.stderr
    assert not log.read_text().startswith("service,")
    assert not (tmp_path / "ledger.sqlite").exists()  # nothing committed


@pytest.mark.parametrize("suffix", [".lock", "-wal", "-journal"])
def test_output_naming_a_file_of_the_ledger_is_refused(
    setup: tuple[Path, Path], tmp_path: Path, suffix: str
) -> None:
    config, cdrs = setup
    named = tmp_path / f"ledger.sqlite{suffix}"
    result = _run("rate", config, cdrs, named, "--quiet")
    assert result.exit_code == 2, result.stderr
    assert not named.exists()


def test_a_pgpass_file_is_refused_when_libpq_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("psycopg")
    pgpass = tmp_path / "pgpass"
    pgpass.write_text("db:5432:voipbill:voipbill:pw\n")
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    config = write_config(tmp_path)
    with config.open("a", encoding="utf-8") as stream:
        stream.write('\n[ledger]\npostgresql = "host=127.0.0.1 dbname=voipbill"\n')
    cdrs = write_export(tmp_path / "cdrs.csv", [cdr()])
    result = _run("rate", config, cdrs, pgpass)
    assert result.exit_code == 2, result.stderr
    assert pgpass.read_text() == "db:5432:voipbill:voipbill:pw\n"


def test_a_statement_with_no_cdr_file_refuses_the_secret_files_too(
    setup: tuple[Path, Path], tmp_path: Path
) -> None:
    config, cdrs = setup
    named = tmp_path / SECRETS["whmcs-secret"]
    result = _run("statement", config, cdrs, named)
    assert result.exit_code == 2, result.stderr
    assert named.read_text() == "s3cr3t-value\n"


def test_another_output_still_works(setup: tuple[Path, Path], tmp_path: Path) -> None:
    config, cdrs = setup
    out = tmp_path / "calls.csv"
    result = _run("rate", config, cdrs, out, "--log-file", str(tmp_path / "run.log"))
    assert result.exit_code == 0, result.stderr
    assert out.read_text().startswith("service,")


def test_the_inputs_name_the_lock_file_the_ledger_uses(setup: tuple[Path, Path]) -> None:
    from voipbill import config as config_module
    from voipbill.ledger.session import lock_path_of
    from voipbill.outputs import run_inputs

    config = config_module.load(setup[0])
    assert ("the ledger's lock file", lock_path_of(config.ledger_path)) in run_inputs(config)
