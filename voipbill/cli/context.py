"""The state the top-level options leave for the commands (`--config`, `-q`, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

from voipbill import config as config_module
from voipbill.cli import output
from voipbill.outputs import Input, run_inputs


@dataclass
class State:
    config_path: Path | None = None
    log_file: Path | None = None

    def load_config(self, *, check_fields: bool = True) -> config_module.Config:
        config = config_module.load(self.config_path, check_fields=check_fields)
        for warning in config.warnings:
            # a setting that would misprice calls silently: shown even with -q
            output.warn(warning, about_money=True)
        return config

    def inputs(self, config: config_module.Config, *, cdr_file: Path | None = None) -> list[Input]:
        """The files this run reads or appends to, which no `-o` may name (rules §7)."""
        return run_inputs(config, cdr_file=cdr_file, log_file=self.log_file)


def state(ctx: typer.Context) -> State:
    found = ctx.find_object(State)
    return found if found is not None else State()
