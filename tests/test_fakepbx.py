"""The fake FusionPBX answers like the captured LIVE responses (tests/data/fusionpbx/)."""

from __future__ import annotations

import http.client
import re
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from tests.fakepbx import (
    ADMIN_KEY,
    DOMAIN,
    EXPORT_PATH,
    SUPERADMIN_KEY,
    USER_KEY,
    FakeFusionPBX,
)

DATA = Path(__file__).parent / "data" / "fusionpbx"
BAD_KEY_LOCATION = "/?path=%2Fapp%2Fxml_cdr%2Fxml_cdr_export.php"
COOKIE = re.compile(r"PHPSESSID=[0-9a-f]{32}; path=/; HttpOnly; SameSite=Lax")
TOKEN_INPUT = re.compile(r"<input type='hidden' name='([0-9a-f]{64})' value='([0-9a-f]{64})'>")
ZERO_UUID = "00000000-0000-0000-0000-000000000000"


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


def captured_header_names(name: str) -> list[str]:
    lines = sample(name).decode().splitlines()[1:]
    return [line.split(":", 1)[0] for line in lines if line]


def raw_get(
    pbx: FakeFusionPBX, path: str, params: dict[str, str], host: str = DOMAIN
) -> tuple[int, list[tuple[str, str]], bytes]:
    """One GET without any client smarts, to see status, header order and body as sent."""
    address = urlsplit(pbx.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=5)
    try:
        query = "?" + urlencode(params) if params else ""
        connection.request("GET", path + query, headers={"Host": host})
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


def export(pbx: FakeFusionPBX, key: str, **params: str) -> requests.Response:
    query = {"export_format": "csv", "key": key, "domain_name": DOMAIN, **params}
    return requests.get(pbx.url + EXPORT_PATH, params=query, allow_redirects=False, timeout=5)


def test_superadmin_export_of_the_seed_is_the_captured_file_byte_for_byte(
    fake_pbx: FakeFusionPBX,
) -> None:
    status, headers, body = raw_get(
        fake_pbx, EXPORT_PATH, {"export_format": "csv", "key": SUPERADMIN_KEY}
    )
    assert status == 200
    assert body == sample("55_export_superadmin.csv")
    assert [name for name, _ in headers] == captured_header_names("55_export_superadmin.headers")
    values = dict(headers)
    assert values["Content-type"] == "application/octet-binary"
    assert re.fullmatch(
        r"attachment; filename=cdr_pbx\.test_\d{8}_\d{6}\.csv", values["Content-Disposition"]
    )
    assert COOKIE.fullmatch(values["Set-Cookie"])


def test_admin_export_lacks_mos_and_b_legs_like_the_capture(fake_pbx: FakeFusionPBX) -> None:
    response = export(fake_pbx, ADMIN_KEY)
    assert response.content == sample("55_export_admin.csv")


def test_admin_asking_for_b_legs_still_gets_a_legs_only(fake_pbx: FakeFusionPBX) -> None:
    response = export(fake_pbx, ADMIN_KEY, leg="b")
    assert response.content == sample("55_export_admin.csv")


def test_epoch_range_is_inclusive_and_sorts_ascending_on_request(fake_pbx: FakeFusionPBX) -> None:
    response = export(
        fake_pbx,
        SUPERADMIN_KEY,
        start_epoch="1710082800",
        stop_epoch="1710086400",
        order_by="start_epoch",
        order="asc",
    )
    assert response.content == sample("55_export_epoch_range.csv")


def test_twelve_hour_stamp_range_in_domain_time_matches_the_capture(
    fake_pbx: FakeFusionPBX,
) -> None:
    response = export(
        fake_pbx,
        SUPERADMIN_KEY,
        start_stamp_begin="2024-03-10 03:00 pm",
        start_stamp_end="2024-03-10 04:00 pm",
    )
    assert response.content == sample("55_export_12h_range.csv")


