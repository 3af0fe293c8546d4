"""One billing run, assembled in one place: plan, raters, sources, result (rules §4, §6, §9)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from voipbill.billing.carrier import below_cost, count_gathered, ledger_calls, recorded
from voipbill.billing.completeness import (
    gave_nothing,
    refuse_bad_rows,
    refuse_empty,
    skipped_lines,
)
from voipbill.billing.gather import held_in_period, placed, with_gathered
from voipbill.billing.raters import build_raters, deck_warnings
from voipbill.billing.result import Difference, Layout, RunResult, ServiceResult
from voipbill.billing.scope import RatingRun
from voipbill.billing.sources import CdrSource, LedgerOnly, feed
from voipbill.cdrs import CdrProblem
from voipbill.config import Config, Service
from voipbill.errors import UsageError
from voipbill.free_minutes import given_by_month
from voipbill.ledger import (
    COMMITTED,
    LedgerStore,
    RunPlan,
    RunRecord,
    RunSelection,
    commit_run,
    plan_run,
    server_key,
)
from voipbill.ledger.records import call_row
from voipbill.margin import BelowCost, MarginRater, carrier_costs, watch
from voipbill.periods import Period
from voipbill.rating import CHARGED_STATUSES, RatedCall, ServiceRater

log = logging.getLogger("voipbill.billing")


@dataclass(frozen=True, slots=True)
class Selection:
    """Which services a run bills, and how.

    `late_days`: also bill calls of the N days before the period that no period has yet.
    `commit`: the run is meant to be committed (its calls are kept, and a commit never takes
    calls another selection committed to the period). `stream`: a preview rendered once, whose
    calls are priced as the renderer reads them and never held (ignored with `commit`).
    `skip_bad_rows`: bad CDR rows do not fail the run (see voipbill.billing.completeness).
    `allow_empty`: a commit whose sources give no CDR row at all is not refused.
    """

    services: tuple[Service, ...]
    late_days: int = 0
    commit: bool = False
    stream: bool = False
    skip_bad_rows: bool = False  # go on past bad CDR rows (rules §7), naming them in a warning
    allow_empty: bool = False  # commit even when the sources gave no CDR row at all (rules §7)


def run(
    config: Config,
    selection: Selection,
    period: Period,
    sources: CdrSource,
    ledger: LedgerStore | None = None,
) -> RunResult:
    """Rate `period` for the selected services from `sources`, asking `ledger` what is billed.

    A period the ledger has committed for exactly these services is not re-priced: the result
    reproduces the committed calls, and `difference` says how rating now differs from them."""
    services = list(selection.services)
    if not services:
        raise UsageError("no service to rate")
    plan = plan_run(ledger, config, services, period, selection.late_days, commit=selection.commit)
    raters = build_raters(config, services, make=MarginRater)
    costs = carrier_costs(config, raters)  # rules §15: what each call cost the operator
    below_cost = watch(raters, costs)  # and the calls sold below it
    use_committed_free_seconds(raters, config, period, ledger, plan, commit=selection.commit)
    scope = RatingRun(raters, period, late_window=plan.late_window, ledger=plan.book)
    problems: list[CdrProblem] = []
    warnings: list[str] = []
    empty: list[str] = []
    feed(
        scope,
        config,
        raters,
        plan.fetch_period,
        sources,
        problems=problems,
        warnings=warnings,
        empty=empty,
    )
    if not selection.skip_bad_rows:
        refuse_bad_rows(problems)
    if (
        selection.commit
        and not selection.allow_empty
        and gave_nothing(scope.counters.rows, problems)
    ):
        refuse_empty(empty)
    replay = plan.replay
    if replay is not None and ledger is not None and plan.book.replayed_runs - {replay.id}:
        # a period's run lists calls earlier runs committed into it: rated again to compare,
        # they draw on the allowance those runs drew on (priced when read, after the feed)
        again = plan.book.replayed_runs | {replay.id}
        for rater in raters:
            rater.free_seconds_used = ledger.free_seconds_given(
                rater.service.name, config.timezone, except_runs=again
            )
    committed_calls = None
    if replay is not None and ledger is not None:
        committed_calls = ledger.committed_calls(replay.id)
    held = (
        {} if replay is not None else held_in_period(ledger, plan.book, [s.name for s in services])
    )
    keep = selection.commit or not selection.stream or replay is not None or bool(held)
    result = RunResult(
        period=period,
        currency=config.currency,
        timezone=config.timezone,
        timezone_name=config.timezone_name,
        services=[],
        counters=scope.counters,
        problems=problems,
        source_warnings=warnings,
        deck_warnings=deck_warnings(config, raters),
        empty_sources=empty,
        late_days=selection.late_days,
        plan=plan,
        carrier_costs=costs,
        commit=selection.commit,
    )
    if replay is None and ledger is not None and not selection.commit:
        # Some of a period committed by other selections (`rate --service mcon` after
        # `rate --all --commit`): a preview shows what was committed, never prices it again.
        earlier = committed(config, services, period, ledger)
        if earlier is not None and earlier.committed_runs:
            result.services = earlier.services
            result.reproduced = earlier.committed_runs[-1]
            result.committed_runs = earlier.committed_runs
            result.difference = _difference(
                raters, [call for service in earlier.services for call in service.calls()]
            )
            result.below_cost = _committed_below_cost(ledger, result)
            return result
    if replay is not None and ledger is not None and committed_calls is not None:
        result.services = _reproduced(config, services, committed_calls)
        result.reproduced, result.committed_runs = replay, (replay,)
        result.committed_output = ledger.stored_output(replay.id)
        result.difference = _difference(raters, committed_calls)
        result.below_cost = _committed_below_cost(ledger, result)
    else:
        result.services = [_service_result(config, rater, keep=keep) for rater in raters]
        if ledger is not None and held:
            result.services, result.gathered = with_gathered(ledger, held, result.services)
        result.below_cost = below_cost
        if not selection.commit:  # a commit warns only about the calls it commits
            count_gathered(ledger, result)
        if replay is not None:  # a run of an older voipbill: no rows kept, rated now
            result.reproduced, result.legacy_rerun = replay, True
            if ledger is not None:
                result.committed_output = ledger.stored_output(replay.id)
    if replay is not None:
        result.held_back, result.held_back_from = scope.held_back_calls()
    if isinstance(sources, LedgerOnly):
        result.difference = None  # nothing was rated again: nothing to compare
    return result


def committed(
    config: Config, services: Sequence[Service], period: Period, ledger: LedgerStore | None
) -> RunResult | None:
    """The committed result of `period` for these services, read from the ledger alone (no
    CDR source); None unless every service has a committed run of the period keeping its calls.

    A run committed for exactly these services is reproduced whole (its stored output too).
    Otherwise each service's calls are those of every committed run of the period that lists
    it: one service of a run committed for several at once (`rate --all --commit`), or a
    service whose calls of the period two runs committed (`rate --service a --commit`, then
    `rate --all --commit` billing a's calls that arrived since). A call is in one run only,
    so these calls are the service's billed calls of the period, with their committed costs:
    a committed period is never re-priced, whichever selection asks for it.
    """
    if ledger is None:
        return None
    names = [service.name for service in services]
    records = _period_runs(ledger, period, names)
    exact = ledger.committed_run(period, names)
    if exact is not None and records == [exact]:
        calls = ledger.committed_calls(exact.id)
        if calls is None:
            return None
        return _committed_result(
            config, services, period, calls, [exact], ledger.stored_output(exact.id)
        )
    if not records or any(all(name not in r.services for r in records) for name in names):
        return None
    calls = []
    for record in records:
        kept = ledger.committed_calls(record.id)
        if kept is None:
            return None  # committed by a voipbill that kept no rows
        calls.extend(call for call in kept if call.service in names)
    if len({record.currency for record in records}) > 1:
        raise UsageError(
            f"the committed runs of {period.label} for {', '.join(names)} "
            f"({', '.join(str(r.id) for r in records)}) are in different currencies",
            hint="void the run of the wrong currency (`voipbill ledger void`) and commit again",
        )
    calls.sort(key=lambda call: (call.start_epoch, call.call_uuid))  # a run's own order
    return _committed_result(config, services, period, calls, records, None)


def _period_runs(ledger: LedgerStore, period: Period, names: list[str]) -> list[RunRecord]:
    """The committed runs of exactly this period that list any of these services, oldest first."""
    return [
        record
        for record in ledger.runs()
        if record.status == COMMITTED
        and (record.first_day, record.last_day) == (period.first_day, period.last_day)
        and any(name in record.services for name in names)
    ]


def _committed_result(
    config: Config,
    services: Sequence[Service],
    period: Period,
    calls: list[RatedCall],
    records: list[RunRecord],
    output: str | None,
) -> RunResult:
    return RunResult(
        period=period,
        currency=records[-1].currency,
        timezone=config.timezone,
        timezone_name=config.timezone_name,
        services=_reproduced(config, list(services), calls),
        late_days=max(record.late_days for record in records),
        reproduced=records[-1],
        committed_runs=tuple(records),
        committed_output=output,
    )


def result_for(
    config: Config,
    selection: Selection,
    period: Period,
    sources: CdrSource,
    ledger: LedgerStore | None = None,
) -> RunResult:
    """The result of `period`: the committed one when there is one, else a fresh preview."""
    found = committed(config, selection.services, period, ledger)
    return found if found is not None else run(config, selection, period, sources, ledger)


def commit(
    ledger: LedgerStore, result: RunResult, layout: Layout, text: str, output_path: Path | None
) -> int | None:
    """Write `text` (the result rendered in `layout`) to `output_path` and record the run in
    the ledger, all or nothing (rules §9); None when the result reproduces a committed run,
    which has nothing new to commit (the file is not written then)."""
    assert result.plan is not None, "only a run made with a ledger plan can be committed"
    if result.reproduced is not None:
        return None
    keys = result.plan.book.server_keys
    # rules §15: each call with what it cost the operator
    calls = placed(result, ledger_calls(result.calls(), keys, result.carrier_costs))
    selection = RunSelection(
        result.period,
        tuple(service.name for service in result.services),
        result.late_days,
        layout.format,
        layout.detail,
        skipped_rows=skipped_lines(result.problems),
        free_seconds=tuple(
            (service, month, seconds)
            for service, months in _free_seconds_given(result).items()
            for month, seconds in sorted(months.items())
        ),
    )
    return commit_run(ledger, selection, calls, result.currency, output_path, text)


def _committed_below_cost(ledger: LedgerStore, result: RunResult) -> dict[str, BelowCost]:
    """rules §15: the listed committed calls sold below the carrier cost recorded with them."""
    costs = recorded(ledger, result.committed_runs)
    return {s.name: below_cost(s.name, s.digits, s.calls(), costs) for s in result.services}


def committed_call(
    ledger: LedgerStore | None, service: Service, xml_cdr_uuid: str
) -> tuple[RunRecord, RatedCall] | None:
    """The committed run that billed this call, and the call as it was committed."""
    if ledger is None:
        return None
    billed = ledger.billed(server_key(service), xml_cdr_uuid)
    if billed is None:
        return None
    record = ledger.run(billed[0])
    calls = ledger.committed_calls(record.id) or []
    found = next((call for call in calls if call.call_uuid == xml_cdr_uuid), None)
    return None if found is None else (record, found)


def use_committed_free_seconds(
    raters: Sequence[ServiceRater],
    config: Config,
    period: Period,
    ledger: LedgerStore | None,
    plan: RunPlan,
    *,
    commit: bool,
) -> None:
    """rules §6: each month's allowance as it stands, less what committed runs gave in it.

    Not counted: the committed run this one reruns (its calls are priced again to compare),
    and for a preview the runs committed to this very period, whose calls it shows again."""
    if ledger is None:
        return
    for rater in raters:
        name = rater.service.name
        if plan.replay is not None:
            again = {plan.replay.id}
        elif commit:
            again = set()
        else:
            again = {
                record.id
                for record in ledger.runs(service=name)
                if record.status == COMMITTED and record.period == period.label
            }
        rater.free_seconds_used = ledger.free_seconds_given(
            name, config.timezone, except_runs=again
        )


def _free_seconds_given(result: RunResult) -> dict[str, dict[str, int]]:
    """Service -> month -> the free seconds the result's calls got, to commit with it."""
    pairs: dict[str, list[tuple[int, int]]] = {}
    for call in result.calls():
        if call.free_seconds and call.call_uuid not in result.gathered:
            pairs.setdefault(call.service, []).append((call.start_epoch, call.free_seconds))
    return {name: given_by_month(calls, result.timezone) for name, calls in pairs.items()}


def _service_result(config: Config, rater: ServiceRater, *, keep: bool) -> ServiceResult:
    digits = rater.package.rounding_digits
    if keep:
        return ServiceResult(rater.service, digits, calls=list(rater.calls()))
    return ServiceResult(rater.service, digits, rater=rater)


def _reproduced(
    config: Config, services: list[Service], calls: list[RatedCall]
) -> list[ServiceResult]:
    by_service: dict[str, list[RatedCall]] = {service.name: [] for service in services}
    for call in calls:
        by_service.setdefault(call.service, []).append(call)
    return [
        ServiceResult(service, _digits(config, service, by_service[service.name]), calls=calls)
        for service in services
        for calls in [by_service[service.name]]
    ]


def _digits(config: Config, service: Service, calls: list[RatedCall]) -> int:
    """The decimals to print a committed run's amounts with: its costs' own, should the
    package's rounding have changed since (an amount is never rounded when printed)."""
    committed = [
        -exponent
        for call in calls
        if call.cost is not None
        for exponent in [call.cost.as_tuple().exponent]
        if isinstance(exponent, int)
    ]
    return max(committed) if committed else config.package_of(service).rounding_digits


def _difference(raters: list[ServiceRater], committed_calls: list[RatedCall]) -> Difference | None:
    """rules §9: how many calls, and how much money, rating now differs from the commit by."""
    now = {call.call_uuid: call for rater in raters for call in rater.calls()}
    differ = 0
    committed_amount = amount_now = Decimal(0)
    for call in committed_calls:
        fresh = now.pop(call.call_uuid, None)
        committed_amount += _charged(call)
        if fresh is None:
            differ += 1
            continue
        amount_now += _charged(fresh)
        if call_row(fresh) != call_row(call):
            differ += 1
    for fresh in now.values():  # rated now, not in the committed run
        differ += 1
        amount_now += _charged(fresh)
    if not differ:
        return None
    return Difference(differ, committed_amount, amount_now)


def _charged(call: RatedCall) -> Decimal:
    if call.status in CHARGED_STATUSES and call.cost is not None:
        return call.cost
    return Decimal(0)
