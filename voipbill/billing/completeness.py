"""Input completeness (rules §7): every CDR row is used, left out for a counted reason, or bad.

The reader (voipbill.cdrs) finds the bad rows of a whole source before anything is left out. A
run with bad rows fails and commits nothing, unless `--skip-bad-rows` lets it go on: then the
rows are named in a money warning, and a commit records them in the ledger.
"""

from __future__ import annotations

from collections.abc import Sequence

from voipbill.cdrs import CdrProblem
from voipbill.errors import BadResponseError


class BadRowsError(BadResponseError):
    """The CDR source has rows that cannot be read, and --skip-bad-rows was not given."""


def bad_rows(problems: Sequence[CdrProblem]) -> list[CdrProblem]:
    """The problems that are bad rows (not used), in source order."""
    return [problem for problem in problems if problem.bad]


def refuse_bad_rows(problems: Sequence[CdrProblem]) -> None:
    """Raise BadRowsError naming every bad row's line and why, when there is any."""
    bad = bad_rows(problems)
    if not bad:
        return
    lines = "\n".join(f"  {where(problem)}: {problem.message}" for problem in bad)
    raise BadRowsError(
        f"{len(bad)} CDR rows cannot be read; nothing was rated or committed:\n{lines}",
        hint="export the CDRs again (a cut-off or damaged export), or give --skip-bad-rows "
        "to bill the other rows and record the skipped lines in the ledger",
    )


class EmptySourceError(BadResponseError):
    """A commit whose CDR sources, all together, gave no CDR row at all (no --allow-empty)."""


def gave_nothing(rows: int, problems: Sequence[CdrProblem]) -> bool:
    """True when the run's sources, all of them together, gave no CDR row at all (a bad row
    is a row: it is refused, or skipped and recorded, but the source was not empty)."""
    return rows == 0 and not bad_rows(problems)


def refuse_empty(sources: Sequence[str]) -> None:
    """Raise EmptySourceError: a commit of nothing is more often a fault than a silent month."""
    named = ", ".join(sources) if sources else "the CDR source"
    raise EmptySourceError(
        f"{named}: no CDR row at all; nothing was committed (a server or file that gives "
        "nothing is more often a fault than a month without calls)",
        hint="check the export (the right file, domain and dates); to commit a period with "
        "no calls, give --allow-empty",
    )


def where(problem: CdrProblem) -> str:
    return f"{problem.source} line {problem.line}"


def skipped_lines(problems: Sequence[CdrProblem]) -> tuple[str, ...]:
    """What a commit records of the skipped rows: "SOURCE line N", one per bad row."""
    return tuple(where(problem) for problem in bad_rows(problems))
