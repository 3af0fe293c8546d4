"""`--log-file` and `-v`: a debug log of each run, for the failed 3 a.m. cron run (no secrets).

The core logs through the stdlib `logging` module under the "voipbill" logger; this module only
attaches a file handler for one command and removes it again (tests run many in one process).
Secrets never reach a log record: the core logs names, paths and counts, never a key.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from voipbill import __version__
from voipbill.files import OutputError

ROOT = logging.getLogger("voipbill")
_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"
_handlers: list[logging.Handler] = []


def start(path: Path | None, command: str | None, *, verbose: int = 0) -> None:
    """Append this run's debug log to `path`; with `-v` show it on stderr too (`-vv`: debug)."""
    if path is not None:
        try:
            handler: logging.Handler = logging.FileHandler(path, encoding="utf-8", delay=False)
        except OSError as exc:
            raise OutputError(f"cannot write the log file {path}: {exc.strerror}") from exc
        _attach(handler, logging.DEBUG)
    if verbose:
        # sys.stderr is looked up now, so tests that capture stderr see the lines
        _attach(logging.StreamHandler(sys.stderr), logging.DEBUG if verbose > 1 else logging.INFO)
    if _handlers:
        ROOT.setLevel(logging.DEBUG)
        ROOT.info("voipbill %s: %s (pid %d, cwd %s)", __version__, command, os.getpid(), Path.cwd())


def _attach(handler: logging.Handler, level: int) -> None:
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.setLevel(level)
    ROOT.addHandler(handler)
    _handlers.append(handler)


def stop() -> None:
    for handler in _handlers:
        ROOT.removeHandler(handler)
        handler.close()
    _handlers.clear()
