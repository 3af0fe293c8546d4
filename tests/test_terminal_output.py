"""On a terminal: `--no-color` sends no escape sequence at all, not even bold or italic."""

from __future__ import annotations

import io
import sys

import pytest

from tests.clirunner import invoke
from voipbill.cli import output


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def on_a_terminal(monkeypatch: pytest.MonkeyPatch, *, no_color: bool) -> tuple[str, str]:
    """What voipbill's consoles write to a terminal. (Patched in the test itself: pytest puts
    its own sys.stdout back between a fixture's setup and the test.)"""
    out, err = Terminal(), Terminal()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    try:
        output.configure(no_color=no_color)
        output.stdout().print("[bold]Call 1[/] [italic]Steps[/] [red]unrated[/]")
        output.warn("1 call unrated", about_money=True)
        output.error("bad", hint="fix it")
    finally:
        output.configure()
    return out.getvalue(), err.getvalue()


def test_no_color_sends_no_escape_sequence_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = on_a_terminal(monkeypatch, no_color=True)
    assert "\x1b" not in out and "\x1b" not in err
    assert "Call 1 Steps unrated" in out
    assert "warning: 1 call unrated" in err


def test_without_it_a_terminal_gets_styles(monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = on_a_terminal(monkeypatch, no_color=False)
    assert "\x1b[1m" in out  # bold
    assert "\x1b[" in err


def test_quiet_help_says_money_warnings_are_still_printed() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.replace("│", " ").split())  # the help's box, if any
    assert "nothing but errors" not in text
    assert "warnings about money" in text
