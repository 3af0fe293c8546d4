"""A commit, whichever store keeps the ledger: the file first, then the transaction (rules §9).

"The export file and the ledger agree: the file is written first, atomically, and the ledger
transaction commits after it." The run's rows are inserted in an open transaction; the output
file is then written to a temp file, fsynced and renamed into place (the previous file kept as
a hard-linked backup); then the transaction commits. Any failure before the commit rolls the
transaction back and puts the previous file back, so the file and the ledger always agree.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from voipbill.files import OutputError, atomic_writer, output_target
from voipbill.ledger.records import LedgerCall, RunSelection
from voipbill.ledger.store import LedgerStore

log = logging.getLogger("voipbill.ledger")


def commit_run(
    store: LedgerStore,
    selection: RunSelection,
    calls: Sequence[LedgerCall],
    currency: str,
    output_path: Path | None,
    text: str,
) -> int:
    """Write `text` to `output_path` and record the run and its calls, all or nothing.
    Without an `output_path` (a commit without `-o`) the ledger keeps the text alone."""
    store.begin()
    where = "" if output_path is None else str(output_path.resolve())
    try:
        run_id = store.insert_run(selection, calls, currency, where, text.encode("utf-8"))
    except BaseException:
        store.rollback()
        raise
    try:
        publication = Publication.write(output_path, text) if output_path else Publication.none()
    except BaseException:
        store.rollback()
        raise
    try:
        store.commit()
    except BaseException:
        store.rollback()
        if store.has_run(run_id):
            publication.discard_backup()  # committed after all: the file is the run's
        else:
            publication.restore()
        raise
    publication.discard_backup()
    log.info(
        "committed run %s: %s, %d calls, output %s",
        run_id,
        selection.period.label,
        len(calls),
        output_path,
    )
    return run_id


@dataclass
class Publication:
    """An output file put in place, with the file it replaced kept until the ledger commits."""

    path: Path
    backup: Path | None
    in_place: bool = False  # a device or /dev/stdout: written through, nothing to put back

    @classmethod
    def none(cls) -> Publication:
        """No file: a commit without `-o`."""
        return cls(Path(os.devnull), None, in_place=True)

    @classmethod
    def write(cls, path: Path, text: str) -> Publication:
        """Put `text` at `path` atomically (temp file, fsync, rename), keeping the old file as
        a hard link; if the write fails, nothing changed."""
        backup = None
        path, in_place = output_target(path)  # a symbolic link's target, never the link
        if in_place:
            write_output(path, text)
            return cls(path, None, in_place=True)
        try:
            if path.is_file():
                backup = path.with_name(f".{path.name}.voipbill-previous")
                backup.unlink(missing_ok=True)
                os.link(path, backup)
            write_output(path, text)
        except BaseException as exc:
            if backup is not None:
                backup.unlink(missing_ok=True)
            if isinstance(exc, OSError):  # a full disk, a vanished directory: nothing replaced
                raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
            raise
        return cls(path, backup)

    def restore(self) -> None:
        """Undo the write: the previous file back, or no file."""
        if self.backup is not None:
            self.backup.replace(self.path)
        elif self.path.is_file() and not self.in_place:
            self.path.unlink()

    def discard_backup(self) -> None:
        if self.backup is not None:
            self.backup.unlink(missing_ok=True)


def write_output(path: Path, text: str) -> None:
    """The export file, whole or not at all (kept apart so tests can fail it)."""
    with atomic_writer(path, newline="") as stream:
        stream.write(text)
