"""Customer statements as PDF: same bytes each time, its text, paper sizes, the optional extra."""

from __future__ import annotations

import importlib.abc
import io
import itertools
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import pytest

from tests.statementhelpers import call, epoch, november_calls, statement
from voipbill import statement as statement_package
from voipbill.errors import ExitCode, UsageError
from voipbill.rating import RatedCall
from voipbill.statement import render_for, render_pdf

weasyprint = pytest.importorskip("weasyprint")
pypdf = pytest.importorskip("pypdf")
pytestmark = pytest.mark.slow  # a PDF takes WeasyPrint about a second


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def many_calls(count: int) -> list[RatedCall]:
    return [
        call(f"u{index:04d}", epoch(1 + index % 28, 9, index % 60), cost="0.0100")
        for index in range(count)
    ]


@pytest.fixture(scope="module")
def committed_pdf() -> bytes:
    return render_pdf(statement())


@pytest.fixture(scope="module")
def long_preview_pdf() -> bytes:
    return render_pdf(statement(many_calls(50), committed=False))


_RENDER_IN_A_NEW_PROCESS = """
import sys
from tests.statementhelpers import statement
from voipbill.statement import render_pdf
sys.stdout.buffer.write(render_pdf(statement()))
"""


def test_committed_pdf_is_byte_identical_on_rerun(monkeypatch: pytest.MonkeyPatch) -> None:
    # Another statement first: nothing an earlier render leaves behind may change the bytes.
    render_pdf(statement(november_calls(), committed=False), paper="letter")
    first = render_pdf(statement())
    assert first.startswith(b"%PDF-")
    # A clock that moves an hour each time it is read: renders made at different times (the
    # fonts WeasyPrint embeds were once stamped with the current second) give the same bytes.
    hours = itertools.count(1_800_000_000, 3600)
    monkeypatch.setattr(time, "time", lambda: float(next(hours)))
    again = [render_pdf(statement()) for _ in range(2)]
    monkeypatch.undo()
    assert again == [first, first]
    assert "SOURCE_DATE_EPOCH" not in os.environ  # the render leaves the environment as it was

    root = Path(__file__).resolve().parent.parent
    other = subprocess.run(
        [sys.executable, "-c", _RENDER_IN_A_NEW_PROCESS],
        cwd=root,
        capture_output=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "7"},
    )
    assert other.stdout == first


def test_pdf_text_holds_the_total_and_the_service(committed_pdf: bytes) -> None:
    text = "\n".join(pages_text(committed_pdf))
    assert "CAD 0.52" in text  # 0.51 + 0.01 + 0.00: the invoice lines (rules §12)
    assert "mcon" in text and "mcon.wat5.ictvoip.ca" in text
    assert "Northwind Telecom Inc." in text
    assert "PREVIEW" not in text


def test_preview_mark_is_on_every_pdf_page(long_preview_pdf: bytes) -> None:
    pages = pages_text(long_preview_pdf)
    assert len(pages) >= 3
    for text in pages:
        assert "PREVIEW — not an invoice" in text


def test_call_table_header_repeats_on_every_page_it_spans(long_preview_pdf: bytes) -> None:
    pages = pages_text(long_preview_pdf)
    spanned = [text for text in pages if "Canada - Toronto" in text]
    assert len(spanned) >= 2
    for text in spanned:
        assert "Start" in text and "Cost (CAD)" in text


def test_pdf_prints_on_a4_and_letter(committed_pdf: bytes) -> None:
    def size(pdf: bytes) -> tuple[int, int]:
        box = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].mediabox
        return round(box.width), round(box.height)

    assert size(committed_pdf) == (595, 842)  # A4 by default
    assert size(render_pdf(statement(), paper="letter")) == (612, 792)


def test_render_for_picks_pdf_by_the_file_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statement_package, "render_pdf", lambda data, paper: b"%PDF-stub")
    data = statement(november_calls())
    assert render_for(data, Path("x.PDF")) == b"%PDF-stub"
    assert render_for(data, Path("x.html")).startswith(b"<!DOCTYPE html>")


class _Refuse(importlib.abc.MetaPathFinder):
    """Makes `import weasyprint` fail the way an install without it, or without Pango, does."""

    def __init__(self, error: type[Exception]) -> None:
        self.error = error

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> None:
        if name == "weasyprint":
            raise self.error("cannot load library 'libpango-1.0-0'")


@pytest.mark.parametrize("error", [ModuleNotFoundError, OSError])
def test_pdf_without_weasyprint_is_an_error_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch, error: type[Exception]
) -> None:
    monkeypatch.delitem(sys.modules, "weasyprint")
    monkeypatch.setattr(sys, "meta_path", [_Refuse(error), *sys.meta_path])
    with pytest.raises(UsageError) as raised:
        render_pdf(statement())
    assert raised.value.exit_code == ExitCode.USAGE
    assert "voipbill[pdf]" in (raised.value.hint or "")
    assert "WeasyPrint" in raised.value.message


def test_unknown_paper_size_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="paper size"):
        render_pdf(statement(), paper="a5")
