"""The typer application: global options and the list of commands."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from voipbill import __version__
from voipbill import config as config_module
from voipbill.cli import output

app = typer.Typer(
    name="voipbill",
    help="Rate FusionPBX call detail records against carrier rate decks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@dataclass
class State:
    config_path: Path | None = None
    quiet: int = 0
    verbose: int = 0
    log_file: Path | None = None

    def load_config(self) -> config_module.Config:
        return config_module.load(self.config_path)


def state(ctx: typer.Context) -> State:
    found = ctx.find_object(State)
    return found if found is not None else State()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"voipbill {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Config file (default: $VOIPBILL_CONFIG, then the "
                     "user config dir). Accepted before or after the command.", dir_okay=False),
    ] = None,
    quiet: Annotated[
        int, typer.Option("--quiet", "-q", count=True, help="Print nothing but errors.")
    ] = 0,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More detail on stderr.")] = 0,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="Never use colour.")] = False,
    log_file: Annotated[
        Path | None, typer.Option("--log-file", help="Append a debug log (no secrets) to this file.",
                                  dir_okay=False)
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    del debug, version  # --debug is read by the error boundary; --version by its callback
    output.configure(quiet=quiet, no_color=no_color)
    ctx.obj = State(config_path=config, quiet=quiet, verbose=verbose, log_file=log_file)


from voipbill.cli import deck  # noqa: E402

app.add_typer(deck.app, name="deck")
