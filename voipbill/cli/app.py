"""The typer application: global options and the list of commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voipbill import __version__
from voipbill.cli import (
    audit_numbers,
    close,
    deck,
    deck_margin,
    explain,
    init,
    invoice,
    ledger,
    logs,
    margin,
    output,
    pull,
    rate,
    statement,
    test_connection,
    validate_fields,
    watch,
)
from voipbill.cli.context import State
from voipbill.cli.options import plain_help

plain_help()

app = typer.Typer(
    name="voipbill",
    help="Rate FusionPBX call detail records against carrier rate decks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"voipbill {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Config file (default: $VOIPBILL_CONFIG, then the "
            "user config dir). Accepted before or after the command.",
            # a directory or an unreadable file is the loader's configuration error (exit 3)
            readable=False,
        ),
    ] = None,
    quiet: Annotated[
        int,
        typer.Option(
            "--quiet",
            "-q",
            count=True,
            show_default=False,
            help="No information or progress: only errors, and the warnings about money "
            "(unrated calls, skipped rows, late or held-back calls…), which are never silenced.",
        ),
    ] = 0,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            show_default=False,
            help="Log the run's steps on stderr (-vv: debug).",
        ),
    ] = 0,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="Never use colour.")] = False,
    log_file: Annotated[
        Path | None,
        typer.Option(
            "--log-file", help="Append a debug log (no secrets) to this file.", dir_okay=False
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    del debug, version  # --debug is read by the error boundary; --version by its callback
    output.configure(quiet=quiet, no_color=no_color)
    if log_file is not None or (verbose and not quiet):
        logs.start(log_file, ctx.invoked_subcommand, verbose=0 if quiet else verbose)
    ctx.obj = State(config_path=config, log_file=log_file)


app.command("validate-fields", cls=validate_fields.FieldsCommand)(validate_fields.command)
app.command("test-connection")(test_connection.command)
app.command("pull")(pull.command)
app.command("rate")(rate.command)
app.command("close")(close.command)
app.command("margin")(margin.command)
app.command("watch")(watch.command)
app.command("explain")(explain.command)
app.command("init")(init.command)
deck.app.command("margin")(deck_margin.command)
app.add_typer(deck.app, name="deck")
app.command("audit-numbers")(audit_numbers.command)
app.add_typer(ledger.app, name="ledger")
app.command("statement")(statement.command)
app.add_typer(invoice.app, name="invoice")
