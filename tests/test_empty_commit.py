"""Rules §7: a commit whose CDR sources, all of them together, give no CDR row at all commits
nothing (exit 5) unless --allow-empty; a preview of it warns; one empty export among sources
that gave rows is an information line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cdrfactory import COLUMNS, cdr, export_text
from tests.clirunner import Result, invoke
from tests.fakepbx import ADMIN_KEY, DOMAIN, FakeFusionPBX, FakeUser
from tests.ledgerhelpers import Billing, epoch
from tests.pbxhelpers import KEY_ENV
from tests.pbxhelpers import pbx as pbx  # the fixture, re-exported
from tests.test_rate_server import config_for

EMPTY = {
    "fusionpbx-empty": "\n\n",
    "header-only": ",".join(f'"{c}"' for c in COLUMNS) + "\n",
}


def commit(billing: Billing, export: str, *extra: str) -> Result:
    (billing.directory / "cdrs.csv").write_text(export)
    cdrs = billing.directory / "cdrs.csv"
    out = billing.directory / "oct.csv"
    return invoke(
        "--config", str(billing.config), "rate", "--cdr-file", str(cdrs),
        "--period", "2026-10", "--commit", "-o", str(out), *extra,
    )  # fmt: skip


@pytest.mark.parametrize("quiet", [(), ("-q",)])
@pytest.mark.parametrize("export", list(EMPTY))
def test_a_commit_of_no_cdr_row_at_all_commits_nothing_and_exits_5(
    tmp_path: Path, export: str, quiet: tuple[str, ...]
) -> None:
    billing = Billing(tmp_path)
    result = commit(billing, EMPTY[export], *quiet)
    assert result.exit_code == 5, result.stderr
    assert "no CDR row at all" in result.stderr and "--allow-empty" in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "oct.csv").exists()
    assert not billing.ledger.exists()  # a run that fails creates no ledger file


def test_an_empty_commit_onto_a_ledger_leaves_it_as_it_was(tmp_path: Path) -> None:
    billing = Billing(tmp_path)
    billing.add("sep-1", epoch(9, 10))
    billing.commit("2026-09", "sep.csv")
    before = billing.query("SELECT id, status FROM runs")
    result = commit(billing, "\n\n")
    assert result.exit_code == 5, result.stderr
    assert billing.query("SELECT id, status FROM runs") == before
    assert billing.query("SELECT count(*) FROM calls") == [(1,)]


@pytest.mark.parametrize("export", list(EMPTY))
def test_allow_empty_lets_a_commit_of_a_period_without_calls_succeed(
    tmp_path: Path, export: str
) -> None:
    billing = Billing(tmp_path)
    result = commit(billing, EMPTY[export], "--allow-empty")
    assert result.exit_code == 0, result.stderr
    assert "no CDR row at all" not in result.stderr
    # nothing new: no run is recorded (rules §9), the file is written with its header
    assert not billing.ledger.exists() or billing.query("SELECT count(*) FROM calls") == [(0,)]
    header = (tmp_path / "oct.csv").read_text().splitlines()
    assert header == [
        "service,tenant,extension,call_uuid,start,direction,category,caller,dialed,normalized,"
        "matched_prefix,description,billsec,billed_seconds,free_seconds,rate,connect_fee,cost,"
        "currency,status"
    ]


def test_rows_that_bill_nothing_are_not_an_empty_source(tmp_path: Path) -> None:
    """A row of another month, a b-leg and an excluded extension are rows: left out for a
    counted reason, not a source that gave nothing."""
    billing = Billing(tmp_path)
    rows = [
        cdr(xml_cdr_uuid="nov", start_epoch=epoch(11, 3)),
        cdr(xml_cdr_uuid="b-leg", start_epoch=epoch(10, 3), leg="b"),
        cdr(xml_cdr_uuid="other", start_epoch=epoch(10, 3), extension="9999"),
    ]
    result = commit(billing, export_text(rows))
    assert result.exit_code == 0, result.stderr
    assert "no CDR row at all" not in result.stderr


def test_a_preview_of_an_empty_export_still_exits_0_with_a_warning(tmp_path: Path) -> None:
    billing = Billing(tmp_path)
    (tmp_path / "cdrs.csv").write_text("\n\n")
    result = billing.rate("--period", "2026-10", "-q")
    assert result.exit_code == 0, result.stderr
    assert "warning:" in result.stderr and "no CDRs at all" in result.stderr


SECOND_SERVICE = """
[services.quiet]
server = "lab"
package = "basic"
tenant = "quiet.example.net | 5192229001"
extensions = "3001"
"""


def test_one_servers_empty_export_among_others_is_information(
    pbx: FakeFusionPBX, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, ADMIN_KEY)
    pbx.users.append(FakeUser(ADMIN_KEY, "quiet.example.net", "admin"))  # a tenant, no calls
    config = config_for(tmp_path, pbx.url)
    with config.open("a", encoding="utf-8") as stream:
        stream.write(SECOND_SERVICE + '\n[ledger]\npath = "ledger.sqlite"\n')
    args = ("rate", "-c", str(config), "--all", "--from", "2024-03-10", "--to", "2024-03-10")
    out = str(tmp_path / "day.csv")
    done = invoke(*args, "--commit", "-o", out)
    assert done.exit_code == 0, done.stderr
    assert "lab:quiet.example.net: the export has no CDRs at all" in done.stderr
    assert not any("quiet.example.net" in line for line in done.stderr.splitlines()
                   if line.startswith("warning:"))  # fmt: skip
    quiet = invoke("-q", *args, "--format", "csv")
    assert "quiet.example.net" not in quiet.stderr  # information: -q silences it
    # a day on which neither domain has a call: nothing at all, nothing committed
    nothing = ("rate", "-c", str(config), "--all", "--from", "2024-02-10", "--to", "2024-02-10")
    refused = invoke(*nothing, "--commit", "-o", str(tmp_path / "feb.csv"))
    assert refused.exit_code == 5, refused.stderr
    assert f"lab:{DOMAIN}" in refused.stderr and "lab:quiet.example.net" in refused.stderr
