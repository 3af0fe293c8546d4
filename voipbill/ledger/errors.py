"""The ledger's own failures; each backend maps its driver's errors to these."""

from __future__ import annotations

from voipbill.errors import ExitCode, LockedError, VoipbillError

__all__ = ["LedgerError", "LockedError"]


class LedgerError(VoipbillError):
    """The ledger cannot be opened, read or written (a path or permission problem)."""

    exit_code = ExitCode.CONFIG
