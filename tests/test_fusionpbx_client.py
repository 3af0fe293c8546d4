"""The FusionPBX client against the fake server over real sockets, in 5.5 and 5.6 mode."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.fakepbx import ADMIN_KEY, DOMAIN, EXPORT_PATH, SUPERADMIN_KEY, FakeFusionPBX
from tests.pbxhelpers import KEY_ENV, Sleeps, make_server, pbx
from voipbill.cdrs import CdrProblem
from voipbill.errors import ExitCode, UsageError
from voipbill.fusionpbx import PROBE_UUID, USER_AGENT, FusionPBXClient, login_token
from voipbill.periods import Period, make_period

__all__ = ["pbx"]  # the fixture, imported for pytest

UTC = ZoneInfo("UTC")
MARCH_10 = make_period(date(2024, 3, 10), date(2024, 3, 10), UTC)


@pytest.fixture(autouse=True)
def admin_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, ADMIN_KEY)


def client_for(fake: FakeFusionPBX, domain: str = DOMAIN, **overrides: object) -> FusionPBXClient:
    sleep = overrides.pop("sleep", Sleeps())
    retries = int(str(overrides.pop("retries", 2)))
    return FusionPBXClient(
        make_server(fake.url, **overrides),
        domain,
        sleep=sleep,
        retries=retries,  # type: ignore[arg-type]
    )


def exports(fake: FakeFusionPBX) -> list[dict[str, str]]:
    return [r.form for r in fake.requests if r.path == EXPORT_PATH]


# --- success ------------------------------------------------------------------------------


def test_probe_answers_an_empty_csv_attachment_for_the_domain(pbx: FakeFusionPBX) -> None:
    with client_for(pbx) as client:
        export = client.probe_export()
    assert export.body == "\n\n"
    assert export.filename is not None and export.filename.startswith(f"cdr_{DOMAIN}_")
    assert export.server_date is not None


def test_records_of_a_day_are_the_admins_a_legs(pbx: FakeFusionPBX) -> None:
    problems: list[CdrProblem] = []
    with client_for(pbx) as client:
        uuids = {record.xml_cdr_uuid for record in client.records(MARCH_10, problems)}
    # admins never see b-legs, and LOSE_RACE legs are hidden (docs/fusionpbx.md §6)
    assert uuids == {f"aaaaaaaa-0000-4000-8000-00000000000{n}" for n in (1, 2, 3, 4)}
    assert problems == []


def test_key_is_posted_once_and_never_put_in_a_url(pbx: FakeFusionPBX) -> None:
    with client_for(pbx) as client:
        list(client.export_chunks(make_period(date(2024, 3, 9), date(2024, 3, 11), UTC)))
    assert all(ADMIN_KEY not in r.target for r in pbx.requests)
    assert all(r.method == "POST" for r in pbx.requests if r.path == EXPORT_PATH)
    keyed = [form for form in exports(pbx) if "key" in form]
    assert [form["key"] for form in keyed] == [ADMIN_KEY]
    # the key logs in with the probe, which exports nothing (docs/fusionpbx.md §3); the three
    # chunks ride on the session cookie
    assert len(exports(pbx)) == 4 and keyed[0]["xml_cdr_uuid"] == PROBE_UUID


def test_domain_name_and_user_agent_go_with_every_request(pbx: FakeFusionPBX) -> None:
    with client_for(pbx) as client:
        list(client.export_chunks(MARCH_10))
    assert pbx.requests
    assert all({**r.query, **r.form}.get("domain_name") == DOMAIN for r in pbx.requests)
    assert {r.headers["user-agent"] for r in pbx.requests} == {USER_AGENT}
    assert USER_AGENT.startswith("voipbill/")


def test_56_key_request_carries_the_login_token_and_then_the_new_cookie(
    pbx: FakeFusionPBX,
) -> None:
    with client_for(pbx) as client:
        client.probe_export()
        client.probe_export()
    login, keyed, follow_up = pbx.requests
    assert login.path == "/login.php" and login.method == "GET"
    token_fields = [name for name in keyed.form if len(name) == 64]
    assert len(token_fields) == (1 if pbx.mode == "5.6" else 0)
    if pbx.mode == "5.6":  # the login replaced the session cookie (docs/fusionpbx.md §1)
        assert follow_up.cookies["PHPSESSID"] != keyed.cookies["PHPSESSID"]
    assert "key" not in follow_up.form


def test_an_expired_session_logs_in_again_once(pbx: FakeFusionPBX) -> None:
    with client_for(pbx) as client:
        client.probe_export()
        client.session.cookies.clear()  # as if the PHP session expired
        assert client.probe_export().body == "\n\n"
    assert [form["key"] for form in exports(pbx) if "key" in form] == [ADMIN_KEY, ADMIN_KEY]


def test_chunk_requests_cover_the_period_without_gap_or_overlap(pbx: FakeFusionPBX) -> None:
    period = make_period(date(2024, 3, 1), date(2024, 3, 3), ZoneInfo("America/Toronto"))
    with client_for(pbx, chunk_hours=7) as client:
        list(client.export_chunks(period))
    login, *chunks = exports(pbx)
    assert login["xml_cdr_uuid"] == PROBE_UUID and "start_epoch" not in login
    asked = [(int(f["start_epoch"]), int(f["stop_epoch"])) for f in chunks]
    assert asked[0][0] == period.start_epoch
    assert asked[-1][1] == period.end_epoch - 1
    assert all(stop + 1 == following for (_, stop), (following, _) in itertools.pairwise(asked))
    assert all(stop - start + 1 <= 7 * 3600 for start, stop in asked)


def test_a_period_reaching_epoch_zero_is_refused_before_any_request(pbx: FakeFusionPBX) -> None:
    # make_period refuses such dates already; the client must not rely on that
    period = Period(date(1970, 1, 1), date(1970, 1, 2), 0, 2 * 86400, UTC)
    with client_for(pbx) as client, pytest.raises(UsageError, match="epoch 0"):
        list(client.export_chunks(period))
    assert pbx.requests == []


# --- failures: each answer of docs/fusionpbx.md §5 is its own error -----------------------


def expect_failure(client: FusionPBXClient, code: str, exit_code: ExitCode) -> str:
    with client, pytest.raises(Exception) as caught:
        client.probe_export()
    error = caught.value
    assert getattr(error, "code", None) == code, repr(error)
    assert getattr(error, "exit_code", None) == exit_code
    text = f"{error} {getattr(error, 'hint', '')}"
    assert ADMIN_KEY not in text and SUPERADMIN_KEY not in text
    assert getattr(error, "hint", None)
    return text


def test_bad_key_is_an_authentication_failure_and_never_retried(
    pbx: FakeFusionPBX, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "x" * 34)
    sleeps = Sleeps()
    expect_failure(client_for(pbx, sleep=sleeps), "bad_key_or_domain", ExitCode.CONNECTION)
    assert sleeps == []
    assert len(exports(pbx)) == 1


def test_key_of_another_tenant_is_refused_naming_the_domain(pbx: FakeFusionPBX) -> None:
    text = expect_failure(client_for(pbx, "other.test"), "bad_key_or_domain", ExitCode.CONNECTION)
    assert "other.test" in text


def test_user_group_key_lacks_the_export_permission(
    pbx: FakeFusionPBX, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fakepbx import USER_KEY

    monkeypatch.setenv(KEY_ENV, USER_KEY)
    text = expect_failure(client_for(pbx), "no_export_permission", ExitCode.CONNECTION)
    assert "xml_cdr_export" in text


@pytest.mark.parametrize(
    ("switch", "code", "exit_code"),
    [
        ("cidr_denied", "no_export_permission", ExitCode.CONNECTION),
        ("empty_no_attachment", "no_csv_permission", ExitCode.CONNECTION),
        ("php_fatal", "php_error", ExitCode.BAD_RESPONSE),
        ("garbage_html", "unexpected_response", ExitCode.BAD_RESPONSE),
        ("https_redirect", "https_redirect", ExitCode.CONNECTION),
    ],
)
def test_failure_signatures(
    pbx: FakeFusionPBX, switch: str, code: str, exit_code: ExitCode
) -> None:
    pbx.failures.add(switch)
    expect_failure(client_for(pbx), code, exit_code)


def test_php_fatal_error_is_quoted_without_html(pbx: FakeFusionPBX) -> None:
    pbx.failures.add("php_fatal")
    text = expect_failure(client_for(pbx), "php_error", ExitCode.BAD_RESPONSE)
    assert "Fatal error: Uncaught Error" in text and "<b>" not in text


def test_56_key_without_the_login_token_is_told_apart(
    pbx: FakeFusionPBX, monkeypatch: pytest.MonkeyPatch
) -> None:
    if pbx.mode != "5.6":
        pytest.skip("5.5 has no login token")
    monkeypatch.setattr("voipbill.fusionpbx.client.login_token", lambda page: {})
    expect_failure(client_for(pbx), "login_token", ExitCode.CONNECTION)


def test_a_changed_user_agent_ends_the_session(pbx: FakeFusionPBX) -> None:
    client = client_for(pbx)
    client.probe_export()
    client.session.headers["User-Agent"] = "something else"
    expect_failure(client, "session_rejected", ExitCode.CONNECTION)


def test_login_page_instead_of_export_means_the_key_was_not_delivered(pbx: FakeFusionPBX) -> None:
    client = client_for(pbx)
    client._key = ""  # as if a proxy dropped the form field
    expect_failure(client, "key_not_delivered", ExitCode.CONNECTION)


def test_sql_error_reads_as_an_empty_export_like_fusionpbx_itself(pbx: FakeFusionPBX) -> None:
    pbx.failures.add("sql_error")  # indistinguishable from "no CDRs" (docs/fusionpbx.md §2)
    with client_for(pbx) as client:
        assert client.probe_export().body == "\n\n"


# --- retries ----------------------------------------------------------------------------------


def test_server_error_is_retried_with_backoff_then_succeeds(pbx: FakeFusionPBX) -> None:
    pbx.failures.add("server_error")

    def sleep(seconds: float) -> None:
        pbx.failures.discard("server_error")  # the PBX recovers while we wait

    with client_for(pbx, sleep=sleep) as client:
        assert client.probe_export().body == "\n\n"


def test_a_persistent_server_error_gives_up_after_the_retries(pbx: FakeFusionPBX) -> None:
    pbx.failures.add("server_error")
    sleeps = Sleeps()
    expect_failure(client_for(pbx, sleep=sleeps), "server_error", ExitCode.BAD_RESPONSE)
    assert sleeps == [1.0, 2.0]
    assert len(pbx.requests) == 3


# --- the network --------------------------------------------------------------------------


def test_unknown_host_is_a_dns_failure_not_retried() -> None:
    sleeps = Sleeps()
    client = FusionPBXClient(make_server("https://pbx.invalid"), DOMAIN, sleep=sleeps)
    expect_failure(client, "dns", ExitCode.CONNECTION)
    assert sleeps == []


def test_closed_port_is_connection_refused_and_retried() -> None:
    from tests.pbxhelpers import closed_port

    sleeps = Sleeps()
    client = FusionPBXClient(make_server(f"http://127.0.0.1:{closed_port()}"), DOMAIN, sleep=sleeps)
    expect_failure(client, "connection_refused", ExitCode.CONNECTION)
    assert sleeps == [1.0, 2.0]


def test_slow_server_times_out(pbx: FakeFusionPBX) -> None:
    pbx.slow_seconds = 2.0
    pbx.failures.add("slow")
    expect_failure(client_for(pbx, timeout_s=0.2, retries=0), "timeout", ExitCode.CONNECTION)


def test_https_to_a_plain_http_port_is_a_tls_failure(pbx: FakeFusionPBX) -> None:
    client = FusionPBXClient(
        make_server(pbx.url.replace("http://", "https://")), DOMAIN, sleep=Sleeps()
    )
    expect_failure(client, "tls", ExitCode.CONNECTION)


class _UntrustedCertificate(requests.adapters.HTTPAdapter):
    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        raise requests.exceptions.SSLError(
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"
        )


def test_self_signed_certificate_hints_at_ca_bundle() -> None:
    client = FusionPBXClient(make_server("https://pbx.example.net"), DOMAIN, sleep=Sleeps())
    client.session.mount("https://", _UntrustedCertificate())
    text = expect_failure(client, "tls", ExitCode.CONNECTION)
    assert "certificate verification failed" in text and "ca_bundle" in text


def test_turning_tls_verification_off_warns(tmp_path: Path) -> None:
    client = FusionPBXClient(make_server("https://pbx.example.net", verify_tls=False), DOMAIN)
    assert client.session.verify is False
    assert any("TLS verification is off" in w for w in client.warnings)
    bundle = tmp_path / "ca.pem"
    bundle.write_text("x")
    client = FusionPBXClient(make_server("https://pbx.example.net", ca_bundle=bundle), DOMAIN)
    assert client.session.verify == str(bundle) and client.warnings == []


def test_plain_http_url_warns_that_the_key_is_unencrypted() -> None:
    client = FusionPBXClient(make_server("http://pbx.example.net"), DOMAIN)
    assert any("unencrypted" in w for w in client.warnings)


# --- the login token -----------------------------------------------------------------------


def test_login_token_is_the_hidden_hex_input_in_either_quote_style() -> None:
    name, value = "a" * 64, "0123456789abcdef" * 4
    page = (
        "<input type='text' name='username'>"
        f"<input type='hidden' name='{name}' value='{value}'>"
        '<input type="hidden" name="path" value="/x">'
    )
    assert login_token(page) == {name: value}
    assert login_token(page.replace("'", '"')) == {name: value}
    assert login_token("<input type='password' name='password'>") == {}
