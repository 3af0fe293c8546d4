"""Rules §7: text from a CDR never reaches a terminal, a file or a statement with its control
characters: C0 and C1 controls are shown as `\\xNN` (an OSC 8 hyperlink in a caller ID
included), whatever the output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cdrfactory import cdr, write_config, write_export
from tests.clirunner import Result, invoke
from voipbill.text import shown

ESC = "\x1b"
OSC8 = f"{ESC}]8;;https://evil.example/{ESC}\\2112{ESC}]8;;{ESC}\\"
OSC8_SHOWN = "\\x1b]8;;https://evil.example/\\x1b\\2112\\x1b]8;;\\x1b\\"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (OSC8, OSC8_SHOWN),
        ("a\tb\r\nc", "a\\x09b\\x0d\\x0ac"),
        ("\x00\x07\x7f", "\\x00\\x07\\x7f"),
        ("csi\x9b2J nel\x85", "csi\\x9b2J nel\\x85"),  # C1 controls, one character each
        ("José Ñúñez – 東京 +61 2 9123 4567", "José Ñúñez – 東京 +61 2 9123 4567"),
        ("no\u00a0break", "no\u00a0break"),  # not a control character: kept
        ("", ""),
    ],
)
def test_control_characters_are_shown_as_hex_escapes(text: str, expected: str) -> None:
    assert shown(text) == expected


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    config = write_config(tmp_path)
    with config.open("a", encoding="utf-8") as stream:
        stream.write('\n[ledger]\npath = "ledger.sqlite"\n')
    rows = [
        cdr(xml_cdr_uuid="osc8", caller_id_number=OSC8, billsec=61),
        cdr(
            xml_cdr_uuid="title",
            destination_number=f"1519555{ESC}]0;owned{ESC}\\0100",
            billsec=30,
        ),
        cdr(xml_cdr_uuid="in", direction="inbound", extension="", caller_id_number=OSC8,
            caller_destination="5192229000", destination_number="5192229000"),
    ]  # fmt: skip
    return config, write_export(tmp_path / "cdrs.csv", rows)


def run(setup: tuple[Path, Path], *args: str) -> Result:
    return invoke("--config", str(setup[0]), *args)


def rate_args(setup: tuple[Path, Path]) -> list[str]:
    return ["rate", "--cdr-file", str(setup[1]), "--period", "2026-10"]


def clean(text: str) -> bool:
    return not any((ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) < 0xA0 for c in text)


@pytest.mark.parametrize(
    "extra",
    [
        ["--format", "csv"],
        ["--format", "json"],
        ["--format", "table"],
        ["--format", "csv", "--detail", "summary"],
        ["--format", "table", "--commit", "-o", "{out}"],
        ["--format", "csv", "-o", "{out}"],
        ["--format", "json", "--commit", "-o", "{out}"],
    ],
)
def test_rate_outputs_show_control_characters_escaped(
    setup: tuple[Path, Path], tmp_path: Path, extra: list[str]
) -> None:
    out = tmp_path / "out.txt"
    result = run(setup, *rate_args(setup), *[a.replace("{out}", str(out)) for a in extra])
    assert result.exit_code == 0, result.stderr
    text = out.read_text() if out.exists() else result.stdout
    assert clean(text) and clean(result.stderr)
    if "summary" not in extra and "table" not in extra:  # a table lists no caller
        assert "\\x1b" in text  # shown, not dropped


def test_csv_and_json_carry_the_escaped_caller(setup: tuple[Path, Path]) -> None:
    result = run(setup, *rate_args(setup), "--format", "json")
    calls = {call["call_uuid"]: call for call in json.loads(result.stdout)["calls"]}
    assert calls["osc8"]["caller"] == OSC8_SHOWN
    assert calls["title"]["dialed"] == "1519555\\x1b]0;owned\\x1b\\0100"


def test_a_committed_statement_shows_the_caller_escaped(setup: tuple[Path, Path]) -> None:
    out = setup[0].parent / "oct.csv"
    assert run(setup, *rate_args(setup), "--commit", "-o", str(out)).exit_code == 0
    html = run(setup, "statement", "--service", "mcon", "--period", "2026-10")
    assert html.exit_code == 0, html.stderr
    assert clean(html.stdout)
    assert "\\x1b]8;;https://evil.example/\\x1b\\2112" in html.stdout


@pytest.mark.parametrize("form", ["table", "csv", "json"])
def test_audit_numbers_shows_numbers_escaped(setup: tuple[Path, Path], form: str) -> None:
    result = run(setup, "audit-numbers", "--service", "mcon", "--cdr-file", str(setup[1]),
                 "--format", form)  # fmt: skip
    assert result.exit_code in (0, 1), result.stderr
    assert clean(result.stdout) and clean(result.stderr)
    assert "1519555\\x1b]0;owned\\x1b" in result.stdout.replace("\\\\", "\\")


def test_explain_shows_the_raw_fields_escaped(setup: tuple[Path, Path]) -> None:
    result = run(setup, "explain", "--service", "mcon", "--uuid", "osc8",
                 "--cdr-file", str(setup[1]))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert clean(result.stdout) and "\\x1b]8;;" in result.stdout
