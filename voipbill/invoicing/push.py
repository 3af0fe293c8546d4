"""`invoice push`, `status` and `reconcile` over the ledger: the committed runs of a period, their
lines and events, and the journal the ledger keeps on either backend (rules §11).

Only a committed run is pushed: its calls, costs and totals come from the ledger (the billing
core's `committed`), never from rating again, so a push carries exactly the committed amounts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from voipbill import billing
from voipbill.config import Config, Service
from voipbill.errors import ConfigError, UsageError
from voipbill.invoicing.journal import (
    LAGO,
    WHMCS,
    PendingLines,
    PushReport,
    TokenFinder,
    WhmcsLine,
    push_whmcs,
    reconcile_whmcs,
)
from voipbill.invoicing.lines import CategoryUsage, InvoiceLine, build_lines
from voipbill.invoicing.preflight import WhmcsTarget, whmcs_checks
from voipbill.invoicing.records import JournalLine, LineState
from voipbill.invoicing.whmcs import InvoiceItem, WhmcsClient
from voipbill.ledger import COMMITTED, LedgerJournal, LedgerStore, RunRecord
from voipbill.periods import Period

if TYPE_CHECKING:
    from voipbill.invoicing.plan import PushPlan

SYSTEMS = (WHMCS, LAGO)


def pushed_lines(ledger: LedgerStore, run_id: int) -> list[JournalLine]:
    """The lines of a run an invoicing system has, or may have (sent or pending)."""
    journal = ledger.journal
    return [
        line
        for system in SYSTEMS
        for line in journal.lines_for_run(system, run_id)
        if line.state is not LineState.NOT_SENT
    ]


def removal(line: JournalLine) -> str:
    """What to remove in the invoicing system for a line of a voided run."""
    state = "" if line.state is LineState.SENT else " (pending: it may not be there)"
    if line.system == WHMCS:
        item = f"billable item {line.remote_id}" if line.remote_id else "the billable item"
        return f"WHMCS, client {line.account}: {item}, {line.amount}, {line.description!r}{state}"
    return (
        f"Lago, subscription {line.account}: {line.description} ({line.service} {line.item}, "
        f"cost {line.amount}){state}; Lago refuses these transaction ids if sent again"
    )


@dataclass(frozen=True)
class CommittedRun:
    run_id: int
    result: billing.RunResult
    services: tuple[Service, ...]  # those of the run that are pushed
    ledger_id: str = ""  # the ledger's own id, in each line's token


def committed_runs(
    config: Config, ledger: LedgerStore | None, period: Period, names: Sequence[str] = ()
) -> list[CommittedRun]:
    """The committed runs of exactly this period (those holding `names`, when given).

    A period with no committed run is a usage error: a preview is never pushed."""
    wanted = [config.service(name).name for name in names]
    records = [] if ledger is None else ledger.runs()
    records = [
        record
        for record in records
        if record.status == COMMITTED
        and (record.first_day, record.last_day) == (period.first_day, period.last_day)
        and (not wanted or set(wanted) & set(record.services))
    ]
    hint = f"commit it first: `voipbill rate --all --period {period.label} --commit -o FILE`"
    if not records:
        which = f" of {', '.join(wanted)}" if wanted else ""
        raise UsageError(f"no committed run{which} for {period.label}: nothing to push", hint=hint)
    missing = [name for name in wanted if not any(name in r.services for r in records)]
    if missing:
        raise UsageError(
            f"{', '.join(missing)}: no committed run for {period.label}: nothing to push", hint=hint
        )
    runs = []
    for record in records:
        services = tuple(config.service(name) for name in record.services)
        assert ledger is not None
        result = billing.committed(config, services, period, ledger)
        if result is None:
            raise UsageError(
                f"run {record.id} ({period.label}) was committed by a voipbill that kept no "
                "calls: it cannot be pushed",
                hint="void it and commit the period again (`voipbill ledger void`)",
            )
        chosen = tuple(s for s in services if not wanted or s.name in wanted)
        runs.append(CommittedRun(record.id, result, chosen, ledger.ledger_id))
    return runs


def invoice_lines(config: Config, run: CommittedRun) -> list[InvoiceLine]:
    """The WHMCS lines of a committed run: one per pushed service and category."""
    template = config.invoicing.whmcs.description if config.invoicing.whmcs else None
    names = {service.name for service in run.services}
    usages = [
        CategoryUsage(service.name, category, bucket.calls, bucket.billed_seconds, bucket.amount)
        for service in run.result.services
        if service.name in names
        for category, bucket in service.totals.categories.items()
    ]
    extra = {} if template is None else {"template": template}
    return build_lines(
        usages,
        run_id=run.run_id,
        period_start=run.result.period.first_day,
        period_end=run.result.period.last_day,
        currency=run.result.currency,
        ledger_id=run.ledger_id,
        **extra,
    )


def whmcs_service_id(service: Service) -> int:
    if service.whmcs_service_id is None:
        raise ConfigError(
            f"services -> {service.name} -> whmcs_service_id: not set",
            hint="give the service's id in WHMCS, or push only other services with --service",
        )
    return service.whmcs_service_id


def lago_subscription(service: Service) -> str:
    if not service.lago_subscription:
        raise ConfigError(
            f"services -> {service.name} -> lago_subscription: not set",
            hint="give its external_subscription_id in Lago, or push others with --service",
        )
    return service.lago_subscription


class Action(StrEnum):
    """What a push does with a line (plan.plan_push decides; a dry run shows it)."""

    SEND = "send"
    ALREADY_SENT = "already sent"
    STOP = "pending: push stops (exit 1)"
    RESEND = "resend (Lago drops repeats)"


@dataclass(frozen=True)
class Preview:
    """One line or batch as a dry run shows it: what a push would do with it."""

    system: str
    run_id: int
    service: str
    item: str
    account: str
    amount: str
    description: str
    action: str  # "send", "already sent", "pending: push stops", "resend (Lago dedupes)"

    def to_json(self) -> dict[str, object]:
        return {"run" if key == "run_id" else key: value for key, value in asdict(self).items()}


def journal_entry(line: JournalLine, record: RunRecord) -> dict[str, object]:
    """One line of `invoice status --format json`, with its run's period and status."""
    return {
        "line": line.id,
        "system": line.system,
        "run": line.run_id,
        "period": record.period,
        "run_status": record.status,
        "service": line.service,
        "item": line.item,
        "account": line.account,
        "amount": str(line.amount),
        "state": line.state.value,
        "remote_id": line.remote_id,
        "description": line.description,
    }


