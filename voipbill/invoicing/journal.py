"""Never twice: the journal of every line handed to an invoicing system (rules §11).

A line is written `pending` before its request and `sent`, with the system's id, after the
answer. A `sent` line is never sent again. When the request certainly did nothing (refused
connection, a WHMCS error answer) the line becomes `not_sent` and the next push sends it.

WHMCS cannot list uninvoiced billable items, so a WHMCS line left `pending` (the process died
during the request, or the answer was lost) may or may not exist there: resending it could
bill the customer twice. `push_whmcs` refuses to go on (exit 1) and names it;
`reconcile_whmcs` looks for its token on the client's invoices, and `settle` records what the
operator found. Lago refuses a repeated transaction_id, so its pending lines are resent.

The journal is written against `JournalStore`: the ledger keeps it (voipbill.ledger.journal,
on either backend); the tests also use one in memory (tests/memoryjournal.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Protocol

from voipbill.errors import InvalidInputError, UsageError
from voipbill.invoicing.lago import BatchResult, LagoEvent
from voipbill.invoicing.lines import InvoiceLine, line_token
from voipbill.invoicing.records import JournalLine, JournalStore, LineState
from voipbill.invoicing.transport import InvoicingFailure
from voipbill.invoicing.whmcs import InvoiceItem

WHMCS = "whmcs"
LAGO = "lago"
LAGO_ITEM = "events"  # a service's events of a run are one journal line
_TOKEN = re.compile(r"\[vb:[^\[\]]*\]\s*$")


class BillableItems(Protocol):
    def add_billable_item(self, *, client_id: int, description: str, amount: str) -> int: ...


class TokenFinder(Protocol):
    def find_token(
        self, token: str, *, client_id: int, amount: Decimal, since: date | None = None
    ) -> InvoiceItem | None: ...


class EventSender(Protocol):
    def send(
        self, events: Sequence[LagoEvent]
    ) -> Iterator[tuple[list[LagoEvent], BatchResult]]: ...


@dataclass(frozen=True)
class WhmcsLine:
    """An invoice line and the WHMCS client whose invoice it goes on."""

    line: InvoiceLine
    client_id: int


@dataclass(frozen=True)
class PushReport:
    sent: tuple[JournalLine, ...]  # sent by this push
    already_sent: tuple[JournalLine, ...]  # sent by an earlier push, left alone
    warnings: tuple[str, ...] = ()  # money warnings (shown even with -q)
    refused: tuple[tuple[str, str], ...] = ()  # (service, reason): nothing sent for it (exit 5)
    counts: tuple[int, int] | None = None  # Lago: events (sent now, sent before)


class PendingLines(InvalidInputError):
    """A WHMCS line is pending: it may already be a billable item (exit 1)."""

    def __init__(self, lines: Sequence[JournalLine]) -> None:
        names = ", ".join(line.label for line in lines)
        super().__init__(
            f"{len(lines)} WHMCS line{'s' if len(lines) != 1 else ''} left pending by an "
            f"earlier push, maybe on WHMCS already: {names}",
            hint="run `voipbill invoice reconcile`; if it cannot find a line, look under the "
            "client's Billable Items in WHMCS and settle it with "
            "`voipbill invoice reconcile --line ID --sent` or `--not-sent`",
        )
        self.lines = tuple(lines)


def push_whmcs(store: JournalStore, whmcs: BillableItems, lines: Sequence[WhmcsLine]) -> PushReport:
    """Add each line not yet sent as a billable item, journalled before and after."""
    journal = {
        (entry.run_id, entry.service, entry.item): entry
        for run_id in sorted({target.line.run_id for target in lines})
        for entry in store.lines_for_run(WHMCS, run_id)
    }
    pending = [entry for entry in journal.values() if entry.state is LineState.PENDING]
    if pending:
        raise PendingLines(sorted(pending, key=lambda entry: entry.id))
    sent: list[JournalLine] = []
    already: list[JournalLine] = []
    for target in lines:
        line = target.line
        known = journal.get(line.key)
        if known is not None and known.state is LineState.SENT:
            already.append(known)
            continue
        entry = store.add_pending(
            WHMCS,
            line.run_id,
            line.service,
            line.category,
            account=str(target.client_id),
            amount=line.amount,
            description=line.description,
        )
        try:
            billable_id = whmcs.add_billable_item(
                client_id=target.client_id, description=line.description, amount=line.amount_text
            )
        except InvoicingFailure as failure:
            if not failure.maybe_done:
                store.mark_not_sent(entry.id)
                raise
            failure.message += (
                f"; {entry.label}: {line.service} {line.category} {line.amount_text} may be "
                f"on WHMCS now, for client {target.client_id}"
            )
            failure.args = (failure.message,)
            failure.hint = (
                "once WHMCS has invoiced it, `voipbill invoice reconcile` finds it; before "
                "that, look under the client's Billable Items and settle it with `voipbill "
                f"invoice reconcile --line {entry.id} --sent` or `--not-sent`"
            )
            raise
        sent.append(store.mark_sent(entry.id, str(billable_id)))
    return PushReport(tuple(sent), tuple(already))


@dataclass(frozen=True)
class LagoPush:
    """What became of one service's events of a run (one journal line)."""

    line: JournalLine
    events: int  # the service's events in the run
    new: int = 0  # stored by Lago now
    ours: int = 0  # Lago had them: this ledger sent them before (a resend after a lost answer)
    foreign: int = 0  # Lago had them although this ledger never sent them: Lago keeps its cost
    before: bool = False  # the line was sent by an earlier push: nothing was sent now


