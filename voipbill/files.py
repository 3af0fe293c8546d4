"""Files: atomic writes (a temp file in the same directory, then `os.replace`), CSV dialects."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from voipbill.errors import ExitCode, VoipbillError


class OutputError(VoipbillError):
    """An output file could not be written (a bad `-o` path is a usage error)."""

    exit_code = ExitCode.USAGE


@contextlib.contextmanager
def atomic_writer(
    path: Path, *, mode: int = 0o644, newline: str | None = None
) -> Iterator[IO[str]]:
    """Yield a text stream; the file at `path` appears whole when the block ends, or not at all.

    Writing to a character device such as /dev/null or /dev/stdout writes straight through,
    since there is nothing to replace.
    """
    if path.exists() and not path.is_file():
        with path.open("w", encoding="utf-8", newline=newline) as stream:
            yield stream
        return
    directory = path.parent if str(path.parent) else Path()
    try:
        fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror}") from exc
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        temp.chmod(mode)
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def sniff_delimiter(header_line: str) -> str:
    """SPEC §3: `;` when the header has more `;` than `,` (decimal-comma spreadsheets use `;`).

    The same rule serves rate decks, CDR files and validate-fields' --file.
    """
    return ";" if header_line.count(";") > header_line.count(",") else ","
