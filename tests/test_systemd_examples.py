"""The systemd units in examples/systemd parse, fire on time, and call voipbill as it is."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import typer.main

from voipbill.cli.app import app

UNITS = Path(__file__).parent.parent / "examples" / "systemd"
README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def read_unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    return parser


def timers() -> list[Path]:
    return sorted(UNITS.glob("*.timer"))


def test_there_is_a_timer_beside_each_service() -> None:
    services = sorted(p.stem for p in UNITS.glob("*.service"))
    assert services == [p.stem for p in timers()]
    assert len(services) >= 2


@pytest.mark.parametrize("timer", timers(), ids=lambda p: p.name)
def test_each_timer_is_persistent_and_has_a_calendar(timer: Path) -> None:
    unit = read_unit(timer)
    assert unit["Timer"]["OnCalendar"]
    assert unit["Timer"]["Persistent"] == "true"
    assert unit["Install"]["WantedBy"] == "timers.target"
    service = read_unit(timer.with_suffix(".service"))["Service"]
    assert service["Type"] == "oneshot"
    assert service["ExecStart"]


def invocations(exec_start: str) -> list[list[str]]:
    """Each `voipbill …` command line of an ExecStart, as words (systemd's %% and $$ undone)."""
    text = exec_start.replace("\\\n", " ").replace("%%", "%").replace("$$", "$")
    words = shlex.split(text)
    if words[0].endswith("sh") and words[1] == "-c":
        words = shlex.split(words[2])
    found: list[list[str]] = []
    current: list[str] | None = None
    for word in words:
        if word.endswith("voipbill"):
            current = []
            found.append(current)
        elif word in {"&&", "||", ";"}:
            current = None
        elif current is not None:
            current.append(word)
    return found


def check_invocation(words: list[str]) -> None:
    command = typer.main.get_command(app)
    context_options = {o for p in command.params for o in p.opts}
    path = []
    for word in words:
        if word.startswith("-"):
            name = word.split("=", 1)[0]
            assert name in context_options, f"{' '.join(path)}: no option {name}"
        elif word in getattr(command, "commands", {}):
            command = command.commands[word]  # type: ignore[attr-defined]
            context_options |= {o for p in command.params for o in p.opts}
            path.append(word)
    assert path, f"no command in {words}"
    assert not hasattr(command, "commands"), f"{' '.join(path)} needs a subcommand"


@pytest.mark.parametrize("timer", timers(), ids=lambda p: p.name)
def test_each_service_calls_commands_and_options_that_exist(timer: Path) -> None:
    exec_start = read_unit(timer.with_suffix(".service"))["Service"]["ExecStart"]
    calls = invocations(exec_start)
    assert calls
    for words in calls:
        check_invocation(words)


def test_an_unknown_option_is_caught() -> None:
    with pytest.raises(AssertionError, match="--no-such"):
        check_invocation(["-q", "rate", "--all", "--no-such"])


def test_the_readme_points_at_the_units_beside_the_cron_lines() -> None:
    assert "examples/systemd/" in README
    for unit in UNITS.iterdir():
        assert unit.name in README


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_verifies_the_units() -> None:
    units = [str(p) for p in sorted(UNITS.iterdir())]
    done = subprocess.run(
        ["systemd-analyze", "verify", *units], capture_output=True, text=True, check=False
    )
    # voipbill itself need not be installed where the tests run.
    problems = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if line.strip() and not re.search(r"Command \S*voipbill is not executable", line)
    ]
    assert problems == []
    for timer in timers():
        calendar = read_unit(timer)["Timer"]["OnCalendar"]
        checked = subprocess.run(
            ["systemd-analyze", "calendar", calendar], capture_output=True, check=False
        )
        assert checked.returncode == 0, calendar
