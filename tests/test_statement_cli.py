"""`voipbill statement`: the committed run of the period (never re-priced), else a preview; one
file per service with --all; outputs never inputs; the same bytes every time."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import pytest

from tests.cdrfactory import write_config
from tests.clirunner import Result, invoke
from tests.ledgerhelpers import SERVICES, Billing, epoch
from tests.statementhelpers import tables

ACME = """
[services.acme]
package = "paygo"
tenant = "acme.wat5.ictvoip.ca | 4165550199"
extensions = "301 | 302"
"""
PREVIEW = "PREVIEW — not an invoice"
# Deck row 1 (Canada/US): 0.0100/min, 6/6; no markup; costs rounded to 4 decimals.
#   mcon  oct-a  61 s -> 66 s  x 0.0100/60 = 0.0110
#         oct-b 125 s -> 126 s x 0.0100/60 = 0.0210
#         oct-c  30 s -> 30 s  x 0.0100/60 = 0.0050   total 0.0370, 222 s = 3.70 min
#   acme  acme-a 90 s -> 90 s  x 0.0100/60 = 0.0150   total 0.0150, 1.50 min
# With markup_percent = "50" rating now would give 0.0555 and 0.0225.
COMMITTED_TOTALS = {"mcon": "0.0370", "acme": "0.0150"}


class Operator(Billing):
    """Two services, mcon and acme, on one ledger."""

    def write_config(self, package: str = "") -> Path:
        ledger = f'\n[ledger]\npath = "{self.ledger}"\n'
        self.config = write_config(self.directory, package, services=SERVICES + ACME + ledger)
        return self.config

    def statement(self, *args: str) -> Result:
        return invoke("--config", str(self.config), "statement", "--period", "2026-10", *args)

    def html(self, service: str, *args: str) -> str:
        out = self.directory / f"{service}.html"
        result = self.statement("--service", service, "-o", str(out), *args)
        assert result.exit_code == 0, result.stderr
        return out.read_text(encoding="utf-8")

    @property
    def cdrs(self) -> Path:
        return self.directory / "cdrs.csv"


@pytest.fixture
def october(tmp_path: Path) -> Operator:
    setup = Operator(tmp_path)
    setup.add("oct-a", epoch(10, 3), billsec=61)
    setup.add("oct-b", epoch(10, 20), billsec=125)
    setup.add("oct-c", epoch(10, 31, 23, 30), billsec=30)
    setup.add("acme-a", epoch(10, 12), billsec=90, extension="301", caller_id_number="301")
    return setup


def summary_rows(text: str, service: str) -> list[list[str]]:
    """A summary CSV's rows of one service: category, calls, billed and free min, amount."""
    return [
        [row["category"], row["calls"], row["billed_minutes"], row["free_minutes"], row["amount"]]
        for row in csv.DictReader(io.StringIO(text))
        if row["service"] == service
    ]


def statement_rows(html: str) -> list[list[str]]:
    return [[row[0].lower(), *row[1:]] for row in tables(html)["summary"][1:]]


@pytest.mark.parametrize("service", ["mcon", "acme"])
def test_a_service_of_an_all_commit_shows_the_committed_summary_after_the_deck_changes(
    october: Operator, service: str
) -> None:
    october.commit("2026-10", "oct.csv", "--all", "--detail", "summary")
    committed = october.file("oct.csv").decode()
    october.write_config('markup_percent = "50"')  # rating now would price every call higher
    html = october.html(service, "--cdr-file", str(october.cdrs))
    assert statement_rows(html) == summary_rows(committed, service)
    assert statement_rows(html)[-1][-1] == COMMITTED_TOTALS[service]
    assert PREVIEW not in html
    assert "<dt>Run</dt><dd>1</dd>" in html


def test_the_committed_statement_needs_no_cdr_source(october: Operator) -> None:
    october.commit("2026-10", "oct.csv", "--service", "mcon")
    october.cdrs.unlink()
    result = october.statement("--service", "mcon")  # no --cdr-file, and mcon has no server
    assert result.exit_code == 0, result.stderr
    assert statement_rows(result.stdout)[-1] == ["total", "3", "3.70", "0.00", "0.0370"]
    assert "statement of committed run 1" in result.stderr


def test_a_service_committed_by_two_runs_shows_the_calls_of_both(october: Operator) -> None:
    october.commit("2026-10", "oct-mcon.csv", "--service", "mcon")
    october.add("oct-d", epoch(10, 25), billsec=60)  # reached FusionPBX after that commit
    october.commit("2026-10", "oct-all.csv", "--all")  # bills oct-d and acme-a
    html = october.html("mcon")
    assert statement_rows(html)[-1] == ["total", "4", "4.70", "0.00", "0.0470"]
    assert "<dt>Run</dt><dd>1, 2</dd>" in html
    assert statement_rows(october.html("acme"))[-1][-1] == "0.0150"