def test_24h_stamp_under_the_12h_setting_is_the_php_fatal_error_with_200(
    fake_pbx: FakeFusionPBX,
) -> None:
    status, headers, body = raw_get(
        fake_pbx,
        EXPORT_PATH,
        {"export_format": "csv", "key": SUPERADMIN_KEY, "start_stamp_begin": "2024-03-10 15:00"},
    )
    assert (status, body) == (200, sample("55_24h_input_with_12h_setting.body"))
    assert [n for n, _ in headers] == captured_header_names("55_24h_input_with_12h_setting.headers")


def test_12h_stamp_under_the_24h_setting_is_an_empty_export() -> None:
    pbx = FakeFusionPBX(time_format="24h")
    pbx.add_cdr()
    with pbx:
        response = export(pbx, SUPERADMIN_KEY, start_stamp_begin="2024-03-10 03:00 pm")
        assert response.content == b"\n\n"
        assert (
            export(pbx, SUPERADMIN_KEY, start_stamp_begin="2024-03-10 14:00").text.count("\n") == 2
        )


def test_probe_of_the_zero_uuid_is_an_empty_attachment(fake_pbx: FakeFusionPBX) -> None:
    status, headers, body = raw_get(
        fake_pbx,
        EXPORT_PATH,
        {"export_format": "csv", "xml_cdr_uuid": ZERO_UUID, "key": SUPERADMIN_KEY},
    )
    assert (status, body) == (200, sample("55_export_empty.csv")) == (200, b"\n\n")
    assert [n for n, _ in headers] == captured_header_names("55_export_empty.headers")


@pytest.mark.parametrize("key", ["x" * 34, SUPERADMIN_KEY[:30], ADMIN_KEY + "x"])
def test_bad_or_short_key_is_a_302_to_the_exact_captured_location(
    fake_pbx: FakeFusionPBX, key: str
) -> None:
    status, headers, body = raw_get(fake_pbx, EXPORT_PATH, {"export_format": "csv", "key": key})
    assert (status, dict(headers)["Location"], body) == (302, BAD_KEY_LOCATION, b"")
    assert [n for n, _ in headers] == captured_header_names("55_badkey.headers")


def test_key_sent_to_the_ip_without_domain_name_is_rejected(fake_pbx: FakeFusionPBX) -> None:
    host = urlsplit(fake_pbx.url).netloc
    status, headers, _ = raw_get(
        fake_pbx, EXPORT_PATH, {"export_format": "csv", "key": SUPERADMIN_KEY}, host=host
    )
    assert (status, dict(headers)["Location"]) == (302, BAD_KEY_LOCATION)


def test_key_of_another_tenant_is_rejected() -> None:
    with FakeFusionPBX(cdrs=[]) as pbx:
        response = requests.get(
            pbx.url + EXPORT_PATH,
            params={"export_format": "csv", "key": ADMIN_KEY, "domain_name": "other.test"},
            allow_redirects=False,
            timeout=5,
        )
    assert (response.status_code, response.headers["Location"]) == (302, BAD_KEY_LOCATION)


def test_no_credentials_or_key_as_header_gives_the_login_page(fake_pbx: FakeFusionPBX) -> None:
    for headers in ({}, {"key": SUPERADMIN_KEY}):
        response = requests.get(
            fake_pbx.url + EXPORT_PATH + "?export_format=csv",
            headers={"Host": DOMAIN, **headers},
            allow_redirects=False,
            timeout=5,
        )
        assert response.status_code == 200
        assert "<title>Login</title>" in response.text
        assert "name='username'" in response.text
        assert response.headers["Content-type"] == "text/html; charset=UTF-8"
    _, captured, _ = raw_get(fake_pbx, EXPORT_PATH, {})
    assert [n for n, _ in captured] == captured_header_names("55_nocreds.headers")


def test_user_role_gets_the_access_denied_body(fake_pbx: FakeFusionPBX) -> None:
    status, headers, body = raw_get(
        fake_pbx, EXPORT_PATH, {"export_format": "csv", "key": USER_KEY}
    )
    assert (status, body) == (200, sample("55_noperm.body")) == (200, b"access denied")
    assert [n for n, _ in headers] == captured_header_names("55_noperm.headers")


