"""`voipbill statement`: a customer's usage statement for a period, as HTML or PDF."""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from voipbill import billing
from voipbill.cli import output
from voipbill.cli.context import state
from voipbill.cli.options import CdrFileOption
from voipbill.config import Service
from voipbill.errors import UsageError
from voipbill.files import cannot_write, write_bytes_atomically
from voipbill.ledger import open_ledger
from voipbill.outputs import refuse_inputs
from voipbill.periods import Period, resolve_period
from voipbill.statement import (
    StatementData,
    Statements,
    check_pdf_support,
    make_statements,
    render_for,
    render_html,
)


class Kind(StrEnum):
    html = "html"
    pdf = "pdf"


class Paper(StrEnum):
    a4 = "a4"
    letter = "letter"


def command(
    ctx: typer.Context,
    service: Annotated[
        str | None, typer.Option("--service", "-s", help="The service whose statement to make.")
    ] = None,
    all_services: Annotated[
        bool, typer.Option("--all", help="One statement per configured service (needs -o DIR).")
    ] = False,
    period_month: Annotated[
        str | None, typer.Option("--period", help="The calendar month, YYYY-MM.")
    ] = None,
    cdr_file: CdrFileOption = None,
    output_path: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="FILE.html or FILE.pdf, or a directory: one file per service, "
            "SERVICE-YYYY-MM.html (created if missing). Default: HTML on stdout.",
        ),
    ] = None,
    kind: Annotated[
        Kind | None,
        typer.Option(
            "--format", "-f", help="html or pdf (default: by the -o file name, else html)."
        ),
    ] = None,
    paper: Annotated[Paper, typer.Option("--paper", help="The PDF's paper size.")] = Paper.a4,
) -> None:
    """Write a customer statement: a service's usage for a month, from its committed run
    (else a preview, marked PREVIEW — not an invoice)."""
    if (service is None) == (not all_services):
        raise UsageError("give --service NAME or --all", hint="e.g. --service mcon")
    if period_month is None:
        raise UsageError("--period YYYY-MM is required", hint="e.g. --period 2026-10")
    config = state(ctx).load_config()
    services = billing.select_services(config, [service] if service else None, all_services)
    period = resolve_period(config.timezone, from_day=None, to_day=None, month=period_month)
    assert period is not None
    targets, directory = _targets(services, period, output_path, kind, all_services)
    inputs = state(ctx).inputs(config, cdr_file=cdr_file)
    for target in targets:
        refuse_inputs(target, inputs)
    if any(target is not None and target.suffix.lower() == ".pdf" for target in targets):
        check_pdf_support()  # before anything is rated
    with open_ledger(config, commit=False, lock_timeout=0) as ledger:
        made = make_statements(config, services, period, billing.source_of(cdr_file), ledger)
    for result in made.results:  # each warning names the services it is about
        names = ", ".join(service.name for service in result.services)
        output.messages(replace(m, text=f"{names}: {m.text}") for m in billing.messages(result))
    if targets == [None]:
        [data] = made.statements
        with output.data_stream(None) as stream:
            stream.write(render_html(data))
        _said(data, "standard output")
        return
    files = [render_for(data, path, paper=paper.value) for data, path in _pairs(made, targets)]
    if directory is not None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise cannot_write(str(directory), exc) from exc
    for (data, path), content in zip(_pairs(made, targets), files, strict=True):
        write_bytes_atomically(path, content)
        _said(data, str(path))


def _targets(
    services: list[Service],
    period: Period,
    given: str | None,
    kind: Kind | None,
    all_services: bool,
) -> tuple[list[Path | None], Path | None]:
    """Where each statement goes (None: stdout), and the directory to create, if any."""
    if given is None or given == "-":
        if all_services:
            raise UsageError(
                "--all writes one file per service", hint="give -o DIR, e.g. -o statements/"
            )
        if kind is Kind.pdf:
            raise UsageError(
                "a PDF statement is not written to standard output", hint="give -o FILE.pdf"
            )
        return [None], None
    path = Path(given)
    is_dir = path.is_dir()
    if all_services or is_dir or given.endswith("/"):
        if not is_dir and (path.exists() or path.suffix.lower() in (".html", ".htm", ".pdf")):
            raise UsageError(
                f"-o {path} is not a directory: --all writes one statement per service",
                hint="give -o DIR; the files are named SERVICE-YYYY-MM.html",
            )
        suffix = (kind or Kind.html).value
        files: list[Path | None] = [path / f"{s.name}-{period.label}.{suffix}" for s in services]
        return files, path
    written = Kind.pdf if path.suffix.lower() == ".pdf" else Kind.html
    if kind is not None and kind is not written:
        raise UsageError(
            f"--format {kind.value} does not match -o {path}",
            hint=f"name the file .{kind.value}, or leave --format out",
        )
    return [path], None


def _pairs(made: Statements, targets: list[Path | None]) -> list[tuple[StatementData, Path]]:
    return [(data, path) for data, path in zip(made.statements, targets, strict=True) if path]


def _said(data: StatementData, where: str) -> None:
    if data.preview:
        output.warn(
            f"{data.service} {data.period_label}: no committed run, so this statement is a "
            "PREVIEW, not an invoice (commit the period with `voipbill rate --commit`)"
        )
        output.info(f"{data.service} {data.period_label}: preview written to {where}")
    else:
        output.info(
            f"{data.service} {data.period_label}: statement of committed run {data.run_id} "
            f"written to {where}"
        )
