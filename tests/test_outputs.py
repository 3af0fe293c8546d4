"""Outputs are never inputs, links and devices are written through, and a failed output is
exit 2 that leaves the previous file as it was."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cdrfactory import cdr, write_config, write_export
from tests.clirunner import Result, invoke
from voipbill import files
from voipbill.files import atomic_writer, output_target

OCT_15 = 1792069200  # 2026-10-15 09:00 EDT
HEADER = "service,tenant,extension,call_uuid"


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    config = write_config(tmp_path)
    with config.open("a", encoding="utf-8") as stream:
        stream.write('\n[ledger]\npath = "ledger.sqlite"\n')
    rows = [cdr(xml_cdr_uuid="call-1", destination_number="15195550100", billsec=61)]
    return config, write_export(tmp_path / "cdrs.csv", rows)


def rate(setup: tuple[Path, Path], *extra: str) -> Result:
    config, cdrs = setup
    return invoke(
        "rate", "--config", str(config), "--cdr-file", str(cdrs), "--period", "2026-10", *extra
    )


@pytest.mark.parametrize("commit", [False, True])
def test_output_onto_a_symbolic_link_writes_its_target_and_keeps_the_link(
    setup: tuple[Path, Path], tmp_path: Path, commit: bool
) -> None:
    elsewhere = tmp_path / "invoices"
    elsewhere.mkdir()
    target = elsewhere / "2026-10.csv"
    target.write_text("last month\n")
    link = tmp_path / "current.csv"
    link.symlink_to(target)
    result = rate(setup, "-o", str(link), *(["--commit"] if commit else []))
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink() and link.readlink() == target
    assert target.read_text().startswith(HEADER)
    # written atomically in the target's directory: no temp file left in either
    assert sorted(p.name for p in elsewhere.iterdir()) == ["2026-10.csv"]


def test_output_onto_dev_null_writes_to_the_device(setup: tuple[Path, Path]) -> None:
    result = rate(setup, "-o", "/dev/null")
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISCHR(Path("/dev/null").stat().st_mode)


def _voipbill(args: list[str], stdout: int | object, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.run(
        [sys.executable, "-m", "voipbill", *args],
        stdout=stdout,  # type: ignore[arg-type]
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.mark.slow  # `python -m voipbill` in a process of its own
def test_output_through_a_link_to_stdout_writes_to_stdout_and_never_replaces_it(
    setup: tuple[Path, Path], tmp_path: Path
) -> None:
    # /dev/stdout is such a link (to /proc/self/fd/1); a link of our own stands in for it,
    # so the test never touches the system's /dev
    link = tmp_path / "my-stdout"
    link.symlink_to("/proc/self/fd/1")
    config, cdrs = setup
    captured = tmp_path / "cron-mail.txt"
    args = ["rate", "--config", str(config), "--cdr-file", str(cdrs), "--period", "2026-10"]
    with captured.open("w") as stdout:
        done = _voipbill([*args, "-o", str(link)], stdout, tmp_path)
    assert done.returncode == 0, done.stderr
    assert link.is_symlink()
    assert captured.read_text().startswith(HEADER)


@pytest.mark.parametrize("which", ["cdrs", "config", "deck", "ledger", "deck-by-link"])
def test_output_naming_an_input_is_exit_2_and_writes_nothing(
    setup: tuple[Path, Path], tmp_path: Path, which: str
) -> None:
    _, cdrs = setup
    # a committed run first, so the ledger exists
    assert rate(setup, "--commit", "-o", str(tmp_path / "first.csv")).exit_code == 0
    deck_link = tmp_path / "deck-link.csv"
    deck_link.symlink_to(tmp_path / "deck.csv")
    named = {
        "cdrs": cdrs,
        "config": tmp_path / "." / "voipbill.toml",
        "deck": tmp_path / "deck.csv",
        "ledger": tmp_path / "ledger.sqlite",
        "deck-by-link": deck_link,
    }[which]
    before = {path: path.read_bytes() for path in tmp_path.iterdir() if path.is_file()}
    for extra in ([], ["--commit"]):
        result = rate(setup, "-o", str(named), *extra)
        assert result.exit_code == 2, result.stderr
        assert "never overwrites an input" in result.stderr
    after = {path: path.read_bytes() for path in tmp_path.iterdir() if path.is_file()}
    assert after == before


def test_audit_numbers_output_naming_the_cdr_file_is_refused(setup: tuple[Path, Path]) -> None:
    config, cdrs = setup
    before = cdrs.read_bytes()
    result = invoke(
        "audit-numbers",
        "--config",
        str(config),
        "--service",
        "mcon",
        "--cdr-file",
        str(cdrs),
        "-o",
        str(cdrs),
    )
    assert result.exit_code == 2, result.stderr
    assert "is the CDR file" in result.stderr
    assert cdrs.read_bytes() == before


@pytest.mark.parametrize("commit", [False, True])
def test_a_full_disk_on_output_is_exit_2_with_the_reason(
    setup: tuple[Path, Path], commit: bool
) -> None:
    result = rate(setup, "-o", "/dev/full", *(["--commit"] if commit else []))
    assert result.exit_code == 2, result.stderr
    assert "cannot write /dev/full: No space left on device" in result.stderr
    assert "internal error" not in result.stderr


@pytest.mark.slow  # `python -m voipbill` in a process of its own
def test_a_full_disk_on_stdout_is_exit_2_with_the_reason(
    setup: tuple[Path, Path], tmp_path: Path
) -> None:
    config, cdrs = setup
    with Path("/dev/full").open("w") as full:
        done = _voipbill(
            ["rate", "--config", str(config), "--cdr-file", str(cdrs), "--period", "2026-10"],
            full,
            tmp_path,
        )
    assert done.returncode == 2, done.stderr
    assert "cannot write to standard output: No space left on device" in done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr


def test_a_missing_directory_is_exit_2_with_the_reason(setup: tuple[Path, Path]) -> None:
    result = rate(setup, "-o", "no/such/dir/out.csv")
    assert result.exit_code == 2
    assert "cannot write no/such/dir/out.csv: No such file or directory" in result.stderr


def test_a_failed_write_leaves_the_previous_file_as_it_was(
    setup: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    previous = tmp_path / "out.csv"
    previous.write_text("last month's invoice\n")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    result = rate(setup, "-o", str(previous))
    assert result.exit_code == 2, result.stderr
    assert "No space left on device" in result.stderr
    assert previous.read_text() == "last month's invoice\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_an_atomic_write_fsyncs_the_file_and_then_its_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def record(fd: int) -> None:
        synced.append("directory" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", record)
    with atomic_writer(tmp_path / "invoice.csv") as stream:
        stream.write("a,b\n")
    assert synced == ["file", "directory"]
    assert (tmp_path / "invoice.csv").read_text() == "a,b\n"


def test_output_target_follows_links_and_stops_at_open_file_links(tmp_path: Path) -> None:
    real = tmp_path / "real.csv"
    hop = tmp_path / "hop"
    hop.symlink_to("real.csv")  # a relative link
    top = tmp_path / "top"
    top.symlink_to(hop)
    assert output_target(top) == (real, False)
    assert output_target(Path("/dev/null")) == (Path("/dev/null"), True)
    assert output_target(Path("/dev/stdout"))[1] is True
    assert output_target(tmp_path / "new.csv") == (tmp_path / "new.csv", False)


@pytest.mark.slow  # `python -m voipbill` in a process of its own
def test_help_into_a_full_disk_is_exit_2_not_a_bug(tmp_path: Path) -> None:
    with Path("/dev/full").open("w") as full:
        done = _voipbill(["--help"], full, tmp_path)
    assert done.returncode == 2, done.stderr
    assert "No space left on device" in done.stderr and "bug" not in done.stderr
