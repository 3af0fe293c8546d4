"""The SQLite ledger: one file at `[ledger] path` (the store, the file, the migrations)."""

from voipbill.ledger.sqlite.store import SqliteLedger

__all__ = ["SqliteLedger"]
