"""`voipbill close`: bill a month that has ended and make its run, the invoice file (rules §9)."""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from voipbill import billing, periods
from voipbill.cli import output, rate
from voipbill.cli.context import state
from voipbill.cli.options import CdrFileOption, LockTimeoutOption
from voipbill.config import Config
from voipbill.errors import UsageError
from voipbill.ledger import open_ledger
from voipbill.outputs import refuse_inputs
from voipbill.periods import Period, resolve_period

log = logging.getLogger(__name__)


class CloseFormat(StrEnum):
    csv = "csv"
    json = "json"


def command(
    ctx: typer.Context,
    service: Annotated[
        list[str] | None,
        typer.Option("--service", "-s", help="Service to close (repeatable), in output order."),
    ] = None,
    all_services: Annotated[
        bool, typer.Option("--all", help="Close every configured service.")
    ] = False,
    period_month: Annotated[
        str, typer.Option("--period", help="The month to close, YYYY-MM (it must have ended).")
    ] = "",
    output_given: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="The invoice file, or a directory (existing, or ending in /): one file per "
            "service, SERVICE_FIRST..LAST.csv.",
        ),
    ] = None,
    output_format: Annotated[
        CloseFormat, typer.Option("--format", "-f", help="The invoice file's format.")
    ] = CloseFormat.csv,
    detail: Annotated[
        rate.Detail, typer.Option("--detail", help="One row per call, or per category.")
    ] = rate.Detail.calls,
    cdr_file: CdrFileOption = None,
    from_ledger: Annotated[
        bool,
        typer.Option("--from-ledger", help="Close with what is committed; read no CDRs."),
    ] = False,
    late_days: Annotated[
        int, typer.Option("--late-days", min=0, help="As `rate --late-days`.")
    ] = 0,
    skip_bad_rows: Annotated[
        bool, typer.Option("--skip-bad-rows", help="As `rate --skip-bad-rows`.")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Unrated calls fail the close (exit 1).")
    ] = False,
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="As `rate --allow-empty`.")
    ] = False,
    lock_timeout: LockTimeoutOption = 0,
) -> None:
    """Commit a month's new calls, then write the month's invoice file from all its calls."""
    config = state(ctx).load_config()
    if not period_month:
        raise UsageError("close needs --period YYYY-MM", hint="--due is not supported yet")
    if output_given is None or output_given in ("", "-"):
        raise UsageError("close needs -o FILE", hint="the ledger records the file it closes")
    output_path = Path(output_given)
    if from_ledger and cdr_file is not None:
        raise UsageError("give either --from-ledger or --cdr-file, not both")
    refuse_inputs(output_path, state(ctx).inputs(config, cdr_file=cdr_file))
    services = billing.select_services(config, service, all_services)
    period = resolve_period(config.timezone, from_day=None, to_day=None, month=period_month)
    assert period is not None
    if period.last_day >= periods.today(config.timezone):
        raise UsageError(
            f"{period.label} has not ended: it can be closed from "
            f"{(period.last_day + timedelta(days=1)).isoformat()}",
            hint="commit it as it goes with `voipbill rate --days 3 --commit`",
        )
    selection = billing.Selection(
        tuple(services),
        late_days,
        commit=True,
        skip_bad_rows=skip_bad_rows,
        allow_empty=allow_empty or from_ledger,
    )
    source = billing.LedgerOnly() if from_ledger else billing.source_of(cdr_file)
    layout = billing.Layout(output_format.value, detail.value)
    directory = _directory(output_given)
    if directory is not None:  # one file, one close run, per service period
        inputs = state(ctx).inputs(config, cdr_file=cdr_file)
        suffix = output_format.value
        files = [
            directory / f"{s.name}_{period.first_day}..{period.last_day}.{suffix}" for s in services
        ]
        for path in files:
            refuse_inputs(path, inputs)
        if strict:  # rules §9: a failed close closes nothing, so check every service first
            _check_strict(config, selection, period, source, lock_timeout)
        directory.mkdir(parents=True, exist_ok=True)
        for one, path in zip(services, files, strict=True):
            _close(
                config,
                replace(selection, services=(one,)),
                period,
                source,
                layout,
                path,
                strict=strict,
                lock_timeout=lock_timeout,
            )
        return
    _close(
        config,
        selection,
        period,
        source,
        layout,
        output_path,
        strict=strict,
        lock_timeout=lock_timeout,
    )


def _check_strict(
    config: Config,
    selection: billing.Selection,
    period: Period,
    source: billing.CdrSource,
    lock_timeout: float,
) -> None:
    """Rate every selected service once, writing nothing: unrated calls fail before any close."""
    with open_ledger(config, commit=True, lock_timeout=lock_timeout) as ledger:
        assert ledger is not None
        result = billing.run(config, selection, period, source, ledger)
        result.drain()
    if result.unrated:
        output.messages(billing.messages(result))
        raise billing.StrictFailure(result, committed=False)


def _directory(given: str) -> Path | None:
    """`-o DIR`: a directory that exists, or a path ending in `/` (created); else None."""
    if Path(given).is_dir() or given.endswith(("/", os.sep)):
        return Path(given)
    return None


def _close(
    config: Config,
    selection: billing.Selection,
    period: Period,
    source: billing.CdrSource,
    layout: billing.Layout,
    output_path: Path,
    *,
    strict: bool,
    lock_timeout: float,
) -> None:
    with open_ledger(config, commit=True, lock_timeout=lock_timeout) as ledger:
        assert ledger is not None
        try:
            outcome = billing.commit_window(
                config, selection, period, source, ledger, layout, output_path, strict=strict
            )
        except billing.StrictFailure as failure:
            output.messages(billing.messages(failure.result))
            raise
    result = outcome.result
    output.messages(billing.messages(result))
    if outcome.run_id is not None:
        output.info(f"closed {period.label} by run {outcome.run_id}, written to {output_path}")
    elif outcome.reproduced is not None:
        output.info(
            f"{period.label} was closed by run {outcome.reproduced.id}: "
            f"its file written again to {output_path}"
        )
    else:
        output.info(f"{period.label}: no call to close, no run recorded")