def push_lago(
    store: JournalStore,
    lago: EventSender,
    *,
    run_id: int,
    service: str,
    subscription: str,
    events: Sequence[LagoEvent],
) -> LagoPush:
    """Send one service's events of a run: one journal line for all of them.

    The line is keyed by (run, service), never by batch, so a second push finds it whatever
    `batch_size` was. A `pending` line (the answer was lost, or the push died half-way) is
    sent again whole: Lago refuses what it has (`value_already_exist`), and those events count
    as sent by us. On a line never sent, an event Lago already has is `foreign`: a voided and
    re-committed run, or another ledger, sent that transaction id, and Lago keeps its cost.
    Lines of older voipbills ("batch N") count as sent by us."""
    known = [entry for entry in store.lines_for_run(LAGO, run_id) if entry.service == service]
    line = next((entry for entry in known if entry.item == LAGO_ITEM), None)
    if line is not None and line.state is LineState.SENT:
        return LagoPush(line, len(events), before=True)
    batches = [entry for entry in known if entry.item.startswith("batch ")]
    covered = sum(_event_count(entry) for entry in batches if entry.state is LineState.SENT)
    if batches and line is None and covered >= len(events):
        return LagoPush(batches[0], len(events), before=True)  # all sent by an older voipbill
    resend = bool(batches) or (line is not None and line.state is LineState.PENDING)
    cost = sum((Decimal(event.properties.get("cost", "0")) for event in events), Decimal(0))
    description = f"{len(events)} events {events[0].transaction_id} .. {events[-1].transaction_id}"
    if line is None or line.state is not LineState.PENDING:
        line = store.add_pending(LAGO, run_id, service, LAGO_ITEM, subscription, cost, description)
    new = had = 0
    try:
        for _, result in lago.send(events):
            new += len(result.accepted)
            had += len(result.already_sent)
    except InvoicingFailure as failure:
        if not failure.maybe_done and not new and not resend:
            store.mark_not_sent(line.id)  # certainly nothing of it reached Lago
        elif failure.maybe_done:
            failure.message += f"; {line.label}: some of its events may be in Lago now"
            failure.args = (failure.message,)
            failure.hint = (
                "push again: it resends the line whole, and Lago refuses what it already has"
            )
        raise
    line = store.mark_sent(line.id, f"{new} new, {had} already in Lago")
    ours, foreign = (had, 0) if resend else (0, had)
    return LagoPush(line, len(events), new=new, ours=ours, foreign=foreign)


def _event_count(line: JournalLine) -> int:
    """The events of a line, from its description ("100 events first .. last")."""
    head = line.description.split(" ", 1)[0]
    return int(head) if head.isdigit() else 0


def reconcile_whmcs(
    store: JournalStore, whmcs: TokenFinder, run_id: int
) -> list[tuple[JournalLine, InvoiceItem | None]]:
    """Look for each pending WHMCS line on its client's invoices; found means sent.

    Found is the line's token AND its amount on one invoice line, on an invoice no older than
    the day before the line went pending (WHMCS dates invoices in its own time zone). The
    token is the one the line was sent with, read from its description, so a line sent with
    an older token format is still found. A billable item WHMCS has not invoiced yet cannot
    be seen through its API: such a line stays pending and is the operator's to settle.
    """
    results: list[tuple[JournalLine, InvoiceItem | None]] = []
    for entry in store.lines_for_run(WHMCS, run_id):
        if entry.state is not LineState.PENDING:
            continue
        since = entry.since.date() - timedelta(days=1) if entry.since is not None else None
        item = whmcs.find_token(
            sent_token(entry), client_id=int(entry.account), amount=entry.amount, since=since
        )
        if item is None:
            results.append((entry, None))
            continue
        remote = str(item.relid) if item.relid else f"invoice {item.invoice_id} item {item.id}"
        results.append((store.mark_sent(entry.id, remote), item))
    return results


def sent_token(entry: JournalLine) -> str:
    """The `[vb:...]` token at the end of the description a line was sent with."""
    found = _TOKEN.search(entry.description)
    return found.group(0) if found else line_token(entry.run_id, entry.service, entry.item)


def settle(store: JournalStore, line_id: int, *, sent: bool, remote_id: str = "") -> JournalLine:
    """The operator's word on a pending line: `--sent` (it is on WHMCS) or `--not-sent`."""
    entry = store.line(line_id)
    if entry is None:
        raise UsageError(f"no line {line_id} in the journal", hint="`voipbill invoice status`")
    if entry.state is not LineState.PENDING:
        raise UsageError(f"{entry.label} is {entry.state}, not pending: nothing to settle")
    if sent:
        return store.mark_sent(line_id, remote_id or "confirmed by the operator")
    return store.mark_not_sent(line_id)
