"""`voipbill margin` (rules §15): a run's calls with their carrier costs, by service and group.

Calls rated now take their carrier cost from the cost deck; a committed period's calls take the
one the ledger recorded with them, never priced again (a call committed before carrier costs
were recorded has none, and is counted so).
"""

from __future__ import annotations

from functools import partial

from voipbill.billing.carrier import Recorded, carrier_of, gathered, recorded
from voipbill.billing.result import RunResult
from voipbill.billing.run import Selection, run
from voipbill.billing.sources import CdrSource
from voipbill.config import Config
from voipbill.ledger import LedgerStore
from voipbill.margin import CarrierCost, ServiceMargin
from voipbill.margin.report import CarrierOf, priced_now, tally_service
from voipbill.periods import Period
from voipbill.rating import RatedCall


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
    earlier = gathered(ledger, result)  # calls earlier runs committed into the period
    margins = []
    for service in result.services:
        carrier: CarrierOf
        if committed is not None:
            carrier = partial(carrier_of, costs=committed)
        else:
            carrier = _now_or_earlier(
                priced_now(result.carrier_costs[service.name]), result, earlier
            )
        margin = ServiceMargin(service.name, service.digits, by)
        margins.append(tally_service(margin, service.calls(), carrier))
    return result, margins


def _now_or_earlier(now: CarrierOf, result: RunResult, earlier: Recorded) -> CarrierOf:
    """Priced now, but for a call an earlier run committed: the carrier cost it recorded."""
    if not result.gathered:
        return now

    def carrier(call: RatedCall) -> tuple[CarrierCost | None, bool]:
        if call.call_uuid in result.gathered:
            return carrier_of(call, earlier)
        return now(call)

    return carrier
