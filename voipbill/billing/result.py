"""The result of one billing run: its calls per service, their totals, and what to say about it.

A `RunResult` is either fresh (rated now) or reproduced from a committed run (rules §9: a
committed period is never re-priced). Its calls are *kept* (a list, tallied at once: a commit,
a rerun, a library caller) or *streamed* (a preview: priced as the renderer reads them, read
once, so a month of calls is never held in memory). The totals and the warnings that depend on
them are complete once every service's calls are read (`complete`; `drain()` reads the rest).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from voipbill.billing.scope import RunCounters
from voipbill.billing.totals import CategoryTotal, ServiceTotals, tally
from voipbill.cdrs import CdrProblem
from voipbill.config import Service
from voipbill.ledger import RunPlan, RunRecord
from voipbill.margin import BelowCost, CarrierCosts
from voipbill.periods import Period
from voipbill.rating import LATE, UNRATED, PricedCall, RatedCall, ServiceRater


@dataclass(frozen=True, slots=True)
class Message:
    """One line for stderr. `about_money` warnings are shown even with `-q` (rules §7)."""

    level: Literal["warning", "info"]
    code: str  # stable, for JSON and logs: "unrated_calls", "rows_skipped", "rerun_differs", …
    text: str
    count: int = 0
    about_money: bool = False


@dataclass(frozen=True, slots=True)
class Layout:
    """How a result is written: `format` table|csv|json, `detail` calls|summary."""

    format: str
    detail: str


@dataclass(frozen=True, slots=True)
class Difference:
    """How rating a committed period now differs from its committed run."""

    calls: int  # calls whose row differs, or that only one side has
    committed_amount: Decimal
    amount_now: Decimal


class ServiceResult:
    """One service's calls in a run, and their totals."""

    def __init__(
        self,
        service: Service,
        digits: int,
        *,
        rater: ServiceRater | None = None,
        calls: list[RatedCall] | None = None,
    ) -> None:
        assert (rater is None) != (calls is None), "a rater to stream, or the calls kept"
        self.service = service
        self.name = service.name
        self.tenant = service.domain
        self.digits = digits  # the package's rounding digits: amounts print with these
        self.totals = ServiceTotals(service.name, service.domain)
        self._rater = rater
        self._calls = calls
        self._read = False
        if calls is not None:
            for call in calls:
                self.totals.add(call)

    @property
    def kept(self) -> bool:
        return self._calls is not None

    @property
    def read(self) -> bool:
        return self.kept or self._read

    def calls(self) -> Iterator[RatedCall]:
        """The calls in (start_epoch, xml_cdr_uuid) order; a streamed service's only once."""
        if self._calls is not None:
            return iter(self._calls)
        assert self._rater is not None and not self._read, "a streamed result is read once"
        self._read = True
        return tally(self._rater.calls(), self.totals)

    def take_priced(self) -> tuple[ServiceRater, ServiceTotals]:
        """A streamed service's rater for the fast calls CSV, which fills the status counts
        only (report.write_priced_csv with statuses_only): the category totals stay empty."""
        assert self._rater is not None and not self._read, "a streamed result is read once"
        self._read = True
        return self._rater, self.totals

    def priced(self) -> Iterator[PricedCall]:
        rater, _ = self.take_priced()
        return rater.priced()

    @property
    def total(self) -> CategoryTotal:
        assert self.read, "the totals are complete once the calls are read"
        return self.totals.total


@dataclass
class RunResult:
    """One billing run of some services over one period (see the module docstring)."""

    period: Period
    currency: str
    timezone: ZoneInfo
    timezone_name: str
    services: list[ServiceResult]
    counters: RunCounters = field(default_factory=RunCounters)
    problems: list[CdrProblem] = field(default_factory=list)  # rows the reader could not split
    source_warnings: list[str] = field(default_factory=list)  # e.g. a server on plain http
    deck_warnings: list[str] = field(default_factory=list)  # a misspelt price column
    empty_sources: list[str] = field(default_factory=list)  # sources that had no CDR row
    late_days: int = 0
    reproduced: RunRecord | None = None  # the committed run this result shows, if any
    # every committed run its calls come from, oldest first: one, unless the period's calls of
    # a service were committed by several runs (see billing.committed); `reproduced` is the last
    committed_runs: tuple[RunRecord, ...] = ()
    committed_output: str | None = None  # its stored bytes (rules §9), when reproduced
    difference: Difference | None = None  # rating now vs the committed run, when they differ
    held_back: int = 0  # calls of the period a rerun leaves out (not in the committed run)
    held_back_from: int | None = None  # the earliest start_epoch of those
    legacy_rerun: bool = False  # reproduced from a run that kept no rows: rated now instead
    plan: RunPlan | None = None  # how the run used the ledger (for the commit)
    # rules §15: per service, its calls sold below carrier cost (complete once read)
    below_cost: dict[str, BelowCost] = field(default_factory=dict)
    carrier_costs: dict[str, CarrierCosts] = field(default_factory=dict)  # per service
    commit: bool = False  # rated to be committed: calls the ledger holds are information
    # the uuids of the calls earlier runs committed into this whole period, listed with their
    # committed fields (billing.gather); a commit lists them but does not claim them again
    gathered: frozenset[str] = frozenset()

    @property
    def fresh(self) -> bool:
        """Rated now; False when the calls are those of a committed run."""
        return self.reproduced is None

    @property
    def complete(self) -> bool:
        return all(service.read for service in self.services)

    def drain(self) -> None:
        """Read what no renderer read, so every total is complete."""
        for service in self.services:
            if not service.read:
                for _ in service.calls():
                    pass

    def calls(self) -> Iterator[RatedCall]:
        """Every listed call, service by service (see ServiceResult.calls)."""
        for service in self.services:
            yield from service.calls()

    def count(self, status: str) -> int:
        """Calls with this status, over every service (needs `complete`)."""
        assert self.complete, "read the calls first (drain)"
        return sum(service.totals.count(status) for service in self.services)

    @property
    def unrated(self) -> int:
        return self.count(UNRATED)

    @property
    def late(self) -> int:
        return self.count(LATE)

    def output_for(self, layout: Layout, services: tuple[str, ...]) -> str | None:
        """The committed bytes, when this reproduces a run written in this very layout and
        service order (rules §9: the same format and detail print the committed bytes)."""
        record = self.reproduced
        if record is None or self.committed_output is None:
            return None
        if (record.services, record.format, record.detail) != (
            services,
            layout.format,
            layout.detail,
        ):
            return None
        return self.committed_output
