"""The commit protocol, owned by the core (rules §9): rate a window, check it, write the output
file and record the run in the ledger, all or nothing; the CLI only parses, asks and prints.

```
billing.commit_window(config, selection, period, sources, ledger, layout, output_path,
                      strict=..., render=...) -> CommitOutcome
```
`--strict` raises `StrictFailure` here, before anything is written. The outcome says what
happened (the run recorded, or the committed run this one repeats), with the result whose
messages (`billing.messages`) the caller prints.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from voipbill.billing.result import Layout, RunResult
from voipbill.billing.run import Selection, commit, run
from voipbill.billing.sources import CdrSource
from voipbill.config import Config
from voipbill.errors import InvalidInputError
from voipbill.files import atomic_writer
from voipbill.ledger import LedgerStore, RunRecord
from voipbill.periods import Period
from voipbill.wording import counted

# writes a result in a layout to a stream; the CLI's also draws tables
Renderer = Callable[[IO[str], RunResult, Layout], None]


@dataclass(frozen=True)
class CommitOutcome:
    """What a commit did: `run_id` of the run it recorded; None when the window was committed
    before (`reproduced`: the run whose bytes it wrote again) or had nothing new to commit."""

    result: RunResult
    run_id: int | None
    reproduced: RunRecord | None
    calls: int  # the calls the output lists
    output_path: Path | None  # None: no -o, the ledger alone keeps the output


class StrictFailure(InvalidInputError):
    """Unrated calls under `--strict`: nothing was committed. `result` holds the warnings."""

    def __init__(self, result: RunResult, *, committed: bool) -> None:
        super().__init__(
            f"{counted(result.unrated, 'call')} unrated (--strict)"
            + ("" if committed else "; nothing was committed to the ledger"),
            hint="add the missing deck rows or custom_rates; `voipbill explain` shows why",
        )
        self.result = result


def commit_window(
    config: Config,
    selection: Selection,
    period: Period,
    sources: CdrSource,
    ledger: LedgerStore,
    layout: Layout,
    output_path: Path | None,
    *,
    strict: bool = False,
    render: Renderer | None = None,
) -> CommitOutcome:
    """Rate `period` for the selection and commit it with its output file (rules §9).

    A window committed before for the same services is not priced again: its stored bytes
    are written to `output_path` (same layout) or its committed calls rendered, and nothing
    is recorded."""
    result = run(config, selection, period, sources, ledger)
    names = tuple(service.name for service in result.services)
    stored = result.output_for(layout, names)
    text = stored if stored is not None else _rendered(result, layout, render)
    result.drain()
    if strict and result.unrated:
        raise StrictFailure(result, committed=False)  # a failed run commits nothing
    calls = sum(sum(service.totals.statuses.values()) for service in result.services)
    # rules §9: a commit with nothing new records no run (its output is still written)
    run_id = commit(ledger, result, layout, text, output_path) if calls else None
    if run_id is None and output_path is not None:
        _write(output_path, text)
    return CommitOutcome(result, run_id, result.reproduced, calls, output_path)


def _rendered(result: RunResult, layout: Layout, render: Renderer | None) -> str:
    if render is None:
        from voipbill import report  # report imports billing: not at module level

        render = report.write
    buffer = io.StringIO()
    render(buffer, result, layout)
    return buffer.getvalue()


def _write(path: Path, text: str) -> None:
    with atomic_writer(path, newline="") as stream:
        stream.write(text)
