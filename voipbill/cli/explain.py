"""`voipbill explain`: every step that produced one call's price, for a disputed invoice line."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table

from voipbill.cdrs import CdrProblem, read_cdr_file
from voipbill.cli import output
from voipbill.cli.context import state
from voipbill.cli.options import CdrFileOption, FromOption, PeriodOption, ServiceOption, ToOption
from voipbill.cli.sources import feed_run
from voipbill.config import Config
from voipbill.errors import InvalidInputError, UsageError
from voipbill.periods import Period, make_period, parse_month, resolve_period
from voipbill.report import CALL_COLUMNS, StartFormatter, call_values
from voipbill.runs import RatingRun, build_raters


def command(
    ctx: typer.Context,
    service: ServiceOption,
    uuid: Annotated[str, typer.Option("--uuid", help="The call's xml_cdr_uuid.")],
    from_day: FromOption = None,
    to_day: ToOption = None,
    period_month: PeriodOption = None,
    cdr_file: CdrFileOption = None,
) -> None:
    """Show every step from a CDR's raw fields to its rounded cost."""
    config = state(ctx).load_config()
    chosen = config.service(service)
    period = resolve_period(
        config.timezone,
        from_day=from_day,
        to_day=to_day,
        month=period_month,
        required=cdr_file is None,
    )
    problems: list[CdrProblem] = []
    if period is None and str(cdr_file) == "-":
        raise UsageError(
            "explain --cdr-file - needs --period or --from/--to",
            hint="without them the call's month is found by a first pass over the file, "
            "and standard input can be read only once",
        )
    if period is None:
        assert cdr_file is not None  # resolve_period requires a period without a file
        # With only a file, bill the call's calendar month: free minutes depend on the period.
        period = _month_of_call(config, chosen.name, uuid, cdr_file)
    raters = build_raters(config, [chosen], trace_uuid=uuid)
    run = RatingRun(raters, period, trace_uuid=uuid)
    feed_run(run, config, raters, period, cdr_file=cdr_file, problems=problems)
    rater = raters[0]
    row = next((call for call in rater.calls() if call.call_uuid == uuid), None)
    if not run.traced_records:
        raise InvalidInputError(
            f"no CDR with xml_cdr_uuid {uuid} in {cdr_file or 'the export'} for {period.label}",
            hint="check the uuid (FusionPBX: Call Detail Records, the call's details page)",
        )

    console = output.stdout()
    console.print(
        f"[bold]Call {escape(uuid)}[/] — service {escape(chosen.name)}, period "
        f"{period.first_day} to {period.last_day} ({config.timezone_name})"
    )
    record = run.traced_records[0]
    raw = Table(title="Raw fields used", title_justify="left", show_header=False)
    for name in (
        "xml_cdr_uuid",
        "start_epoch",
        "billsec",
        "direction",
        "leg",
        "extension",
        "caller_id_number",
        "caller_destination",
        "destination_number",
        "status",
        "domain_name",
    ):
        value = getattr(record, name)
        if name == "start_epoch" and value is not None:
            value = f"{value} ({_local_time(value, config.timezone)})"
        raw.add_row(name, escape("" if value is None else str(value)))
    console.print(raw)

    steps = Table(title="Steps", title_justify="left")
    steps.add_column("step")
    steps.add_column("decision")
    for step, detail in [*run.trace, *rater.trace]:
        steps.add_row(step, escape(detail))
    console.print(steps)

    if row is None:
        console.print("[bold]Not on the invoice:[/] the call is left out (see the steps above).")
        return
    final = Table(title="Invoice row", title_justify="left", show_header=False)
    values = call_values(row, config.currency, StartFormatter(config.timezone))
    for name, value in zip(CALL_COLUMNS, values, strict=True):
        final.add_row(name, escape(value))
    console.print(final)


def _month_of_call(config: Config, service: str, uuid: str, cdr_file: Path) -> Period:
    """The calendar month (config time zone) in which the call started."""
    problems: list[CdrProblem] = []
    for record in read_cdr_file(cdr_file, problems=problems):
        if record.xml_cdr_uuid != uuid or record.start_epoch is None:
            continue
        try:
            day = datetime.fromtimestamp(record.start_epoch, config.timezone).date()
            first, last = parse_month(f"{day:%Y-%m}")
            return make_period(first, last, config.timezone)
        except (OverflowError, OSError, ValueError, UsageError):
            break  # an epoch outside any billable month: reported below
    raise InvalidInputError(
        f"no CDR with xml_cdr_uuid {uuid} and a usable start_epoch in {cdr_file}",
        hint=f"service {service}: check the uuid, or give --period",
    )


def _local_time(epoch: int, zone: ZoneInfo) -> str:
    try:
        return datetime.fromtimestamp(epoch, zone).isoformat()
    except (OverflowError, OSError, ValueError):
        return "not a date"
