"""How one command uses the billing ledger (SPEC §9): the lock, the session, and a run's plan.

`rate` and `ledger` open the ledger through `ledger_session`; a `rate` run asks `plan_run` which
committed run it replays, how far back it fetches, and which calls it may bill (`CallBook`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from voipbill.config import Config, Service
from voipbill.errors import LockedError, UsageError
from voipbill.ledger import Ledger, LedgerError
from voipbill.ledger_records import LedgerCall, RunRecord
from voipbill.periods import Period
from voipbill.rating import RatedCall

# one logger name for every ledger line of --log-file, whichever module writes it
log = logging.getLogger("voipbill.ledger")

# A --cdr-file run of a service with no `server`: its calls are keyed under this name.
FILE_SERVER = "file"


def server_key(service: Service) -> str:
    """The `server` half of a call's ledger key (SPEC §9: keyed by (server, xml_cdr_uuid)).

    A `--cdr-file` is an export of the service's server (what `pull` writes), so its calls are
    keyed under that server's name too: the same call rated from the file and from the server
    is one ledger entry. Only a service with no `server` uses "file".
    """
    # the configured server name, not its URL, which may change
    return service.server if service.server is not None else FILE_SERVER


def lock_path_of(ledger_path: Path) -> Path:
    return ledger_path.with_name(ledger_path.name + ".lock")


@contextlib.contextmanager
def ledger_lock(ledger_path: Path, timeout: float) -> Iterator[None]:
    """Hold the ledger's lock file (fcntl.flock) for the whole block (SPEC §9: exit 6).

    flock locks vanish with the process, so a run that dies never leaves a stale lock.
    """
    path = lock_path_of(ledger_path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise LedgerError(
            f"cannot open the ledger lock {path}: {exc.strerror}",
            hint="check [ledger] path and its directory's permissions",
        ) from exc
    try:
        deadline = time.monotonic() + max(timeout, 0)
        waited = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise LedgerError(f"cannot lock {path}: {exc.strerror}") from exc
                if time.monotonic() >= deadline:
                    raise LockedError(
                        f"another voipbill run holds the ledger lock {path}",
                        hint="wait for it to finish, or give --lock-timeout SECONDS to wait",
                    ) from None
                if not waited:
                    log.info("ledger lock %s is held; waiting up to %ss", path, timeout)
                    waited = True
                time.sleep(0.05)
        log.debug("ledger lock %s acquired", path)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def ledger_session(path: Path, *, commit: bool, lock_timeout: float) -> Iterator[Ledger | None]:
    """The ledger for one command: locked and writable for `--commit` (the lock held for the
    whole run, SPEC §9), else read-only, or None when there is none yet (a preview)."""
    try:
        if commit:
            with ledger_lock(path, lock_timeout):
                ledger = Ledger.open(path, create=True)
                assert ledger is not None
                with ledger:
                    yield ledger
        else:
            found = Ledger.open(path, create=False)
            try:
                yield found
            finally:
                if found is not None:
                    found.close()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise LockedError(
                f"the ledger {path} is busy: {exc}", hint="another program has it open; retry later"
            ) from exc
        raise LedgerError(f"ledger {path}: {exc}") from exc
    except sqlite3.Error as exc:
        raise LedgerError(
            f"ledger {path}: {exc}", hint="check [ledger] path: it must be a voipbill ledger"
        ) from exc


class CallBook:
    """The ledger's answer for each call of a run (runs.LedgerCheck).

    A call is billed when no committed run has it. When the run reruns a committed selection
    (`replay`), exactly that run's calls are billed and nothing else, so the rerun prints what
    was committed; calls of the period that reached FusionPBX after the commit are left for a
    later run's `--late-days`. A preview (`preview_label` set) also shows the calls committed
    to its own period by another selection, e.g. one service of an `--all` commit: SPEC §9
    leaves out only calls committed to *another* period. A commit never takes them again.
    """

    def __init__(
        self,
        ledger: Ledger | None,
        server_keys: Mapping[str, str],
        replay: RunRecord | None,
        preview_label: str | None = None,
    ) -> None:
        self.ledger = ledger
        self.server_keys = server_keys
        self.replay = replay
        self.preview_label = preview_label

    def check(self, service: Service, xml_cdr_uuid: str) -> tuple[bool, str | None]:
        if self.ledger is None:
            return True, None
        billed = self.ledger.billed(self.server_keys[service.name], xml_cdr_uuid)
        if billed is None:
            return self.replay is None, None
        run_id, label = billed
        if self.replay is not None and run_id == self.replay.id:
            return True, None
        if self.replay is None and label == self.preview_label:
            return True, None
        return False, label


@dataclass(frozen=True)
class RunPlan:
    """How one `rate` run uses the ledger: what it fetches and which calls it may bill."""

    replay: RunRecord | None  # the committed run of this very selection, if any
    book: CallBook
    late_window: Period | None
    fetch_period: Period  # the period, extended back by the late window


def plan_run(
    ledger: Ledger | None,
    config: Config,
    services: list[Service],
    period: Period,
    late_days: int,
    *,
    commit: bool = False,
) -> RunPlan:
    if late_days < 0:
        raise UsageError(f"--late-days {late_days} is negative", hint="give 0 or more days")
    replay = None if ledger is None else ledger.committed_run(period, [s.name for s in services])
    if replay is not None:
        # a rerun bills exactly the committed calls: fetch as far back as the commit did
        late_days = max(late_days, replay.late_days)
        log.info(
            "%s for %s was committed by run %s: rerunning it",
            period.label,
            ", ".join(replay.services),
            replay.id,
        )
    keys = {service.name: server_key(service) for service in services}
    window = period.extended_back(late_days) if late_days else None
    return RunPlan(
        replay=replay,
        book=CallBook(ledger, keys, replay, preview_label=None if commit else period.label),
        late_window=window,
        fetch_period=window or period,
    )


def ledger_call(call: RatedCall, server: str) -> LedgerCall:
    return LedgerCall(
        call.service, server, call.call_uuid, call.start_epoch, call.status, call.cost
    )
