"""What a push would hand over, decided once (rules §11): `plan_push`.

The plan is every line (WHMCS: a service's category; Lago: a service's events) of the committed
runs, each with what the journal says to do with it: send it, leave it (sent before), stop
(a WHMCS line left pending may be on WHMCS already), or send it again (a pending Lago line:
Lago refuses what it has). `invoice push --dry-run` prints the plan; `invoice push` executes
it (push.push_to_whmcs, lago_push.push_to_lago), each line claimed in the journal as it goes
(`pending` first: on any host, only one push claims a line).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from voipbill.config import Config, Service
from voipbill.invoicing.journal import LAGO, LAGO_ITEM, WHMCS
from voipbill.invoicing.lago import LagoEvent
from voipbill.invoicing.lago_push import lago_events
from voipbill.invoicing.lines import InvoiceLine
from voipbill.invoicing.push import Action, CommittedRun, Preview, invoice_lines
from voipbill.ledger import JournalLine, LedgerJournal, LineState


@dataclass(frozen=True)
class PlannedLine:
    """One line of a push, and what the journal says to do with it."""

    system: str
    run: CommittedRun
    service: Service
    item: str  # WHMCS: the category; Lago: "events"
    account: (
        str  # WHMCS: "service N" (its client is looked up when sending); Lago: the subscription
    )
    amount: str
    description: str
    action: Action
    entry: JournalLine | None  # the journal's line, when a push handled it before
    invoice_line: InvoiceLine | None = None  # WHMCS
    events: tuple[LagoEvent, ...] = ()  # Lago, in the run's call order

    def preview(self) -> Preview:
        return Preview(
            self.system,
            self.run.run_id,
            self.service.name,
            self.item,
            self.account,
            self.amount,
            self.description,
            self.action.value,
        )


@dataclass(frozen=True)
class PushPlan:
    system: str
    lines: tuple[PlannedLine, ...]
    stops: tuple[JournalLine, ...]  # WHMCS lines of these runs left pending: nothing is sent

    def with_action(self, *actions: Action) -> list[PlannedLine]:
        return [line for line in self.lines if line.action in actions]

    def previews(self) -> list[Preview]:
        return [line.preview() for line in self.lines]


def plan_push(
    config: Config, system: str, runs: Sequence[CommittedRun], journal: LedgerJournal
) -> PushPlan:
    """The plan of a push of `runs` to `system`, read from the journal; writes nothing."""
    if system == WHMCS:
        return _plan_whmcs(config, runs, journal)
    return _plan_lago(config, runs, journal)


def _plan_whmcs(config: Config, runs: Sequence[CommittedRun], journal: LedgerJournal) -> PushPlan:
    known = {
        (entry.run_id, entry.service, entry.item): entry
        for run_id in dict.fromkeys(run.run_id for run in runs)
        for entry in journal.lines_for_run(WHMCS, run_id)
    }
    stops = tuple(entry for entry in known.values() if entry.state is LineState.PENDING)
    lines = []
    for run in runs:
        for line in invoice_lines(config, run):
            entry = known.get(line.key)
            service = config.service(line.service)
            service_id = service.whmcs_service_id
            lines.append(
                PlannedLine(
                    WHMCS,
                    run,
                    service,
                    line.category,
                    f"service {service_id}" if service_id is not None else "(no whmcs_service_id)",
                    line.amount_text,
                    line.description,
                    _action(entry, WHMCS),
                    entry,
                    invoice_line=line,
                )
            )
    return PushPlan(WHMCS, tuple(lines), stops)


def _plan_lago(config: Config, runs: Sequence[CommittedRun], journal: LedgerJournal) -> PushPlan:
    lines = []
    for run in runs:
        known = journal.lines_for_run(LAGO, run.run_id)
        for service in run.services:
            events = lago_events(config, journal, run, service)
            if not events:
                continue
            entry = next(
                (e for e in known if e.service == service.name and e.item == LAGO_ITEM), None
            )
            cost = sum((Decimal(event.properties["cost"]) for event in events), Decimal(0))
            lines.append(
                PlannedLine(
                    LAGO,
                    run,
                    service,
                    LAGO_ITEM,
                    events[0].external_subscription_id,
                    str(cost),
                    f"{len(events)} events {events[0].transaction_id} .. "
                    f"{events[-1].transaction_id}",
                    _action(entry, LAGO),
                    entry,
                    events=tuple(events),
                )
            )
    return PushPlan(LAGO, tuple(lines), ())


def _action(entry: JournalLine | None, system: str) -> Action:
    if entry is None or entry.state is LineState.NOT_SENT:
        return Action.SEND
    if entry.state is LineState.SENT:
        return Action.ALREADY_SENT
    return Action.RESEND if system == LAGO else Action.STOP