def test_other_export_format_is_empty_without_attachment(fake_pbx: FakeFusionPBX) -> None:
    for fmt in ("", "pdf", "json"):
        response = export(fake_pbx, SUPERADMIN_KEY, export_format=fmt)
        assert (response.status_code, response.content) == (200, b"")
        assert "Content-Disposition" not in response.headers


def test_form_post_works_and_keeps_the_key_out_of_the_url(fake_pbx: FakeFusionPBX) -> None:
    response = requests.post(
        fake_pbx.url + EXPORT_PATH,
        data={"export_format": "csv", "key": ADMIN_KEY, "domain_name": DOMAIN},
        allow_redirects=False,
        timeout=5,
    )
    assert response.content == sample("55_export_admin.csv")
    recorded = fake_pbx.requests[-1]
    assert recorded.method == "POST" and recorded.form["key"] == ADMIN_KEY
    assert ADMIN_KEY not in recorded.target and "key" not in recorded.query


def test_start_epoch_zero_means_no_time_filter_at_all(fake_pbx: FakeFusionPBX) -> None:
    everything = export(fake_pbx, SUPERADMIN_KEY).content
    assert export(fake_pbx, SUPERADMIN_KEY, start_epoch="0", stop_epoch="1").content == everything
    assert export(fake_pbx, SUPERADMIN_KEY, start_epoch="1710079200").content == everything
    narrow = export(fake_pbx, SUPERADMIN_KEY, start_epoch="1", stop_epoch="1710079200").text
    assert narrow.count("\n") == 3  # header + the a and b legs of call 1


def test_rows_with_null_hangup_cause_or_lose_race_never_appear(fake_pbx: FakeFusionPBX) -> None:
    hidden = fake_pbx.add_cdr(hangup_cause=None)["xml_cdr_uuid"]
    assert export(fake_pbx, SUPERADMIN_KEY, xml_cdr_uuid=hidden).content == b"\n\n"
    lost = "cccccccc-0000-4000-8000-000000000005"
    assert export(fake_pbx, SUPERADMIN_KEY, xml_cdr_uuid=lost).content == b"\n\n"


def test_add_cdr_rows_are_exported_with_quotes_unescaped(fake_pbx: FakeFusionPBX) -> None:
    fake_pbx.add_cdr(
        xml_cdr_uuid="dddddddd-0000-4000-8000-000000000001", caller_id_name='Smith, John "JJ"'
    )
    text = export(fake_pbx, ADMIN_KEY, xml_cdr_uuid="dddddddd-0000-4000-8000-000000000001").text
    assert '"Smith, John "JJ""' in text
    assert text.endswith('"5"\n') and text.count("\n") == 2


def test_show_all_appends_domain_name_and_drops_it_from_the_filename(
    fake_pbx: FakeFusionPBX,
) -> None:
    response = export(fake_pbx, SUPERADMIN_KEY, show="all")
    lines = response.text.splitlines()
    assert lines[0].endswith(',"wait","domain_name"')
    assert all(line.endswith(',"pbx.test"') for line in lines[1:])
    assert re.fullmatch(
        r"attachment; filename=cdr_\d{8}_\d{6}\.csv", response.headers["Content-Disposition"]
    )


def test_session_cookie_works_without_the_key_but_not_with_another_user_agent(
    fake_pbx: FakeFusionPBX,
) -> None:
    session = requests.Session()
    session.headers["User-Agent"] = "voipbill-test/1"
    first = session.get(
        fake_pbx.url + EXPORT_PATH,
        params={"export_format": "csv", "key": ADMIN_KEY, "domain_name": DOMAIN},
        allow_redirects=False,
        timeout=5,
    )
    assert first.content == sample("55_export_admin.csv")
    again = session.get(
        fake_pbx.url + EXPORT_PATH,
        params={"export_format": "csv"},
        allow_redirects=False,
        timeout=5,
    )
    assert again.content == sample("55_export_admin.csv")
    assert "Set-Cookie" not in again.headers
    other = session.get(
        fake_pbx.url + EXPORT_PATH,
        params={"export_format": "csv"},
        headers={"User-Agent": "something-else"},
        allow_redirects=False,
        timeout=5,
    )
    assert (other.status_code, other.headers["Location"]) == (302, "/logout.php")


