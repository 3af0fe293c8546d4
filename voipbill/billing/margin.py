"""`voipbill margin` (rules §15): a run's calls with their carrier costs, by service and group.

Calls rated now take their carrier cost from the cost deck; a committed period's calls take the
one the ledger recorded with them, never priced again.
"""

from __future__ import annotations

from decimal import Decimal

from voipbill.billing.result import RunResult
from voipbill.billing.run import Selection, run
from voipbill.billing.sources import CdrSource
from voipbill.config import Config
from voipbill.ledger import LedgerStore
from voipbill.margin import CarrierCosts, ServiceMargin
from voipbill.margin.report import from_ledger, priced_now, tally_service
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
    recorded = {} if result.fresh else committed_carrier_costs(result, ledger)
    margins = []
    for service in result.services:
        costs: CarrierCosts = result.carrier_costs[service.name]
        carrier_of = priced_now(costs) if result.fresh else from_ledger(recorded, costs)
        margins.append(
            tally_service(
                ServiceMargin(service.name, service.digits, by), service.calls(), carrier_of
            )
        )
    return result, margins


def committed_carrier_costs(
    result: RunResult, ledger: LedgerStore | None
) -> dict[str, Decimal | None]:
    """Call uuid -> the carrier cost the ledger recorded with it (None: committed before
    carrier costs were recorded). The ledger keeps none yet: every committed call has none."""
    del result, ledger
    return {}
