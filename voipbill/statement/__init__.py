"""Customer statements: one service's usage for a period, as HTML or PDF.

`make_statements(config, services, period, sources, ledger)` makes each service's statement
from its committed run, or a preview rated now; `build_statement(calls, ...)` makes one frozen
`StatementData` from a period's rated calls; `render_html(data)` and `render_pdf(data)` print
it, and `render_for(data, path)` picks by the file name (`.pdf` is PDF, anything else HTML).
"""

from pathlib import Path

from voipbill.statement.build import build_statement, logo_data_uri
from voipbill.statement.make import Statements, make_statements
from voipbill.statement.model import CallLine, DayUsage, Operator, StatementData, UsageRow
from voipbill.statement.render import (
    PDF_EXTRA_HINT,
    check_pdf_support,
    render_html,
    render_pdf,
)


def render_for(data: StatementData, path: Path, *, paper: str = "a4") -> bytes:
    """The bytes of the statement file `path` asks for: PDF for `.pdf`, else UTF-8 HTML."""
    if path.suffix.lower() == ".pdf":
        return render_pdf(data, paper=paper)
    return render_html(data).encode("utf-8")


__all__ = [
    "PDF_EXTRA_HINT",
    "CallLine",
    "DayUsage",
    "Operator",
    "StatementData",
    "Statements",
    "UsageRow",
    "build_statement",
    "check_pdf_support",
    "logo_data_uri",
    "make_statements",
    "render_for",
    "render_html",
    "render_pdf",
]