def test_56_bare_key_is_a_302_to_relative_login_php(fake_pbx_56: FakeFusionPBX) -> None:
    status, headers, body = raw_get(
        fake_pbx_56, EXPORT_PATH, {"export_format": "csv", "key": SUPERADMIN_KEY}
    )
    assert (status, dict(headers)["Location"], body) == (302, "login.php", b"")
    assert [n for n, _ in headers] == captured_header_names("56_key_no_token.headers")


def test_56_primed_token_with_key_exports_and_replaces_the_cookie(
    fake_pbx_56: FakeFusionPBX,
) -> None:
    session = requests.Session()
    login = session.get(fake_pbx_56.url + "/login.php", timeout=5)
    assert "<title>Login</title>" in login.text
    match = TOKEN_INPUT.search(login.text)
    assert match is not None
    primed_cookie = session.cookies["PHPSESSID"]
    params = {"export_format": "csv", "key": SUPERADMIN_KEY, "domain_name": DOMAIN}
    response = session.get(
        fake_pbx_56.url + EXPORT_PATH,
        params={**params, match[1]: match[2]},
        allow_redirects=False,
        timeout=5,
    )
    assert response.status_code == 200
    header, *rows = response.text.splitlines()
    assert '"sip_hangup_disposition","call_disposition","pdd_ms"' in header
    assert len(rows) == 5
    assert COOKIE.fullmatch(response.headers["Set-Cookie"])
    assert session.cookies["PHPSESSID"] != primed_cookie
    follow_up = session.get(
        fake_pbx_56.url + EXPORT_PATH, params={"export_format": "csv"}, timeout=5
    )
    assert follow_up.text == response.text


def test_56_token_without_its_cookie_is_a_302_to_login_php(fake_pbx_56: FakeFusionPBX) -> None:
    login = requests.get(fake_pbx_56.url + "/login.php", timeout=5)
    match = TOKEN_INPUT.search(login.text)
    assert match is not None
    response = export(fake_pbx_56, SUPERADMIN_KEY, **{match[1]: match[2]})
    assert (response.status_code, response.headers["Location"]) == (302, "login.php")


def test_password_login_redirects_to_the_dashboard_or_back(fake_pbx: FakeFusionPBX) -> None:
    good = {"username": "admin", "password": "admin-secret-password", "domain_name": DOMAIN}
    bad = {**good, "password": "wrong"}
    url = fake_pbx.url + "/login.php"
    response = requests.post(url, data=good, allow_redirects=False, timeout=5)
    assert (response.status_code, response.headers["Location"]) == (302, "/core/dashboard/")
    response = requests.post(url, data=bad, allow_redirects=False, timeout=5)
    assert (response.status_code, response.headers["Location"]) == (302, "/?path=%2Flogin.php")


@pytest.mark.parametrize(
    ("failure", "status", "check"),
    [
        ("php_fatal", 200, lambda r: r.content == sample("55_24h_input_with_12h_setting.body")),
        (
            "empty_no_attachment",
            200,
            lambda r: r.content == b"" and "Content-Disposition" not in r.headers,
        ),
        ("https_redirect", 301, lambda r: r.headers["Location"].startswith("https://127.0.0.1")),
        ("server_error", 500, lambda r: b"500" in r.content),
        (
            "garbage_html",
            200,
            lambda r: r.text.startswith("<!DOCTYPE html>") and "Login" not in r.text,
        ),
        ("sql_error", 200, lambda r: r.content == b"\n\n"),
        ("cidr_denied", 200, lambda r: r.content == b"access denied"),
    ],
)
def test_failure_switches(
    fake_pbx: FakeFusionPBX, failure: str, status: int, check: object
) -> None:
    fake_pbx.failures.add(failure)
    response = export(fake_pbx, SUPERADMIN_KEY)
    assert response.status_code == status
    assert callable(check) and check(response)


def test_slow_switch_outlasts_a_client_timeout(fake_pbx: FakeFusionPBX) -> None:
    fake_pbx.failures.add("slow")
    fake_pbx.slow_seconds = 2.0
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(fake_pbx.url + EXPORT_PATH, timeout=0.2)
