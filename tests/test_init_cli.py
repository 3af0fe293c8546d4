"""`voipbill init`: a starter config that loads, and never a silent overwrite (rules §2)."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.clirunner import invoke
from voipbill import config


def test_init_writes_a_config_that_loads(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "voipbill.toml"
    result = invoke("init", "--path", str(path))
    assert result.exit_code == 0
    assert f"wrote {path}" in result.stderr
    loaded = config.load(path)
    assert loaded.timezone_name == "America/Toronto"
    assert loaded.currency == "CAD"
    assert loaded.servers["main"].api_key_env == "VOIPBILL_MAIN_KEY"
    assert loaded.packages["paygo"].deck in loaded.decks
    assert loaded.service("example").dids == ("+15192229000",)


def test_init_is_not_writable_by_others(tmp_path: Path) -> None:
    path = tmp_path / "voipbill.toml"
    assert invoke("init", "--path", str(path)).exit_code == 0
    assert stat.S_IMODE(path.stat().st_mode) & (stat.S_IWGRP | stat.S_IWOTH) == 0


def test_init_never_overwrites_without_force(tmp_path: Path) -> None:
    path = tmp_path / "voipbill.toml"
    path.write_text("# mine\n")
    result = invoke("init", "--path", str(path))
    assert result.exit_code == 2
    assert "already exists" in result.stderr
    assert "--force" in result.stderr
    assert path.read_text() == "# mine\n"
    assert invoke("init", "--path", str(path), "--force").exit_code == 0
    assert config.load(path).currency == "CAD"


def test_init_uses_the_global_config_path(tmp_path: Path) -> None:
    path = tmp_path / "from-config-flag.toml"
    assert invoke("init", "--config", str(path)).exit_code == 0
    assert config.load(path).services


def test_init_defaults_to_the_user_config_dir() -> None:
    assert invoke("init").exit_code == 0
    assert config.load().services  # the isolation fixture points XDG_CONFIG_HOME at a temp dir
