"""Reading a carrier's deck CSV (rules §3) into a `Deck`.

A deck is read whole and refused whole: every bad line is reported with its number, and a
deck with any problem rates nothing (a silently dropped row would bill its calls by a shorter,
usually cheaper, prefix). Only what the deck itself says leaves a row out (an inactive row, a
row priced by the caller's origin), and those are counted for `deck check`.

The cells themselves are checked in `voipbill.decks.rows`.
"""

from __future__ import annotations

import csv
import io
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from voipbill.bulk import no_cyclic_gc
from voipbill.decks.layout import (
    RATE_UNITS,
    DeckLayout,
    column_map,
    headerless_map,
)
from voipbill.decks.model import Deck, DeckError, LoadReport
from voipbill.decks.rows import Rows
from voipbill.files import sniff_delimiter


def check_command(config_path: Path, deck_name: str) -> str:
    """The `deck check` command that reads a configured deck exactly as `rate` does."""
    return f"voipbill deck check --config {_quoted(str(config_path))} --deck {_quoted(deck_name)}"


def _quoted(text: str) -> str:
    return shlex.quote(text)


def load_deck(
    path: Path,
    *,
    timezone: ZoneInfo,
    preset: str = "voipbill",
    columns: Mapping[str, str | Sequence[str]] | None = None,
    layout: DeckLayout | None = None,
    check_command: str | None = None,
) -> Deck:
    """Read and check a whole deck; raises DeckError listing every problem.

    `layout` (from the config) replaces `preset` and `columns`; `check_command` is the
    `deck check` command named in the error's hint (default: the one for `path`, `preset`).
    """
    layout = layout or DeckLayout.of(preset, columns)
    layout.check()
    if check_command is None:
        check_command = f"voipbill deck check {_quoted(str(path))} --preset {layout.preset}"
    text = _read_text(path, check_command)
    header_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(header_line))
    if layout.header:
        try:
            header = next(reader)
        except (StopIteration, csv.Error) as exc:
            raise DeckError(
                path, [f"line 1: unreadable header: {exc}"], check_command=check_command
            ) from None
        columns_found, problems, hint = column_map(header, layout)
        if problems:
            raise DeckError(path, problems, hint=hint, check_command=check_command)
    else:
        columns_found = headerless_map(layout)
    # without the pause, the cycle collector doubles the load time of a 100k-row deck
    with no_cyclic_gc():
        rows, left_out, errors = Rows(layout, columns_found).read(reader)
    if errors:
        raise DeckError(path, errors, check_command=check_command)
    if not rows:
        left = sum(len(lines) for lines in left_out.values())
        reason = f" ({left} left out: see `deck check`)" if left else ""
        raise DeckError(
            path, [f"no rate rows below the header{reason}"], check_command=check_command
        )
    report = LoadReport(
        columns=tuple(columns_found.read()),
        ignored=tuple(columns_found.ignored()),
        near_misses=tuple(columns_found.near_misses(layout)),
        extra_cells_ignored=columns_found.extra_cells_ignored,
        left_out=left_out,
        settings=_settings(layout),
    )
    with no_cyclic_gc():
        return Deck(path, tuple(rows), timezone, report)


def _settings(layout: DeckLayout) -> tuple[tuple[str, str], ...]:
    shown = []
    if not layout.header:
        shown.append(("header", "false"))
    if layout.prefix_prepend:
        shown.append(("prefix_prepend", repr(layout.prefix_prepend)))
    if layout.rate_unit != "minute":
        shown.append(("rate_unit", f"{layout.rate_unit} (rates x {RATE_UNITS[layout.rate_unit]})"))
    if layout.date_format is not None:
        shown.append(("date_format", repr(layout.date_format)))
    return tuple(shown)


def _read_text(path: Path, check_command: str) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DeckError(
            path, [f"cannot read it: {exc.strerror or exc}"], check_command=check_command
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DeckError(
            path,
            [f"line {line}: not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})"],
            hint="save the deck as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)",
            check_command=check_command,
        ) from None
    if not text.strip():
        raise DeckError(
            path,
            ["the file is empty"],
            hint="a deck needs a header row and rows",
            check_command=check_command,
        )
    return text
