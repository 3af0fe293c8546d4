"""The command line at its edges: arguments that start with `-`, binary CDR files, `--help`,
output to a pipe, `--cdr-file -`, and the ledger's `--service` and `--reason`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cdrfactory import cdr, export_text, write_config
from tests.clirunner import invoke
from tests.ledgerhelpers import Billing, epoch

LONG_DOMAIN = "a-very-long-customer-subdomain-name.tenant-number-forty-two.wat5.example.net"


def test_a_field_after_double_dash_is_an_argument_not_an_option() -> None:
    result = invoke("validate-fields", "--", "-foo.example.com | 5192229000")
    assert result.exit_code == 1  # checked, and found invalid: not a usage error
    assert "'-foo.example.com' is not a domain name" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("-foo.example.com | 5192229000",),  # read as `-f oo.example.com | 5192229000`
        ("mcon.example.com", "-2112"),  # read as the unknown option -2
    ],
)
def test_a_field_read_as_an_option_says_to_use_double_dash(args: tuple[str, ...]) -> None:
    result = invoke("validate-fields", *args)
    assert result.exit_code == 2
    flat = " ".join(result.stderr.replace("│", " ").split())
    assert "starts with '-', so it was read as an option" in flat
    assert "put -- before the fields" in flat


def test_an_unknown_option_that_is_no_field_gets_no_double_dash_advice() -> None:
    result = invoke("validate-fields", "--bogus", "mcon.example.com")
    assert result.exit_code == 2
    assert "put -- before" not in result.stderr


def test_a_binary_cdr_file_is_shown_as_a_short_escaped_excerpt(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    binary = tmp_path / "cdrs.csv"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4 + b"\x1b[2J\n")
    result = invoke(
        "rate", "--config", str(config), "--cdr-file", str(binary), "--period", "2026-10"
    )
    assert result.exit_code == 5
    assert "binary data, not a FusionPBX CSV export" in result.stderr
    assert "\\x7fELF\\x02\\x01\\x01\\x00" in result.stderr
    assert not any(ord(char) < 0x20 and char != "\n" for char in result.stderr)
    assert len(result.stderr) < 400


def test_control_characters_of_a_bad_header_are_escaped(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    path = tmp_path / "cdrs.csv"
    path.write_bytes(b"xml_cdr_uuid,\x1b[31mred\x07\n")
    result = invoke("rate", "--config", str(config), "--cdr-file", str(path), "--period", "2026-10")
    assert result.exit_code == 5
    assert "\\x1b[31mred\\x07" in result.stderr
    assert "\x1b" not in result.stderr


def test_help_shows_flags_without_a_type_and_counts_as_repeatable() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    assert "<bool>" not in result.stdout
    quiet = next(line for line in result.stdout.splitlines() if "--quiet" in line)
    assert "<int>" not in quiet and "(repeatable)" in quiet
    assert "[default: 0]" not in result.stdout


def test_deck_check_help_names_its_argument_path() -> None:
    result = invoke("deck", "check", "--help")
    assert "Usage: voipbill deck check [OPTIONS] [PATH]" in result.stdout  # PATH or --deck
    assert "{" not in result.stdout


def test_data_to_a_pipe_is_never_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    # as under cron: no COLUMNS and no terminal on any descriptor, where rich falls back to 80
    monkeypatch.delenv("COLUMNS")

    def no_terminal(fd: int = 1) -> os.terminal_size:
        raise OSError(25, "Inappropriate ioctl for device")

    monkeypatch.setattr(os, "get_terminal_size", no_terminal)
    result = invoke("validate-fields", f"{LONG_DOMAIN} | 5192229000 | 5192229001", "2112 | 2113")
    assert result.exit_code == 0, result.stderr
    assert any(LONG_DOMAIN in line and "2112 2113" in line for line in result.stdout.splitlines())


def test_cdr_file_dash_reads_standard_input(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    rows = [cdr(xml_cdr_uuid="call-1", destination_number="15195550100", billsec=61)]
    result = invoke(
        *("rate", "--config", str(config), "--cdr-file", "-", "--period", "2026-10"),
        *("--format", "csv"),
        stdin=export_text(rows),
    )
    assert result.exit_code == 0, result.stderr
    (line,) = result.stdout.splitlines()[1:]
    assert ",call-1," in line and line.endswith(",CAD,rated")


@pytest.fixture
def billing(tmp_path: Path) -> Billing:
    setup = Billing(tmp_path)
    setup.add("oct-a", epoch(10, 3))
    return setup


def test_ledger_show_of_an_unknown_service_is_exit_2(billing: Billing) -> None:
    billing.commit("2026-10", "oct.csv")
    result = invoke("--config", str(billing.config), "ledger", "show", "--service", "nosuch")
    assert result.exit_code == 2
    assert "no service named 'nosuch'" in result.stderr
    known = invoke("--config", str(billing.config), "ledger", "show", "--service", "mcon")
    assert known.exit_code == 0 and "oct" not in known.stderr


def test_ledger_void_keeps_its_reason_and_show_lists_it(billing: Billing) -> None:
    billing.commit("2026-10", "oct.csv")
    config = ("--config", str(billing.config))
    reason = "deck fix: carrier's June rates"
    voided = invoke(*config, "ledger", "void", "--run", "1", "--yes", "--reason", reason)
    assert voided.exit_code == 0, voided.stderr
    table = invoke(*config, "ledger", "show")
    assert reason in table.stdout
    document = json.loads(invoke(*config, "ledger", "show", "--format", "json").stdout)
    assert document["runs"][0]["void_reason"] == reason
    assert billing.query("SELECT run_id, reason FROM void_reasons") == [(1, reason)]


def test_a_run_voided_without_a_reason_shows_none(billing: Billing) -> None:
    billing.commit("2026-10", "oct.csv")
    config = ("--config", str(billing.config))
    assert invoke(*config, "ledger", "void", "--run", "1", "--yes").exit_code == 0
    document = json.loads(invoke(*config, "ledger", "show", "--format", "json").stdout)
    assert document["runs"][0]["void_reason"] is None
    assert "reason" not in invoke(*config, "ledger", "show").stdout
