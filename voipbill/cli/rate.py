"""`voipbill rate`: price every call of a period (SPEC §4, §6, §7)."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import IO, Annotated

import typer

from voipbill.cdrs import CdrProblem
from voipbill.cli import output
from voipbill.cli.context import state
from voipbill.cli.options import (
    CdrFileOption,
    Format,
    FormatOption,
    FromOption,
    OutputOption,
    PeriodOption,
    ToOption,
)
from voipbill.cli.sources import feed_run, report_run
from voipbill.cli.tables import render_service
from voipbill.config import Config
from voipbill.errors import ExitCode
from voipbill.periods import Period, resolve_period
from voipbill.rating import ServiceRater
from voipbill.report import (
    JSON_VERSION,
    ServiceTotals,
    StartFormatter,
    call_document,
    tally,
    write_priced_csv,
    write_summary_csv,
)
from voipbill.runs import RatingRun, build_raters, select_services


class Detail(StrEnum):
    calls = "calls"
    summary = "summary"


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
) -> None:
    """Rate the calls of a period and write invoice-ready rows or usage tables."""
    config = state(ctx).load_config()
    services = select_services(config, service, all_services)
    period = resolve_period(config.timezone, from_day=from_day, to_day=to_day, month=period_month)
    assert period is not None
    raters = build_raters(config, services)
    run = RatingRun(raters, period)
    problems: list[CdrProblem] = []
    feed_run(run, config, raters, period, cdr_file=cdr_file, problems=problems)

    chosen = output_format or (Format.table if output.stdout_is_terminal() else Format.csv)
    all_totals = [ServiceTotals(r.service.name, r.service.domain) for r in raters]
    with output.data_stream(output_path) as stream:
        if chosen is Format.table:
            write_tables(
                stream, raters, all_totals, period, config, to_file=output_path is not None
            )
        elif chosen is Format.csv:
            write_csv(stream, raters, all_totals, period, config, detail)
        else:
            write_json(stream, raters, all_totals, period, config, detail)

    unrated = sum(totals.statuses.get("unrated", 0) for totals in all_totals)
    report_run(run, problems, unrated=unrated)
    if strict and unrated:
        # an error under --strict, so it is printed even with -q
        output.error(
            f"{unrated} calls unrated (--strict)",
            hint="add the missing deck rows or custom_rates; `voipbill explain` shows why",
        )
        raise typer.Exit(ExitCode.INVALID_INPUT)


def _all_calls(raters: list[ServiceRater], all_totals: list[ServiceTotals]):  # type: ignore[no-untyped-def]
    for rater, totals in zip(raters, all_totals, strict=True):
        yield from tally(rater.calls(), totals)


def write_csv(
    stream: IO[str],
    raters: list[ServiceRater],
    all_totals: list[ServiceTotals],
    period: Period,
    config: Config,
    detail: Detail,
) -> None:
    if detail is Detail.calls:
        pairs = zip(raters, all_totals, strict=True)
        write_priced_csv(stream, pairs, config.currency, config.timezone)
        return
    for _ in _all_calls(raters, all_totals):
        pass
    rows = [
        row
        for rater, totals in zip(raters, all_totals, strict=True)
        for row in totals.summary_rows(period, config.currency, rater.package.rounding_digits)
    ]
    write_summary_csv(stream, rows)


def write_json(
    stream: IO[str],
    raters: list[ServiceRater],
    all_totals: list[ServiceTotals],
    period: Period,
    config: Config,
    detail: Detail,
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
        for index, call in enumerate(_all_calls(raters, all_totals)):
            stream.write(
                ("," if index else "")
                + "\n    "
                + json.dumps(call_document(call, config.currency, start), ensure_ascii=False)
            )
        stream.write("\n  ]\n}\n")
        return
    for _ in _all_calls(raters, all_totals):
        pass
    rows = [
        {**row, "calls": int(row["calls"])}
        for rater, totals in zip(raters, all_totals, strict=True)
        for row in totals.summary_rows(period, config.currency, rater.package.rounding_digits)
    ]
    stream.write(
        '  "summary": ' + json.dumps(rows, indent=2, ensure_ascii=False).replace("\n", "\n  ")
    )
    stream.write("\n}\n")


def write_tables(
    stream: IO[str],
    raters: list[ServiceRater],
    all_totals: list[ServiceTotals],
    period: Period,
    config: Config,
    *,
    to_file: bool,
) -> None:
    for _ in _all_calls(raters, all_totals):
        pass
    console = output.stdout() if not to_file else output.file_console(stream)
    for rater, totals in zip(raters, all_totals, strict=True):
        render_service(console, totals, period, config.currency, rater.package.rounding_digits)
