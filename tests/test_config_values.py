"""rules §2: config values that load but should not (a made-up currency, a float where money is
expected), and settings that load but most likely bill wrong (warned about when the config loads).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cdrfactory import cdr, write_config, write_export
from tests.clirunner import invoke
from tests.test_config import FULL, error_of, write
from voipbill import config
from voipbill.errors import ConfigError

PERIOD = ("--from", "2026-10-01", "--to", "2026-10-31")


# -- currency ----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["XYZ", "ABC", "XXX", "CDN"])
def test_a_currency_that_is_not_iso_4217_is_refused(tmp_path: Path, code: str) -> None:
    message = error_of(tmp_path, FULL.replace('currency = "CAD"', f'currency = "{code}"'))
    assert message == f"currency: {code!r} is not an ISO 4217 currency code"


@pytest.mark.parametrize("code", ["AUD", "NZD", "JPY", "KWD", "CHF", "ZAR"])
def test_iso_4217_currencies_load(tmp_path: Path, code: str) -> None:
    loaded = config.load(write(tmp_path, FULL.replace('currency = "CAD"', f'currency = "{code}"')))
    assert loaded.currency == code


def test_a_lower_case_currency_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = write(tmp_path, FULL.replace('currency = "CAD"', 'currency = "aud"'))
    result = invoke("--config", str(path), "rate", "--all", *PERIOD)
    assert result.exit_code == 3
    assert "'aud' is not an ISO 4217 currency code" in result.stderr
    assert '"AUD"' in result.stderr


def test_currency_exit_code_is_3_on_the_command_line(tmp_path: Path) -> None:
    path = write(tmp_path, FULL.replace('currency = "CAD"', 'currency = "XYZ"'))
    result = invoke("--config", str(path), "rate", "--all", *PERIOD)
    assert result.exit_code == 3
    assert "currency" in result.stderr and "Traceback" not in result.stderr


# -- no floats where money or a decimal is expected -----------------------------------------------

PAYGO = "packages -> paygo"
MONEY_KEYS = [
    ('markup_percent = "20"', "markup_percent = 20.5", "packages -> paygo -> markup_percent"),
    ('inbound_rate = "0.0049"', "inbound_rate = 0.0049", "packages -> paygo -> inbound_rate"),
    ("free_minutes = 100", "free_minutes = 100.5", "packages -> paygo -> free_minutes"),
    ("free_minutes = 100", "free_minutes = 100\nminimum_cost = 0.01", f"{PAYGO} -> minimum_cost"),
    ('rate = "0.02"', "rate = 0.02", "packages -> paygo -> custom_rates[1] -> rate"),
    ('connect_fee = "0"', "connect_fee = 0.0", f"{PAYGO} -> custom_rates[1] -> connect_fee"),
    ('flat = "0.35"', "flat = 0.35", "packages -> paygo -> special[1] -> flat"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "key"), MONEY_KEYS)
def test_a_toml_float_for_money_is_refused_naming_the_key_and_the_quoted_form(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    assert old in FULL
    message = error_of(tmp_path, FULL.replace(old, new, 1))
    assert message.startswith(f"{key}: ")
    assert "TOML float" in message
    with pytest.raises(ConfigError) as caught:
        config.load(write(tmp_path, FULL.replace(old, new, 1)))
    name, value = new.splitlines()[-1].split(" = ")
    assert caught.value.hint == f'quote it: {name} = "{value}"'


def test_a_float_markup_is_exit_3_with_the_quoted_form(tmp_path: Path) -> None:
    path = write(tmp_path, FULL.replace('markup_percent = "20"', "markup_percent = 20.5"))
    result = invoke("--config", str(path), "rate", "--all", *PERIOD)
    assert result.exit_code == 3
    assert "markup_percent" in result.stderr
    assert 'markup_percent = "20.5"' in result.stderr


def test_integers_and_decimal_strings_are_still_accepted(tmp_path: Path) -> None:
    text = FULL.replace('markup_percent = "20"', "markup_percent = 20")
    assert config.load(write(tmp_path, text)).packages["paygo"].markup_percent == 20


# -- warnings when the config loads ----------------------------------------------------------------


def test_inbound_billing_without_an_inbound_rate_is_warned_about_even_with_q(
    tmp_path: Path,
) -> None:
    path = write_config(tmp_path, "inbound_billing = true")
    export = write_export(tmp_path / "cdrs.csv", [cdr()])
    loaded = config.load(path)
    assert len(loaded.warnings) == 1
    assert "inbound_billing = true but no inbound_rate" in loaded.warnings[0]
    result = invoke(
        "-q", "--config", str(path), "rate", "--all", "--cdr-file", str(export), *PERIOD
    )
    assert result.exit_code == 0, result.stderr
    assert "warning: packages -> paygo: inbound_billing = true but no inbound_rate" in (
        result.stderr
    )


def test_inbound_billing_with_a_rate_gives_no_warning(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'inbound_billing = true\ninbound_rate = "0.01"')
    assert config.load(path).warnings == ()


@pytest.mark.parametrize(
    ("package", "warned"),
    [
        ('national_prefix = "00"', True),  # AU's exit code is 0011: "00" is its start
        ('national_prefix = "001"', True),
        ('national_prefix = "0"', False),  # AU's own trunk prefix: "0011" starts with it too
        ("", False),
        ('national_prefix = "00"\nexit_code = "0011"', True),
        ('national_prefix = "9"', False),  # odd, but not the exit code
    ],
)
def test_a_national_prefix_that_starts_the_exit_code_is_warned_about(
    tmp_path: Path, package: str, warned: bool
) -> None:
    text = FULL.replace('country = "CA"', 'country = "AU"').replace(
        'number_mode = "e164"', f'number_mode = "local-prefix"\n{package}'
    )
    text = text.replace('exit_code = "011"\n', "").replace("nanp_10_digit = true\n", "")
    text = text.replace("| 5192229000", "| 0292345670")
    loaded = config.load(write(tmp_path, text))
    found = [w for w in loaded.warnings if "national_prefix" in w]
    assert bool(found) == warned, loaded.warnings
    if warned:
        assert "is the start of the exit code '0011'" in found[0]
        assert "trunk prefix 0" in found[0]
