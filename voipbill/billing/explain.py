"""`explain`: every step from one CDR's raw fields to its rounded cost, and what was committed.

The tracing rater decides its one call like any other, then writes down why: rating itself
(voipbill.rating) carries no trace, so the million other calls pay nothing for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path

from voipbill import pricing
from voipbill.billing.raters import build_raters
from voipbill.billing.run import committed_call
from voipbill.billing.scope import RatingRun, Trace
from voipbill.billing.sources import CdrFile, CdrSource, feed
from voipbill.cdrs import CdrProblem, CdrRecord, read_cdr_file
from voipbill.config import Config, Package, Service
from voipbill.decks import Deck
from voipbill.errors import InvalidInputError, UsageError
from voipbill.ledger import COMMITTED, LedgerStore, RunRecord
from voipbill.money import round_cost
from voipbill.numbers import NATIONAL, Normaliser
from voipbill.periods import Period, make_period, parse_month
from voipbill.rating import (
    LOCAL,
    NO_CHARGE,
    UNANSWERED,
    Outcome,
    PricedCall,
    RatedCall,
    ServiceRater,
    dialed_number,
)


@dataclass
class Explanation:
    """One call, step by step; `now` is its row as rating gives it now (None: left out)."""

    service: Service
    period: Period
    records: list[CdrRecord]  # the CDR rows with this uuid (empty: no such call)
    steps: Trace
    now: RatedCall | None
    committed: tuple[RunRecord, RatedCall] | None = None  # the committed run and row
    problems: list[CdrProblem] = field(default_factory=list)

    @property
    def differs(self) -> bool:
        """Does rating now give another row than the committed one?"""
        return self.committed is not None and self.committed[1] != self.now


def explain(
    config: Config,
    service: Service,
    xml_cdr_uuid: str,
    period: Period | None,
    sources: CdrSource,
    ledger: LedgerStore | None = None,
) -> Explanation:
    """Rate the call's period with a trace of the one call; `period` None (a CDR file only):
    the call's calendar month, since free minutes depend on the period."""
    if period is None:
        if not isinstance(sources, CdrFile):
            raise UsageError("give --period or --from/--to to explain a call from the servers")
        period = _month_of_call(config, service.name, xml_cdr_uuid, sources.path)
    make = partial(TracingRater, trace_uuid=xml_cdr_uuid)
    raters = build_raters(config, [service], make=make)
    if ledger is not None:  # rules §6: what committed runs gave is used up, but for this period's
        rerated = {
            record.id
            for record in ledger.runs(service=service.name)
            if record.status == COMMITTED and record.period == period.label
        }
        raters[0].free_seconds_used = ledger.free_seconds_given(
            service.name, config.timezone, except_runs=rerated
        )
    scope = RatingRun(raters, period, trace_uuid=xml_cdr_uuid)
    problems: list[CdrProblem] = []
    feed(scope, config, raters, period, sources, problems=problems, warnings=[])
    rater = raters[0]
    assert isinstance(rater, TracingRater)
    now = next((call for call in rater.calls() if call.call_uuid == xml_cdr_uuid), None)
    return Explanation(
        service,
        period,
        scope.traced_records,
        [*scope.trace, *rater.trace],
        now,
        committed_call(ledger, service, xml_cdr_uuid),
        problems,
    )


class TracingRater(ServiceRater):
    """A rater that writes down each step of one call (`trace_uuid`)."""

    def __init__(
        self,
        service: Service,
        package: Package,
        deck: Deck | None,
        normaliser: Normaliser,
        *,
        export_domain: str | None = None,
        trace_uuid: str,
    ) -> None:
        super().__init__(service, package, deck, normaliser, export_domain=export_domain)
        self.trace_uuid = trace_uuid
        self.trace: Trace = []

    def add(self, record: CdrRecord, *, late: bool = False) -> None:
        if record.xml_cdr_uuid != self.trace_uuid:
            super().add(record, late=late)
            return
        direction = record.direction
        dialed = dialed_number(record)
        field_name = (
            "caller_destination"
            if direction == "inbound" and record.caller_destination
            else "destination_number"
        )
        self.trace.append(("number", f"{field_name} {dialed!r} (direction {direction or 'empty'})"))
        # decided again, not from the shared cache, so every step is seen
        decision = self._decide(direction, dialed)
        number = decision.number
        self.trace.extend(("normalise", step) for step in number.steps)
        self.trace.append(("category", f"{decision.category} (class {number.number_class})"))
        if decision.excluded_by is not None:
            self.trace.append(
                (
                    "exclude",
                    f"matches exclude pattern {decision.excluded_by}: left out of every output",
                )
            )
        else:
            self.trace.append(("exclude", "no exclude pattern matches"))
        outcome = self._add(record, decision, late)
        if outcome is not None:
            self._trace_status(outcome, decision.no_charge_reason, record)

    def _trace_status(self, outcome: Outcome, no_charge_reason: str, record: CdrRecord) -> None:
        status = outcome.status
        billsec = record.billsec or 0
        if status == LOCAL:
            reason = "category local"
        elif status == UNANSWERED:
            reason = f"billsec {billsec}, status {record.status or 'empty'}"
        elif status == NO_CHARGE:
            reason = no_charge_reason or (
                f"billsec {billsec} s is within the rate source's no_charge_seconds"
            )
        elif outcome.source is None:
            reason = "no rate source (no special rule, custom rate, deck row or inbound rate)"
        else:
            reason = f"priced by {outcome.source.kind}"
        self.trace.append(("status", f"{status}: {reason}"))
        source = outcome.source
        if source is not None:
            billed = source.billed_seconds(billsec)
            included = source.included_seconds
            after = f", {included} s included" if included else ""
            self.trace.append(("rate source", pricing.describe(source)))
            self.trace.append(
                (
                    "increment",
                    f"{source.increment}: billsec {billsec} s{after} -> billed {billed} s",
                )
            )

    def priced(self) -> Iterator[PricedCall]:
        """The calls as ServiceRater prices them; the free minutes and the rounding of the
        traced one written down, from the allowance the calls before it left."""
        free_left = int(self.package.free_minutes * 60)
        digits, mode = self.package.rounding_digits, self.package.rounding_mode
        for call in super().priced():
            _, call_uuid, outcome, _, _, _, billed, free, _ = call
            if outcome.source is not None and outcome.category == NATIONAL:
                free_left -= free
            if call_uuid == self.trace_uuid and outcome.source is not None:
                cost = pricing.cost(outcome.source, billed, free)
                rounded = round_cost(cost, digits, mode)
                self.trace.append(("free minutes", f"{free} s free, {free_left} s left"))
                self.trace.append(
                    ("cost", f"{cost} before rounding, {rounded} after ({digits} digits, {mode})")
                )
            yield call


def _month_of_call(config: Config, service: str, uuid: str, cdr_file: Path) -> Period:
    """The calendar month (config time zone) in which the call started."""
    problems: list[CdrProblem] = []
    for record in read_cdr_file(cdr_file, problems=problems):
        if record.xml_cdr_uuid != uuid or record.start_epoch is None:
            continue
        try:
            day = datetime.fromtimestamp(record.start_epoch, config.timezone).date()
            first, last = parse_month(f"{day:%Y-%m}")
            return make_period(first, last, config.timezone)
        except (OverflowError, OSError, ValueError, UsageError):
            break  # an epoch outside any billable month: reported below
    raise InvalidInputError(
        f"no CDR with xml_cdr_uuid {uuid} and a usable start_epoch in {cdr_file}",
        hint=f"service {service}: check the uuid, or give --period",
    )
