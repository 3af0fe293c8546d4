"""`[statement]` in the configuration: who sends statements, the logo, the call-list cap."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_config import FULL, error_of, write
from voipbill import config


def test_without_a_statement_table_the_defaults_apply(tmp_path: Path) -> None:
    settings = config.load(write(tmp_path, FULL)).statement
    assert settings == config.StatementSettings(company="", address="", logo=None, max_calls=1000)


def test_statement_table_loads_with_the_logo_next_to_the_config(tmp_path: Path) -> None:
    text = FULL + (
        '\n[statement]\ncompany = "Northwind"\naddress = """\n1 King St\nToronto"""\n'
        'logo = "art/logo.png"\nmax_calls = 50\n'
    )
    settings = config.load(write(tmp_path, text)).statement
    assert settings.company == "Northwind"
    assert settings.address == "1 King St\nToronto"
    assert settings.logo == tmp_path / "art" / "logo.png"
    assert settings.max_calls == 50


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ("max_call = 5", "statement -> max_call: unknown key"),
        ("max_calls = -1", "statement -> max_calls: must be 0 or more"),
        ('max_calls = "10"', "statement -> max_calls: expected an integer, got a string"),
        ('logo = "logo.pdf"', "statement -> logo: 'logo.pdf' is not an image file"),
        ("company = 3", "statement -> company: expected a string, got an integer"),
    ],
)
def test_bad_statement_keys_are_named(tmp_path: Path, lines: str, expected: str) -> None:
    assert error_of(tmp_path, FULL + f"\n[statement]\n{lines}\n") == expected


def test_example_config_has_a_statement_logo_that_exists() -> None:
    example = Path(__file__).parent.parent / "examples" / "voipbill.toml"
    settings = config.load(example).statement
    assert settings.logo is not None and settings.logo.is_file()
    assert settings.company
