"""`voipbill validate-fields --whmcs`: every WHMCS service's domain/username fields, paged."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from tests import fakewhmcs
from tests.clirunner import invoke
from tests.fakewhmcs import FakeWhmcs

CONFIG = """\
timezone = "America/Toronto"
currency = "CAD"

[packages.paygo]
country = "CA"

[services.known]
package = "paygo"
tenant = "known.example.net | 5192229000"
extensions = "3001"
whmcs_service_id = 7

[invoicing.whmcs]
url = "{url}"
identifier_env = "VB_WHMCS_ID"
secret_env = "VB_WHMCS_SECRET"
"""


@pytest.fixture
def config_path(tmp_path: Path, fake_whmcs: FakeWhmcs, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VB_WHMCS_ID", fakewhmcs.IDENTIFIER)
    monkeypatch.setenv("VB_WHMCS_SECRET", fakewhmcs.SECRET)
    path = tmp_path / "voipbill.toml"
    path.write_text(CONFIG.format(url=fake_whmcs.url), encoding="utf-8")
    return path


def seed(fake: FakeWhmcs, count: int) -> None:
    """`count` valid VoIP services (product 1); service 60 has a malformed extensions field."""
    for number in range(1, count + 1):
        extensions = "2112 | 21a3" if number == 60 else f"{2000 + number} | {3000 + number}"
        fake.add_service(number, number, f"t{number}.wat5.ictvoip.ca | 5192229000", extensions)
    fake.add_service(999, 1, "hosting.example.com", "demodoma", pid=2, name="Starter")


def test_every_page_is_read_and_the_malformed_field_is_named(
    fake_whmcs: FakeWhmcs, config_path: Path
) -> None:
    seed(fake_whmcs, 130)
    result = invoke("validate-fields", "--whmcs", "--product", "1", "--config", str(config_path))
    assert result.exit_code == 1
    assert [r.form["limitstart"] for r in fake_whmcs.requests] == ["0", "100"]
    assert all(r.form["pid"] == "1" for r in fake_whmcs.requests)
    assert "whmcs 60: extensions, segment 2: '21a3' is not an extension" in result.stdout
    assert "130 services: 129 valid, 1 invalid" in result.stderr
    assert fakewhmcs.SECRET not in result.stdout + result.stderr


def test_json_carries_the_whmcs_ids(fake_whmcs: FakeWhmcs, config_path: Path) -> None:
    seed(fake_whmcs, 3)
    result = invoke(
        "validate-fields", "--whmcs", "--product", "1", "-f", "json", "-c", str(config_path)
    )
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["version"] == 1 and document["valid"] is True
    first = document["results"][0]
    assert first["whmcs_service_id"] == 1 and first["whmcs_client_id"] == 1
    assert first["tenant"]["domain"] == "t1.wat5.ictvoip.ca"
    assert first["extensions"] == ["2001", "3001"]


def test_config_snippet_prints_toml_of_the_valid_services(
    fake_whmcs: FakeWhmcs, config_path: Path
) -> None:
    seed(fake_whmcs, 60)
    result = invoke(
        "validate-fields", "--whmcs", "--product", "1", "--config-snippet", "-c", str(config_path)
    )
    assert result.exit_code == 1  # service 60 is invalid
    services = tomllib.loads(result.stdout)["services"]
    assert "t60" not in services
    assert "t7" not in services  # whmcs_service_id 7 is [services.known] already
    assert len(services) == 58
    assert services["t1"] == {
        "package": "paygo",
        "tenant": "t1.wat5.ictvoip.ca | 5192229000",
        "extensions": "2001 | 3001",
        "whmcs_service_id": 1,
    }
    assert "whmcs 60: extensions, segment 2" in result.stderr
    assert "already in the config as [services.known]" in result.stderr


def test_a_snippet_never_reuses_a_configured_name(fake_whmcs: FakeWhmcs, config_path: Path) -> None:
    fake_whmcs.add_service(8, 1, "known.wat5.ictvoip.ca | 5192229000", "2112")
    result = invoke("validate-fields", "--whmcs", "--config-snippet", "-c", str(config_path))
    assert list(tomllib.loads(result.stdout)["services"]) == ["known-8"]


def test_a_snippet_loads_as_config(fake_whmcs: FakeWhmcs, config_path: Path) -> None:
    seed(fake_whmcs, 3)
    result = invoke(
        "validate-fields", "--whmcs", "--product", "1", "--config-snippet", "-c", str(config_path)
    )
    assert result.exit_code == 0
    config_path.write_text(config_path.read_text() + "\n" + result.stdout)
    check = invoke("validate-fields", "--service", "t2", "-c", str(config_path))
    assert check.exit_code == 0, check.stderr


def test_a_wrong_secret_is_exit_4(
    fake_whmcs: FakeWhmcs, config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VB_WHMCS_SECRET", "not-the-secret")
    result = invoke("validate-fields", "--whmcs", "-c", str(config_path))
    assert result.exit_code == 4
    assert "WHMCS refused GetClientsProducts: Authentication Failed" in result.stderr
    assert "not-the-secret" not in result.stderr
    assert "Traceback" not in result.stderr


def test_without_an_invoicing_whmcs_table_it_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "voipbill.toml"
    path.write_text('timezone = "UTC"\ncurrency = "CAD"\n')
    result = invoke("validate-fields", "--whmcs", "-c", str(path))
    assert result.exit_code == 3
    assert "has no [invoicing.whmcs] table" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("--whmcs", "a.example.net | 5192229000"),
        ("--whmcs", "--service", "known"),
        ("--product", "1", "a.example.net | 5192229000"),
        ("--config-snippet", "a.example.net | 5192229000"),
    ],
)
def test_whmcs_options_do_not_mix_with_other_sources(args: tuple[str, ...]) -> None:
    assert invoke("validate-fields", *args).exit_code == 2
