"""The journal's records and storage protocol (rules §11), as the invoicing code names them.

They live with the journal in the ledger package (voipbill.ledger.journal), which keeps the
journal on either backend; the ledger never imports the invoicing code.
"""

from __future__ import annotations

from voipbill.ledger.journal import JournalLine, JournalStore, LineState, LineTaken

__all__ = ["JournalLine", "JournalStore", "LineState", "LineTaken"]
