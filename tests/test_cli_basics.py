from __future__ import annotations

from pathlib import Path

from tests.clirunner import invoke
from voipbill import __version__
from voipbill.cli import hoist_global_options


def test_version_prints_the_package_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"voipbill {__version__}"


def test_unknown_command_is_a_usage_error() -> None:
    result = invoke("no-such-command")
    assert result.exit_code == 2
    assert "no-such-command" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_and_quiet_are_accepted_after_the_command_name() -> None:
    assert hoist_global_options(["rate", "--period", "2026-10", "--config", "x.toml", "-q"]) == [
        "--config",
        "x.toml",
        "-q",
        "rate",
        "--period",
        "2026-10",
    ]
    assert hoist_global_options(["rate", "--config=x.toml", "--", "-q"]) == [
        "--config=x.toml",
        "rate",
        "--",
        "-q",
    ]


def test_verbose_logs_the_run_on_stderr_and_quiet_wins(tmp_path: Path) -> None:
    config = tmp_path / "missing.toml"
    loud = invoke("-v", "rate", "--config", str(config), "--period", "2026-10")
    assert "INFO voipbill: voipbill" in loud.stderr
    quiet = invoke("-v", "-q", "rate", "--config", str(config), "--period", "2026-10")
    assert "INFO" not in quiet.stderr
    assert "no configuration file" in quiet.stderr
