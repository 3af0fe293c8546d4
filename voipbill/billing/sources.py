"""Where a run's CDRs come from: a FusionPBX CSV export (`--cdr-file`) or the servers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from voipbill.billing.scope import RatingRun
from voipbill.cdrs import CdrProblem, read_cdr_file
from voipbill.config import Config, Service
from voipbill.fusionpbx import FusionPBXClient
from voipbill.fusionpbx.errors import UnexpectedResponse
from voipbill.periods import Period
from voipbill.rating import ServiceRater


@dataclass(frozen=True, slots=True)
class CdrFile:
    """A FusionPBX CSV export on disk (`-` is standard input), e.g. one `pull` wrote."""

    path: Path


@dataclass(frozen=True, slots=True)
class Servers:
    """The services' FusionPBX servers, one export per (server, tenant domain)."""


@dataclass(frozen=True, slots=True)
class LedgerOnly:
    """No CDR source at all: `close --from-ledger` lists what the ledger holds."""


CdrSource = CdrFile | Servers | LedgerOnly


def source_of(cdr_file: Path | None) -> CdrSource:
    """`--cdr-file PATH`, or the servers without one."""
    return Servers() if cdr_file is None else CdrFile(cdr_file)


def feed(
    run: RatingRun,
    config: Config,
    raters: Sequence[ServiceRater],
    period: Period,
    source: CdrSource,
    *,
    problems: list[CdrProblem],
    warnings: list[str],
    empty: list[str] | None = None,
) -> None:
    """Read every CDR of `period` from `source` into `run`; unreadable rows go to `problems`,
    the servers' own warnings (plain http, TLS off) to `warnings`, and the name of each source
    that had not one row (FusionPBX's empty export `\\n\\n`) to `empty`."""
    empty = [] if empty is None else empty
    if isinstance(source, LedgerOnly):
        run.sources_done()
        return
    if isinstance(source, CdrFile):
        before = run.counters.rows, len(problems)
        run.feed(read_cdr_file(source.path, problems=problems), str(source.path))
        if (run.counters.rows, len(problems)) == before:
            empty.append(str(source.path))
        run.sources_done()
        return
    # One export per (server, domain): services sharing a tenant domain share its CDRs.
    groups: dict[tuple[str, str], list[ServiceRater]] = {}
    for rater in raters:
        server = config.server_of(rater.service)
        groups.setdefault((server.name, config.export_domain(rater.service)), []).append(rater)
    for (server_name, domain), members in groups.items():
        with FusionPBXClient(config.servers[server_name], domain) as client:
            warnings.extend(client.warnings)
            records = client.records(period, problems)
            before = run.counters.rows, len(problems)
            run.feed(records, f"{server_name}:{domain}", members)
            if (run.counters.rows, len(problems)) == before:
                empty.append(f"{server_name}:{domain}")
    run.sources_done()


# -- pull: a period's export, as one file -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pulled:
    lines: int  # CDR lines written
    chunks: int
    warnings: tuple[str, ...]


def pull(
    config: Config,
    service: Service,
    period: Period,
    stream: IO[str],
    *,
    started: Callable[[int], None] = lambda chunks: None,
    chunk_done: Callable[[], None] = lambda: None,
) -> Pulled:
    """Write a service's CDRs of `period` from its server to `stream`, as one FusionPBX CSV."""
    server = config.server_of(service)
    with FusionPBXClient(server, config.export_domain(service)) as client:
        chunks = client.chunks(period)
        started(len(chunks))
        joiner = CsvJoiner(stream, server.name)
        for start, stop, body in client.export_chunks(period):
            joiner.add(body, start, stop)
            chunk_done()
        joiner.finish()
        return Pulled(joiner.lines, len(chunks), tuple(client.warnings))


class CsvJoiner:
    """Writes chunk exports as one CSV: the header once, then every data line verbatim."""

    def __init__(self, stream: IO[str], server: str) -> None:
        self.stream = stream
        self.server = server
        self.header: str | None = None
        self.lines = 0

    def add(self, body: str, start: int, stop: int) -> None:
        if not body.strip():
            return  # FusionPBX's empty export is "\n\n", without a header (docs/fusionpbx.md §2)
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
        if not body.endswith("\n"):
            # FusionPBX ends every line with one: the body was cut off (rules §7, a bad row)
            raise UnexpectedResponse(
                f"{self.server}: the export for epochs {start}..{stop} was cut off (its last "
                "line has no line end)",
                hint="run pull again; if it keeps happening, lower chunk_hours",
            )
        self.stream.write(data)
        self.lines += data.count("\n")

    def finish(self) -> None:
        if self.header is None:
            self.stream.write("\n\n")  # no CDRs at all: what FusionPBX itself writes


__all__ = ["CdrFile", "CdrSource", "CsvJoiner", "Pulled", "Servers", "feed", "pull"]
