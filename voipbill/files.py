"""Files: atomic writes (a temp file in the same directory, then `os.replace`), CSV dialects.

`atomic_writer` is the one way voipbill writes a file it produces (CDR pulls, rated output,
invoice files committed to the ledger, the starter config): the bytes go to a temp file in the
target's directory, which is fsynced, renamed over the target, and the directory fsynced, so
the file survives a power cut whole or as it was before.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, cast

from voipbill.errors import ExitCode, VoipbillError


class OutputError(VoipbillError):
    """An output file could not be written (a bad `-o` path is a usage error)."""

    exit_code = ExitCode.USAGE


def cannot_write(name: str, exc: OSError) -> OutputError:
    """The error for an output the operating system refused, with its reason."""
    return OutputError(f"cannot write {name}: {exc.strerror or exc}")


class GuardedStream:
    """A text stream whose write failures (a full disk, a closed pipe) are OutputErrors.

    Only the writes are guarded: an OSError raised by the code that produces the data (a
    network read, say) is not mistaken for a failed output.
    """

    def __init__(self, stream: IO[str] | None, name: str) -> None:
        self._stream = stream
        self.name = name

    @property
    def stream(self) -> IO[str]:
        assert self._stream is not None
        return self._stream

    @property
    def encoding(self) -> str:
        return getattr(self.stream, "encoding", None) or "utf-8"

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except OSError as exc:
            raise cannot_write(self.name, exc) from exc

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except OSError as exc:
            raise cannot_write(self.name, exc) from exc

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()


class StdoutStream(GuardedStream):
    """Standard output, guarded; looked up on each use, so a redirected sys.stdout is seen."""

    def __init__(self) -> None:
        super().__init__(None, "to standard output")

    @property
    def stream(self) -> IO[str]:
        return sys.stdout


# A link into a process's table of open files (/dev/stdout -> /proc/self/fd/1) names whatever
# that descriptor is open on: it is written through, never replaced.
_OPEN_FILE_LINK = re.compile(
    r"/proc/(?P<pid>self|thread-self|\d+)(?:/task/\d+)?/fd/(?P<fd>\d+)|/dev/fd/(?P<devfd>\d+)"
)
_MAX_LINKS = 40


def output_target(path: Path) -> tuple[Path, bool]:
    """The file that writing to `path` must change, and whether to write it in place.

    Symbolic links are followed, so `-o link` writes (and atomically replaces) the link's
    target, in the target's directory, and the link stays a link. A character device, a FIFO
    or a link into a process's open files (`/dev/stdout`) is written in place: there is
    nothing to replace, and replacing /dev/stdout would break the system.
    """
    current = Path(os.path.normpath(path.absolute()))
    for _ in range(_MAX_LINKS):
        if _OPEN_FILE_LINK.fullmatch(str(current)):
            return current, True
        try:
            info = current.lstat()
        except FileNotFoundError:
            return current, False
        except OSError as exc:
            raise cannot_write(str(path), exc) from exc
        if stat.S_ISLNK(info.st_mode):
            link = current.readlink()
            current = Path(os.path.normpath(current.parent.resolve() / link))
            continue
        return current, not stat.S_ISREG(info.st_mode)
    raise OutputError(f"cannot write {path}: too many levels of symbolic links")


@contextlib.contextmanager
def atomic_writer(
    path: Path, *, mode: int = 0o644, newline: str | None = None
) -> Iterator[IO[str]]:
    """Yield a text stream; the file at `path` appears whole when the block ends, or not at all.

    Writing to a character device such as /dev/null or /dev/stdout writes straight through,
    since there is nothing to replace. Any failure leaves the previous file as it was and is
    an OutputError with the operating system's reason.
    """
    target, in_place = output_target(path)
    if in_place:
        with _written_in_place(target, str(path), newline) as stream:
            yield stream
        return
    try:
        fd, temp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
    except OSError as exc:
        raise cannot_write(str(path), exc) from exc
    temp = Path(temp_name)
    raw = os.fdopen(fd, "w", encoding="utf-8", newline=newline)
    try:
        guarded = GuardedStream(raw, str(path))
        yield cast(IO[str], guarded)
        guarded.flush()
        try:
            os.fsync(raw.fileno())
            raw.close()
            temp.chmod(mode)
            temp.replace(target)
            fsync_directory(target.parent)
        except OSError as exc:
            raise cannot_write(str(path), exc) from exc
    except BaseException:
        _close_quietly(raw)
        temp.unlink(missing_ok=True)
        raise


def write_bytes_atomically(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """`atomic_writer` for a binary file (a PDF): the file at `path` is `data` whole, or as it
    was; a character device (/dev/null, /dev/stdout) is written straight through."""
    target, in_place = output_target(path)
    try:
        if in_place:
            with target.open("ab") as device:
                device.write(data)
            return
        fd, temp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
    except OSError as exc:
        raise cannot_write(str(path), exc) from exc
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as raw:
            raw.write(data)
            raw.flush()
            os.fsync(raw.fileno())
        temp.chmod(mode)
        temp.replace(target)
        fsync_directory(target.parent)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise cannot_write(str(path), exc) from exc
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _written_in_place(target: Path, name: str, newline: str | None) -> Iterator[IO[str]]:
    try:
        raw = _open_in_place(target, newline)
    except OSError as exc:
        raise cannot_write(name, exc) from exc
    try:
        guarded = GuardedStream(raw, name)
        yield cast(IO[str], guarded)
        guarded.flush()
        try:
            raw.close()
        except OSError as exc:
            raise cannot_write(name, exc) from exc
    except BaseException:
        _close_quietly(raw)
        raise


def _open_in_place(target: Path, newline: str | None) -> IO[str]:
    link = _OPEN_FILE_LINK.fullmatch(str(target))
    own = link is not None and link["pid"] in (None, "self", "thread-self", str(os.getpid()))
    if link is None or not own:
        # append: a file another process writes to (a redirected stdout) is added to, not cut
        return target.open("a", encoding="utf-8", newline=newline)
    # one of our own descriptors (/dev/stdout): write through a copy of it, so the output
    # lands where that descriptor writes, after what was written there before
    number = int(link["fd"] or link["devfd"])
    for standard in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            standard.flush()
    return os.fdopen(os.dup(number), "w", encoding="utf-8", newline=newline)


def _close_quietly(stream: IO[str]) -> None:
    # after a failed write the buffer still holds text; closing retries it and fails again
    with contextlib.suppress(OSError):
        stream.close()


def fsync_directory(directory: Path) -> None:
    """Make a rename in `directory` durable (POSIX: the entry lives in the directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # a directory we may not open (some network file systems): nothing more to do
    try:
        os.fsync(fd)
    except OSError:
        pass  # not every file system can fsync a directory; the rename itself is done
    finally:
        os.close(fd)


def sniff_delimiter(header_line: str) -> str:
    """rules §3: `;` when the header has more `;` than `,` (decimal-comma spreadsheets use `;`).

    The same rule serves rate decks, CDR files and validate-fields' --file.
    """
    return ";" if header_line.count(";") > header_line.count(",") else ","
