"""Test isolation: no test sees the developer's config, keys, colours or terminal width."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# CI must not turn red on a new random example found by chance: there, hypothesis replays
# the same examples every run. Developers' runs keep exploring.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# the fakes (FusionPBX, WHMCS, Lago); a real PostgreSQL (started only by a test that asks
# for it); both ledgers
pytest_plugins = [
    "tests.fakepbx",
    "tests.fakewhmcs",
    "tests.fakelago",
    "tests.pgserver",
    "tests.ledgerbackends",
]


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in list(os.environ):
        if name.startswith("VOIPBILL_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("TERM", "dumb")
    yield tmp_path
