"""Every CDR row is used, left out for a counted reason, or bad. A run with bad rows fails
(exit 5, each bad line named, nothing committed) unless --skip-bad-rows, which warns even with
-q and has a commit record the lines. A 0-byte or headerless file is not an export; FusionPBX's
empty export (two line ends) is one with no calls, and says so."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.cdrfactory import cdr, export_text
from tests.clirunner import Result, invoke
from tests.fakepbx import ADMIN_KEY, FakeFusionPBX
from tests.ledgerhelpers import Billing, epoch
from tests.pbxhelpers import KEY_ENV
from tests.pbxhelpers import pbx as pbx  # the fixture, re-exported
from tests.test_rate_server import config_for


def good_rows() -> list[dict[str, str]]:
    return [
        cdr(xml_cdr_uuid="oct-a", start_epoch=epoch(10, 3)),
        cdr(xml_cdr_uuid="oct-b", start_epoch=epoch(10, 4)),
    ]


def truncated() -> bytes:
    text = export_text(good_rows())
    return text[: len(text) - 20].encode()  # cut inside the last row: oct-b, line 3


def quote_comma_name() -> bytes:
    # FusionPBX never escapes (docs/fusionpbx.md §6): a name holding `","` adds a field for good
    rows = good_rows()
    rows.insert(1, cdr(xml_cdr_uuid="bad", start_epoch=epoch(10, 3), caller_id_name='A","B'))
    return export_text(rows).encode()


def newline_name() -> bytes:
    rows = good_rows()
    rows.insert(1, cdr(xml_cdr_uuid="bad", start_epoch=epoch(10, 3), caller_id_name="Ann\nLee"))
    return export_text(rows).encode()


# (export bytes, the bad lines and why, the calls billed with --skip-bad-rows)
BAD = {
    "truncated": (truncated, ["line 3: the last line has no line end"], ["oct-a"]),
    "quote_comma": (quote_comma_name, ["line 3: expected"], ["oct-a", "oct-b"]),
    "newline": (newline_name, ["line 3: expected", "line 4: expected"], ["oct-a", "oct-b"]),
}


def setup(tmp_path: Path, export: bytes) -> Billing:
    billing = Billing(tmp_path)
    (tmp_path / "cdrs.csv").write_bytes(export)
    return billing


def rate(billing: Billing, *args: str) -> Result:
    cdrs = billing.directory / "cdrs.csv"
    return invoke(
        "--config", str(billing.config), *[a for a in args if a == "-q"], "rate",
        "--cdr-file", str(cdrs), "--period", "2026-10", "--format", "csv",
        *[a for a in args if a != "-q"],
    )  # fmt: skip


def uuids(stdout: str) -> list[str]:
    return [row["call_uuid"] for row in csv.DictReader(io.StringIO(stdout))]


@pytest.mark.parametrize("quiet", [(), ("-q",)])
@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_rows_fail_the_run_and_commit_nothing(
    tmp_path: Path, case: str, quiet: tuple[str, ...]
) -> None:
    make, lines, _ = BAD[case]
    billing = setup(tmp_path, make())
    out = tmp_path / "oct.csv"
    for args in ((), ("--commit", "-o", str(out))):
        result = rate(billing, *quiet, *args)
        assert result.exit_code == 5, result.stderr
        assert result.stdout == ""
        assert f"{len(lines)} CDR rows cannot be read" in result.stderr
        for line in lines:
            assert f"cdrs.csv {line}" in result.stderr
    assert not out.exists() and not billing.ledger.exists()


@pytest.mark.parametrize("quiet", [(), ("-q",)])
@pytest.mark.parametrize("case", sorted(BAD))
def test_skip_bad_rows_bills_the_rest_warns_and_the_commit_records_the_lines(
    tmp_path: Path, case: str, quiet: tuple[str, ...]
) -> None:
    make, lines, billed = BAD[case]
    billing = setup(tmp_path, make())
    preview = rate(billing, *quiet, "--skip-bad-rows")
    assert preview.exit_code == 0, preview.stderr
    assert uuids(preview.stdout) == billed
    [warning] = [line for line in preview.stderr.splitlines() if "bad CDR rows" in line]
    assert warning.startswith(
        f"warning: {len(lines)} bad CDR rows skipped (unreadable: their calls are left out)"
    )
    assert all(f"cdrs.csv {line}" in warning for line in lines)
    if quiet:
        assert preview.stderr.splitlines() == [warning]

    out = tmp_path / "oct.csv"
    committed = rate(billing, *quiet, "--skip-bad-rows", "--commit", "-o", str(out))
    assert committed.exit_code == 0, committed.stderr
    assert uuids(out.read_text()) == billed
    show = invoke("--config", str(billing.config), "ledger", "show")
    numbers = ", ".join(line.split(":")[0].removeprefix("line ") for line in lines)
    assert f"run 1 skipped {len(lines)} bad CDR rows (--skip-bad-rows)" in show.stdout
    assert all(f"cdrs.csv line {n}" in show.stdout for n in numbers.split(", "))


@pytest.mark.parametrize("quiet", [(), ("-q",)])
@pytest.mark.parametrize("skip", [(), ("--skip-bad-rows",)])
@pytest.mark.parametrize(
    ("export", "message"),
    [(b"", "0 bytes: not a FusionPBX CDR export"), (b" \n\n", "no header line")],
)
def test_a_0_byte_or_headerless_file_is_not_an_export(
    tmp_path: Path, export: bytes, message: str, skip: tuple[str, ...], quiet: tuple[str, ...]
) -> None:
    billing = setup(tmp_path, export)
    result = rate(billing, *quiet, *skip, "--commit", "-o", str(tmp_path / "oct.csv"))
    assert result.exit_code == 5
    assert message in result.stderr and result.stdout == ""
    assert not billing.ledger.exists()


@pytest.mark.parametrize("quiet", [(), ("-q",)])
@pytest.mark.parametrize("skip", [(), ("--skip-bad-rows",)])
def test_the_empty_export_is_no_calls_with_a_warning(
    tmp_path: Path, skip: tuple[str, ...], quiet: tuple[str, ...]
) -> None:
    billing = setup(tmp_path, b"\n\n")
    result = rate(billing, *quiet, *skip)
    assert result.exit_code == 0, result.stderr
    assert uuids(result.stdout) == []
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: {tmp_path / 'cdrs.csv'}: the export has no CDRs at all (FusionPBX's empty "
        "export): nothing to bill from it"
    ]


def test_a_rerun_does_not_promise_late_days_bill_calls_they_cannot_reach(tmp_path: Path) -> None:
    billing = setup(tmp_path, truncated())
    out = tmp_path / "oct.csv"
    assert rate(billing, "--skip-bad-rows", "--commit", "-o", str(out)).exit_code == 0
    (tmp_path / "cdrs.csv").write_text(export_text(good_rows()))  # the whole export, later
    rerun = rate(billing, "-q")
    [line] = rerun.stderr.splitlines()
    # oct-b started on 2026-10-04: the November run must reach back 28 days to bill it
    assert "1 call of 2026-10 is not in committed run 1" in line
    assert "with --late-days 28 or more (the earliest started on 2026-10-04)" in line
    assert "voipbill ledger void --run 1" in line


def test_bad_rows_in_a_servers_export_fail_the_run(
    pbx: FakeFusionPBX, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, ADMIN_KEY)
    pbx.add_cdr(start_epoch=1710080000, caller_id_name='ACME","Inc')
    config = config_for(tmp_path, pbx.url)
    args = ("rate", "-c", str(config), "--from", "2024-03-10", "--to", "2024-03-10")
    refused = invoke(*args, "--format", "csv")
    assert refused.exit_code == 5 and "1 CDR rows cannot be read" in refused.stderr
    assert "lab export" in refused.stderr
    skipped = invoke("-q", *args, "--format", "csv", "--skip-bad-rows")
    assert skipped.exit_code == 0
    assert "1 bad CDR rows skipped" in skipped.stderr
    assert len(uuids(skipped.stdout)) == 4  # the seed's four calls
