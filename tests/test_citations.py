"""The project stands alone: nothing cites a document a clone does not have."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
FORBIDDEN = re.compile(
    "|".join(
        [
            r"CONTRACT" + r"\s*§",
            r"CONTRACT" + r"\.md",
            r"\bSPEC" + r"\s*§",
            r"\bSPEC" + r"\.md",
            r"\.\./" + r"shared\b",
            r"\bSTYLE" + r"(?:\.md|:)",
            r"\b[Ii]ssue" + r"s? #?\d+",
        ]
    )
)
TEXT = {".py", ".md", ".toml", ".cfg", ".txt", ".html", ".j2", ".sql", ".csv", ".service", ".timer"}


def project_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "pyproject.toml"]
    for folder in ("voipbill", "tests", "docs", "examples"):
        files += [
            path
            for path in sorted((ROOT / folder).rglob("*"))
            if path.is_file() and path.suffix in TEXT and "__pycache__" not in path.parts
        ]
    # this file names them to show what is caught
    return [path for path in files if path != Path(__file__)]


def citations(text: str) -> list[str]:
    return [
        f"{number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), start=1)
        if FORBIDDEN.search(line)
    ]


def test_no_file_cites_a_document_outside_the_project() -> None:
    found = {}
    for path in project_files():
        lines = citations(path.read_text(encoding="utf-8", errors="replace"))
        if lines:
            found[str(path.relative_to(ROOT))] = lines
    assert found == {}, "cite docs/billing-rules.md or docs/fusionpbx.md instead"


@pytest.mark.parametrize(
    "line",
    [
        "# as CONTRACT §2.2 says",
        "see SPEC §8 for the exit codes",
        "the notes in ../shared/notes",
        "the fast path (issue 7)",
        "fixed in Issue #12",
        "the core only calls it (STYLE: no rich here)",
    ],
)
def test_a_citation_is_caught(line: str) -> None:
    assert citations(line)


@pytest.mark.parametrize(
    "line",
    [
        "rules §9 (docs/billing-rules.md)",
        "docs/fusionpbx.md §6",
        "an issue with the deck",
        '_STYLE = {"ok": "green"}',
    ],
)
def test_our_own_documents_are_not(line: str) -> None:
    assert citations(line) == []
