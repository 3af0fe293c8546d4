"""A billing period filled by several commits (rules §9): each call is recorded in the billing
period it is billed in, whatever window committed it, and a run of the whole period lists the
calls earlier commits put in it, with their committed fields, beside the ones it prices now.

Periods are calendar months in the config timezone here (`billing_day` is not applied yet).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from voipbill.billing.result import RunResult, ServiceResult
from voipbill.ledger import CallBook, LedgerCall, LedgerStore
from voipbill.periods import period_days
from voipbill.rating import LATE, RatedCall


def held_in_period(
    ledger: LedgerStore | None, book: CallBook, services: list[str]
) -> dict[tuple[str, str], int]:
    """(server, uuid) -> run of the calls earlier runs committed into the run's whole period:
    those of the feed (`book.gathered`) and those the feed did not reach (late calls of an
    earlier month, committed by a window's run). Empty for any other window."""
    if ledger is None or book.gather_label is None:
        return {}
    held = dict(book.gathered)
    for key, run_id in ledger.period_calls(book.gather_label, services).items():
        if run_id not in book.whole_runs:
            held.setdefault(key, run_id)
    return held


def with_gathered(
    ledger: LedgerStore, held: dict[tuple[str, str], int], services: list[ServiceResult]
) -> tuple[list[ServiceResult], frozenset[str]]:
    """`services` (kept) with the `held` calls merged in (start_epoch, xml_cdr_uuid) order,
    with their committed fields, and the uuids of those calls."""
    if not held:
        return services, frozenset()
    wanted: dict[int, set[str]] = {}
    for (_, uuid), run_id in held.items():
        wanted.setdefault(run_id, set()).add(uuid)
    found: dict[str, list[RatedCall]] = {}
    for run_id, uuids in sorted(wanted.items()):
        for call in ledger.committed_calls(run_id) or ():
            if call.call_uuid in uuids:
                found.setdefault(call.service, []).append(call)
    merged = []
    for service in services:
        extra = found.get(service.name)
        if not extra:
            merged.append(service)
            continue
        calls = sorted([*service.calls(), *extra], key=lambda c: (c.start_epoch, c.call_uuid))
        merged.append(ServiceResult(service.service, service.digits, calls=calls))
    return merged, frozenset(uuid for uuids in wanted.values() for uuid in uuids)


def placed(result: RunResult, calls: Iterable[LedgerCall]) -> list[LedgerCall]:
    """Each call as a commit records it: in the billing period it is billed in, and the
    calls an earlier run committed into the period listed but not claimed again.

    A run of a whole period bills every new call in it (late ones too). A run over any other
    window (`--days`, `--from/--to`) bills each call in the month it started in; a late call
    (its month closed by a whole-month run, or `--late-days`) in the first month after its own
    that no whole-month run has committed."""
    period = result.period
    whole = (period.first_day, period.last_day) == period_days(period.first_day, None)
    assert result.plan is not None
    book = result.plan.book
    zone = result.timezone
    # by the quarter hour a call started in (every zone's offset is whole quarter hours), so
    # that strftime runs a few thousand times a month, not once a call
    months: dict[int, str] = {}
    out: list[LedgerCall] = []
    for entry in calls:
        call = entry.call
        held = call.call_uuid in result.gathered
        if whole or held:
            out.append(entry._replace(held=held))
            continue
        quarter = call.start_epoch // 900
        month = months.get(quarter)
        if month is None:
            local = datetime.fromtimestamp(call.start_epoch, zone)
            month = months[quarter] = local.strftime("%Y-%m")
        if call.status == LATE:
            month = book.open_month_after(call.service, month)
        out.append(entry._replace(period=month))
    return out
