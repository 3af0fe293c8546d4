"""Read FusionPBX CDR CSV exports into compact records, one per row.

The export (docs/fusionpbx.md §2) wraps every value in ``"…"`` and never escapes a quote inside a
value, so a caller name like ``ACME "Corp", Inc`` breaks an ordinary CSV parser: it either adds a
column or silently corrupts the value (docs/fusionpbx.md §6). Because every field is wrapped,
stripping the outer quotes and splitting on the literal ``","`` recovers the values exactly; that
is also the fast path, which is why this reader runs near ``csv.reader`` speed. Rows that need
it fall back to ``csv`` (an RFC-4180 file, e.g. one re-saved by a spreadsheet, for ``--cdr-file``).

Columns are mapped by header name, case-insensitively, never by position: the column set depends
on the FusionPBX version and the permissions of the key (docs/fusionpbx.md §2). A row that still
cannot be split into the header's column count is reported in ``problems``, never dropped
silently (rules §4). Time comes from ``start_epoch`` only (docs/fusionpbx.md §6).

Input completeness (rules §7): every data row is yielded or reported as bad, and the reader finds
the bad ones before rating leaves any row out (a b-leg, a repeated uuid): a row of the wrong
field count, a last line with no line end (FusionPBX ends every line with one: the export was
cut off), an empty or unreadable ``start_epoch``, an unreadable ``billsec``. (A line that is
not UTF-8 is used, with replacement characters, and reported as a problem that is not bad.) A
0-byte input, or one with no header line, is not an export (CdrFormatError); the empty export
``"\n\n"`` is one with no rows.
"""

from __future__ import annotations

import csv
import io
import os
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, NamedTuple

from voipbill.errors import BadResponseError, UsageError
from voipbill.files import sniff_delimiter
from voipbill.text import shown


class CdrRecord(NamedTuple):
    """One CDR row; a tuple, not a dict, because a rating run can hold a million of them."""

    line: int  # 1-based physical line number in its source
    xml_cdr_uuid: str
    start_epoch: int | None  # None when empty or not an integer (rating reports and skips it)
    billsec: int | None  # empty -> 0; None when not a whole number
    direction: str  # stripped, lower-cased
    leg: str  # stripped, lower-cased; '' or missing column -> 'a' (rules §4.1)
    extension: str
    caller_id_number: str
    caller_destination: str
    destination_number: str
    status: str  # stripped, lower-cased, '' when missing
    domain_name: str | None  # None when the export has no domain_name column


class CdrProblem(NamedTuple):
    source: str
    line: int
    message: str
    text: str  # the raw line, truncated to about 200 characters
    # a bad row (rules §7: not used; the run fails without --skip-bad-rows), or only a warning
    # about a row that is used (undecodable bytes replaced)
    bad: bool = True


class CdrFormatError(BadResponseError):
    """Not a CDR export at all: an HTML page, a PHP error, or required columns missing."""


REQUIRED_COLUMNS = (
    "xml_cdr_uuid",
    "start_epoch",
    "billsec",
    "direction",
    "caller_destination",
    "destination_number",
    "extension",
)
# `leg` is optional here (a missing column counts as a, rules §4.1); test-connection wants it too.

# No call lasts 115 days; a larger billsec is a corrupt row, and would overflow Decimal
# precision in the cost (28 digits), so it is a bad row rather than billed.
MAX_BILLSEC = 10_000_000

_TEXT_LIMIT = 200
_EXCERPT_LIMIT = 40
_WHOLE = re.compile(r"\s*([+-]?[0-9]+)(?:\.0*)?\s*", re.ASCII)
_TAG = re.compile(r"<[^>]*>")


class _Layout:
    """Where each needed column sits in this export, found once from the header."""

    def __init__(self, names: list[str], delimiter: str) -> None:
        self.count = len(names)
        self.delimiter = delimiter
        self.separator = f'"{delimiter}"'
        position: dict[str, int] = {}
        for index, name in enumerate(names):
            position.setdefault(name, index)  # the first of duplicated names wins
        self.missing = [name for name in REQUIRED_COLUMNS if name not in position]
        self.position = position


