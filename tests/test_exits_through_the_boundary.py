"""Every exit code leaves through the one error boundary (voipbill.cli.run), never typer.Exit."""

from __future__ import annotations

import re
from pathlib import Path

from tests.clirunner import invoke

CLI = Path(__file__).parent.parent / "voipbill" / "cli"


def test_no_command_exits_with_a_code_of_its_own() -> None:
    found = [
        f"{path.name}:{number}"
        for path in sorted(CLI.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if re.search(r"typer\.Exit\(\s*[^)\s]", line)
    ]
    assert found == [], "raise voipbill.errors.Reported(code) instead"


def test_findings_already_shown_exit_1_with_no_error_line() -> None:
    result = invoke("validate-fields", "--", "-foo.example.com | 5192229000")
    assert result.exit_code == 1
    assert "problem" in result.stdout
    assert "error" not in result.stderr.lower()


def test_a_valid_check_exits_0() -> None:
    result = invoke("validate-fields", "mcon.example.com | 5192229000", "2112")
    assert result.exit_code == 0, result.stderr
