"""The fake's 5.0 and 5.1 modes answer like the FusionPBX 5.0.1 and 5.1.0 captures
(tests/data/fusionpbx/50_*, 51_*), alone and behind a proxy that rewrites Host."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from tests.fakepbx import DOMAIN, DOMAIN_UUID, EXPORT_PATH, FakeFusionPBX, FakeUser
from tests.hostproxy import behind_proxy
from tests.test_fakepbx import captured_header_names, raw_get, sample

ACME = "acme.test"
ACME_KEY = "Hx7kQ2mV9pL4wT8nB3cR6yF1gJ5dS0zEaU"  # the admin of acme.test
COOKIE_50 = re.compile(r"PHPSESSID=[0-9a-v]{26}; path=/")


def add_pbx_test_rows(fake: FakeFusionPBX) -> None:
    """The three pbx.test calls of 50_20 (outbound from 2112, answered after 10 s)."""
    for last, start, seconds, number in (
        ("13", 1794200000, 300, "12125550199"),
        ("12", 1794100000, 1800, "01144207946000"),
        ("11", 1794000000, 600, "14165550100"),
    ):
        fake.add_cdr(
            xml_cdr_uuid=f"aaaaaaaa-0000-4000-8000-0000000000{last}",
            domain_uuid=DOMAIN_UUID,
            domain_name=DOMAIN,
            extension="2112",
            caller_id_name="PBX Reception",
            caller_id_number="2112",
            source_number="2112",
            caller_destination=number,
            destination_number=number,
            start_epoch=start,
            answer_epoch=start + 10,
            end_epoch=start + 10 + seconds,
            billsec=seconds,
            duration=seconds,
        )


def two_tenants(mode: str) -> FakeFusionPBX:
    fake = FakeFusionPBX(mode=mode, users=[FakeUser(ACME_KEY, ACME, "admin")])
    add_pbx_test_rows(fake)
    fake.add_cdr(domain_name=ACME, extension="301", start_epoch=1794150000)
    return fake


@pytest.fixture
def fake_50() -> Iterator[FakeFusionPBX]:
    with two_tenants("5.0") as fake:
        yield fake


@pytest.fixture
def fake_51() -> Iterator[FakeFusionPBX]:
    with two_tenants("5.1") as fake:
        yield fake


def extensions(response: requests.Response) -> list[str]:
    """The extension of each exported row (the third column in both layouts)."""
    assert response.status_code == 200, response.headers
    return [line.split('","')[2] for line in response.text.splitlines()[1:] if line]


def session_as(host: str) -> requests.Session:
    session = requests.Session()
    session.headers["Host"] = host
    return session


def range_query(**extra: str) -> dict[str, str]:
    return {
        "export_format": "csv",
        "key": ACME_KEY,
        "domain_name": ACME,
        "start_epoch": "1793900000",
        "stop_epoch": "1794300000",
        **extra,
    }


def test_another_tenants_host_exports_that_tenants_rows_byte_for_byte(
    fake_50: FakeFusionPBX,
) -> None:
    status, headers, body = raw_get(fake_50, EXPORT_PATH, range_query(), host=DOMAIN)
    assert status == 200
    assert body == sample("50_20_admin_range_other_tenant_host.body")
    assert [n for n, _ in headers] == captured_header_names(
        "50_20_admin_range_other_tenant_host.headers"
    )
    values = dict(headers)
    # the file is named after the key's tenant, not the rows' (as captured)
    assert re.fullmatch(
        r"attachment; filename=cdr_acme\.test_\d{8}_\d{6}\.csv", values["Content-Disposition"]
    )
    assert COOKIE_50.fullmatch(values["Set-Cookie"])


def test_an_ip_host_with_domain_name_is_200_with_no_rows(fake_50: FakeFusionPBX) -> None:
    status, headers, body = raw_get(fake_50, EXPORT_PATH, range_query(), host="127.0.0.1:18083")
    assert (status, body) == (200, sample("50_12_admin_range_domain_name_param_ip_host.body"))
    assert [n for n, _ in headers] == captured_header_names(
        "50_12_admin_range_domain_name_param_ip_host.headers"
    )


def test_the_tenants_own_host_exports_its_own_rows(fake_50: FakeFusionPBX) -> None:
    _, _, body = raw_get(fake_50, EXPORT_PATH, range_query(), host=ACME)
    lines = body.decode().splitlines()
    assert len(lines) == 2 and '"301"' in lines[1]
    assert "status" not in lines[0] and lines[0].endswith('"tta"')


def test_a_bad_key_is_the_captured_302_to_login_php_with_path(fake_50: FakeFusionPBX) -> None:
    status, headers, body = raw_get(
        fake_50, EXPORT_PATH, {**range_query(), "key": "k" * 34}, host=ACME
    )
    assert (status, body) == (302, sample("50_08_bad_key.body"))
    values = dict(headers)
    assert values["Location"] == "/login.php?path=%2Fapp%2Fxml_cdr%2Fxml_cdr_export.php"
    assert [n for n, _ in headers] == captured_header_names("50_08_bad_key.headers")


def test_the_login_page_is_the_capture(fake_50: FakeFusionPBX) -> None:
    status, headers, body = raw_get(fake_50, "/login.php", {}, host=ACME)
    assert (status, body) == (200, sample("50_22_login_page.body"))
    assert [n for n, _ in headers] == captured_header_names("50_22_login_page.headers")


def test_a_proxy_rewriting_host_decides_the_tenant(fake_50: FakeFusionPBX) -> None:
    with behind_proxy(fake_50, DOMAIN) as proxy:
        _, _, body = raw_get(proxy, EXPORT_PATH, range_query(), host=ACME)  # type: ignore[arg-type]
    assert body == sample("50_20_admin_range_other_tenant_host.body")
    assert fake_50.requests[-1].headers["host"] == DOMAIN
    assert proxy.requests[-1].headers["host"] == ACME


@pytest.mark.parametrize("host", [DOMAIN, "127.0.0.1"])
def test_50_a_second_keyed_export_in_a_session_is_the_keys_tenants(
    fake_50: FakeFusionPBX, host: str
) -> None:
    """50_23 to 50_28: priming does not help; the key login fixes the next request's tenant."""
    session = session_as(host)
    url = fake_50.url + EXPORT_PATH
    primed = session.get(fake_50.url + "/login.php", params={"domain_name": ACME}, timeout=5)
    assert primed.content == sample("50_22_login_page.body")
    first = session.get(url, params=range_query(), allow_redirects=False, timeout=5)
    assert extensions(first) == (["2112"] * 3 if host == DOMAIN else [])
    assert "Set-Cookie" not in first.headers  # the primed session, no new one
    cookie_only = session.get(
        url, params={"export_format": "csv", "start_epoch": "1", "stop_epoch": "2"},
        allow_redirects=False, timeout=5,
    )  # fmt: skip
    assert cookie_only.status_code == 302  # 5.0 keeps no key login (50_25)
    assert cookie_only.headers["Location"] == (
        "/login.php?path=%2Fapp%2Fxml_cdr%2Fxml_cdr_export.php%3Fexport_format%3Dcsv"
        "%26start_epoch%3D1%26stop_epoch%3D2"
    )
    assert [n for n, _ in cookie_only.headers.items()] == captured_header_names(
        "50_25_admin_day_2026-11-01_cookie_only.headers"
    )
    again = session.get(url, params=range_query(), allow_redirects=False, timeout=5)
    assert extensions(again) == ["301"]  # 50_26: the key's tenant, whatever the Host
    assert [n for n, _ in again.headers.items()] == captured_header_names(
        "50_26_admin_range_same_session_key_again.headers"
    )


