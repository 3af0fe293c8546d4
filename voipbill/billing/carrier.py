"""What the calls of a run cost the operator (rules §15), for the ledger and from it.

A commit records each call's carrier cost with it (`ledger_calls`); a committed period's calls
take theirs back from the ledger (`recorded`), never priced again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from voipbill.billing.result import RunResult
from voipbill.ledger import LedgerCall, LedgerStore, RunRecord, ledger_call
from voipbill.margin import BelowCost, CarrierCosts, sold_below_cost
from voipbill.margin.costs import CarrierCost
from voipbill.rating import RatedCall

# (service, xml_cdr_uuid) -> (carrier cost, cost-deck prefix) as the ledger recorded it
Recorded = Mapping[tuple[str, str], tuple[Decimal | None, str]]


def ledger_calls(
    calls: Iterable[RatedCall], servers: Mapping[str, str], costs: Mapping[str, CarrierCosts]
) -> list[LedgerCall]:
    """The calls as a commit records them, each with its carrier cost and cost-deck prefix."""
    found = []
    for call in calls:
        server = servers[call.service]
        priced = costs.get(call.service)
        if priced is None:
            found.append(ledger_call(call, server))
            continue
        carrier = priced.of_call(call)
        if carrier is None:
            found.append(ledger_call(call, server, None, ""))
        else:
            found.append(ledger_call(call, server, carrier.amount, carrier.prefix))
    return found


def recorded(
    ledger: LedgerStore | None, records: Sequence[RunRecord]
) -> dict[tuple[str, str], tuple[Decimal | None, str]]:
    """The carrier costs the ledger recorded with the calls of these committed runs."""
    found: dict[tuple[str, str], tuple[Decimal | None, str]] = {}
    if ledger is not None:
        for record in records:
            found.update(ledger.carrier_costs(record.id))
    return found


def carrier_of(call: RatedCall, costs: Recorded) -> tuple[CarrierCost | None, bool]:
    """A committed call's carrier cost as recorded, and whether one was recorded at all."""
    entry = costs.get((call.service, call.call_uuid))
    if entry is None:
        return None, False
    amount, prefix = entry
    return (None if amount is None else CarrierCost(amount, prefix)), True


def below_cost(service: str, digits: int, calls: Iterable[RatedCall], costs: Recorded) -> BelowCost:
    """The committed calls of a service sold below their recorded carrier cost."""
    found = BelowCost(service, digits)
    for call in calls:
        carrier, _ = carrier_of(call, costs)
        if carrier is not None and call.cost is not None and sold_below_cost(call, carrier):
            found.calls += 1
            found.margin += call.cost - carrier.amount
    return found


def gathered(
    ledger: LedgerStore | None, result: RunResult
) -> dict[tuple[str, str], tuple[Decimal | None, str]]:
    """The carrier costs recorded with the calls earlier runs committed into this run's
    period, which it lists with their committed fields (`result.gathered`)."""
    if ledger is None or not result.gathered or result.plan is None:
        return {}
    servers = set(result.plan.book.server_keys.values())
    billed = ledger.billed_many(servers, sorted(result.gathered))
    found: dict[tuple[str, str], tuple[Decimal | None, str]] = {}
    for run_id in sorted({run_id for run_id, _ in billed.values()}):
        found.update(ledger.carrier_costs(run_id))
    return found


def count_gathered(ledger: LedgerStore | None, result: RunResult) -> None:
    """A preview warns about every call it lists (rules §15): add the calls earlier runs
    committed into the period that were sold below their recorded carrier cost."""
    costs = gathered(ledger, result)
    if not costs:
        return
    for service in result.services:
        listed = (call for call in service.calls() if call.call_uuid in result.gathered)
        found = below_cost(service.name, service.digits, listed, costs)
        counted = result.below_cost.setdefault(
            service.name, BelowCost(service.name, service.digits)
        )
        counted.calls += found.calls
        counted.margin += found.margin
