"""`voipbill pull`: download a service's CDRs into one FusionPBX-format CSV file."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import IO

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from voipbill.cli import output
from voipbill.cli.context import state
from voipbill.cli.options import FromOption, OutputOption, PeriodOption, ServiceOption, ToOption
from voipbill.fusionpbx import FusionPBXClient
from voipbill.fusionpbx.client import ChunkProgress
from voipbill.fusionpbx.errors import UnexpectedResponse
from voipbill.outputs import refuse_inputs, run_inputs
from voipbill.periods import resolve_period


class CsvJoiner:
    """Writes chunk exports as one CSV: the header once, then every data line verbatim."""

    def __init__(self, stream: IO[str], server: str) -> None:
        self.stream = stream
        self.server = server
        self.header: str | None = None
        self.lines = 0

    def add(self, body: str, start: int, stop: int) -> None:
        if not body.strip():
            return  # FusionPBX's empty export is "\n\n", without a header (CONTRACT §2.2)
        header, _, data = body.lstrip("\n").partition("\n")
        if self.header is None:
            self.header = header
            self.stream.write(header + "\n")
        elif header != self.header:
            # Columns follow the user's permissions; a change mid-pull would mix layouts.
            raise UnexpectedResponse(
                f"{self.server}: the export for epochs {start}..{stop} has different columns "
                "than the earlier chunks",
                hint="a permission of the key's group changed during the pull; run it again",
            )
        if data and not data.endswith("\n"):
            data += "\n"
        self.stream.write(data)
        self.lines += data.count("\n")

    def finish(self) -> None:
        if self.header is None:
            self.stream.write("\n\n")  # no CDRs at all: what FusionPBX itself writes


@contextlib.contextmanager
def chunk_progress(total: int) -> Iterator[ChunkProgress | None]:
    """A bar of export chunks on stderr, only when it is a terminal (and not with -q)."""
    console = output.stderr()
    if output.is_quiet() or not console.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("pulling"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("chunks"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("pull", total=total)
        yield lambda done, _total: progress.update(task, completed=done)


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
    refuse_inputs(output_path, run_inputs(config))
    chosen = config.service(service)
    server = config.server_of(chosen)
    billing_period = resolve_period(config.timezone, from_day=from_day, to_day=to_day, month=period)
    assert billing_period is not None
    with FusionPBXClient(server, config.export_domain(chosen)) as client:
        for warning in client.warnings:
            output.warn(warning)
        chunks = client.chunks(billing_period)
        with output.data_stream(output_path) as stream, chunk_progress(len(chunks)) as progress:
            joiner = CsvJoiner(stream, server.name)
            for start, stop, body in client.export_chunks(billing_period, progress):
                joiner.add(body, start, stop)
            joiner.finish()
    where = f" to {output_path}" if output_path else ""
    output.info(
        f"pulled {joiner.lines} CDR line(s) of {chosen.name} for {billing_period.label} "
        f"in {len(chunks)} chunk(s){where}"
    )