def test_without_a_committed_run_the_statement_is_a_preview_rated_now(october: Operator) -> None:
    october.commit("2026-09", "sep.csv", "--service", "mcon")  # another period: no help
    result = october.statement("--service", "mcon", "--cdr-file", str(october.cdrs))
    assert result.exit_code == 0, result.stderr
    assert PREVIEW in result.stdout
    assert statement_rows(result.stdout)[-1][-1] == "0.0370"
    assert "is a PREVIEW, not an invoice" in result.stderr


def test_a_voided_run_makes_the_statement_a_preview_again(october: Operator) -> None:
    october.commit("2026-10", "oct.csv", "--all")
    voided = invoke(
        "--config", str(october.config), "ledger", "void", "--run", "1", "--yes", "--reason", "test"
    )
    assert voided.exit_code == 0, voided.stderr
    assert PREVIEW in october.html("mcon", "--cdr-file", str(october.cdrs))


def test_all_writes_one_file_per_service_into_a_new_directory(october: Operator) -> None:
    october.commit("2026-10", "oct.csv", "--all")
    out = october.directory / "statements" / "2026-10"
    result = october.statement("--all", "-o", f"{out}/")
    assert result.exit_code == 0, result.stderr
    assert sorted(path.name for path in out.iterdir()) == [
        "acme-2026-10.html",
        "mcon-2026-10.html",
    ]
    for service, total in COMMITTED_TOTALS.items():
        html = (out / f"{service}-2026-10.html").read_text(encoding="utf-8")
        assert statement_rows(html)[-1][-1] == total
        assert f"<dd>{service}</dd>" in html


@pytest.mark.parametrize("target", ["cdrs.csv", "voipbill.toml", "deck.csv", "logo.png"])
def test_an_output_onto_an_input_is_refused(october: Operator, target: str) -> None:
    october.rate("--period", "2026-10")  # writes cdrs.csv
    (october.directory / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    text = october.config.read_text(encoding="utf-8")
    october.config.write_text(text + '\n[statement]\nlogo = "logo.png"\n', encoding="utf-8")
    path = october.directory / target
    before = path.read_bytes()
    result = october.statement(
        "--service", "mcon", "--cdr-file", str(october.cdrs), "-o", str(path)
    )
    assert result.exit_code == 2, result.stderr
    assert "never overwrites an input" in result.stderr
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "give --service NAME or --all"),
        (["--service", "mcon", "--all", "-o", "x"], "give --service NAME or --all"),
        (["--all"], "--all writes one file per service"),
        (["--service", "mcon", "--format", "pdf"], "not written to standard output"),
        (["--service", "mcon", "--format", "pdf", "-o", "x.html"], "does not match"),
        (["--all", "-o", "x.html"], "is not a directory"),
        (["--service", "nosuch"], "nosuch"),
    ],
)
def test_usage_errors(october: Operator, args: list[str], says: str) -> None:
    result = october.statement(*args)
    assert result.exit_code == 2, result.stderr
    assert says in result.stderr
    assert "Traceback" not in result.stderr


def test_a_committed_statement_is_the_same_bytes_every_time(october: Operator) -> None:
    october.commit("2026-10", "oct.csv", "--all")
    first = october.html("mcon")
    october.write_config('markup_percent = "50"')
    assert october.html("mcon") == first
    again = october.statement("--service", "mcon")
    assert again.stdout == first


@pytest.mark.slow
def test_a_committed_pdf_is_the_same_bytes_every_time(october: Operator) -> None:
    pytest.importorskip("weasyprint")
    pypdf = pytest.importorskip("pypdf")
    october.commit("2026-10", "oct.csv", "--all")
    pdfs = []
    for name in ("one.pdf", "two.pdf"):
        result = october.statement("--service", "acme", "-o", str(october.directory / name))
        assert result.exit_code == 0, result.stderr
        pdfs.append(october.file(name))
    assert pdfs[0].startswith(b"%PDF-") and pdfs[0] == pdfs[1]
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdfs[0])).pages)
    assert "acme" in text and "0.0150" in text and "PREVIEW" not in text


def test_a_pdf_without_the_extra_names_it_and_writes_nothing(
    october: Operator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, "weasyprint", raising=False)
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # `import weasyprint` fails
    out = october.directory / "mcon.pdf"
    missing = october.directory / "no-such-export.csv"
    result = october.statement("--service", "mcon", "--cdr-file", str(missing), "-o", str(out))
    assert result.exit_code == 2, result.stderr
    assert "voipbill[pdf]" in result.stderr
    assert "no-such-export" not in result.stderr  # refused before any CDR is read
    assert not out.exists()
