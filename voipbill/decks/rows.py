"""The rows of a deck (rules §3): each record's cells checked, parsed and turned into rows.

Everything `deck check` accepts must rate: cells are bounded (12 decimals, rates and fees
under 10 000) so no cost can overflow the decimal context later.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from voipbill.decks.layout import (
    RATE_UNITS,
    TWO_INCREMENTS,
    ZERO_INCREMENT_IS_EMPTY,
    ColumnMap,
    DeckLayout,
)
from voipbill.decks.model import DeckRow
from voipbill.increments import Increment, parse_increment
from voipbill.money import DecimalSyntaxError, parse_decimal

MAX_DECIMALS = 12
LIMIT = Decimal(10_000)  # a rate per minute or a connect fee this large is a broken cell
INACTIVE = frozenset({"inactive", "0", "false"})
ACTIVE = frozenset({"", "active", "1", "true"})
INACTIVE_ROWS, ORIGINATION_ROWS = "inactive (Status)", "priced by the caller's origin"

_PREFIX = re.compile(r"[0-9]{1,15}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SECONDS = re.compile(r"[0-9]{1,5}")

_Parsed = tuple[Decimal | None, str | None]


class CsvReader(Protocol):
    """What csv.reader returns (its class is private)."""

    line_num: int

    def __iter__(self) -> Iterator[list[str]]: ...

    def __next__(self) -> list[str]: ...


class Rows:
    """The row loop of one deck: each distinct cell text is parsed once (decks repeat a few
    rates, increments and dates over 100k rows)."""

    def __init__(self, layout: DeckLayout, columns: ColumnMap) -> None:
        self.layout = layout
        self.columns = columns
        self.rate_scale = Decimal(RATE_UNITS[layout.rate_unit])
        self.zero_is_empty = layout.preset in ZERO_INCREMENT_IS_EMPTY
        self.two_increments = any(name in columns.where for name in TWO_INCREMENTS)
        self.rates: dict[str, _Parsed] = {}
        self.fees: dict[str, _Parsed] = {}
        self.increments: dict[tuple[str, str], tuple[Increment | None, str | None]] = {}
        self.dates: dict[str, tuple[date | None, str | None]] = {}
        self.seconds: dict[str, int] = {}

    def read(
        self, reader: CsvReader
    ) -> tuple[list[DeckRow], dict[str, tuple[int, ...]], list[str]]:
        columns = self.columns
        where = columns.where
        width = columns.width
        # A missing optional column reads as the empty cell kept at index `width` of a record.
        at_prefix, at_rate = where["prefix"], where["rate"]
        at_fee = where.get("connect_fee", width)
        at_description = where.get("description", width)
        at_day = where.get("effective_from", width)
        if self.two_increments:
            at_initial = where.get("initial_increment", width)
            at_next = where.get("next_increment", width)
        else:
            at_initial, at_next = width, where.get("increment", width)
        at_status = where.get("status")
        at_origin = where.get("origination_prefixes")
        at_disconnect = where.get("disconnect_fee")
        at_no_charge = where.get("no_charge_seconds")
        at_included = where.get("included_seconds")
        prepend = self.layout.prefix_prepend
        ignore_extra = columns.extra_cells_ignored
        padding = [""] * (width + 1)
        rates, fees, increments, dates = self.rates, self.fees, self.increments, self.dates
        rows: list[DeckRow] = []
        append, new = rows.append, tuple.__new__
        errors: list[str] = []
        inactive: list[int] = []
        by_origin: list[int] = []
        first_line: dict[tuple[str, date | None], int] = {}
        previous_end = reader.line_num
        try:
            for record in reader:
                line = previous_end + 1
                previous_end = reader.line_num
                if not "".join(record).strip():
                    continue  # a blank line carries no row
                problems: list[str] = []
                if len(record) > width:
                    if not ignore_extra and "".join(record[width:]).strip():
                        problems.append(
                            f"{len(record)} fields but the header has {width} "
                            "(a decimal comma in a `,` file must be quoted)"
                        )
                    del record[width:]
                record.extend(padding[len(record) :])
                # rules §3: a row the deck itself leaves out is not checked further
                if at_status is not None:
                    status = record[at_status].strip().lower()
                    if status in INACTIVE:
                        inactive.append(line)
                        continue
                    if status not in ACTIVE:
                        problems.append(
                            f"Status {record[at_status].strip()!r} is not Active or Inactive "
                            "(or 1/0, true/false)"
                        )
                if at_origin is not None and record[at_origin].strip():
                    by_origin.append(line)
                    continue
                cell = record[at_prefix]
                if prepend or "," in cell:
                    prefixes = self._prefixes(cell, prepend, problems)
                else:
                    digits = cell.strip()
                    if digits.startswith("+"):
                        digits = digits[1:]
                    if _PREFIX.fullmatch(digits):
                        prefixes = [digits]
                        if digits.startswith("0"):
                            problems.append(_national_form(digits))
                    else:
                        prefixes = []
                        problems.append(f"prefix {cell.strip()!r} is not 1-15 digits")
                text = record[at_rate].strip()
                if text not in rates:
                    rates[text] = self._rate(text)
                rate, problem = rates[text]
                if problem:
                    problems.append(problem)
                text = record[at_fee].strip()
                if text not in fees:
                    fees[text] = _amount(text, "connect_fee", required=False)
                connect_fee, problem = fees[text]
                if problem:
                    problems.append(problem)
                if at_disconnect is not None:
                    self._no_disconnect_fee(record[at_disconnect].strip(), problems)
                increment_key = (record[at_initial].strip(), record[at_next].strip())
                if increment_key not in increments:
                    increments[increment_key] = self._increment(increment_key)
                increment, problem = increments[increment_key]
                if problem:
                    problems.append(problem)
                text = record[at_day].strip()
                if text not in dates:
                    dates[text] = self._effective_from(text)
                effective_from, problem = dates[text]
                if problem:
                    problems.append(problem)
                no_charge = included = None
                if at_no_charge is not None:
                    no_charge = self._seconds(record[at_no_charge], "no_charge_seconds", problems)
                if at_included is not None:
                    included = self._seconds(record[at_included], "included_seconds", problems)
                if not problems:
                    for digits in prefixes:
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
                description = record[at_description].strip()
                for digits in prefixes:
                    append(
                        new(
                            DeckRow,
                            (
                                digits,
                                description,
                                rate,
                                connect_fee,
                                increment,
                                effective_from,
                                line,
                                no_charge,
                                included,
                            ),
                        )
                    )
        except csv.Error as exc:
            errors.append(f"line {reader.line_num}: unreadable CSV: {exc}")
        left_out = {}
        if inactive:
            left_out[INACTIVE_ROWS] = tuple(inactive)
        if by_origin:
            left_out[ORIGINATION_ROWS] = tuple(by_origin)
        return rows, left_out, errors

    @staticmethod
    def _prefixes(cell: str, prepend: str, problems: list[str]) -> list[str]:
        """rules §3: a cell may hold several prefixes, `"8170, 8180"`: one row each."""
        pieces = cell.split(",") if "," in cell else (cell,)
        prefixes = []
        for piece in pieces:
            written = piece.strip()
            digits = prepend + (written[1:] if written.startswith("+") else written)
            if _PREFIX.fullmatch(digits):
                prefixes.append(digits)
                if digits.startswith("0"):
                    problems.append(_national_form(digits))
            elif prepend and written:
                problems.append(f"prefix {written!r} is not 1-15 digits with {prepend!r} in front")
            else:
                problems.append(f"prefix {written!r} is not 1-15 digits")
        return prefixes

    def _rate(self, text: str) -> _Parsed:
        rate, problem = _amount(text, "rate", required=True, scale=self.rate_scale)
        if problem is None and rate is not None and self.rate_scale != 1 and rate >= LIMIT:
            return None, f"rate {text!r} per second is {LIMIT} or more per minute"
        return rate, problem

    def _no_disconnect_fee(self, text: str, problems: list[str]) -> None:
        if text not in self.fees:
            self.fees[text] = _amount(text, "disconnect_fee", required=False)
        fee, problem = self.fees[text]
        if problem:
            problems.append(problem.replace("connect_fee", "disconnect fee", 1))
        elif fee:
            # voipbill bills no disconnect fee: ignoring it would under-bill every call
            problems.append(
                f"disconnect fee {text}: voipbill bills no disconnect fee, so a deck that "
                "charges one is refused (set it to 0, or add it to the connect fee)"
            )

    def _increment(self, key: tuple[str, str]) -> tuple[Increment | None, str | None]:
        """The row's increment, or None for the package's (rules §6); and a problem, if any."""
        initial, following = key
        if self.zero_is_empty:
            initial = "" if initial and not initial.strip("0") else initial
            following = "" if following and not following.strip("0") else following
        try:
            if self.two_increments:
                # rules §3: with two increment columns, an empty one takes the other's value
                if not initial and not following:
                    return None, None
                initial, following = initial or following, following or initial
                if not (_SECONDS.fullmatch(initial) and _SECONDS.fullmatch(following)):
                    raise ValueError(f"{key[0]!r} and {key[1]!r} must be whole seconds")
                return parse_increment(f"{initial}/{following}"), None
            return (parse_increment(following) if following else None), None
        except ValueError as exc:
            return None, f"increment: {exc}"

    def _effective_from(self, text: str) -> tuple[date | None, str | None]:
        if not text:
            return None, None
        date_format = self.layout.date_format
        try:
            if date_format is not None:
                return datetime.strptime(text, date_format).date(), None
            if _DATE.fullmatch(text):
                return date.fromisoformat(text), None
        except ValueError:
            pass
        return None, f"effective_from {text!r} is not a date {date_format or 'YYYY-MM-DD'}"

    def _seconds(self, cell: str, name: str, problems: list[str]) -> int | None:
        """A per-row seconds cell: empty is the package's (None), `0` is a value."""
        text = cell.strip()
        if not text:
            return None
        value = self.seconds.get(text)
        if value is None:
            if not _SECONDS.fullmatch(text):
                problems.append(f"{name} {text!r} is not a whole number of seconds (0-99999)")
                return None
            value = self.seconds[text] = int(text)
        return value


def _amount(text: str, name: str, *, required: bool, scale: Decimal = Decimal(1)) -> _Parsed:
    if not text:
        return (None, f"{name} is empty") if required else (Decimal(0), None)
    try:
        value = parse_decimal(text)
    except DecimalSyntaxError:
        return None, (
            f"{name} {text!r} is not a plain decimal (no sign, exponent or thousands separator)"
        )
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # parse_decimal gives finite numbers only
    if -exponent > MAX_DECIMALS:
        return None, f"{name} {text!r} has more than {MAX_DECIMALS} digits after the point"
    if value >= LIMIT:
        return None, f"{name} {text!r} is {LIMIT} or more"
    return (value * scale if scale != 1 else value), None


def _national_form(prefix: str) -> str:
    """rules §3: a prefix starting with 0 never matches a normalised (E.164) number."""
    return (
        f"prefix {prefix!r} starts with 0 and can never match a normalised number (E.164 "
        "has no leading 0): the deck is written in national form; write the country code in "
        "place of the trunk 0 (e.g. 61 3 for 03 in Australia)"
    )
