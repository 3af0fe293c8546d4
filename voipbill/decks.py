"""Rate decks (SPEC §3): reading a carrier's CSV and finding the row for a number.

A deck is read whole and refused whole: every bad line is reported with its number, and a
deck with any problem rates nothing (a silently dropped row would bill its calls by a shorter,
usually cheaper, prefix). The prefix index is built once, so a lookup is a few dict probes.
"""

from __future__ import annotations

import csv
import io
import math
import re
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from voipbill.bulk import no_cyclic_gc
from voipbill.errors import ConfigError
from voipbill.files import sniff_delimiter
from voipbill.increments import Increment, parse_increment
from voipbill.money import DecimalSyntaxError, parse_decimal
from voipbill.periods import local_midnight_epoch

MAX_ERRORS_SHOWN = 20

REQUIRED = ("prefix", "rate")
# `initial_increment` exists for the presets with two increment columns (astpp, magnus):
# there `increment` holds the next increment N and `initial_increment` the first one I.
CANONICAL = (
    "prefix",
    "description",
    "rate",
    "connect_fee",
    "increment",
    "initial_increment",
    "effective_from",
)
PRESETS: Mapping[str, Mapping[str, str]] = {
    "voipbill": {
        name: name
        for name in ("prefix", "description", "rate", "connect_fee", "increment", "effective_from")
    },
    "ictvoip": {
        "prefix": "Prefix",
        "description": "Description",
        "rate": "RateValue",
        "increment": "Increment",
    },
    # ASTPP's `Grace Time` column is not read: SPEC §6 bills every answered second by the
    # increment and has no grace period (see README, "Rate decks").
    "astpp": {
        "prefix": "Code",
        "description": "Destination",
        "connect_fee": "Connection Cost",
        "rate": "Cost/Min",
        "initial_increment": "Initial Increment",
        "increment": "Increment",
    },
    "magnus": {
        "prefix": "prefix",
        "description": "destination",
        "rate": "rateinitial",
        "initial_increment": "initblock",
        "increment": "billingblock",
        "connect_fee": "connectcharge",
    },
}

