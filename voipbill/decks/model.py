"""A loaded rate deck (rules §3): its rows, what its load found, and the prefix index.

The prefix index is built once, so a lookup is a few dict probes.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

from voipbill.errors import ConfigError
from voipbill.increments import Increment
from voipbill.periods import local_midnight_epoch

MAX_ERRORS_SHOWN = 20
_UNDATED = -math.inf  # rules §3: an undated row is older than any dated one


class DeckError(ConfigError):
    """A deck that cannot be used; `errors` lists every problem ("line N: ...").

    `fix` is the problem's own advice, if any; the hint adds the `deck check` command that
    shows this very deck as `rate` reads it.
    """

    def __init__(
        self,
        path: Path,
        errors: Sequence[str],
        *,
        hint: str | None = None,
        check_command: str | None = None,
        where: str | None = None,
    ) -> None:
        self.path = path
        self.errors = list(errors)
        self.fix = hint
        self.check_command = check_command or f"voipbill deck check {path}"
        before = f"{where}: " if where else ""  # the config key that names the deck, if any
        if len(self.errors) == 1:
            message = f"{before}rate deck {path}: {self.errors[0]}"
        else:
            shown = self.errors[:MAX_ERRORS_SHOWN]
            lines = [f"{before}rate deck {path} refused, {len(self.errors)} problems:"]
            lines += [f"  {error}" for error in shown]
            if len(self.errors) > len(shown):
                lines.append(f"  ... and {len(self.errors) - len(shown)} more")
            message = "\n".join(lines)
        check = f"`{self.check_command}` lists every problem"
        super().__init__(message, hint=f"{hint}; {check}" if hint else f"fix the deck; {check}")


class DeckRow(NamedTuple):
    """One prefix of a deck line (a tuple: a deck has 100k of them, built in one go)."""

    prefix: str
    description: str
    rate: Decimal  # per minute (rules §3)
    connect_fee: Decimal
    increment: Increment | None  # None: the package's increment applies (rules §6)
    effective_from: date | None  # None: always in effect, older than any dated row
    line: int  # in the CSV file, for error messages and `voipbill explain`
    no_charge_seconds: int | None = None  # None: the package's (rules §6)
    included_seconds: int | None = None  # None: the package's (rules §6)


@dataclass(frozen=True)
class LoadReport:
    """What `deck check` shows besides the rows: how the file was read."""

    columns: tuple[tuple[str, str], ...] = ()  # (header cell, column) for every cell read
    ignored: tuple[str, ...] = ()  # header cells no column reads
    near_misses: tuple[tuple[str, str], ...] = ()  # (ignored cell, the column it looks like)
    extra_cells_ignored: bool = False  # headerless magnus: cells past the eighth
    left_out: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  # reason -> lines
    settings: tuple[tuple[str, str], ...] = ()  # (option, value) set for this deck


class Deck:
    """A loaded deck and its prefix index."""

    __slots__ = ("_dated", "_index", "_longest", "path", "report", "rows")

    def __init__(
        self,
        path: Path,
        rows: tuple[DeckRow, ...],
        timezone: ZoneInfo,
        report: LoadReport | None = None,
    ) -> None:
        self.path = path
        self.rows = rows
        self.report = report or LoadReport()
        midnight: dict[date, float] = {}
        grouped: dict[str, list[tuple[float, DeckRow]]] = {}
        for row in rows:
            day = row.effective_from
            if day is None:
                starts = _UNDATED
            elif day in midnight:
                starts = midnight[day]
            else:
                starts = midnight[day] = local_midnight_epoch(day, timezone)
            entries = grouped.get(row.prefix)
            if entries is None:
                grouped[row.prefix] = [(starts, row)]
            else:
                entries.append((starts, row))
        # prefix -> (start epochs ascending, rows in the same order)
        self._index: dict[str, tuple[tuple[float, ...], tuple[DeckRow, ...]]] = {}
        for prefix, entries in grouped.items():
            if len(entries) == 1:
                self._index[prefix] = ((entries[0][0],), (entries[0][1],))
                continue
            entries.sort(key=_first)
            self._index[prefix] = (
                tuple(entry[0] for entry in entries),
                tuple(entry[1] for entry in entries),
            )
        self._longest = max((len(prefix) for prefix in self._index), default=0)
        # prefixes whose row depends on the date: more than one row, or one dated row
        self._dated = frozenset(
            prefix
            for prefix, (starts, _) in self._index.items()
            if len(starts) > 1 or starts[0] != _UNDATED
        )

    def __len__(self) -> int:
        return len(self.rows)

    def dated(self, number: str) -> bool:
        """Can `lookup(number, …)` answer differently for different dates?

        False when no prefix of the number has a dated row: then one lookup serves every call to
        the number, whatever its start (rating caches it per number).
        """
        dated = self._dated
        if not dated:
            return False
        return any(number[:length] in dated for length in range(1, len(number) + 1))

    def lookup(self, number: str, start_epoch: int) -> DeckRow | None:
        """rules §3: among rows in effect at `start_epoch`, the longest prefix, then the newest.

        Never chooses by price: a carrier bills the most specific prefix, cheaper or not.
        """
        index = self._index
        for length in range(min(len(number), self._longest), 0, -1):
            entry = index.get(number[:length])
            if entry is None:
                continue
            starts, rows = entry
            in_effect = bisect_right(starts, start_epoch)
            if in_effect:
                return rows[in_effect - 1]
        return None


def _first(entry: tuple[float, DeckRow]) -> float:
    return entry[0]
