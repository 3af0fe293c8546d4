"""rules §2: the TOML configuration, and its errors naming the key path."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from tests.clirunner import invoke
from voipbill import config
from voipbill.errors import ConfigError
from voipbill.increments import Increment
from voipbill.numbers import Normaliser, NumberPlan

FULL = """\
timezone = "America/Toronto"
currency = "CAD"

[servers.wat5]
url = "https://wat5.example.net/"
domain = "mcon.wat5.ictvoip.ca"
api_key_env = "VOIPBILL_WAT5_KEY"
verify_tls = true
timeout_s = 30
chunk_hours = 24

[decks.telnyx]
path = "decks/telnyx_2025_06.csv"
preset = "ictvoip"

[packages.paygo]
deck = "telnyx"
country = "CA"
number_mode = "e164"
nanp_10_digit = true
exit_code = "011"
rewrite = [["^9(\\\\d{10})$", "\\\\1"]]
markup_percent = "20"
increment = "6/6"
rounding = { digits = 4, mode = "half-up" }
inbound_billing = false
inbound_rate = "0.0049"
inbound_increment = "30/6"
free_minutes = 100
exclude = ["*xx", "#xx"]
no_charge = ["[tollfree]"]
custom_rates = [ { prefix = "1212", rate = "0.02", increment = "6/6", connect_fee = "0" } ]
special = [ { pattern = "1900", type = "prefix", direction = "outbound", \
mode = "flat_per_call", flat = "0.35", priority = 20 } ]