_PREFIX = re.compile(r"[0-9]{1,15}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SECONDS = re.compile(r"[0-9]{1,5}")
_UNDATED = -math.inf  # SPEC §3: an undated row is older than any dated one


class _CsvReader(Protocol):
    """What csv.reader returns (its class is private)."""

    line_num: int

    def __iter__(self) -> Iterator[list[str]]: ...

    def __next__(self) -> list[str]: ...


class DeckError(ConfigError):
    """A deck that cannot be used; `errors` lists every problem ("line N: ...")."""

    def __init__(self, path: Path, errors: Sequence[str], *, hint: str | None = None) -> None:
        self.path = path
        self.errors = list(errors)
        if len(self.errors) == 1:
            message = f"rate deck {path}: {self.errors[0]}"
        else:
            shown = self.errors[:MAX_ERRORS_SHOWN]
            lines = [f"rate deck {path} refused, {len(self.errors)} problems:"]
            lines += [f"  {error}" for error in shown]
            if len(self.errors) > len(shown):
                lines.append(f"  ... and {len(self.errors) - len(shown)} more")
            message = "\n".join(lines)
        super().__init__(
            message, hint=hint or f"fix the deck; `voipbill deck check {path}` lists every problem"
        )


@dataclass(frozen=True, slots=True)
class DeckRow:
    prefix: str
    description: str
    rate: Decimal  # per minute (SPEC §3)
    connect_fee: Decimal
    increment: Increment | None  # None: the package's increment applies (SPEC §6)
    effective_from: date | None  # None: always in effect, older than any dated row
    line: int  # in the CSV file, for error messages and `voipbill explain`


class Deck:
    """A loaded deck and its prefix index."""

    __slots__ = ("_dated", "_index", "_longest", "path", "rows")

    def __init__(self, path: Path, rows: tuple[DeckRow, ...], timezone: ZoneInfo) -> None:
        self.path = path
        self.rows = rows
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
        """SPEC §3: among rows in effect at `start_epoch`, the longest prefix, then the newest.

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


def column_mapping(preset: str, columns: Mapping[str, str] | None) -> dict[str, str]:
    """The preset's canonical name -> header map, with the `columns` table laid over it."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown deck preset {preset!r}", hint=f"one of {', '.join(PRESETS)}")
    mapping = dict(PRESETS[preset])
    for name, header in (columns or {}).items():
        if name not in CANONICAL:
            raise ConfigError(
                f"deck columns: unknown column name {name!r}", hint=f"one of {', '.join(CANONICAL)}"
            )
        mapping[name] = header
    return mapping


def load_deck(
    path: Path,
    *,
    preset: str = "voipbill",
    columns: Mapping[str, str] | None = None,
    timezone: ZoneInfo,
) -> Deck:
    """Read and check a whole deck; raises DeckError listing every problem."""
    mapping = column_mapping(preset, columns)
    explicit = set(columns or {})
    text = _read_text(path)
    header_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(header_line))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise DeckError(path, [f"line 1: unreadable header: {exc}"]) from None
    positions: dict[str, int] = {}
    for position, name in enumerate(header):
        positions.setdefault(name.strip().lower(), position)
    where: dict[str, int] = {}
    for name, header_name in mapping.items():
        found = positions.get(header_name.strip().lower())
        if found is not None:
            where[name] = found
        elif name in REQUIRED or name in explicit:
            raise DeckError(
                path,
                [
                    f"no {header_name!r} column ({name}, preset {preset}); the header has: "
                    + ", ".join(repr(h) for h in header)
                ],
                hint="pick the preset that matches the file (--preset), or map the column "
                f'in [decks.X.columns], e.g. {name} = "<its header>"',
            )
    # without the pause, the cycle collector doubles the load time of a 100k-row deck
    with no_cyclic_gc():
        return Deck(path, _read_rows(path, reader, where, len(header)), timezone)


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DeckError(path, [f"cannot read it: {exc.strerror or exc}"]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DeckError(
            path,
            [f"line {line}: not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})"],
            hint="save the deck as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)",
        ) from None
    if not text.strip():
        raise DeckError(path, ["the file is empty"], hint="a deck needs a header row and rows")
    return text


def _read_rows(
    path: Path, reader: _CsvReader, where: Mapping[str, int], width: int
) -> tuple[DeckRow, ...]:
    # A missing optional column reads as the empty cell kept at index `width` of each record.
    column = {name: where.get(name, width) for name in CANONICAL}
    at_prefix, at_rate, at_fee = column["prefix"], column["rate"], column["connect_fee"]
    at_initial, at_next, at_day = (
        column["initial_increment"],
        column["increment"],
        column["effective_from"],
    )
    at_description = column["description"]
    two_increments = "initial_increment" in where
    padding = [""] * (width + 1)
    rows: list[DeckRow] = []
    errors: list[str] = []
    first_line: dict[tuple[str, date | None], int] = {}
    # Decks repeat a few rates, increments and dates over 100k rows: parse each text once.
    rates: dict[str, tuple[Decimal | None, str | None]] = {}
    fees: dict[str, tuple[Decimal | None, str | None]] = {}
    increments: dict[tuple[str, str], tuple[Increment | None, str | None]] = {}
    dates: dict[str, tuple[date | None, str | None]] = {}
    previous_end = reader.line_num
    try:
        for record in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if not "".join(record).strip():
                continue  # a blank line carries no row
            problems: list[str] = []
            if len(record) > width:
                if "".join(record[width:]).strip():
                    problems.append(
                        f"{len(record)} fields but the header has {width} "
                        "(a decimal comma in a `,` file must be quoted)"
                    )
                del record[width:]
            record.extend(padding[len(record) :])
            prefix = record[at_prefix].strip()
            digits = prefix[1:] if prefix.startswith("+") else prefix
            if not _PREFIX.fullmatch(digits):
                problems.append(f"prefix {prefix!r} is not 1-15 digits")
            text = record[at_rate].strip()
            if text not in rates:
                rates[text] = _money(text, "rate", required=True)
            rate, problem = rates[text]
            if problem:
                problems.append(problem)
            text = record[at_fee].strip()
            if text not in fees:
                fees[text] = _money(text, "connect_fee", required=False)
            connect_fee, problem = fees[text]
            if problem:
                problems.append(problem)
            increment_key = (record[at_initial].strip(), record[at_next].strip())
            if increment_key not in increments:
                increments[increment_key] = _increment(increment_key, two_increments)
            increment, problem = increments[increment_key]
            if problem:
                problems.append(problem)
            text = record[at_day].strip()
            if text not in dates:
                dates[text] = _effective_from(text)
            effective_from, problem = dates[text]
            if problem:
                problems.append(problem)
            if not problems:
                key = (digits, effective_from)
                if key in first_line:
                    problems.append(
                        f"prefix {digits} effective_from {effective_from or '(none)'} "
                        f"repeats line {first_line[key]}"
                    )
                else:
                    first_line[key] = line
            if problems:
                errors.extend(f"line {line}: {problem}" for problem in problems)
                continue
            assert rate is not None and connect_fee is not None
            rows.append(
                DeckRow(
                    digits,
                    record[at_description].strip(),
                    rate,
                    connect_fee,
                    increment,
                    effective_from,
                    line,
                )
            )
    except csv.Error as exc:
        errors.append(f"line {reader.line_num}: unreadable CSV: {exc}")
    if errors:
        raise DeckError(path, errors)
    if not rows:
        raise DeckError(path, ["no rate rows below the header"])
    return tuple(rows)


def _money(text: str, name: str, *, required: bool) -> tuple[Decimal | None, str | None]:
    if not text:
        return (None, f"{name} is empty") if required else (Decimal(0), None)
    try:
        return parse_decimal(text), None
    except DecimalSyntaxError:
        return None, (
            f"{name} {text!r} is not a plain decimal (no sign, exponent or thousands separator)"
        )


def _increment(key: tuple[str, str], two_columns: bool) -> tuple[Increment | None, str | None]:
    """The row's increment, or None for the package's (SPEC §6); and a problem, if any."""
    initial, following = key
    try:
        if two_columns:
            # SPEC §3: with two increment columns, an empty one takes the other's value
            if not initial and not following:
                return None, None
            initial, following = initial or following, following or initial
            if not (_SECONDS.fullmatch(initial) and _SECONDS.fullmatch(following)):
                raise ValueError(f"{key[0]!r} and {key[1]!r} must be whole seconds")
            return parse_increment(f"{initial}/{following}"), None
        return (parse_increment(following) if following else None), None
    except ValueError as exc:
        return None, f"increment: {exc}"


def _effective_from(text: str) -> tuple[date | None, str | None]:
    if not text:
        return None, None
    try:
        if _DATE.fullmatch(text):
            return date.fromisoformat(text), None
    except ValueError:
        pass
    return None, f"effective_from {text!r} is not a date YYYY-MM-DD"
