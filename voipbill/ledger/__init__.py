"""The billing ledger (rules §9): which call was billed in which period, by which committed run.

The public face, what the rest of voipbill uses:
- `open_ledger(config, commit=, lock_timeout=)`: the ledger for one command (a `LedgerStore`,
  locked and writable to commit; read-only, or None when there is none yet, for a preview);
- `LedgerStore`: what a store offers, written once in `base.LedgerBase` over each backend's
  hooks: `SqliteLedger` (`[ledger] path`, voipbill.ledger.sqlite), or
  `voipbill.ledger.postgres.PostgresLedger` (`[ledger] postgresql`, imported only when a
  config names it); each with its numbered migrations; `ledger_location`: where a config's
  ledger is, for messages;
- `journal`: the invoicing journal every store keeps (`store.journal`, `JournalLine`);
- `plan_run` / `RunPlan` / `CallBook`: how a run uses the ledger; `commit_run`: the commit;
- the records: `RunRecord`, `RunSelection`, `LedgerCall`, `ServiceTotal`.
"""

from __future__ import annotations

from voipbill.ledger.commit import commit_run
from voipbill.ledger.errors import LedgerError, LockedError, StorageError
from voipbill.ledger.journal import JournalLine, LedgerJournal, LineState, LineTaken
from voipbill.ledger.plan import (
    FILE_SERVER,
    GATHERED,
    CallBook,
    RunPlan,
    ledger_call,
    plan_run,
    server_key,
)
from voipbill.ledger.records import (
    COMMITTED,
    VOIDED,
    LedgerCall,
    RunRecord,
    RunSelection,
    ServiceTotal,
)
from voipbill.ledger.session import ledger_location, open_ledger
from voipbill.ledger.sqlite import SqliteLedger
from voipbill.ledger.store import LedgerStore

__all__ = [
    "COMMITTED",
    "FILE_SERVER",
    "GATHERED",
    "VOIDED",
    "CallBook",
    "JournalLine",
    "LedgerCall",
    "LedgerError",
    "LedgerJournal",
    "LedgerStore",
    "LineState",
    "LineTaken",
    "LockedError",
    "RunPlan",
    "RunRecord",
    "RunSelection",
    "ServiceTotal",
    "SqliteLedger",
    "StorageError",
    "commit_run",
    "ledger_call",
    "ledger_location",
    "open_ledger",
    "plan_run",
    "server_key",
]
