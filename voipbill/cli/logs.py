"""`--log-file`: a debug log of each run, for the failed 3 a.m. cron run (no secrets in it).

The core logs through the stdlib `logging` module under the "voipbill" logger; this module only
attaches a file handler for one command and removes it again (tests run many in one process).
Secrets never reach a log record: the core logs names, paths and counts, never a key.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from voipbill import __version__
from voipbill.files import OutputError

ROOT = logging.getLogger("voipbill")
_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"
_handlers: list[logging.Handler] = []


def start(path: Path, command: str | None) -> None:
    """Append this run's debug log to `path`."""
    try:
        handler = logging.FileHandler(path, encoding="utf-8", delay=False)
    except OSError as exc:
        raise OutputError(f"cannot write the log file {path}: {exc.strerror}") from exc
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.setLevel(logging.DEBUG)
    ROOT.addHandler(handler)
    ROOT.setLevel(logging.DEBUG)
    _handlers.append(handler)
    ROOT.info("voipbill %s: %s (pid %d, cwd %s)", __version__, command, os.getpid(), Path.cwd())


def stop() -> None:
    for handler in _handlers:
        ROOT.removeHandler(handler)
        handler.close()
    _handlers.clear()
