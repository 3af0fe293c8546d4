"""Outputs are never inputs: `-o` may not name a file the run reads.

A run reads its config, the decks, the key files, the CDR file and the ledger; an `-o` that
names one of them (by another spelling, a symbolic link or a hard link included) would
destroy it, so it is refused before anything is read or written (a usage error, exit 2).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from voipbill.config import Config
from voipbill.errors import UsageError
from voipbill.files import output_target

Input = tuple[str, Path]  # what the file is ("the config"), and its path


def run_inputs(config: Config, *, cdr_file: Path | None = None) -> list[Input]:
    """Every file a run of `config` reads (or, for the ledger, keeps)."""
    inputs: list[Input] = [("the config", config.path)]
    if cdr_file is not None and str(cdr_file) != "-":
        inputs.append(("the CDR file", cdr_file))
    inputs.extend((f"deck {name!r}", deck.path) for name, deck in config.decks.items())
    if config.ledger_postgresql is None:
        inputs.append(("the ledger", config.ledger_path))
    elif config.ledger_postgresql.password_file is not None:
        inputs.append(("the ledger's password file", config.ledger_postgresql.password_file))
    if config.statement.logo is not None:
        inputs.append(("the statement logo", config.statement.logo))
    for name, server in config.servers.items():
        if server.api_key_file is not None:
            inputs.append((f"the API key file of server {name!r}", server.api_key_file))
        if server.ca_bundle is not None:
            inputs.append((f"the CA bundle of server {name!r}", server.ca_bundle))
    return inputs


def refuse_inputs(output: Path | None, inputs: Iterable[Input]) -> None:
    """UsageError when `output` is one of `inputs`; stdout and devices are never inputs."""
    if output is None or str(output) == "-":
        return
    target, in_place = output_target(output)
    if in_place:
        return  # /dev/null, /dev/stdout: written through, nothing is replaced
    for what, path in inputs:
        if _same_file(target, path):
            raise UsageError(
                f"-o {output} is {what} ({path}): an output never overwrites an input",
                hint="write the output to another file",
            )


def _same_file(target: Path, path: Path) -> bool:
    if Path(os.path.realpath(path)) == Path(os.path.realpath(target)):
        return True
    try:
        return target.samefile(path)  # a hard link, or another mount of it
    except OSError:
        return False  # one of them does not exist (yet): they are not the same file
