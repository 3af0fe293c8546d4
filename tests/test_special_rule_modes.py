"""Special rule modes (rules §6.1): each mode's price fields are required, the others refused.

A rule without its price would make every call it matches free; a price its mode ignores would
never be charged. Both are configuration errors (exit 3) naming the key.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.cdrfactory import write_config
from tests.clirunner import invoke
from voipbill import config
from voipbill.errors import ConfigError

WHERE = "packages -> paygo -> special[1] -> "


def special(fields: str) -> str:
    return f'special = [ {{ pattern = "1900", {fields} }} ]'


def load_error(tmp_path: Path, fields: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        config.load(write_config(tmp_path, special(fields)))
    return caught.value


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ('mode = "per_minute"', "per_minute: is required by mode 'per_minute'"),
        ('mode = "flat_per_call"', "flat: is required by mode 'flat_per_call'"),
        ('mode = "hybrid", per_minute = "0.5"', "flat: is required by mode 'hybrid'"),
        ('mode = "hybrid", flat = "0.35"', "per_minute: is required by mode 'hybrid'"),
        (
            'mode = "per_minute", per_minute = "0.5", flat = "0.35"',
            "flat: is not used by mode 'per_minute'",
        ),
        (
            'mode = "per_minute", per_minute = "0.5", flat = "0"',
            "flat: is not used by mode 'per_minute'",
        ),
        (
            'mode = "flat_per_call", flat = "0.35", per_minute = "0"',
            "per_minute: is not used by mode 'flat_per_call'",
        ),
    ],
)
def test_missing_or_unused_price_field_is_named(tmp_path: Path, fields: str, message: str) -> None:
    error = load_error(tmp_path, fields)
    assert error.message == WHERE + message


def test_unused_field_hint_names_the_mode_that_uses_it(tmp_path: Path) -> None:
    error = load_error(tmp_path, 'mode = "flat_per_call", flat = "0.35", per_minute = "1"')
    assert error.hint == "remove it (even a 0), or use mode 'per_minute' or 'hybrid'"


@pytest.mark.parametrize(
    ("fields", "flat", "per_minute"),
    [
        ('mode = "flat_per_call", flat = "0.35"', "0.35", "0"),
        ('mode = "per_minute", per_minute = "0.50"', "0", "0.50"),
        ('mode = "hybrid", flat = "0.10", per_minute = "1.00"', "0.10", "1.00"),
        ('mode = "per_minute", per_minute = "0"', "0", "0"),  # a free rule, said out loud
    ],
)
def test_each_mode_with_exactly_its_fields_loads(
    tmp_path: Path, fields: str, flat: str, per_minute: str
) -> None:
    loaded = config.load(write_config(tmp_path, special(fields)))
    (rule,) = loaded.packages["paygo"].special
    assert (rule.flat, rule.per_minute) == (Decimal(flat), Decimal(per_minute))


def test_rate_with_a_priceless_rule_exits_3_naming_the_key(tmp_path: Path) -> None:
    path = write_config(tmp_path, special('mode = "per_minute"'))
    result = invoke("rate", "-c", str(path), "--cdr-file", "-", "--period", "2026-10", stdin="\n\n")
    assert result.exit_code == 3, result.output
    assert WHERE + "per_minute: is required by mode 'per_minute'" in result.stderr
    assert "Traceback" not in result.stderr
