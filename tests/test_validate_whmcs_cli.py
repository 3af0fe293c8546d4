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


# -- which country the DIDs are checked in --------------------------------------------------------

AU_CONFIG = """\
timezone = "Australia/Sydney"
currency = "AUD"

[packages.business]
country = "AU"
number_mode = "local-prefix"

[packages.{second}]
country = "{second_country}"

[services.harbour]
package = "{known_package}"
tenant = "harbour.example.au | 0292345670"
extensions = "201"
whmcs_service_id = 7

[invoicing.whmcs]
url = "{url}"
identifier_env = "VB_WHMCS_ID"
secret_env = "VB_WHMCS_SECRET"
"""


def au_config(
    tmp_path: Path,
    fake: FakeWhmcs,
    monkeypatch: pytest.MonkeyPatch,
    *,
    second_country: str = "AU",
    known_package: str = "business",
) -> Path:
    monkeypatch.setenv("VB_WHMCS_ID", fakewhmcs.IDENTIFIER)
    monkeypatch.setenv("VB_WHMCS_SECRET", fakewhmcs.SECRET)
    path = tmp_path / "voipbill.toml"
    text = AU_CONFIG.format(
        url=fake.url,
        second="other",
        second_country=second_country,
        known_package=known_package,
    )
    path.write_text(text, encoding="utf-8")
    return path


def add_au_services(fake: FakeWhmcs) -> None:
    # Sydney and Melbourne numbers, as an Australian admin types them; none is a Canadian DID
    fake.add_service(7, 1, "harbour.example.au | 0292345670", "201 | 202")
    fake.add_service(8, 1, "dental.example.au | 0398765430", "301")
    fake.add_service(9, 2, "plumbing.example.au | +61298765432", "401")


def test_dids_are_checked_in_the_packages_country_not_canada(
    tmp_path: Path, fake_whmcs: FakeWhmcs, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_au_services(fake_whmcs)
    path = au_config(tmp_path, fake_whmcs, monkeypatch)
    result = invoke("validate-fields", "--whmcs", "-f", "json", "-c", str(path))
    assert result.exit_code == 0, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["country"] == "AU"
    assert [r["tenant"]["dids"] for r in document["results"]] == [
        ["+61292345670"],
        ["+61398765430"],
        ["+61298765432"],
    ]
    assert {r["country"] for r in document["results"]} == {"AU"}
    # --country does not override the config's one country
    again = invoke("validate-fields", "--whmcs", "--country", "CA", "-c", str(path))
    assert again.exit_code == 0, again.stdout


def test_a_known_service_uses_its_package_and_the_rest_need_country_when_packages_differ(
    tmp_path: Path, fake_whmcs: FakeWhmcs, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_au_services(fake_whmcs)
    path = au_config(tmp_path, fake_whmcs, monkeypatch, second_country="NZ")
    refused = invoke("validate-fields", "--whmcs", "-c", str(path))
    assert refused.exit_code == 2
    assert "cannot tell which country the DIDs of 2 WHMCS service(s) belong to" in refused.stderr
    assert "whmcs 8" in refused.stderr and "AU, NZ" in refused.stderr
    assert "--country" in refused.stderr
    result = invoke("validate-fields", "--whmcs", "--country", "AU", "-f", "json", "-c", str(path))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert [r["country"] for r in json.loads(result.stdout)["results"]] == ["AU", "AU", "AU"]


def test_the_known_service_is_checked_in_its_own_packages_country(
    tmp_path: Path, fake_whmcs: FakeWhmcs, monkeypatch: pytest.MonkeyPatch
) -> None:
    # service 7 is the NZ package's: its Melbourne DID (03 9876 5430) is no New Zealand number
    # (an NZ 03 number has 7 digits after the 03)
    fake_whmcs.add_service(7, 1, "harbour.example.au | 0398765430", "201 | 202")
    fake_whmcs.add_service(8, 1, "dental.example.au | 0398765430", "301")
    fake_whmcs.add_service(9, 2, "plumbing.example.au | +61298765432", "401")
    path = au_config(tmp_path, fake_whmcs, monkeypatch, second_country="NZ", known_package="other")
    result = invoke("validate-fields", "--whmcs", "--country", "AU", "-f", "json", "-c", str(path))
    assert result.exit_code == 1
    results = json.loads(result.stdout)["results"]
    assert [(r["whmcs_service_id"], r["country"], r["valid"]) for r in results] == [
        (7, "NZ", False),
        (8, "AU", True),
        (9, "AU", True),
    ]
    assert json.loads(result.stdout)["country"] == "AU, NZ"
