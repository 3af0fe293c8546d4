"""The fake's 5.0 mode answers like the FusionPBX 5.0.1 captures (tests/data/fusionpbx/50_*)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.fakepbx import DOMAIN, DOMAIN_UUID, EXPORT_PATH, FakeFusionPBX, FakeUser
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


@pytest.fixture
def fake_50() -> Iterator[FakeFusionPBX]:
    fake = FakeFusionPBX(mode="5.0", users=[FakeUser(ACME_KEY, ACME, "admin")])
    add_pbx_test_rows(fake)
    fake.add_cdr(domain_name=ACME, extension="301", start_epoch=1794150000)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


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
    fake_50.host_override = DOMAIN
    _, _, body = raw_get(fake_50, EXPORT_PATH, range_query(), host=ACME)
    assert body == sample("50_20_admin_range_other_tenant_host.body")
