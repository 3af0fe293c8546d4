"""`invoice push --to lago`: one event per billed call of each committed run (rules §11).

Each service's events of a run are one journal line (`events`). Before anything is sent the
metric (once a push) and each service's subscription are looked up: Lago drops events of a
wrong one with a 200, so a service that fails gets nothing sent and is named (exit 5).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from voipbill.config import Config, Service
from voipbill.invoicing.journal import EventSender, PushReport, push_lago
from voipbill.invoicing.lago import LagoEvent, call_event
from voipbill.invoicing.preflight import LagoLookups, metric_problem, subscription_problem
from voipbill.invoicing.push import Action, CommittedRun
from voipbill.invoicing.push import lago_subscription as lago_subscription
from voipbill.invoicing.records import JournalLine
from voipbill.ledger import LedgerJournal, server_key
from voipbill.rating import CHARGED_STATUSES, LATE

if TYPE_CHECKING:
    from voipbill.invoicing.plan import PlannedLine, PushPlan


class LagoSystem(EventSender, LagoLookups, Protocol):
    """What a push needs of Lago: the lookups and the batches (LagoClient)."""


def lago_events(
    config: Config, journal: LedgerJournal, run: CommittedRun, service: Service
) -> list[LagoEvent]:
    """One event per billed call (rated or late) of one service, in the run's call order.

    The transaction id's server half is the call's ledger key as committed, so it stays the
    same when the config's server names change later. A late call is timed at the first
    second of the period it is billed in, so that Lago bills it there; `start` keeps when it
    was made."""
    assert config.invoicing.lago is not None
    servers = journal.call_servers(run.run_id)
    found = next(s for s in run.result.services if s.name == service.name)
    calls = [c for c in found.calls() if c.status in CHARGED_STATUSES and c.cost is not None]
    if not calls:
        return []
    subscription = lago_subscription(service)
    period_start = run.result.period.start_epoch
    return [
        call_event(
            server=servers.get((call.service, call.call_uuid), server_key(service)),
            xml_cdr_uuid=call.call_uuid,
            subscription=subscription,
            metric_code=config.invoicing.lago.metric_code,
            start_epoch=call.start_epoch,
            timestamp=period_start if call.status == LATE else call.start_epoch,
            cost=call.cost,
            billed_seconds=call.billed_seconds,
            category=call.category,
            service=call.service,
        )
        for call in calls
        if call.cost is not None
    ]


def push_to_lago(
    config: Config, journal: LedgerJournal, lago: LagoSystem, plan: PushPlan
) -> PushReport:
    """Execute a plan (plan.plan_push): every billed call of its lines as a Lago event,
    service by service.

    Nothing is asked of Lago for a service whose events were all sent before. The others are
    checked first (metric once, each subscription once); a service that fails the check gets
    nothing sent and is in the report's `refused` (exit 5), the others are sent."""
    assert config.invoicing.lago is not None
    already = [p.entry for p in plan.with_action(Action.ALREADY_SENT) if p.entry]
    before = sum(len(p.events) for p in plan.with_action(Action.ALREADY_SENT))
    todo = plan.with_action(Action.SEND, Action.RESEND)
    refused = _checks(config.invoicing.lago.metric_code, lago, todo)
    sent: list[JournalLine] = []
    new = 0
    warnings: list[str] = []
    for item in todo:
        if item.service.name in refused:
            continue
        pushed = push_lago(
            journal,
            lago,
            run_id=item.run.run_id,
            service=item.service.name,
            subscription=item.account,
            events=item.events,
        )
        if pushed.before:
            before += pushed.events
            already.append(pushed.line)
            continue
        sent.append(pushed.line)
        new += pushed.new
        before += pushed.ours
        if pushed.foreign:
            warnings.append(_foreign_warning(item, pushed.foreign))
    return PushReport(
        tuple(sent),
        tuple(already),
        warnings=tuple(warnings),
        refused=tuple(refused.items()),
        counts=(new, before),
    )


def _checks(metric_code: str, lago: LagoLookups, todo: Sequence[PlannedLine]) -> dict[str, str]:
    """service -> why Lago would drop its events, for the services that fail."""
    if not todo:
        return {}
    problem = metric_problem(lago, metric_code)
    if problem is not None:
        return {item.service.name: problem for item in todo}
    refused: dict[str, str] = {}
    seen: dict[tuple[str, int, int], str | None] = {}
    for item in todo:
        subscription = item.events[0].external_subscription_id
        first = min(event.timestamp for event in item.events)
        last = max(event.timestamp for event in item.events)
        key = (subscription, first, last)
        if key not in seen:
            seen[key] = subscription_problem(lago, subscription, first, last)
        if seen[key] is not None:
            refused[item.service.name] = str(seen[key])
    return refused


def _foreign_warning(item: PlannedLine, count: int) -> str:
    return (
        f"{item.service.name}: Lago already had {count} of the {len(item.events)} events of "
        f"run {item.run.run_id} although this ledger never sent them (a voided and re-committed "
        "run, or another ledger): Lago keeps their old cost, not this run's; where the costs "
        "differ, correct the invoice in Lago (a credit note, or a one-off charge)"
    )
