"""Every command has help text and a place in the README (as sqlite-utils checks its docs)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer.main

from tests.clirunner import invoke
from voipbill.cli.app import app

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def command_names() -> list[str]:
    group = typer.main.get_command(app)
    names = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        sub = getattr(command, "commands", None)
        names.extend(f"{name} {child}" for child in sub) if sub else names.append(name)
    return sorted(names)


def test_the_expected_commands_exist() -> None:
    names = command_names()
    expected = ["validate-fields", "test-connection", "pull", "rate", "explain", "init"]
    expected += ["deck check", "audit-numbers", "ledger show", "ledger void", "statement"]
    assert set(expected) <= set(names)


@pytest.mark.parametrize("name", command_names())
def test_every_command_has_help(name: str) -> None:
    result = invoke(*name.split(), "--help")
    assert result.exit_code == 0
    assert "Usage" in result.stdout
    lines = [line.strip(" │") for line in result.stdout.splitlines()]
    assert any(len(line) > 20 for line in lines[2:6]), result.stdout


@pytest.mark.parametrize("name", command_names())
def test_every_command_is_in_the_readme(name: str) -> None:
    assert f"voipbill {name}" in README


def test_readme_test_command_is_what_ci_runs() -> None:
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text(encoding="utf-8")
    block = README.split("<!-- test-command -->", 1)[1].split("```sh\n", 1)[1]
    command = block.split("\n```", 1)[0].strip()
    assert "pytest" in command and "mypy --strict voipbill" in command
    assert ci.rstrip().splitlines()[-1] == command  # the last thing CI does