def header_columns(text: str) -> list[str]:
    """The column names (stripped, lower-cased) of the first non-blank line of an export.

    ``[]`` for the empty export ``"\\n\\n"``. Never raises; it does not judge the names.
    """
    start = 0
    while start <= len(text):
        end = text.find("\n", start)
        end = len(text) if end == -1 else end
        line = text[start:end].rstrip("\r")
        if start == 0:
            line = line.removeprefix("\ufeff")
        if line and not line.isspace():
            names = _split_header(line)
            return names if names is not None else []
        start = end + 1
    return []


def read_cdrs(
    lines: Iterable[str], *, source: str, problems: list[CdrProblem]
) -> Iterator[CdrRecord]:
    """Yield one CdrRecord per data row of an export, in file order.

    ``lines`` are physical lines with their line ends (a last line without one was cut off): an
    open text file, or ``io.StringIO(body, newline="\\n")`` for a response body
    (``str.splitlines`` would also split on characters such as U+2028 and shift the line
    numbers). Blank lines and a UTF-8 BOM are
    skipped; the ``"\\n\\n"`` empty export gives no rows. Rows that cannot be read (bad rows)
    are appended to ``problems`` and not yielded. Raises CdrFormatError (lazily, while
    iterating) when the input is not a CDR export: 0 bytes, no header line, missing columns.
    """
    iterator = iter(lines)
    only_line_ends = True
    line_number = 0
    for line_number, raw in enumerate(iterator, start=1):
        text = raw.rstrip("\r\n")
        if line_number == 1:
            text = text.removeprefix("\ufeff")
        if text and not text.isspace():
            _reject_non_csv(text, iterator, source, line_number)
            layout = _layout(text, source)
            yield from _rows(iterator, line_number, layout, source, problems)
            return
        only_line_ends = only_line_ends and not text
    if line_number == 0:
        raise CdrFormatError(
            f"{source}: 0 bytes: not a FusionPBX CDR export (the file is empty)",
            hint="FusionPBX writes a header line, or two line ends when there are no calls; "
            "export the CDRs again",
        )
    if not only_line_ends:
        raise CdrFormatError(
            f"{source}: no header line: not a FusionPBX CDR export (only blank lines)",
            hint="export the CDRs again",
        )


def read_cdr_file(path: Path, *, problems: list[CdrProblem]) -> Iterator[CdrRecord]:
    """read_cdrs over a file (``--cdr-file``); UsageError when it cannot be opened or read.

    The file is decoded as UTF-8; an undecodable line is read with replacement characters and
    reported in ``problems``. ``-`` is standard input (a pipe from another program).
    """
    if str(path) == "-":
        return _read_handle(_stdin_bytes(), Path("stdin"), problems)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise UsageError(
            f"cannot read CDR file {path}: {exc.strerror or exc}",
            hint="give --cdr-file the path of a FusionPBX CSV export",
        ) from None
    return _read_handle(handle, path, problems)


def _stdin_bytes() -> BinaryIO:
    """Standard input as bytes, through its own descriptor: reading it to the end and closing
    it leaves sys.stdin open."""
    try:
        return os.fdopen(os.dup(sys.stdin.fileno()), "rb")
    except (OSError, ValueError):  # io.UnsupportedOperation: a text-only stdin (tests)
        return io.BytesIO(sys.stdin.read().encode("utf-8"))


def _read_handle(handle: BinaryIO, path: Path, problems: list[CdrProblem]) -> Iterator[CdrRecord]:
    with handle:
        try:
            yield from read_cdrs(
                _decoded_lines(handle, str(path), problems), source=str(path), problems=problems
            )
        except OSError as exc:
            raise UsageError(f"cannot read CDR file {path}: {exc.strerror or exc}") from None


