"""`voipbill margin` (rules §15): a run's calls with their carrier costs, by service and group.

Calls rated now take their carrier cost from the cost deck; a committed period's calls take the
one the ledger recorded with them, never priced again (a call committed before carrier costs
were recorded has none, and is counted so).
"""

from __future__ import annotations

from functools import partial

from voipbill.billing.carrier import carrier_of, recorded
from voipbill.billing.result import RunResult
from voipbill.billing.run import Selection, run
from voipbill.billing.sources import CdrSource
from voipbill.config import Config
from voipbill.ledger import LedgerStore
from voipbill.margin import ServiceMargin
from voipbill.margin.report import CarrierOf, priced_now, tally_service
from voipbill.periods import Period


def margin_of(
    config: Config,
    selection: Selection,
    period: Period,
    sources: CdrSource,
    ledger: LedgerStore | None,
    by: str,
) -> tuple[RunResult, list[ServiceMargin]]:
    """The run of `period` (as `rate` previews it) and each service's margin by `by`."""
    result = run(config, selection, period, sources, ledger)
    committed = None if result.fresh else recorded(ledger, result.committed_runs)
    margins = []
    for service in result.services:
        carrier: CarrierOf
        if committed is None:
            carrier = priced_now(result.carrier_costs[service.name])
        else:
            carrier = partial(carrier_of, costs=committed)
        margin = ServiceMargin(service.name, service.digits, by)
        margins.append(tally_service(margin, service.calls(), carrier))
    return result, margins
