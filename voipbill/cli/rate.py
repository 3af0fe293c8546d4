"""`voipbill rate`: price every call of a period (SPEC §4, §6, §7)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from enum import StrEnum
from typing import IO, Annotated

import typer
from rich.console import Console

from voipbill.bulk import no_cyclic_gc
from voipbill.cdrs import CdrProblem
from voipbill.cli import output
from voipbill.cli.context import state
from voipbill.cli.options import (
    CdrFileOption,
    Format,
    FormatOption,
    FromOption,
    LockTimeoutOption,
    OutputOption,
    PeriodOption,
    ToOption,
)
from voipbill.cli.sources import feed_run, report_run
from voipbill.cli.tables import render_service
from voipbill.config import Config
from voipbill.errors import ExitCode, UsageError
from voipbill.ledger import Ledger
from voipbill.ledger_records import Selection
from voipbill.ledger_session import RunPlan, ledger_call, ledger_session, plan_run
from voipbill.outputs import refuse_inputs, run_inputs
from voipbill.periods import Period, resolve_period
from voipbill.rating import RatedCall, ServiceRater
from voipbill.report import (
    JSON_VERSION,
    ServiceTotals,
    StartFormatter,
    call_document,
    tally,
    write_calls_csv,
    write_priced_csv,
    write_summary_csv,
)
from voipbill.runs import RatingRun, build_raters, select_services

log = logging.getLogger(__name__)


class Detail(StrEnum):
    calls = "calls"
    summary = "summary"


# The run's million pending calls outlive the feed: with the cycle collector back on, its
# collections rescan all of them while the output is written (the 200k-CDR benchmark run:
# 3.52 s -> 2.93 s, best of 3). They are freed by reference counting when the command returns.
@no_cyclic_gc()
def command(
    ctx: typer.Context,
    service: Annotated[
        list[str] | None,
        typer.Option("--service", "-s", help="Service to rate (repeatable), in output order."),
    ] = None,
    all_services: Annotated[
        bool, typer.Option("--all", help="Rate every configured service.")
    ] = False,
    from_day: FromOption = None,
    to_day: ToOption = None,
    period_month: PeriodOption = None,
    cdr_file: CdrFileOption = None,
    output_format: FormatOption = None,
    detail: Annotated[
        Detail, typer.Option("--detail", help="csv/json: one row per call, or per category.")
    ] = Detail.calls,
    output_path: OutputOption = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 when any call is unrated.")
    ] = False,
    commit: Annotated[
        bool,
        typer.Option("--commit", help="Record the billed calls in the ledger (needs -o)."),
    ] = False,
    late_days: Annotated[
        int,
        typer.Option(
            "--late-days",
            min=0,
            help="Also bill calls of the N days before the period "
            "that no period has yet (status late).",
        ),
    ] = 0,
    lock_timeout: LockTimeoutOption = 0,
) -> None:
    """Rate the calls of a period and write invoice-ready rows or usage tables."""
    config = state(ctx).load_config()
    refuse_inputs(output_path, run_inputs(config, cdr_file=cdr_file))
    services = select_services(config, service, all_services)
    period = resolve_period(config.timezone, from_day=from_day, to_day=to_day, month=period_month)
    assert period is not None
    to_file = output_path is not None and str(output_path) != "-"
    if commit and not to_file:
        raise UsageError(
            "--commit needs -o FILE",
            hint="the ledger records the invoice file it commits (SPEC §9)",
        )
    log.info(
        "rate %s for %s from %s%s",
        period.label,
        ", ".join(s.name for s in services),
        cdr_file or "the servers",
        " (commit)" if commit else " (preview)",
    )
    with ledger_session(config.ledger_path, commit=commit, lock_timeout=lock_timeout) as ledger:
        plan = plan_run(ledger, config, services, period, late_days, commit=commit)
        raters = build_raters(config, services)
        run = RatingRun(raters, period, late_window=plan.late_window, ledger=plan.book)
        problems: list[CdrProblem] = []
        feed_run(run, config, raters, plan.fetch_period, cdr_file=cdr_file, problems=problems)

        # a file is not a terminal: -o defaults to csv
        chosen = output_format or (
            Format.table if output.stdout_is_terminal() and not to_file else Format.csv
        )
        all_totals = [ServiceTotals(r.service.name, r.service.domain) for r in raters]
        # Only a commit or a rerun of a committed period needs the calls and the text kept;
        # a preview streams, so a month of calls is never held in memory.
        keep = commit or plan.replay is not None
        billed: list[RatedCall] | None = [] if keep else None
        if chosen is Format.table and not to_file:
            write_tables(output.stdout(), raters, all_totals, period, config, billed)
        elif not keep:
            with output.data_stream(output_path) as stream:
                write_output(chosen, stream, raters, all_totals, period, config, detail, billed)
        else:
            assert billed is not None
            text = render(chosen, raters, all_totals, period, config, detail, billed)
            selection = Selection(
                period, tuple(s.name for s in services), late_days, chosen.value, detail.value
            )
            text = reproduce(ledger, plan, selection, text)
            if commit and strict and _count(all_totals, "unrated"):
                # SPEC §6/§9: a --strict failure is a failed run, and a failed run commits nothing
                _report(run, problems, all_totals, plan)
                _strict_failure(all_totals, committed=False)
            if commit and plan.replay is None:
                assert ledger is not None and output_path is not None
                keys = plan.book.server_keys
                run_id = ledger.commit_run(
                    selection,
                    [ledger_call(c, keys[c.service]) for c in billed],
                    config.currency,
                    output_path,
                    text,
                )
                output.info(
                    f"committed run {run_id}: {period.label}, {len(billed)} calls, "
                    f"written to {output_path}"
                )
            else:
                with output.data_stream(output_path) as stream:
                    stream.write(text)
                if commit and plan.replay is not None:
                    output.info(
                        f"{period.label} was committed by run {plan.replay.id}: "
                        "nothing new to commit"
                    )

    _report(run, problems, all_totals, plan)
    if strict and _count(all_totals, "unrated"):
        _strict_failure(all_totals, committed=commit)


def _count(all_totals: list[ServiceTotals], status: str) -> int:
    return sum(totals.statuses.get(status, 0) for totals in all_totals)


def _report(
    run: RatingRun, problems: list[CdrProblem], all_totals: list[ServiceTotals], plan: RunPlan
) -> None:
    unrated, late = _count(all_totals, "unrated"), _count(all_totals, "late")
    report_run(run, problems, unrated=unrated, late=late, replay=plan.replay)
    listed = sum(sum(totals.statuses.values()) for totals in all_totals)
    log.info("done: %d calls listed, %d late, %d unrated", listed, late, unrated)


def _strict_failure(all_totals: list[ServiceTotals], *, committed: bool) -> None:
    # an error under --strict, so it is printed even with -q
    unrated = _count(all_totals, "unrated")
    output.error(
        f"{unrated} calls unrated (--strict)"
        + ("" if committed else "; nothing was committed to the ledger"),
        hint="add the missing deck rows or custom_rates; `voipbill explain` shows why",
    )
    raise typer.Exit(ExitCode.INVALID_INPUT)


def reproduce(ledger: Ledger | None, plan: RunPlan, selection: Selection, text: str) -> str:
    """SPEC §9: a rerun of a committed selection prints the committed bytes."""
    replay = plan.replay
    if ledger is None or replay is None:
        return text
    if (replay.services, replay.format, replay.detail) != (
        selection.services,
        selection.format,
        selection.detail,
    ):
        return text  # same calls, another layout: rendered afresh from the committed calls
    stored = ledger.stored_output(replay.id)
    if stored != text:
        output.warn(
            f"rating {selection.period.label} again gives a different result than "
            f"committed run {replay.id} (the deck, config or CDRs changed): printing "
            f"the committed result; `voipbill ledger void --run {replay.id}` to re-rate"
        )
    return stored


def render(
    chosen: Format,
    raters: list[ServiceRater],
    all_totals: list[ServiceTotals],
    period: Period,
    config: Config,
    detail: Detail,
    billed: list[RatedCall],
) -> str:
    """The whole output as text: a commit hashes and stores it, a rerun compares it."""
    buffer = io.StringIO()
    write_output(chosen, buffer, raters, all_totals, period, config, detail, billed)
    return buffer.getvalue()


def write_output(
    chosen: Format,
    stream: IO[str],
    raters: list[ServiceRater],
    all_totals: list[ServiceTotals],
    period: Period,
    config: Config,
    detail: Detail,
    billed: list[RatedCall] | None,
) -> None:
    if chosen is Format.table:
        write_tables(output.file_console(stream), raters, all_totals, period, config, billed)
    elif chosen is Format.csv:
        write_csv(stream, raters, all_totals, period, config, detail, billed)
    else:
        write_json(stream, raters, all_totals, period, config, detail, billed)


def _all_calls(
    raters: list[ServiceRater], all_totals: list[ServiceTotals], billed: list[RatedCall] | None
) -> Iterator[RatedCall]:
    """Every listed call, tallied, and kept in `billed` for the ledger when it is a list."""
    for rater, totals in zip(raters, all_totals, strict=True):
        for call in tally(rater.calls(), totals):
            if billed is not None:
                billed.append(call)
            yield call


def _summary_rows(
    raters: list[ServiceRater],
    all_totals: list[ServiceTotals],
    period: Period,
    config: Config,
    billed: list[RatedCall] | None,
) -> list[dict[str, str]]:
    """SPEC §7 `--detail summary`: every call tallied, then a row per service and category."""
    for _ in _all_calls(raters, all_totals, billed):
        pass
    return [
        row
        for rater, totals in zip(raters, all_totals, strict=True)
        for row in totals.summary_rows(period, config.currency, rater.package.rounding_digits)
    ]


def write_csv(
    stream: IO[str],
    raters: list[ServiceRater],
    all_totals: list[ServiceTotals],
    period: Period,
    config: Config,
    detail: Detail,
    billed: list[RatedCall] | None,
) -> None:
    if detail is Detail.calls:
        if billed is None:
            # the fast path: no RatedCall per call when the ledger needs none (issue 7)
            pairs = zip(raters, all_totals, strict=True)
            # only the statuses are read afterwards (_report): no buckets to fill
            write_priced_csv(stream, pairs, config.currency, config.timezone, statuses_only=True)
        else:
            write_calls_csv(
                stream, _all_calls(raters, all_totals, billed), config.currency, config.timezone
            )
        return
    write_summary_csv(stream, _summary_rows(raters, all_totals, period, config, billed))


def write_json(
    stream: IO[str],
    raters: list[ServiceRater],
    all_totals: list[ServiceTotals],
    period: Period,
    config: Config,
    detail: Detail,
    billed: list[RatedCall] | None,
) -> None:
    """Streamed, so a month of calls is never held in memory as one document."""
    head = {
        "version": JSON_VERSION,
        "currency": config.currency,
        "timezone": config.timezone_name,
        "period": {"start": period.first_day.isoformat(), "end": period.last_day.isoformat()},
    }
    stream.write(json.dumps(head, indent=2)[:-2] + ",\n")
    start = StartFormatter(config.timezone)
    if detail is Detail.calls:
        stream.write('  "calls": [')
        for index, call in enumerate(_all_calls(raters, all_totals, billed)):
            stream.write(
                ("," if index else "")
                + "\n    "
                + json.dumps(call_document(call, config.currency, start), ensure_ascii=False)
            )
        stream.write("\n  ]\n}\n")
        return
    rows = [
        {**row, "calls": int(row["calls"])}
        for row in _summary_rows(raters, all_totals, period, config, billed)
    ]
    stream.write(
        '  "summary": ' + json.dumps(rows, indent=2, ensure_ascii=False).replace("\n", "\n  ")
    )
    stream.write("\n}\n")


def write_tables(
    console: Console,
    raters: list[ServiceRater],
    all_totals: list[ServiceTotals],
    period: Period,
    config: Config,
    billed: list[RatedCall] | None,
) -> None:
    for _ in _all_calls(raters, all_totals, billed):
        pass
    for rater, totals in zip(raters, all_totals, strict=True):
        render_service(console, totals, period, config.currency, rater.package.rounding_digits)
