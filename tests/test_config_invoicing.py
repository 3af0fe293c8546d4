"""The [invoicing.whmcs] and [invoicing.lago] tables and the services' invoicing ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from voipbill import config
from voipbill.errors import ConfigError

BASE = """\
timezone = "America/Toronto"
currency = "CAD"

[packages.paygo]
country = "CA"

[services.mcon]
package = "paygo"
tenant = "mcon.wat5.ictvoip.ca | 5192229000"
extensions = "2112 | 2113"
whmcs_service_id = 42
lago_subscription = "sub-mcon"
"""

WHMCS = """
[invoicing.whmcs]
url = "https://billing.example.net/"
identifier_env = "VOIPBILL_WHMCS_ID"
secret_file = "whmcs.secret"
access_key_env = "VOIPBILL_WHMCS_ACCESS"
invoice_action = "nextcron"
description = "{category} usage {period_start} to {period_end}"

[invoicing.lago]
url = "https://api.getlago.com"
api_key_env = "VOIPBILL_LAGO_KEY"
metric_code = "voip_cost"
"""


def load(tmp_path: Path, text: str) -> config.Config:
    path = tmp_path / "voipbill.toml"
    path.write_text(text, encoding="utf-8")
    return config.load(path)


def error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    return caught.value.message


def test_the_invoicing_tables_and_service_ids_are_read(tmp_path: Path) -> None:
    loaded = load(tmp_path, BASE + WHMCS)
    whmcs = loaded.invoicing.whmcs
    assert whmcs is not None
    assert whmcs.url == "https://billing.example.net"
    assert whmcs.identifier.env == "VOIPBILL_WHMCS_ID"
    assert whmcs.secret.file == tmp_path / "whmcs.secret"  # relative to the config file
    assert whmcs.access_key is not None and whmcs.access_key.env == "VOIPBILL_WHMCS_ACCESS"
    assert whmcs.invoice_action == "nextcron"
    assert whmcs.description == "{category} usage {period_start} to {period_end}"
    lago = loaded.invoicing.lago
    assert lago is not None and lago.metric_code == "voip_cost"
    service = loaded.services["mcon"]
    assert service.whmcs_service_id == 42 and service.lago_subscription == "sub-mcon"


def test_defaults_nextinvoice_and_the_default_description(tmp_path: Path) -> None:
    text = BASE + '[invoicing.whmcs]\nurl = "https://b.example.net"\n'
    text += 'identifier_env = "A"\nsecret_env = "B"\n'
    whmcs = load(tmp_path, text).invoicing.whmcs
    assert whmcs is not None and whmcs.invoice_action == "nextinvoice"
    assert whmcs.description.startswith("{category} calls {period_start} to {period_end}")


def test_no_invoicing_table_is_fine(tmp_path: Path) -> None:
    loaded = load(tmp_path, BASE)
    assert loaded.invoicing.whmcs is None and loaded.invoicing.lago is None


WHMCS_KEYS = {
    "url": '"https://billing.example.net"',
    "identifier_env": '"VOIPBILL_WHMCS_ID"',
    "secret_file": '"whmcs.secret"',
}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("invoice_action", '"recur"', "invoicing -> whmcs -> invoice_action: 'recur' cannot"),
        ("description", '"{customer}"', "invoicing -> whmcs -> description: unknown placeholder"),
        ("url", '"ftp://x"', "invoicing -> whmcs -> url: 'ftp://x' is not an http(s) URL"),
        ("secret", '"hunter2"', "invoicing -> whmcs -> secret: secrets are not accepted"),
        ("secret_env", '"B"', "invoicing -> whmcs -> secret_env: set exactly one"),
        ("invoce_action", '"x"', "invoicing -> whmcs -> invoce_action: unknown key"),
        ("timeout", "3", "invoicing -> whmcs -> timeout: unknown key"),
    ],
)
def test_whmcs_errors_name_the_key_path(tmp_path: Path, key: str, value: str, message: str) -> None:
    table = {**WHMCS_KEYS, key: value}
    text = BASE + "[invoicing.whmcs]\n" + "".join(f"{k} = {v}\n" for k, v in table.items())
    assert message in error(tmp_path, text)
    assert "hunter2" not in error(tmp_path, text)


def test_a_pasted_secret_in_an_env_key_is_refused_without_echoing_it(tmp_path: Path) -> None:
    text = BASE + WHMCS.replace('"VOIPBILL_WHMCS_ID"', '"Zq8v K3mW7pX2nR5tY9bC4dF6gH1jL0sAeU"')
    message = error(tmp_path, text)
    assert "invoicing -> whmcs -> identifier_env: is not an environment variable name" in message
    assert "Zq8v" not in message


def test_a_url_with_a_password_is_refused(tmp_path: Path) -> None:
    text = BASE + WHMCS.replace(
        "https://billing.example.net/", "https://admin:pw@billing.example.net"
    )
    message = error(tmp_path, text)
    assert "user name or password is refused" in message and "pw@" not in message


def test_unknown_lago_and_invoicing_keys(tmp_path: Path) -> None:
    text = BASE + WHMCS.replace('metric_code = "voip_cost"', 'metric_code = "m"\nmetric = "x"')
    assert "invoicing -> lago -> metric: unknown key" in error(tmp_path, text)
    assert "invoicing -> stripe: unknown key" in error(tmp_path, BASE + "[invoicing.stripe]\n")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("whmcs_service_id = 0", "services -> mcon -> whmcs_service_id: must be a WHMCS service"),
        ('whmcs_service_id = "42"', "services -> mcon -> whmcs_service_id: expected an integer"),
        ('lago_subscription = " "', "services -> mcon -> lago_subscription: must not be empty"),
    ],
)
def test_service_invoicing_ids_are_checked(tmp_path: Path, line: str, message: str) -> None:
    text = BASE.replace('whmcs_service_id = 42\nlago_subscription = "sub-mcon"\n', line + "\n")
    assert message in error(tmp_path, text)


def test_secrets_are_read_from_env_and_0600_file_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whmcs = load(tmp_path, BASE + WHMCS).invoicing.whmcs
    assert whmcs is not None
    with pytest.raises(ConfigError, match=r"identifier_env: \$VOIPBILL_WHMCS_ID is not set"):
        whmcs.identifier.read()
    monkeypatch.setenv("VOIPBILL_WHMCS_ID", "ident")
    assert whmcs.identifier.read().reveal() == "ident"
    secret = tmp_path / "whmcs.secret"
    secret.write_text("s3cret\n")
    secret.chmod(0o644)
    with pytest.raises(ConfigError, match=r"secret_file: .* readable by group or others"):
        whmcs.secret.read()
    secret.chmod(0o600)
    assert whmcs.secret.read().reveal() == "s3cret"
    assert "s3cret" not in repr(whmcs.secret.read())


def test_timeout_s_and_batch_size_are_read_with_their_defaults(tmp_path: Path) -> None:
    loaded = load(tmp_path, BASE + WHMCS)
    assert loaded.invoicing.whmcs is not None and loaded.invoicing.whmcs.timeout_s == 30.0
    assert loaded.invoicing.lago is not None and loaded.invoicing.lago.batch_size == 100
    text = BASE + WHMCS.replace('invoice_action = "nextcron"', "timeout_s = 90")
    text = text.replace('metric_code = "voip_cost"', 'metric_code = "voip_cost"\nbatch_size = 40')
    loaded = load(tmp_path, text)
    assert loaded.invoicing.whmcs is not None and loaded.invoicing.whmcs.timeout_s == 90.0
    assert loaded.invoicing.lago is not None and loaded.invoicing.lago.batch_size == 40


@pytest.mark.parametrize(
    ("table", "line", "message"),
    [
        ("whmcs", "timeout_s = 0", "invoicing -> whmcs -> timeout_s: must be a number of seconds"),
        ("whmcs", 'timeout_s = "30"', "invoicing -> whmcs -> timeout_s: expected"),
        ("lago", "batch_size = 0", "invoicing -> lago -> batch_size: must be a whole number"),
        ("lago", "batch_size = 2.5", "invoicing -> lago -> batch_size: expected an integer"),
    ],
)
def test_bad_timeout_s_and_batch_size_name_the_key(
    tmp_path: Path, table: str, line: str, message: str
) -> None:
    marker = "[invoicing.whmcs]\n" if table == "whmcs" else "[invoicing.lago]\n"
    assert message in error(tmp_path, BASE + WHMCS.replace(marker, marker + line + "\n"))
