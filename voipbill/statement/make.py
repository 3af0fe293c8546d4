"""The statements of some services for a period: from their committed runs, else a preview.

A service with a committed run of the period gets the statement of that run: its calls with
the costs they were committed with, its run id and commit time (`billing.committed`, which
also finds one service of a run committed for several at once). The others are rated now, in
one run over the CDR source (read once, so `--cdr-file -` serves them all), and get a preview.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from voipbill import billing
from voipbill.config import Config, Service
from voipbill.ledger import LedgerStore
from voipbill.periods import Period
from voipbill.statement.build import build_statement
from voipbill.statement.model import StatementData


@dataclass(frozen=True)
class Statements:
    """One statement per service, in the order asked, and the results they were made from
    (their warnings: `billing.messages`)."""

    statements: list[StatementData]
    results: list[billing.RunResult]


def make_statements(
    config: Config,
    services: Sequence[Service],
    period: Period,
    sources: billing.CdrSource,
    ledger: LedgerStore | None,
    *,
    made_at: datetime | None = None,
) -> Statements:
    """The statement of each service for `period`; a preview is dated `made_at` (default now)."""
    found = {s.name: billing.committed(config, [s], period, ledger) for s in services}
    previews = tuple(service for service in services if found[service.name] is None)
    fresh = None
    if previews:
        selection = billing.Selection(previews, stream=True)  # each read once, by its statement
        fresh = billing.run(config, selection, period, sources, ledger)
    results = [r for r in found.values() if r is not None] + ([fresh] if fresh else [])
    made: dict[str, StatementData] = {}
    for result in results:
        runs = result.committed_runs
        for service_result in result.services:
            made[service_result.name] = build_statement(
                service_result.calls(),
                service=service_result.service,
                period=period,
                currency=result.currency,
                rounding_digits=service_result.digits,
                settings=config.statement,
                run_id=", ".join(str(run.id) for run in runs) if runs else None,
                committed_at=datetime.fromisoformat(runs[-1].created) if runs else None,
                made_at=made_at,
            )
        result.drain()
    return Statements([made[service.name] for service in services], results)
