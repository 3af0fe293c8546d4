"""rules §14: `[watch]` defaults, `[services.X.watch]` overriding them key by key, bad values."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.clirunner import invoke
from tests.test_config import FULL, error_of, write
from voipbill import config
from voipbill.config import Burst

WATCH = """
[watch]
spend_per_day = "50"
spike_factor = "5"
spike_floor = "10"
new_country = true
burst = { calls = 20, minutes = 10 }
"""

SERVICE_WATCH = """
[services.mcon.watch]
spend_per_day = "200"
call_cost = 5
"""


def test_watch_defaults_load_and_a_service_overrides_them_key_by_key(tmp_path: Path) -> None:
    loaded = config.load(write(tmp_path, FULL + SERVICE_WATCH + WATCH))
    assert loaded.watch.spend_per_day == Decimal("50")
    settings = loaded.watch_of(loaded.services["mcon"])
    assert settings.spend_per_day == Decimal("200")  # the service's own
    assert settings.call_cost == Decimal("5")  # only the service sets it
    assert settings.spike_factor == Decimal("5")  # from [watch]
    assert settings.spike_floor == Decimal("10")
    assert settings.new_country is True
    assert settings.burst == Burst(calls=20, minutes=10)
    assert settings.spend_per_period is None  # nobody sets it: off


def test_no_watch_table_means_every_rule_off(tmp_path: Path) -> None:
    loaded = config.load(write(tmp_path, FULL))
    assert not loaded.watch_of(loaded.services["mcon"]).any_rule


def test_a_service_can_turn_new_country_off(tmp_path: Path) -> None:
    text = FULL + "\n[services.mcon.watch]\nnew_country = false\n" + WATCH
    loaded = config.load(write(tmp_path, text))
    assert loaded.watch_of(loaded.services["mcon"]).new_country is False


@pytest.mark.parametrize(
    ("line", "key", "words"),
    [
        ('spend_per_day = "-5"', "watch -> spend_per_day", "must not be negative"),
        ("spend_per_day = -5", "watch -> spend_per_day", "must not be negative"),
        ('call_cost = "five"', "watch -> call_cost", "is not a decimal number"),
        ("spike_factor = 50.0", "watch -> spike_factor", "TOML float"),
        ("burst = { calls = 0, minutes = 10 }", "watch -> burst -> calls", "1 or more"),
        ("burst = { calls = 0 }", "watch -> burst -> calls", "1 or more"),
        ("burst = { calls = 5, minutes = 0 }", "watch -> burst -> minutes", "between 1"),
        ("burst = { calls = 5 }", "watch -> burst -> minutes", "is required"),
        ("new_country = 1", "watch -> new_country", "expected a boolean"),
    ],
)
def test_a_bad_threshold_is_refused_naming_the_key(
    tmp_path: Path, line: str, key: str, words: str
) -> None:
    message = error_of(tmp_path, FULL + f"\n[watch]\n{line}\n")
    assert message.startswith(f"{key}: ")
    assert words in message


def test_a_bad_threshold_in_a_service_names_the_services_key(tmp_path: Path) -> None:
    message = error_of(tmp_path, FULL + '\n[services.mcon.watch]\nspend_per_day = "x"\n')
    assert message.startswith("services -> mcon -> watch -> spend_per_day: ")


def test_an_unknown_watch_key_is_exit_3_with_the_nearest_valid_key(tmp_path: Path) -> None:
    path = write(tmp_path, FULL + '\n[watch]\nspend_per_dya = "50"\n')
    result = invoke("--config", str(path), "ledger", "show")
    assert result.exit_code == 3
    assert "watch -> spend_per_dya: unknown key" in result.stderr
    assert "did you mean 'spend_per_day'?" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_float_threshold_is_exit_3_with_the_quoted_form(tmp_path: Path) -> None:
    path = write(tmp_path, FULL + "\n[watch]\nspend_per_day = 50.0\n")
    result = invoke("--config", str(path), "ledger", "show")
    assert result.exit_code == 3
    assert "watch -> spend_per_day" in result.stderr
    assert 'spend_per_day = "50.0"' in result.stderr


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.net/x",  # plain http off the loopback
        "ftp://hooks.example.net/x",
        "hooks.example.net/x",
    ],
)
def test_a_webhook_must_be_https_or_loopback_http(tmp_path: Path, url: str) -> None:
    message = error_of(tmp_path, FULL + f'\n[watch]\nwebhook_url = "{url}"\n')
    assert message.startswith("watch -> webhook_url: ")


@pytest.mark.parametrize(
    "url", ["https://hooks.example.net/x", "http://127.0.0.1:9000/x", "http://[::1]/x"]
)
def test_https_and_loopback_http_webhooks_load(tmp_path: Path, url: str) -> None:
    loaded = config.load(write(tmp_path, FULL + f'\n[watch]\nwebhook_url = "{url}"\n'))
    assert loaded.watch.webhook_url == url


def test_a_webhook_url_with_a_password_or_a_query_is_never_echoed(tmp_path: Path) -> None:
    message = error_of(
        tmp_path, FULL + '\n[watch]\nwebhook_url = "https://u:hunter2@h.example.net/x"\n'
    )
    assert "hunter2" not in message
    message = error_of(tmp_path, FULL + '\n[watch]\nwebhook_url = "http://h.example/x?token=s3c"\n')
    assert "s3c" not in message


def test_a_pasted_secret_in_webhook_secret_env_is_refused_unechoed(tmp_path: Path) -> None:
    secret = "a8f5f167f44f4964e6c998dee827110c"
    message = error_of(tmp_path, FULL + f'\n[watch]\nwebhook_secret_env = "{secret}"\n')
    assert message.startswith("watch -> webhook_secret_env: ")
    assert secret not in message
