"""A StatementData as one self-contained HTML file, or as PDF through WeasyPrint.

The HTML has its CSS and the chart inline and no script or external URL, so it can be mailed
or opened offline. Jinja2's autoescaping turns every text into text: a caller ID such as
`<script>` from a CDR shows as written. The PDF is made from that HTML; WeasyPrint is an
optional extra (`voipbill[pdf]`), imported only when a PDF is asked for.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup

from voipbill.errors import UsageError
from voipbill.money import format_amount, minor_unit
from voipbill.rating import LATE, LOCAL, NO_CHARGE, UNANSWERED, UNRATED
from voipbill.statement.chart import daily_chart
from voipbill.statement.model import CallLine, StatementData

PDF_EXTRA_HINT = "pip install 'voipbill[pdf]'"
PAPER_SIZES = ("a4", "letter")
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_STATUS_TAGS = {
    LATE: "late call",
    NO_CHARGE: "no charge",
    UNANSWERED: "unanswered",
    LOCAL: "local",
    UNRATED: "unrated",
}

_environment = jinja2.Environment(
    loader=jinja2.PackageLoader("voipbill.statement", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def render_html(data: StatementData) -> str:
    """The statement as one HTML document (a str; write it as UTF-8)."""
    zone = ZoneInfo(data.timezone)
    digits = data.rounding_digits

    def amount(value: Decimal) -> str:
        return format_amount(value, digits)

    def cost(call: CallLine) -> str:
        return "—" if call.cost is None else format_amount(call.cost, digits)

    def status_tag(call: CallLine) -> str:
        if call.free_seconds and call.status in (LATE, "rated"):
            free = "free minutes" if call.free_seconds == call.billed_seconds else "part free"
            return f"{_STATUS_TAGS[LATE]}, {free}" if call.status == LATE else free
        return _STATUS_TAGS.get(call.status, "")

    def local_time(moment: datetime | None) -> str:
        assert moment is not None
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")

    template = _environment.get_template("statement.html.j2")
    return template.render(
        s=data,
        document_date=_w3c_date(data.made_at),
        period_name=_period_name(data),
        chart=daily_chart(data.days, data.currency, digits),
        minor_digits=minor_unit(data.currency),
        minor_unit_name=_minor_unit_name(data.currency),
        amount=amount,
        cost=cost,
        status_tag=status_tag,
        local_time=local_time,
        duration=_duration,
        css_string=_css_string,
    )


def render_pdf(data: StatementData, *, paper: str = "a4") -> bytes:
    """The statement as PDF on A4 or Letter; the same bytes for the same committed run.

    The document dates are the run's commit time (the HTML's dcterms.created and modified);
    without them WeasyPrint would stamp the current time and no two renders would match. The
    embedded fonts carry that time too (`_fonts_dated`).
    """
    if paper not in PAPER_SIZES:
        raise UsageError(f"unknown paper size {paper!r}", hint=f"one of {', '.join(PAPER_SIZES)}")
    weasyprint = _import_weasyprint()
    # The logo is a data: URI and nothing is linked: any other URL would be a fetch made
    # while rendering a customer's statement, so it is refused rather than made.
    fetcher = weasyprint.URLFetcher(allowed_protocols=["data"])
    document = weasyprint.HTML(string=render_html(data), url_fetcher=fetcher)
    size = weasyprint.CSS(string=f"@page {{ size: {paper}; }}")
    with _fonts_dated(data.made_at):
        pdf: bytes = document.write_pdf(stylesheets=[size])
    return pdf


_SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"
_environment_lock = threading.Lock()


@contextmanager
def _fonts_dated(moment: datetime) -> Iterator[None]:
    """Date the fonts embedded while inside at `moment`, not at the current second.

    WeasyPrint subsets each font it embeds: with HarfBuzz's subsetting library when the
    system has it, else with fontTools, which stamps the subset font's `head.modified` with
    the current second; two renders a second apart then differ in those bytes. fontTools
    reads the reproducible-builds variable SOURCE_DATE_EPOCH instead when it is set, so it
    is set for the render (and the caller's value, if any, put back after).
    """
    with _environment_lock:
        before = os.environ.get(_SOURCE_DATE_EPOCH)
        os.environ[_SOURCE_DATE_EPOCH] = str(int(moment.timestamp()))
        try:
            yield
        finally:
            if before is None:
                del os.environ[_SOURCE_DATE_EPOCH]
            else:
                os.environ[_SOURCE_DATE_EPOCH] = before


def check_pdf_support() -> None:
    """UsageError naming the `pdf` extra when WeasyPrint cannot be imported: asked before a
    run is rated, so a missing extra fails at once."""
    _import_weasyprint()


def _import_weasyprint() -> Any:
    try:
        import weasyprint  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        raise UsageError(
            "a PDF statement needs WeasyPrint, which is not installed",
            hint=f"{PDF_EXTRA_HINT}, or write the statement as .html",
        ) from None
    except OSError as exc:  # WeasyPrint found, but not the system's Pango library
        raise UsageError(
            f"a PDF statement needs WeasyPrint and the Pango library: {exc}",
            hint=f"install Pango (e.g. apt-get install libpango-1.0-0), then {PDF_EXTRA_HINT}",
        ) from None
    return weasyprint


def _w3c_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _period_name(data: StatementData) -> str:
    first, last = data.first_day, data.last_day
    if re.fullmatch(r"\d{4}-\d{2}", data.period_label):
        return f"{_MONTHS[first.month - 1]} {first.year}"
    return f"{first.isoformat()} to {last.isoformat()}"


def _minor_unit_name(currency: str) -> str:
    digits = minor_unit(currency)
    if digits == 2:
        return "cent"
    return "whole unit" if digits == 0 else f"{digits} decimals"


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def _css_string(text: str) -> Markup:
    """Text as a quoted CSS string; anything but letters, digits and spaces is a CSS escape."""
    escaped = "".join(
        char if char.isascii() and (char.isalnum() or char == " ") else f"\\{ord(char):x} "
        for char in text
    )
    return Markup(f'"{escaped}"')
