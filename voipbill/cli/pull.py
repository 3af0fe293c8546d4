"""`voipbill pull`: download a service's CDRs into one FusionPBX-format CSV file."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from voipbill import billing
from voipbill.cli import output
from voipbill.cli.context import state
from voipbill.cli.options import FromOption, OutputOption, PeriodOption, ServiceOption, ToOption
from voipbill.outputs import refuse_inputs
from voipbill.periods import resolve_period


class _Bar:
    """One progress bar over the chunks, on a terminal only (rules §7); silent otherwise."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def start(self, chunks: int) -> None:
        if self.progress is not None:
            self.task = self.progress.add_task("pull", total=chunks)

    def advance(self) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task)


@contextlib.contextmanager
def _progress() -> Iterator[_Bar]:
    console = output.stderr()
    if output.is_quiet() or not console.is_terminal:
        yield _Bar(None)
        return
    with Progress(
        TextColumn("pulling"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("chunks"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        yield _Bar(progress)


def command(
    ctx: typer.Context,
    service: ServiceOption,
    from_day: FromOption = None,
    to_day: ToOption = None,
    period: PeriodOption = None,
    output_path: OutputOption = None,
) -> None:
    """Download a service's CDRs for a period into one FusionPBX CSV (for --cdr-file)."""
    config = state(ctx).load_config()
    refuse_inputs(output_path, state(ctx).inputs(config))
    chosen = config.service(service)
    billing_period = resolve_period(config.timezone, from_day=from_day, to_day=to_day, month=period)
    assert billing_period is not None
    with output.data_stream(output_path) as stream, _progress() as progress:
        pulled = billing.pull(
            config,
            chosen,
            billing_period,
            stream,
            started=progress.start,
            chunk_done=progress.advance,
        )
    for warning in pulled.warnings:
        output.warn(warning)
    where = f" to {output_path}" if output_path else ""
    output.info(
        f"pulled {pulled.lines} CDR line(s) of {chosen.name} for {billing_period.label} "
        f"in {pulled.chunks} chunk(s){where}"
    )
