"""rules §9: two runs at once. Real processes: `python -m voipbill` and a lock holder."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.cdrfactory import write_export
from tests.ledgerhelpers import Billing, epoch

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow  # real processes

HOLD_LOCK = """
import fcntl, sys, time
with open(sys.argv[1], "a") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@pytest.fixture
def billing(tmp_path: Path) -> Billing:
    setup = Billing(tmp_path)
    for day in range(1, 29):
        setup.add(f"oct-{day}", epoch(10, day))
    write_export(tmp_path / "cdrs.csv", setup.rows)
    setup.ledger.parent.mkdir(parents=True)
    return setup


def voipbill(billing: Billing, out: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "voipbill",
            "--config",
            str(billing.config),
            "rate",
            "--cdr-file",
            str(billing.directory / "cdrs.csv"),
            "--period",
            "2026-10",
            "--commit",
            "-o",
            str(billing.directory / out),
            *args,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def hold_lock(billing: Billing, seconds: float) -> subprocess.Popen[str]:
    lock = billing.ledger.with_name(billing.ledger.name + ".lock")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(lock), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def test_a_run_while_another_holds_the_lock_exits_6(billing: Billing) -> None:
    holder = hold_lock(billing, 30)
    try:
        result = voipbill(billing, "oct.csv")
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 6
    assert "another voipbill run holds the ledger lock" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (billing.directory / "oct.csv").exists()
    assert not billing.ledger.exists()


def test_lock_timeout_waits_for_the_other_run_to_finish(billing: Billing) -> None:
    holder = hold_lock(billing, 0.5)
    try:
        result = voipbill(billing, "oct.csv", "--lock-timeout", "20")
    finally:
        holder.wait()
    assert result.returncode == 0, result.stderr
    assert (billing.directory / "oct.csv").exists()


def test_a_lock_left_by_a_killed_run_does_not_block_the_next(billing: Billing) -> None:
    holder = hold_lock(billing, 30)
    holder.kill()  # flock locks die with their process
    holder.wait()
    assert voipbill(billing, "oct.csv").returncode == 0


def test_two_commits_at_once_bill_the_period_once(billing: Billing) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.map(
            lambda out: voipbill(billing, out, "--lock-timeout", "30"), ["a.csv", "b.csv"]
        )
    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert billing.file("a.csv") == billing.file("b.csv")
    assert billing.query("SELECT count(*) FROM runs") == [(1,)]
    assert billing.query("SELECT count(*) FROM calls") == [(28,)]


def test_a_run_waiting_on_a_lock_file_its_holder_removed_takes_the_new_one(
    tmp_path: Path,
) -> None:
    """A failed first commit removes its lock file (it leaves nothing behind): a run that was
    waiting on it must not go on holding a lock on a file no longer at the path, where a third
    run could lock a new file at the same time."""
    import fcntl
    import os
    import threading

    from voipbill.ledger.session import ledger_lock, lock_path_of

    ledger = tmp_path / "ledger.sqlite"
    lock = lock_path_of(ledger)
    holder = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(holder, fcntl.LOCK_EX)
    held: list[tuple[bool, bool]] = []

    def wait_for_it() -> None:
        with ledger_lock(ledger, timeout=5):
            probe = os.open(lock, os.O_RDWR)
            try:  # the file at the path is the locked one: a third run cannot lock it
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held.append((True, False))
            except BlockingIOError:
                held.append((True, True))
            finally:
                os.close(probe)

    waiter = threading.Thread(target=wait_for_it)
    waiter.start()
    lock.unlink()  # the holder's first commit failed: it removes the lock file, then lets go
    fcntl.flock(holder, fcntl.LOCK_UN)
    os.close(holder)
    waiter.join(10)
    assert held == [(True, True)]