[services.mcon]
server = "wat5"
package = "paygo"
tenant = "mcon.wat5.ictvoip.ca | 5192229000"
extensions = "2112 | 2113 | 2114 | 2115 | 2216"
"""


REWRITE_LINE = next(line for line in FULL.splitlines() if line.startswith("rewrite = "))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "voipbill.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        config.load(write(tmp_path, text))
    return caught.value.message


def test_full_example_loads_into_the_right_values(tmp_path: Path) -> None:
    loaded = config.load(write(tmp_path, FULL))
    assert loaded.timezone_name == "America/Toronto"
    assert loaded.currency == "CAD"
    server = loaded.servers["wat5"]
    assert server.url == "https://wat5.example.net"
    assert server.api_key_env == "VOIPBILL_WAT5_KEY"
    assert server.timeout_s == 30.0
    deck = loaded.decks["telnyx"]
    assert deck.path == tmp_path / "decks" / "telnyx_2025_06.csv"  # relative to the config
    assert deck.preset == "ictvoip"
    package = loaded.packages["paygo"]
    assert package.markup_percent == Decimal("20")
    assert isinstance(package.markup_percent, Decimal)
    assert package.increment == Increment(6, 6)
    assert package.inbound_increment == Increment(30, 6)
    assert package.inbound_rate == Decimal("0.0049")
    assert package.rewrite == ((r"^9(\d{10})$", r"\1"),)
    assert package.free_minutes == 100
    assert package.exclude == ("*xx", "#xx")
    assert package.no_charge == ("[tollfree]",)
    (custom,) = package.custom_rates
    assert (custom.prefix, custom.rate, custom.increment) == (
        "1212",
        Decimal("0.02"),
        Increment(6, 6),
    )
    (special,) = package.special
    assert (special.pattern, special.mode, special.flat, special.priority) == (
        "1900",
        "flat_per_call",
        Decimal("0.35"),
        20,
    )
    service = loaded.service("mcon")
    assert service.domain == "mcon.wat5.ictvoip.ca"
    assert service.dids == ("+15192229000",)
    assert service.extension_list == ("2112", "2113", "2114", "2115", "2216")
    assert loaded.export_domain(service) == "mcon.wat5.ictvoip.ca"


def test_unknown_top_level_key_is_named(tmp_path: Path) -> None:
    assert error_of(tmp_path, 'colour = "red"\n' + FULL) == "colour: unknown key"


def test_misspelt_required_key_is_reported_as_the_unknown_key(tmp_path: Path) -> None:
    text = FULL.replace('url = "https://wat5', 'urll = "https://wat5')
    with pytest.raises(ConfigError) as caught:
        config.load(write(tmp_path, text))
    assert caught.value.message == "servers -> wat5 -> urll: unknown key"
    assert caught.value.hint == "did you mean 'url'?"


def test_unknown_nested_key_suggests_the_known_one(tmp_path: Path) -> None:
    text = FULL.replace("chunk_hours = 24", "chunk_hour = 24")
    with pytest.raises(ConfigError) as caught:
        config.load(write(tmp_path, text))
    assert caught.value.message == "servers -> wat5 -> chunk_hour: unknown key"
    assert caught.value.hint == "did you mean 'chunk_hours'?"


def test_wrong_type_names_key_and_types(tmp_path: Path) -> None:
    message = error_of(tmp_path, FULL.replace("verify_tls = true", 'verify_tls = "yes"'))
    assert message == "servers -> wat5 -> verify_tls: expected a boolean, got a string"
    message = error_of(tmp_path, FULL.replace("chunk_hours = 24", "chunk_hours = true"))
    assert message == "servers -> wat5 -> chunk_hours: expected an integer, got a boolean"


def test_bad_decimal_is_named(tmp_path: Path) -> None:
    message = error_of(tmp_path, FULL.replace('markup_percent = "20"', 'markup_percent = "1,2.3"'))
    assert message == "packages -> paygo -> markup_percent: '1,2.3' is not a decimal number"


def test_missing_package_reference(tmp_path: Path) -> None:
    message = error_of(tmp_path, FULL.replace('package = "paygo"', 'package = "payg"'))
    assert message == "services -> mcon -> package: no package named 'payg'"


def test_missing_server_reference(tmp_path: Path) -> None:
    message = error_of(tmp_path, FULL.replace('server = "wat5"', 'server = "wat6"'))
    assert message == "services -> mcon -> server: no server named 'wat6'"


def test_package_deck_that_does_not_exist(tmp_path: Path) -> None:
    message = error_of(tmp_path, FULL.replace('deck = "telnyx"', 'deck = "bell"'))
    assert message == "packages -> paygo -> deck: no deck named 'bell'"


def test_missing_required_key(tmp_path: Path) -> None:
    assert error_of(tmp_path, FULL.replace('currency = "CAD"\n', "")) == "currency: is required"


def test_unknown_country_is_refused(tmp_path: Path) -> None:
    message = error_of(tmp_path, FULL.replace('country = "CA"', 'country = "XX"'))
    assert message.startswith("packages -> paygo -> country: 'XX' is not an ISO region code")


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-5"])
def test_timeout_must_be_a_positive_finite_number(tmp_path: Path, value: str) -> None:
    message = error_of(tmp_path, FULL.replace("timeout_s = 30", f"timeout_s = {value}"))
    assert message.startswith("servers -> wat5 -> timeout_s: must be")


def test_secret_in_the_config_is_refused(tmp_path: Path) -> None:
    text = FULL.replace('api_key_env = "VOIPBILL_WAT5_KEY"', 'api_key = "s3cret"')
    message = error_of(tmp_path, text)
    assert message == "servers -> wat5 -> api_key: secrets are not accepted in the config file"
    assert "s3cret" not in message


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (r'["^9(\\d{10}$", "\\1"]', "bad regular expression"),
        (r'["x)|(?:y", ""]', "bad regular expression"),  # compiles only when wrapped in a group
        (r'["^9(\\d{10})$", "\\2"]', "bad replacement"),
    ],
)
def test_bad_rewrite_rule_is_named(tmp_path: Path, rule: str, expected: str) -> None:
    text = FULL.replace(REWRITE_LINE, f"rewrite = [{rule}]")
    message = error_of(tmp_path, text)
    assert message.startswith(f"packages -> paygo -> rewrite[1]: {expected}")


def test_rewrite_with_leading_inline_flag_is_accepted(tmp_path: Path) -> None:
    text = FULL.replace(REWRITE_LINE, r'rewrite = [["(?i)^x(\\d+)$", "\\1"]]')
    assert config.load(write(tmp_path, text)).packages["paygo"].rewrite == (
        (r"(?i)^x(\d+)$", r"\1"),
    )


def test_bad_service_field_names_the_segment(tmp_path: Path) -> None:
    message = error_of(tmp_path, FULL.replace("2113 | 2114", "21a3 | 2114"))
    assert message == (
        "services -> mcon -> extensions: segment 2: '21a3' is not an extension (2-7 digits)"
    )


def test_bad_service_fields_load_without_the_check_for_validate_fields(tmp_path: Path) -> None:
    loaded = config.load(
        write(tmp_path, FULL.replace("2113 | 2114", "21a3 | 2114")), check_fields=False
    )
    assert loaded.service("mcon").extension_list == ()
    assert loaded.service("mcon").extensions == "2112 | 21a3 | 2114 | 2115 | 2216"


def test_api_key_env_unset_names_the_variable(tmp_path: Path) -> None:
    server = config.load(write(tmp_path, FULL)).servers["wat5"]
    with pytest.raises(ConfigError, match=r"\$VOIPBILL_WAT5_KEY is not set"):
        server.api_key()


def test_api_key_env_is_read_and_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOIPBILL_WAT5_KEY", "s3cret-key")
    key = config.load(write(tmp_path, FULL)).servers["wat5"].api_key()
    assert key.reveal() == "s3cret-key"
    assert "s3cret" not in repr(key) + str(key)


def key_file_config(tmp_path: Path, mode: int) -> config.Server:
    key = tmp_path / "wat5.key"
    key.write_text("s3cret-key\n")
    key.chmod(mode)
    text = FULL.replace('api_key_env = "VOIPBILL_WAT5_KEY"', 'api_key_file = "wat5.key"')
    return config.load(write(tmp_path, text)).servers["wat5"]


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    server = key_file_config(tmp_path, 0o644)
    with pytest.raises(ConfigError) as caught:
        server.api_key()
    assert "readable by group or others (mode 644)" in caught.value.message
    assert caught.value.hint == f"chmod 600 {tmp_path / 'wat5.key'}"


def test_key_file_with_mode_600_is_accepted(tmp_path: Path) -> None:
    assert key_file_config(tmp_path, 0o600).api_key().reveal() == "s3cret-key"


def test_overlapping_extensions_of_one_domain_are_refused(tmp_path: Path) -> None:
    text = FULL + FULL[FULL.index("[services.mcon]") :].replace("services.mcon", "services.mcon2")
    message = error_of(tmp_path, text)
    assert message.startswith("services -> mcon2 -> extensions: extension 2112 of")


def test_bad_toml_is_a_config_error(tmp_path: Path) -> None:
    assert "is not valid TOML" in error_of(tmp_path, "timezone = \n")


def test_config_error_exits_3_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, FULL.replace('package = "paygo"', 'package = "payg"'))
    result = invoke("validate-fields", "--service", "mcon", "--config", str(path))
    assert result.exit_code == 3
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.strip().startswith("hint:")]
    assert lines == ["error: services -> mcon -> package: no package named 'payg'"]


def test_missing_config_file_exits_3_and_suggests_init(tmp_path: Path) -> None:
    result = invoke("validate-fields", "--service", "mcon", "--config", str(tmp_path / "no.toml"))
    assert result.exit_code == 3
    assert re.search(r"hint: write one with `voipbill init`", result.stderr)


def test_unknown_deck_column_name_is_named_with_its_key_path(tmp_path: Path) -> None:
    text = FULL.replace('preset = "ictvoip"', 'preset = "ictvoip"\ncolumns = { prefx = "Code" }')
    message = error_of(tmp_path, text)
    assert message == "decks -> telnyx -> columns -> prefx: unknown column name"


def test_rewrite_with_leading_inline_flag_also_builds_a_number_plan(tmp_path: Path) -> None:
    text = FULL.replace(REWRITE_LINE, r'rewrite = [["(?i)^9(\\d{10})$", "\\1"]]')
    package = config.load(write(tmp_path, text)).packages["paygo"]
    assert Normaliser(NumberPlan.from_package(package)).normalise("95192229000").number == (
        "15192229000"
    )