def _decoded_lines(handle: BinaryIO, source: str, problems: list[CdrProblem]) -> Iterator[str]:
    for line_number, raw in enumerate(handle, start=1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("utf-8", "replace")
            message = "not valid UTF-8; undecodable bytes were replaced with U+FFFD"
            problems.append(CdrProblem(source, line_number, message, _clip(text), bad=False))
            yield text


def _layout(header: str, source: str) -> _Layout:
    if "\x00" in header:
        # binary data (a zip, a PDF, an executable): a few escaped bytes say what it is
        raise CdrFormatError(
            f"{source}: binary data, not a FusionPBX CSV export (it starts with "
            f"{_clip(header, _EXCERPT_LIMIT)})",
            hint="give --cdr-file the CSV file FusionPBX exported, or the output of voipbill pull",
        )
    names = _split_header(header)
    if names is None:
        raise CdrFormatError(f"{source}: the first line is not a CSV header: {_clip(header)}")
    layout = _Layout(names, sniff_delimiter(header))
    if layout.missing:
        found = ", ".join(name for name in names if name) or "none"
        raise CdrFormatError(
            f"{source}: not a FusionPBX CDR export: missing column(s) "
            f"{', '.join(layout.missing)} (found: {_clip(found)})",
            hint="the key's group may lack the xml_cdr column permissions; "
            "run voipbill test-connection",
        )
    return layout


def _split_header(line: str) -> list[str] | None:
    # A spreadsheet in a decimal-comma locale saves with `;` (the same rule as decks, rules §3).
    try:
        names = next(csv.reader([line], delimiter=sniff_delimiter(line)))
    except csv.Error:
        return None
    return [name.strip().lower() for name in names]


def _kind_of_non_csv(text: str) -> str | None:
    """Which of the bodies FusionPBX sends instead of CSV this line is of (docs/fusionpbx.md §5)."""
    lowered = text.strip().lower()
    if lowered.startswith(("<b>fatal error", "fatal error", "php fatal error", "parse error")):
        return "php"
    if lowered.startswith("<"):
        return "html"
    if lowered == "access denied":
        return "denied"
    return None


def _reject_non_csv(text: str, following: Iterator[str], source: str, line_number: int) -> None:
    """Raise CdrFormatError when `text` starts an HTML page, a PHP error or `access denied`.

    On the first line it means the whole body is not an export; later, that the export was cut
    off (PHP runs out of memory on big exports and prints its error mid-body, docs/fusionpbx.md
    §2).
    """
    kind = _kind_of_non_csv(text)
    if kind is None:
        return
    if kind == "html":
        # A PHP error page starts with "<br />"; look a few lines on for the error itself.
        for _, later in zip(range(20), following, strict=False):
            if _kind_of_non_csv(later) == "php":
                kind, text = "php", later
                break
    where = source if line_number == 1 else f"{source} line {line_number}"
    cut = "" if line_number == 1 else "the export was cut off: "
    stripped = text.strip()
    if kind == "php":
        detail = " ".join(_TAG.sub("", stripped).split())
        raise CdrFormatError(
            f"{where}: {cut}the server sent a PHP error instead of CDRs: {_clip(detail)}",
            hint="a date in the wrong format, or the export ran out of memory (try smaller chunks)",
        )
    if kind == "denied":
        raise CdrFormatError(
            f"{where}: {cut}the server said 'access denied' instead of sending CDRs",
            hint="the key's group needs xml_cdr_export (and the client IP must pass domain cidr)",
        )
    raise CdrFormatError(
        f"{where}: {cut}an HTML page, not a FusionPBX CDR export: {_clip(stripped)}",
        hint="run voipbill test-connection to check the URL and key",
    )


def _rows(
    lines: Iterator[str],
    line_number: int,
    layout: _Layout,
    source: str,
    problems: list[CdrProblem],
) -> Iterator[CdrRecord]:
    count = layout.count
    separator = layout.separator
    quotes = 2 * count  # a row with no quote inside any value has exactly this many
    position = layout.position
    i_uuid = position["xml_cdr_uuid"]
    i_epoch = position["start_epoch"]
    i_billsec = position["billsec"]
    i_direction = position["direction"]
    i_extension = position["extension"]
    i_caller = position.get("caller_id_number")
    i_destination = position["caller_destination"]
    i_number = position["destination_number"]
    i_leg = position.get("leg")
    i_status = position.get("status")
    i_domain = position.get("domain_name")
    new = tuple.__new__
    for raw in lines:
        line_number += 1
        fields: list[str] | None = None
        # The fast path: a FusionPBX row with no quote inside any value (nearly all of them).
        if raw.endswith('"\n') and raw[0] == '"' and raw.count('"') == quotes:
            unwrapped = raw[1:-2].split(separator)
            if len(unwrapped) == count:
                fields = unwrapped
        text = raw
        if fields is None:
            text = raw.rstrip("\r\n")
            if not text or text.isspace():
                continue
            if not raw.endswith("\n"):
                message = "the last line has no line end: the export was cut off"
                problems.append(CdrProblem(source, line_number, message, _clip(text)))
                continue
            fields = _split_slowly(text, layout)
        if fields is None:
            _reject_non_csv(text, lines, source, line_number)
            found = _field_count(text, layout)
            message = f"expected {count} fields as in the header, found {found}"
            problems.append(CdrProblem(source, line_number, message, _clip(text)))
            continue
        epoch = fields[i_epoch]
        billsec = fields[i_billsec]
        start_epoch = int(epoch) if epoch.isascii() and epoch.isdigit() else _integer(epoch)
        seconds = int(billsec) if billsec.isascii() and billsec.isdigit() else _billsec(billsec)
        if start_epoch is None or seconds is None or seconds > MAX_BILLSEC:
            what, value = ("start_epoch", epoch) if start_epoch is None else ("billsec", billsec)
            uuid = shown(fields[i_uuid].strip()) or "no uuid"
            message = f"{uuid}: unreadable {what} {_clip(value, _EXCERPT_LIMIT)!r}"
            problems.append(CdrProblem(source, line_number, message, _clip(text)))
            continue
        yield new(
            CdrRecord,
            (
                line_number,
                shown(fields[i_uuid].strip()),  # the call's key, shown as it is everywhere
                start_epoch,
                seconds,
                fields[i_direction].strip().lower(),
                (fields[i_leg].strip().lower() or "a") if i_leg is not None else "a",
                fields[i_extension],
                fields[i_caller] if i_caller is not None else "",
                fields[i_destination],
                fields[i_number],
                fields[i_status].strip().lower() if i_status is not None else "",
                fields[i_domain] if i_domain is not None else None,
            ),
        )


def _split_slowly(text: str, layout: _Layout) -> list[str] | None:
    """The fields of a row the fast path could not take, or None when nothing fits the header."""
    count = layout.count
    unwrapped: list[str] | None = None
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        unwrapped = text[1:-1].split(layout.separator)
        if len(unwrapped) != count:
            unwrapped = None
        elif '""' not in text[1:-1].replace(layout.separator, "\x00"):
            # Unescaped quotes inside a value, both shapes of docs/fusionpbx.md §6.
            return unwrapped
    try:
        fields = next(csv.reader([text], delimiter=layout.delimiter))
    except csv.Error:
        fields = []
    if len(fields) == count:
        return fields  # RFC-4180 quoting, e.g. a spreadsheet's "Smith, John ""JJ"""
    return unwrapped


def _field_count(text: str, layout: _Layout) -> int:
    try:
        return len(next(csv.reader([text], delimiter=layout.delimiter)))
    except csv.Error:
        return len(text.split(layout.delimiter))


def _integer(text: str) -> int | None:
    match = _WHOLE.fullmatch(text)
    return int(match[1]) if match else None


def _billsec(text: str) -> int | None:
    if not text or text.isspace():
        return 0
    value = _integer(text)
    return value if value is not None and value >= 0 else None


def _clip(text: str, limit: int = _TEXT_LIMIT) -> str:
    """A short excerpt of source text for a message, safe on a terminal: control characters
    (a binary file's bytes, escape sequences) are shown escaped, as `\x1b`."""
    pieces = [char if char.isprintable() else _escaped(char) for char in text.rstrip("\n")]
    if sum(map(len, pieces)) <= limit:
        return "".join(pieces)
    shown: list[str] = []
    length = 0
    for piece in pieces:
        if length + len(piece) > limit - 1:
            break  # never cut an escape in two
        shown.append(piece)
        length += len(piece)
    return "".join(shown) + "…"


def _escaped(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
