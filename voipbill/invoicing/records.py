"""The journal's records and the storage protocol, apart from the clients (rules §11).

Kept free of the HTTP clients and the billing core, so a ledger backend can store the
journal without importing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol


class LineState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    NOT_SENT = "not_sent"


@dataclass(frozen=True)
class JournalLine:
    id: int
    system: str  # "whmcs" or "lago"
    run_id: int
    service: str
    item: str  # WHMCS: the category; Lago: "events" (older voipbills: "batch N")
    account: str  # WHMCS: the client id; Lago: the external_subscription_id
    amount: Decimal
    description: str
    state: LineState
    remote_id: str | None = None  # WHMCS: the billableid; Lago: what the answers said
    since: datetime | None = None  # when the line last changed state (for `pending`: when sent)

    @property
    def label(self) -> str:
        return f"line {self.id} ({self.system} run {self.run_id} {self.service} {self.item})"


class JournalStore(Protocol):
    """Where the journal lives: the ledger in production, memory in the tests.

    `add_pending` of a line whose (system, run_id, service, item) is `not_sent` makes that
    same line pending again; of one that is `pending` or `sent` it raises ValueError.
    Each method is its own committed transaction: a crash right after it must not undo it.
    """

    def add_pending(
        self,
        system: str,
        run_id: int,
        service: str,
        item: str,
        account: str,
        amount: Decimal,
        description: str,
    ) -> JournalLine: ...

    def mark_sent(self, line_id: int, remote_id: str) -> JournalLine: ...

    def mark_not_sent(self, line_id: int) -> JournalLine: ...

    def line(self, line_id: int) -> JournalLine | None: ...

    def lines_for_run(self, system: str, run_id: int) -> list[JournalLine]: ...
