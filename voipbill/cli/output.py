"""All terminal output: data to stdout, everything else to stderr (colour only on a terminal)."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, cast

from rich.console import Console
from rich.markup import escape

from voipbill.billing import Message
from voipbill.files import StdoutStream, atomic_writer

_log = logging.getLogger("voipbill.cli")
_quiet = 0
_stdout: Console | None = None
_stderr: Console | None = None

# Data that goes to a pipe or a file is never wrapped: a domain name or a title cut at column
# 80 is wrong data for the script that reads it. Only a terminal's width wraps tables.
UNWRAPPED_WIDTH = 10_000


def configure(*, quiet: int = 0, no_color: bool = False) -> None:
    global _quiet, _stdout, _stderr
    _quiet = quiet
    _stdout = _stdout_console(no_color=no_color)
    # --no-color: no escape sequence at all (rich's own no_color keeps bold, italic and dim)
    _stderr = Console(stderr=True, highlight=False, **_plain(no_color))


def _plain(no_color: bool) -> dict[str, Any]:
    return {"no_color": True, "color_system": None} if no_color else {}


def _stdout_console(*, no_color: bool = False) -> Console:
    # StdoutStream reads sys.stdout on each write, so tests can capture it; a full disk or a
    # closed pipe on stdout is an OutputError (exit 2), not an internal error
    stream = StdoutStream()
    width = None if stream.isatty() else UNWRAPPED_WIDTH
    return Console(
        file=cast(IO[str], stream),
        highlight=False,
        soft_wrap=False,
        width=width,
        **_plain(no_color),
    )


def stdout() -> Console:
    """The console for data (tables)."""
    global _stdout
    if _stdout is None:
        _stdout = _stdout_console()
    return _stdout


def stderr() -> Console:
    global _stderr
    if _stderr is None:
        _stderr = Console(stderr=True, highlight=False)
    return _stderr


def is_quiet() -> bool:
    return _quiet > 0


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def error(message: str, *, hint: str | None = None) -> None:
    """One readable line on stderr, plus the hint on how to fix it. Shown even with -q."""
    _log.error("%s%s", message, f" (hint: {hint})" if hint else "")
    stderr().print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    if hint:
        stderr().print(f"  [dim]hint:[/] {escape(hint)}", soft_wrap=True)


def warn(message: str, *, about_money: bool = False) -> None:
    """A warning on stderr. `-q` silences it unless it is about money (unrated calls, rows
    skipped, calls left out or held back, late calls billed): those are always shown, one
    line each, so cron mail is empty only when nothing needs a look."""
    _log.warning("%s", message)
    if about_money or not _quiet:
        stderr().print(f"[yellow]warning:[/] {escape(message)}", soft_wrap=True)


def messages(found: Iterable[Message]) -> None:
    """A run's messages (billing.messages), each as warn or info prints it."""
    for message in found:
        if message.level == "warning":
            warn(message.text, about_money=message.about_money)
        else:
            info(message.text)


def info(message: str) -> None:
    _log.info("%s", message)
    if not _quiet:
        stderr().print(escape(message), soft_wrap=True, highlight=False)


@contextmanager
def data_stream(path: Path | None) -> Iterator[IO[str]]:
    """Where data goes: stdout, or the `-o` file written atomically."""
    if path is None or str(path) == "-":
        standard = StdoutStream()
        yield cast(IO[str], standard)
        standard.flush()
    else:
        with atomic_writer(path, newline="") as stream:
            yield stream


def write_json(document: Any, path: Path | None) -> None:
    with data_stream(path) as stream:
        json.dump(document, stream, indent=2, ensure_ascii=False)
        stream.write("\n")


def file_console(stream: IO[str]) -> Console:
    """A console that renders tables into a file: no colour, never wrapped."""
    return Console(
        file=stream, no_color=True, highlight=False, width=UNWRAPPED_WIDTH, force_terminal=False
    )
