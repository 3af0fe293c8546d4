"""The ledger's own failures; each backend maps its driver's errors to these."""

from __future__ import annotations

from voipbill.errors import ExitCode, LockedError, VoipbillError

__all__ = ["LedgerError", "LockedError", "StorageError"]


class LedgerError(VoipbillError):
    """The ledger cannot be opened, read or written (a path or permission problem)."""

    exit_code = ExitCode.CONFIG


class StorageError(VoipbillError):
    """The ledger's disk refused a write (full, read-only, an I/O error): nothing was written,
    the ledger is as it was; free space and run again."""

    exit_code = ExitCode.USAGE
