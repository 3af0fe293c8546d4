"""`voipbill rate`: price every call of a period (rules §4, §6, §7, §9)."""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path
from typing import IO, Annotated

import typer

from voipbill import billing, report
from voipbill.bulk import no_cyclic_gc
from voipbill.cli import output
from voipbill.cli.context import state
from voipbill.cli.options import (
    CdrFileOption,
    DaysOption,
    Format,
    FormatOption,
    FromOption,
    LockTimeoutOption,
    OutputOption,
    PeriodOption,
    ToOption,
)
from voipbill.cli.tables import render_result
from voipbill.errors import UsageError
from voipbill.ledger import open_ledger
from voipbill.outputs import refuse_inputs
from voipbill.periods import resolve_period
from voipbill.wording import counted

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
    days: DaysOption = None,
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
        typer.Option("--commit", help="Record the new calls in the ledger (-o: and a file)."),
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
    skip_bad_rows: Annotated[
        bool,
        typer.Option(
            "--skip-bad-rows",
            help="Bill the other rows when some CDR rows cannot be read "
            "(warned, and recorded by --commit); without it such a run fails.",
        ),
    ] = False,
    allow_empty: Annotated[
        bool,
        typer.Option(
            "--allow-empty",
            help="Commit even when the CDR source gives no CDR row at all (a period without "
            "calls); without it such a commit fails (exit 5).",
        ),
    ] = False,
) -> None:
    """Rate the calls of a period and write invoice-ready rows or usage tables."""
    config = state(ctx).load_config()
    refuse_inputs(output_path, state(ctx).inputs(config, cdr_file=cdr_file))
    services = billing.select_services(config, service, all_services)
    for chosen_service in services:
        day = config.billing_day_of(chosen_service)
        if day is not None:
            output.warn(
                f"{chosen_service.name}: billing_day = {day} is not applied yet: "
                "this version bills calendar months",
                about_money=True,
            )
    period = resolve_period(
        config.timezone, from_day=from_day, to_day=to_day, month=period_month, days=days
    )
    assert period is not None
    to_file = output_path is not None and str(output_path) != "-"
    if commit and output_path is not None and not to_file:
        raise UsageError(
            "--commit writes its data to -o FILE, not to stdout",
            hint="leave -o out to commit without a file (the ledger keeps the output)",
        )
    # a file is not a terminal: -o defaults to csv
    chosen = output_format or (
        Format.table if output.stdout_is_terminal() and not to_file else Format.csv
    )
    layout = billing.Layout(chosen.value, detail.value)
    names = tuple(s.name for s in services)
    log.info(
        "rate %s for %s from %s%s",
        period.label,
        ", ".join(names),
        cdr_file or "the servers",
        " (commit)" if commit else " (preview)",
    )
    selection = billing.Selection(
        tuple(services),
        late_days,
        commit=commit,
        stream=not commit,
        skip_bad_rows=skip_bad_rows,
        allow_empty=allow_empty,
    )
    with open_ledger(config, commit=commit, lock_timeout=lock_timeout) as ledger:
        if commit and ledger is not None:
            try:
                outcome = billing.commit_window(
                    config, selection, period, billing.source_of(cdr_file), ledger, layout,
                    output_path, strict=strict, render=_write,
                )  # fmt: skip
            except billing.StrictFailure as failure:
                output.messages(billing.messages(failure.result))
                raise
            result = outcome.result
            if outcome.run_id is not None:
                written = f", written to {output_path}" if output_path is not None else ""
                listed = f"{counted(outcome.calls, 'call')}{written}"
                output.info(f"committed run {outcome.run_id}: {period.label}, {listed}")
            elif outcome.reproduced is not None:
                output.info(
                    f"{period.label} was committed by run {outcome.reproduced.id}: "
                    "nothing new to commit"
                )
            else:
                output.info(f"{period.label}: nothing new to commit, no run recorded")
        else:
            result = billing.run(config, selection, period, billing.source_of(cdr_file), ledger)
            _preview(result, layout, chosen, output_path, to_file=to_file)

    result.drain()
    output.messages(billing.messages(result))
    log.info(
        "done: %d calls listed, %d late, %d unrated", _listed(result), result.late, result.unrated
    )
    if strict and result.unrated:
        raise billing.StrictFailure(result, committed=commit)


def _preview(
    result: billing.RunResult,
    layout: billing.Layout,
    chosen: Format,
    output_path: Path | None,
    *,
    to_file: bool,
) -> None:
    names = tuple(service.name for service in result.services)
    stored = result.output_for(layout, names)
    if stored is None and chosen is Format.table and not to_file:
        render_result(output.stdout(), result)
        return
    with output.data_stream(output_path) as stream:
        if stored is not None:
            stream.write(stored)
        else:
            _write(stream, result, layout)  # streamed: no calls held


def _listed(result: billing.RunResult) -> int:
    return sum(sum(service.totals.statuses.values()) for service in result.services)


def _write(stream: IO[str], result: billing.RunResult, layout: billing.Layout) -> None:
    if layout.format == Format.table:
        render_result(output.file_console(stream), result)
    else:
        report.write(stream, result, layout)