def test_50_a_second_keyed_export_behind_a_rewriting_proxy_is_the_keys_tenants(
    fake_50: FakeFusionPBX,
) -> None:
    with behind_proxy(fake_50, DOMAIN) as proxy:
        session = session_as(ACME)
        url = proxy.url + EXPORT_PATH
        first = session.get(url, params=range_query(), allow_redirects=False, timeout=5)
        again = session.get(url, params=range_query(), allow_redirects=False, timeout=5)
    assert extensions(first) == ["2112"] * 3
    assert "Set-Cookie" in first.headers and "Set-Cookie" not in again.headers
    assert extensions(again) == ["301"]


@pytest.mark.parametrize("host", [ACME, DOMAIN, "127.0.0.1"])
def test_51_priming_with_domain_name_pins_the_session_whatever_the_host(
    fake_51: FakeFusionPBX, host: str
) -> None:
    """51_23 to 51_28: 5.1's login page takes domain_name, and the key login is kept."""
    session = session_as(host)
    url = fake_51.url + EXPORT_PATH
    primed = session.get(fake_51.url + "/login.php", params={"domain_name": ACME}, timeout=5)
    assert primed.content == sample("51_22_login_page.body")
    assert [n for n, _ in primed.headers.items()] == captured_header_names(
        "51_22_login_page.headers"
    )
    keyed = session.get(url, params=range_query(), allow_redirects=False, timeout=5)
    assert extensions(keyed) == ["301"]
    assert [n for n, _ in keyed.headers.items()] == captured_header_names(
        "51_24_admin_range_primed_ip_host.headers"
    )
    header = keyed.text.splitlines()[0]
    assert '"billmsec","missed_call","record_path"' in header and '"status"' not in header
    cookie_only = {k: v for k, v in range_query().items() if k != "key"}
    kept = session.get(url, params=cookie_only, allow_redirects=False, timeout=5)
    assert extensions(kept) == ["301"]  # 51_25


def test_51_an_unprimed_key_request_exports_the_hosts_tenant(fake_51: FakeFusionPBX) -> None:
    response = session_as(DOMAIN).get(
        fake_51.url + EXPORT_PATH, params=range_query(), allow_redirects=False, timeout=5
    )
    assert extensions(response) == ["2112"] * 3  # 51_20 (pbx.test had no rows there)


def test_51_a_bad_key_goes_to_slash_path_and_no_key_gets_the_login_page(
    fake_51: FakeFusionPBX,
) -> None:
    status, headers, _ = raw_get(fake_51, EXPORT_PATH, {**range_query(), "key": "k" * 34}, ACME)
    assert (status, dict(headers)["Location"]) == (
        302,
        "/?path=%2Fapp%2Fxml_cdr%2Fxml_cdr_export.php",
    )
    assert [n for n, _ in headers] == captured_header_names("51_08_bad_key.headers")
    no_key = {k: v for k, v in range_query().items() if k != "key"}
    status, _, body = raw_get(fake_51, EXPORT_PATH, no_key, ACME)
    assert (status, body) == (200, sample("51_22_login_page.body"))
