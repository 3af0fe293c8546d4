"""How a deck's cells become columns (rules §3): presets, header names, options.

A carrier writes `Cost / Min (USD)` where a preset says `Cost/Min`; both are one name once
case, a trailing parenthesised part and the characters ` _ - / .` are set aside. A header cell
that two names of one column match, or two cells for one column, is refused: a silent choice
would bill by whichever column came first.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from voipbill.errors import ConfigError

# rules §3 canonical columns. `increment` is one column (`I/N` or N); `initial_increment` and
# `next_increment` are the two-column form.
CANONICAL = (
    "prefix",
    "description",
    "rate",
    "connect_fee",
    "increment",
    "initial_increment",
    "next_increment",
    "effective_from",
    "no_charge_seconds",
    "included_seconds",
    "status",
    "disconnect_fee",
    "origination_prefixes",
)
REQUIRED = ("prefix", "rate")
TWO_INCREMENTS = ("initial_increment", "next_increment")
RATE_UNITS = {"minute": 1, "second": 60}

PRESETS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "voipbill": {
        name: (name,)
        for name in (
            "prefix",
            "description",
            "rate",
            "connect_fee",
            "increment",
            "no_charge_seconds",
            "included_seconds",
            "effective_from",
        )
    },
    "ictvoip": {
        "prefix": ("Prefix",),
        "description": ("Description",),
        "rate": ("RateValue",),
        "increment": ("Increment",),
    },
    # ASTPP's import samples say `Per Minute Cost`, `Connect Cost`, `Included Seconds`; its
    # export says `Cost / Min (USD)`, `Connection Cost (USD)`, `Grace Time`.
    "astpp": {
        "prefix": ("Code",),
        "description": ("Destination",),
        "rate": ("Cost/Min", "Per Minute Cost"),
        "connect_fee": ("Connection Cost", "Connect Cost"),
        "initial_increment": ("Initial Increment",),
        "next_increment": ("Increment",),
        "included_seconds": ("Grace Time", "Included Seconds"),
        "status": ("Status",),
    },
    "magnus": {
        "prefix": ("prefix",),
        "description": ("destination",),
        "rate": ("rateinitial",),
        "connect_fee": ("connectcharge",),
        "initial_increment": ("initblock",),
        "next_increment": ("billingblock",),
        "no_charge_seconds": ("minimal_time_charge",),
        "disconnect_fee": ("disconnectcharge",),
    },
    "twilio": {
        "prefix": ("Destination Prefixes",),
        "description": ("Description",),
        "rate": ("Price / min",),
        "origination_prefixes": ("Origination Prefixes",),
    },
}
# MagnusBilling's own import reads headerless files in this cell order (rules §3).
HEADERLESS: Mapping[str, tuple[str, ...]] = {
    "magnus": (
        "prefix",
        "description",
        "rate",
        "initial_increment",
        "next_increment",
        "no_charge_seconds",
        "connect_fee",
        "disconnect_fee",
    )
}
# In these presets an increment cell of 0 means "not set" (their own UIs write 0 for it).
ZERO_INCREMENT_IS_EMPTY = frozenset({"astpp", "magnus"})

_TRAILING_PART = re.compile(r"\([^()]*\)\s*$")
_SET_ASIDE = re.compile(r"[\s_\-/.]+")
_DIGITS = re.compile(r"[0-9]{1,14}")


def header_key(name: str) -> str:
    """The form in which a header cell and a column name are compared (rules §3)."""
    return _SET_ASIDE.sub("", _TRAILING_PART.sub("", name.strip().lower()))


@dataclass(frozen=True)
class DeckLayout:
    """A deck's preset, its `[decks.X.columns]` map and its options."""

    preset: str = "voipbill"
    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    header: bool = True
    prefix_prepend: str = ""
    rate_unit: str = "minute"
    date_format: str | None = None

    @classmethod
    def of(
        cls, preset: str = "voipbill", columns: Mapping[str, str | Sequence[str]] | None = None
    ) -> DeckLayout:
        named = {
            key: (value,) if isinstance(value, str) else tuple(value)
            for key, value in (columns or {}).items()
        }
        return cls(preset=preset, columns=named)

    def problem(self) -> tuple[str, str, str | None] | None:
        """The first bad setting as (key, message, hint), or None. The config loader names the
        key in its key path; `load_deck` raises it as a ConfigError."""
        if self.preset not in PRESETS:
            return "preset", f"unknown preset {self.preset!r}", f"one of {', '.join(PRESETS)}"
        for key, names in self.columns.items():
            if key not in CANONICAL:
                return f"columns -> {key}", "unknown column name", f"one of {', '.join(CANONICAL)}"
            if not names or not all(isinstance(n, str) and header_key(n) for n in names):
                return f"columns -> {key}", "give a header name or a list of names", None
        if "increment" in self.columns and set(TWO_INCREMENTS) & set(self.columns):
            return (
                "columns -> increment",
                "map increment (one column) or initial_increment/next_increment, not both",
                None,
            )
        if not self.header:
            if self.preset not in HEADERLESS:
                return (
                    "header",
                    f"header = false is for the {', '.join(HEADERLESS)} preset only",
                    "a deck of another layout needs its header row",
                )
            if self.columns:
                return "header", "header = false takes no [columns] table", None
        if self.prefix_prepend and not _DIGITS.fullmatch(self.prefix_prepend):
            return "prefix_prepend", f"{self.prefix_prepend!r} must be digits", 'e.g. "1"'
        if self.rate_unit not in RATE_UNITS:
            return (
                "rate_unit",
                f"{self.rate_unit!r}: use {' or '.join(map(repr, RATE_UNITS))}",
                None,
            )
        if self.date_format is not None and not _date_format_works(self.date_format):
            return (
                "date_format",
                f"{self.date_format!r} does not read back the dates it writes",
                'a strptime format of a date, e.g. "%m/%d/%Y"',
            )
        return None

    def check(self) -> None:
        found = self.problem()
        if found is not None:
            key, message, hint = found
            raise ConfigError(f"deck {key}: {message}", hint=hint)

    def names(self) -> dict[str, tuple[str, ...]]:
        """Canonical column -> the header names that feed it: the preset's, with the columns
        table laid over it key by key."""
        names = dict(PRESETS[self.preset])
        # one increment form or the other: a mapped form replaces the preset's other form
        if "increment" in self.columns:
            for key in TWO_INCREMENTS:
                names.pop(key, None)
        elif set(TWO_INCREMENTS) & set(self.columns):
            names.pop("increment", None)
        names.update(self.columns)
        return names