def push_to_whmcs(
    config: Config, journal: LedgerJournal, whmcs: WhmcsClient, plan: PushPlan
) -> PushReport:
    """Execute a plan (plan.plan_push): its lines to send, as billable items; nothing asked of
    WHMCS when every line is sent already. A pending line stops it before any request (exit 1).

    Before sending, each service's WHMCS status and its client's currency are checked: a
    service that is not Active is a money warning; a client in another currency is refused,
    and nothing is sent for that service (the report's `refused`: exit 5)."""
    if plan.stops:
        raise PendingLines(plan.stops)
    already = [p.entry for p in plan.with_action(Action.ALREADY_SENT) if p.entry]
    todo = [p.invoice_line for p in plan.with_action(Action.SEND) if p.invoice_line]
    if not todo:
        return PushReport((), tuple(already))
    assert config.invoicing.whmcs is not None
    targets = [
        WhmcsTarget(name, whmcs_service_id(config.service(name)))
        for name in dict.fromkeys(line.service for line in todo)
    ]
    clients, checks = whmcs_checks(
        whmcs,
        targets,
        currency=config.currency,
        invoice_action=config.invoicing.whmcs.invoice_action,
    )
    todo = [line for line in todo if line.service not in checks.refused]
    report = push_whmcs(journal, whmcs, [WhmcsLine(line, clients[line.service]) for line in todo])
    return PushReport(
        report.sent,
        tuple(already) + report.already_sent,
        warnings=tuple(checks.warnings),
        refused=tuple(checks.refused.items()),
    )


def reconcile(
    journal: LedgerJournal, whmcs: TokenFinder
) -> list[tuple[JournalLine, InvoiceItem | None]]:
    """Look for every pending WHMCS line on its client's invoices (`invoice reconcile`)."""
    runs = dict.fromkeys(
        line.run_id
        for line in journal.all_lines()
        if line.system == WHMCS and line.state is LineState.PENDING
    )
    return [found for run_id in runs for found in reconcile_whmcs(journal, whmcs, run_id)]
