"""`voipbill pull`: one FusionPBX-format CSV from many chunk exports."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from tests.clirunner import invoke
from tests.fakepbx import ADMIN_KEY, EXPORT_PATH, FakeFusionPBX
from tests.pbxhelpers import KEY_ENV, pbx, write_config
from voipbill.billing.sources import CsvJoiner
from voipbill.cdrs import CdrProblem, read_cdr_file
from voipbill.cli import run
from voipbill.errors import BadResponseError

__all__ = ["pbx"]  # the fixture, imported for pytest

HEADER = '"xml_cdr_uuid","start_epoch","billsec"'


@pytest.fixture(autouse=True)
def admin_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, ADMIN_KEY)


def test_pull_writes_one_csv_that_reads_back_as_the_months_cdrs(
    pbx: FakeFusionPBX, tmp_path: Path
) -> None:
    pbx.add_cdr(start_epoch=1711843200, xml_cdr_uuid="dddddddd-0000-4000-8000-000000000031")
    out = tmp_path / "cdrs.csv"
    config = write_config(tmp_path, pbx.url)
    result = invoke("--config", str(config), "pull", "--service", "acme", "--period", "2024-03",
                    "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith('"domain_uuid",') and sum(line == lines[0] for line in lines) == 1
    problems: list[CdrProblem] = []
    uuids = sorted(r.xml_cdr_uuid for r in read_cdr_file(out, problems=problems))
    assert uuids == [
        *(f"aaaaaaaa-0000-4000-8000-00000000000{n}" for n in (1, 2, 3, 4)),
        "dddddddd-0000-4000-8000-000000000031",  # in the last day's chunk
    ]
    assert problems == []
    # the key's login (the probe, which exports nothing), then one export a day
    assert len([r for r in pbx.requests if r.path == EXPORT_PATH]) == 32
    assert "pulled 5 CDR line(s)" in result.stderr


def test_pulled_lines_are_byte_for_byte_what_fusionpbx_sent(
    pbx: FakeFusionPBX, tmp_path: Path
) -> None:
    pbx.add_cdr(caller_id_name='ACME "Corp", Inc', start_epoch=1710079300)  # unescaped quotes
    out = tmp_path / "cdrs.csv"
    config = write_config(tmp_path, pbx.url)
    result = invoke("--config", str(config), "pull", "--service", "acme",
                    "--from", "2024-03-10", "--to", "2024-03-10", "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert 'ACME "Corp", Inc' in out.read_text(encoding="utf-8")


def test_a_period_without_cdrs_writes_fusionpbxs_empty_export(
    pbx: FakeFusionPBX, tmp_path: Path
) -> None:
    out = tmp_path / "cdrs.csv"
    config = write_config(tmp_path, pbx.url)
    result = invoke("--config", str(config), "pull", "--service", "acme",
                    "--from", "2024-02-01", "--to", "2024-02-02", "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes() == b"\n\n"
    assert list(read_cdr_file(out, problems=[])) == []


def test_a_bad_key_exits_4_and_leaves_no_file(
    pbx: FakeFusionPBX, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "k" * 34)
    out = tmp_path / "cdrs.csv"
    config = write_config(tmp_path, pbx.url)
    result = invoke("--config", str(config), "pull", "--service", "acme", "--period", "2024-03",
                    "-o", str(out))  # fmt: skip
    assert result.exit_code == 4
    assert not out.exists()
    assert list(tmp_path.glob(".cdrs.csv.*")) == []  # no temp file left behind
    assert "k" * 34 not in result.stderr


def test_a_php_error_mid_pull_exits_5_and_writes_nothing(
    pbx: FakeFusionPBX, tmp_path: Path
) -> None:
    pbx.failures.add("php_fatal")
    out = tmp_path / "cdrs.csv"
    config = write_config(tmp_path, pbx.url)
    result = invoke("--config", str(config), "pull", "--service", "acme", "--period", "2024-03",
                    "-o", str(out))  # fmt: skip
    assert result.exit_code == 5
    assert not out.exists()


def test_no_progress_display_when_stderr_is_not_a_terminal(
    pbx: FakeFusionPBX, tmp_path: Path
) -> None:
    config = write_config(tmp_path, pbx.url)
    result = invoke("-q", "--config", str(config), "pull", "--service", "acme",
                    "--period", "2024-03", "-o", str(tmp_path / "x.csv"))  # fmt: skip
    assert result.exit_code == 0
    assert result.stderr == ""


def test_joiner_keeps_one_header_and_every_data_line() -> None:
    stream = io.StringIO()
    joiner = CsvJoiner(stream, "wat5")
    joiner.add("\n\n", 1, 10)
    joiner.add(f'{HEADER}\n"a","5","1"\n', 11, 20)
    joiner.add(f'{HEADER}\n"b","25","0"\n"c","26","3"\n', 21, 30)
    joiner.finish()
    assert stream.getvalue() == f'{HEADER}\n"a","5","1"\n"b","25","0"\n"c","26","3"\n'
    assert joiner.lines == 3


def test_joiner_refuses_a_chunk_that_was_cut_off() -> None:
    # FusionPBX ends every line with a line end: without one the last row is incomplete, and
    # adding one would hide that from the run that reads the pulled file
    joiner = CsvJoiner(io.StringIO(), "wat5")
    with pytest.raises(BadResponseError, match=r"epochs 21\.\.30 was cut off"):
        joiner.add(f'{HEADER}\n"b","25","0"\n"c","26","3"', 21, 30)


def test_joiner_refuses_a_chunk_with_other_columns() -> None:
    joiner = CsvJoiner(io.StringIO(), "wat5")
    joiner.add(f'{HEADER}\n"a","5","1"\n', 11, 20)
    with pytest.raises(BadResponseError, match="different columns"):
        joiner.add('"xml_cdr_uuid","start_epoch"\n"b","25"\n', 21, 30)


def test_pulling_a_service_of_a_config_without_servers_is_a_config_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, "https://pbx.example.net")
    text = config.read_text().replace('server = "wat5"\n', "")
    config.write_text(re.sub(r"\[servers\.wat5\].*?\n\n", "", text, flags=re.S))
    result = invoke("--config", str(config), "pull", "--service", "acme", "--period", "2024-03")
    assert result.exit_code == 3
    assert "services -> acme -> server: not set" in result.stderr


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def pull_month(config: Path, out: Path, *flags: str, stderr: io.StringIO) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr):
        return run([*flags, "--config", str(config), "pull", "--service", "acme",
                    "--period", "2024-03", "-o", str(out)])  # fmt: skip


@pytest.mark.parametrize("term", ["xterm", "dumb"])  # a dumb terminal sees the last state
def test_pull_shows_chunk_progress_on_a_terminal_only(
    fake_pbx: FakeFusionPBX, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, term: str
) -> None:
    monkeypatch.setenv("TERM", term)
    config, out = write_config(tmp_path, fake_pbx.url), tmp_path / "cdrs.csv"
    terminal, piped = _Terminal(), io.StringIO()
    assert pull_month(config, out, stderr=terminal) == 0
    assert pull_month(config, out, stderr=piped) == 0
    assert "pulling" in terminal.getvalue() and "31/31" in terminal.getvalue()
    assert "pulling" not in piped.getvalue() and "31/31" not in piped.getvalue()
    quiet = _Terminal()
    assert pull_month(config, out, "-q", stderr=quiet) == 0
    assert "pulling" not in quiet.getvalue()


def test_each_chunk_is_logged_at_vv_and_in_the_log_file(
    fake_pbx: FakeFusionPBX, tmp_path: Path
) -> None:
    config, out, log = write_config(tmp_path, fake_pbx.url), tmp_path / "c.csv", tmp_path / "log"
    plain, verbose, debug = io.StringIO(), io.StringIO(), io.StringIO()
    assert pull_month(config, out, stderr=plain) == 0
    assert pull_month(config, out, "-v", stderr=verbose) == 0
    assert pull_month(config, out, "-vv", "--log-file", str(log), stderr=debug) == 0
    assert "domain pbx.test chunk" not in plain.getvalue() + verbose.getvalue()
    for text in (debug.getvalue(), log.read_text(encoding="utf-8")):
        chunks = [line for line in text.splitlines() if "domain pbx.test chunk" in line]
        assert len(chunks) == 31, text
        assert "chunk 10/31 (start_epoch 1710028800..1710115199): 4 line(s)" in text
        assert ADMIN_KEY not in text