def _date_format_works(text: str) -> bool:
    sample = date(2026, 12, 31)
    try:
        return datetime.strptime(sample.strftime(text), text).date() == sample
    except ValueError:
        return False


@dataclass(frozen=True)
class ColumnMap:
    """Where each column's cells are in a deck's records."""

    where: Mapping[str, int]  # canonical column -> cell index
    cells: tuple[str, ...]  # the header cells as written (or `cell N` without a header)
    width: int  # cells a record may have before its extra cells must be empty
    extra_cells_ignored: bool = False  # headerless magnus: cells past the eighth are ignored

    def read(self) -> list[tuple[str, str]]:
        """(header cell, column) for every cell read, in file order."""
        by_cell = sorted((index, name) for name, index in self.where.items())
        return [(self.cells[index], name) for index, name in by_cell]

    def ignored(self) -> list[str]:
        read = set(self.where.values())
        return [cell for index, cell in enumerate(self.cells) if index not in read]

    def near_misses(self, layout: DeckLayout) -> list[tuple[str, str]]:
        """(ignored cell, column) where the cell looks like a misspelt name of a column the
        deck does not read: `conect_fee` left every connect fee at 0 without a word."""
        unread = {
            column: {header_key(column), *(header_key(n) for n in names)}
            for column, names in layout.names().items()
            if column not in self.where
        }
        found = []
        for cell in self.ignored():
            key = header_key(cell)
            for column, keys in unread.items():
                if key and difflib.get_close_matches(key, keys, n=1, cutoff=0.8):
                    found.append((cell, column))
                    break
        return found


def column_map(header: Sequence[str], layout: DeckLayout) -> tuple[ColumnMap, list[str], str]:
    """Match the header against the layout: the map, and the problems with one hint."""
    cells = list(header)
    while cells and not cells[-1].strip():
        cells.pop()  # ASTPP's samples end the header with `,` too
    keys = [header_key(cell) for cell in cells]
    where: dict[str, int] = {}
    problems: list[str] = []
    hint = ""
    for name, names in layout.names().items():
        wanted = {header_key(n) for n in names}
        found = [index for index, key in enumerate(keys) if key in wanted]
        if len(found) > 1:
            shown = " and ".join(f"{cells[i]!r} (column {i + 1})" for i in found)
            both = "both" if len(found) == 2 else "all"
            problems.append(f"ambiguous columns: {shown} are {both} {name}")
            hint = (
                "remove the extra column, or name the one to read in [decks.X.columns], "
                f'e.g. {name} = "<its header>"'
            )
        elif found:
            where[name] = found[0]
        elif name in REQUIRED or name in layout.columns:
            wanted_text = " or ".join(repr(n) for n in names)
            problems.append(
                f"no {wanted_text} column ({name}, preset {layout.preset}); the header has: "
                + ", ".join(repr(cell) for cell in cells)
            )
            hint = hint or (
                "pick the preset that matches the file (--preset), or map the column "
                f'in [decks.X.columns], e.g. {name} = "<its header>"'
            )
    return ColumnMap(where, tuple(cells), len(cells)), problems, hint


def headerless_map(layout: DeckLayout) -> ColumnMap:
    order = HEADERLESS[layout.preset]
    return ColumnMap(
        {name: index for index, name in enumerate(order)},
        tuple(f"cell {index + 1}" for index in range(len(order))),
        len(order),
        extra_cells_ignored=True,
    )
