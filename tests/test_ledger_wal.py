"""A ledger whose last transactions are still in its -wal file (a checkpoint cut off by a full
disk, or a copy taken while it was in use) is read the way SQLite recovers it: with the WAL.
Before, the check for a foreign file read the main file alone and called it "not a voipbill
ledger … malformed" for good (exit 3), and told the operator to start a new one.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clirunner import invoke
from tests.ledgerhelpers import Billing, epoch


def half_checkpointed_copy(billing: Billing, copy: Path) -> None:
    """Commit October while another connection keeps the WAL, copy the file and its WAL to
    `copy`, then write the first half of the WAL's pages into the copy's main file: what a
    checkpoint stopped half-way by ENOSPC leaves."""
    holder = sqlite3.connect(billing.ledger)  # the commit's close is not the last one
    holder.execute("PRAGMA wal_autocheckpoint = 0")
    holder.execute("SELECT count(*) FROM runs").fetchall()
    billing.commit("2026-10", "oct.csv")
    copy.mkdir()
    shutil.copy(billing.ledger, copy / "ledger.sqlite")
    shutil.copy(f"{billing.ledger}-wal", copy / "ledger.sqlite-wal")
    holder.close()
    wal = (copy / "ledger.sqlite-wal").read_bytes()
    size = struct.unpack(">I", wal[8:12])[0]  # the WAL header's page size
    frames = [
        (struct.unpack(">I", wal[at : at + 4])[0], at + 24) for at in range(32, len(wal), 24 + size)
    ]
    assert len(frames) > 4
    with (copy / "ledger.sqlite").open("r+b") as main:
        for page, at in frames[: len(frames) // 2]:
            main.seek((page - 1) * size)
            main.write(wal[at : at + size])


@pytest.fixture
def billing(tmp_path: Path) -> Billing:
    setup = Billing(tmp_path)
    setup.add("sep-a", epoch(9, 3))
    setup.commit("2026-09", "sep.csv")
    for number in range(400):
        setup.add(f"oct-{number:04d}", epoch(10, 3) + number)
    return setup


def test_a_ledger_with_its_last_commit_in_the_wal_is_read_and_written(billing: Billing) -> None:
    copy = billing.directory / "copy"
    half_checkpointed_copy(billing, copy)
    uri = f"{(copy / 'ledger.sqlite').as_uri()}?mode=ro&immutable=1"
    with pytest.raises(sqlite3.DatabaseError):  # the main file alone: what the old check read
        sqlite3.connect(uri, uri=True).execute("SELECT count(*) FROM calls").fetchall()
    billing.ledger = copy / "ledger.sqlite"
    billing.write_config()
    show = invoke("--config", str(billing.config), "ledger", "show")
    assert show.exit_code == 0, show.stderr
    assert "committed total: 4.0100 CAD" in show.stdout  # September's call and October's 400
    billing.add("nov-a", epoch(11, 3))
    assert "committed run 3" in billing.commit("2026-11", "nov.csv").stderr
    with sqlite3.connect(billing.ledger) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_an_unreadable_ledger_is_never_to_be_abandoned(tmp_path: Path) -> None:
    billing = Billing(tmp_path)
    billing.ledger.parent.mkdir(parents=True)
    billing.ledger.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4080)
    result = invoke("--config", str(billing.config), "ledger", "show")
    assert result.exit_code == 3
    assert "left untouched" in result.stderr and "-wal" in result.stderr
    assert "does not exist yet" not in result.stderr and "new" not in result.stderr


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs of its own (root only, where the machine lets the test mount one)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.slow
def test_a_commit_on_a_nearly_full_disk_leaves_a_ledger_voipbill_still_opens(
    tmp_path: Path, small_disk: Path
) -> None:
    """Room for the WAL, not for the checkpoint after it: the commit succeeds, the closing
    checkpoint fails with ENOSPC half-way, the main file alone reads as malformed."""
    billing = Billing(tmp_path)
    billing.ledger = small_disk / "ledger.sqlite"
    billing.write_config()
    billing.add("sep-a", epoch(9, 3))
    billing.commit("2026-09", "sep.csv")
    for number in range(3000):
        billing.add(f"oct-{number:06d}-" + "x" * 30, epoch(10, 3) + number, billsec=61)
    room = os.statvfs(small_disk)
    filler = small_disk / "filler"
    filler.write_bytes(
        b"\0" * (room.f_bavail * room.f_frsize - 800 * 1024)
    )  # the WAL of 3000 calls, with their index rows
    committed = billing.rate("--period", "2026-10", "--commit", "-o", str(tmp_path / "oct.csv"))
    assert committed.exit_code == 0, committed.stderr
    assert (small_disk / "ledger.sqlite-wal").stat().st_size > 0  # the checkpoint did not finish
    for freed in (False, True):  # on the full disk, then after space is freed
        if freed:
            filler.unlink()
        show = invoke("--config", str(billing.config), "ledger", "show")
        assert show.exit_code == 0, show.stderr
        assert "committed total: 33.0100 CAD" in show.stdout  # 3000 calls of 61 s at 0.0110
