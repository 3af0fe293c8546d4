"""Outputs are never inputs: `-o` may not name a file the run reads.

A run reads its config, the decks, the secret files, the CA bundles, the statement logo, the
CDR file and the ledger, and appends to its `--log-file`; an `-o` that names one of them (by
another spelling, a symbolic link or a hard link included) would destroy it, so it is refused
before anything is read or written (a usage error, exit 2). `run_inputs` is the one list every
command checks its outputs against (rules §7).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from voipbill.config import Config
from voipbill.errors import UsageError
from voipbill.files import output_target

Input = tuple[str, Path]  # what the file is ("the config"), and its path


def run_inputs(
    config: Config, *, cdr_file: Path | None = None, log_file: Path | None = None
) -> list[Input]:
    """Every file a run of `config` reads, keeps or appends to: no `-o` may name one."""
    inputs: list[Input] = [("the config", config.path)]
    if cdr_file is not None and str(cdr_file) != "-":
        inputs.append(("the CDR file", cdr_file))
    if log_file is not None:
        inputs.append(("the --log-file", log_file))
    inputs.extend((f"deck {name!r}", deck.path) for name, deck in config.decks.items())
    inputs.extend(_ledger_files(config))
    if config.statement.logo is not None:
        inputs.append(("the statement logo", config.statement.logo))
    for name, server in config.servers.items():
        if server.api_key_file is not None:
            inputs.append((f"the API key file of server {name!r}", server.api_key_file))
        if server.ca_bundle is not None:
            inputs.append((f"the CA bundle of server {name!r}", server.ca_bundle))
    inputs.extend(_invoicing_secret_files(config))
    return inputs


def _ledger_files(config: Config) -> list[Input]:
    """The SQLite ledger with its lock and journal files, or PostgreSQL's password file."""
    settings = config.ledger_postgresql
    if settings is None:
        path = config.ledger_path
        inputs: list[Input] = [("the ledger", path)]
        # the lock file voipbill.ledger keeps beside it (tests check the two agree)
        inputs.append(("the ledger's lock file", path.with_name(path.name + ".lock")))
        for suffix in ("-wal", "-shm", "-journal"):  # SQLite's own files beside the ledger
            inputs.append(("the ledger's SQLite journal", path.with_name(path.name + suffix)))
        return inputs
    if settings.password_file is not None:
        return [("the ledger's password file", settings.password_file)]
    if settings.password_env is None:  # libpq reads its own password file
        pgpass = os.environ.get("PGPASSFILE") or str(Path.home() / ".pgpass")
        return [("libpq's password file", Path(pgpass))]
    return []


def _invoicing_secret_files(config: Config) -> list[Input]:
    sources = []
    whmcs, lago = config.invoicing.whmcs, config.invoicing.lago
    if whmcs is not None:
        sources.extend([whmcs.identifier, whmcs.secret])
        if whmcs.access_key is not None:
            sources.append(whmcs.access_key)
    if lago is not None:
        sources.append(lago.api_key)
    return [
        (f"the secret file of {source.where}", source.file)
        for source in sources
        if source.file is not None
    ]


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
