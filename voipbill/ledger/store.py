"""What a billing run needs of a ledger store, whichever database keeps it (rules §9).

`SqliteLedger` (voipbill.ledger.sqlite) and `PostgresLedger` (voipbill.ledger.postgres) implement
it with one body (voipbill.ledger.base), each supplying only its dialect's hooks; the run code
(voipbill.billing, voipbill.ledger.plan and voipbill.ledger.commit) and the invoicing code do
not know which one they talk to. tests/test_ledger_contract.py runs every method on both.

The write side is one transaction per commit, driven by `voipbill.ledger.commit.commit_run`:
`begin`, `insert_run`, then the output file is put in place, then `commit` (or `rollback`).
A store maps its driver's errors to `LedgerError` and `LockedError` (voipbill.ledger.errors).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from voipbill.ledger.records import LedgerCall, RunRecord, RunSelection
from voipbill.periods import Period
from voipbill.rating import RatedCall

if TYPE_CHECKING:
    from voipbill.ledger.journal import LedgerJournal


class LedgerStore(Protocol):
    """A ledger open for one command: read-only for a preview, locked and writable to commit."""

    @property
    def where(self) -> str:
        """Where the ledger is, for messages (a path; never a password)."""
        ...

    @property
    def ledger_id(self) -> str:
        """The ledger's own id: 8 hex digits made when it was created (a ledger of an older
        voipbill gets one in its upgrade; "" while such a one is only read)."""
        ...

    @property
    def journal(self) -> LedgerJournal:
        """The invoicing journal kept in the ledger (rules §11), on either backend."""
        ...

    # -- reading ---------------------------------------------------------------------------------

    def billed(self, server: str, xml_cdr_uuid: str) -> tuple[int, str] | None:
        """(run id, period label) of the committed run that billed this call, if any."""
        ...

    def billed_many(
        self, servers: Collection[str], uuids: Sequence[str]
    ) -> dict[tuple[str, str], tuple[int, str]]:
        """`billed` for many calls at once, in a few round trips: (server, uuid) -> (run id,
        period label) for those of `uuids` under any of `servers` that a committed run holds."""
        ...

    def period_calls(self, label: str, services: Collection[str]) -> dict[tuple[str, str], int]:
        """(server, uuid) -> run id of every call of these services billed in the period
        `label`, whichever run committed it."""
        ...

    def runs(self, *, service: str | None = None, run_id: int | None = None) -> list[RunRecord]:
        """Committed and voided runs, oldest first, optionally of one service or one id."""
        ...

    def run(self, run_id: int) -> RunRecord:
        """One run; UsageError when the ledger has no such run."""
        ...

    def committed_run(self, period: Period, services: Iterable[str]) -> RunRecord | None:
        """The committed run of exactly this period (first and last day) and set of services."""
        ...

    def stored_output(self, run_id: int) -> str:
        """The exact text of the file a committed run wrote."""
        ...

    def committed_calls(self, run_id: int) -> list[RatedCall] | None:
        """Every call a run listed, with the fields and costs it was committed with, in its
        output's order; None for a run committed before the ledger kept them."""
        ...

    def carrier_costs(self, run_id: int) -> dict[tuple[str, str], tuple[Decimal | None, str]]:
        """(service, xml_cdr_uuid) -> (carrier cost, the cost deck's matched prefix) recorded
        with each call the run bills (rules §15): cost None when the call had no cost-deck row,
        prefix "" when none matched. A call committed before carrier costs were recorded (or
        without one: `LedgerCall.carrier_prefix` None) is left out."""
        ...

    def free_seconds_given(
        self, service: str, timezone: ZoneInfo, *, except_runs: Collection[int] = ()
    ) -> dict[str, int]:
        """Month ("YYYY-MM") -> the free seconds that committed (not voided) runs, other than
        `except_runs`, gave the service's calls that started in that month (rules §6, §9).

        A store records them at `insert_run` (`selection.free_seconds`); `timezone` (the
        config's) is only for runs committed before it did, whose months it derives from
        their committed calls."""
        ...

    # -- writing: one transaction per commit or void ---------------------------------------------

    def begin(self) -> None:
        """Start the write transaction (exclusive: no other writer until commit/rollback)."""
        ...

    def insert_run(
        self,
        selection: RunSelection,
        calls: Sequence[LedgerCall],
        currency: str,
        output_path: str,
        output: bytes,
    ) -> int:
        """Record a run, its per-service totals and its calls in the open transaction; its id.
        Also `selection.skipped_rows` (`RunRecord.skipped_rows` reads them back) and
        `selection.free_seconds` (`free_seconds_given` sums them).

        A call another run already holds raises LedgerError: a call is billed once."""
        ...

    def commit(self) -> None:
        """Commit the open transaction: the one point where a run becomes billed."""
        ...

    def rollback(self) -> None:
        """Roll the open transaction back, if there is one."""
        ...

    def has_run(self, run_id: int) -> bool:
        """Is this run in the ledger (after a commit that raised: did it commit after all)?"""
        ...

    def void(self, run_id: int, reason: str | None = None) -> RunRecord:
        """Mark a committed run voided and release its calls (kept apart as voided)."""
        ...

    def close(self) -> None: ...
