"""FusionPBX 5.0 and 5.1 as operators run them: by IP, by another tenant's name, and behind a
reverse proxy that rewrites Host (to another tenant's name, or to 127.0.0.1 as nginx does).

5.0 and 5.1 export the tenant their session holds, else the one the Host header names
(docs/fusionpbx.md §3). Against the fake's 5.0 and 5.1 modes (the captures). Also the 5.0 and
5.2 messages that used to mislead.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clirunner import invoke
from tests.fakepbx import DOMAIN, EXPORT_PATH, FakeFusionPBX, FakeUser
from tests.hostproxy import HostRewritingProxy, behind_proxy
from tests.pbxhelpers import KEY_ENV, write_config
from tests.test_fakepbx_50 import ACME, ACME_KEY, add_pbx_test_rows
from voipbill.fusionpbx import PROBE_UUID

NOV_4 = 1793750400  # 2026-11-04 00:00 UTC
ACME_UUIDS = ["acacacac-0000-4000-8000-000000000001", "acacacac-0000-4000-8000-000000000002"]


@pytest.fixture(autouse=True)
def acme_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, ACME_KEY)


def three_tenants(mode: str) -> FakeFusionPBX:
    """acme.test (two calls, the key's tenant), pbx.test (three) and "localhost" (one)."""
    fake = FakeFusionPBX(mode=mode, users=[FakeUser(ACME_KEY, ACME, "admin")], domain_tz="UTC")
    add_pbx_test_rows(fake)
    for offset, uuid in enumerate(ACME_UUIDS):
        fake.add_cdr(
            xml_cdr_uuid=uuid, domain_name=ACME, extension="301", start_epoch=NOV_4 + offset * 60
        )
    fake.add_cdr(domain_name="localhost", extension="1001", start_epoch=NOV_4 + 3600)
    return fake


@pytest.fixture
def pbx50() -> Iterator[FakeFusionPBX]:
    with three_tenants("5.0") as fake:
        yield fake


@pytest.fixture(params=["5.0", "5.1"])
def old_pbx(request: pytest.FixtureRequest) -> Iterator[FakeFusionPBX]:
    with three_tenants(request.param) as fake:
        yield fake


# nginx's $proxy_host without `proxy_set_header Host $host`, and another site's name
PROXY_HOSTS = ["127.0.0.1", DOMAIN]


@pytest.fixture(params=PROXY_HOSTS)
def proxy(old_pbx: FakeFusionPBX, request: pytest.FixtureRequest) -> Iterator[HostRewritingProxy]:
    with behind_proxy(old_pbx, request.param) as started:
        yield started


def recent_calls(fake: FakeFusionPBX, domain: str, extension: str) -> None:
    """A call of `domain` ten minutes ago, that test-connection's 7-day look-back finds."""
    fake.add_cdr(domain_name=domain, extension=extension, start_epoch=int(time.time()) - 600)


def acme_config(tmp_path: Path, url: str) -> Path:
    return write_config(tmp_path, url, tenant=ACME, extensions="301 | 302")


def pulled_uuids(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return sorted(line.split('","')[13] for line in lines)  # xml_cdr_uuid in the 5.0 layout


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_pull_gets_the_tenants_calls_whatever_host_the_url_names(
    pbx50: FakeFusionPBX, tmp_path: Path, host: str
) -> None:
    url = pbx50.url.replace("127.0.0.1", host)
    out = tmp_path / "cdrs.csv"
    result = invoke("--config", str(acme_config(tmp_path, url)), "pull", "--service", "acme",
                    "--from", "2026-11-04", "--to", "2026-11-04", "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert pulled_uuids(out) == ACME_UUIDS  # not 0 calls (IP), not localhost's call
    port = url.rsplit(":", 1)[1]
    exports = [r for r in pbx50.requests if r.path == EXPORT_PATH]
    assert {r.headers["host"] for r in exports} == {f"{ACME}:{port}"}
    assert {r.form["domain_name"] for r in exports} == {ACME}


def test_rate_bills_the_tenants_calls_not_the_urls_tenants(
    pbx50: FakeFusionPBX, tmp_path: Path
) -> None:
    url = pbx50.url.replace("127.0.0.1", "localhost")
    result = invoke("--config", str(acme_config(tmp_path, url)), "rate", "--service", "acme",
                    "--from", "2026-11-04", "--to", "2026-11-04", "--format", "json",
                    "--detail", "calls")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert sorted(call["call_uuid"] for call in json.loads(result.stdout)["calls"]) == ACME_UUIDS


def test_an_export_with_two_tenants_rows_is_never_billed(
    pbx50: FakeFusionPBX, tmp_path: Path
) -> None:
    pbx50.failures.add("mixed_tenants")
    out = tmp_path / "cdrs.csv"
    result = invoke("--config", str(acme_config(tmp_path, pbx50.url)), "pull", "--service",
                    "acme", "--period", "2026-11", "-o", str(out))  # fmt: skip
    assert result.exit_code == 5
    assert "tenants (domain_uuid" in result.stderr and "nothing is billed" in result.stderr
    assert not out.exists()


def run_test_connection(config: Path) -> tuple[int, dict[str, dict[str, str]], str]:
    result = invoke("--config", str(config), "test-connection", "--format", "json")
    server = json.loads(result.stdout)["servers"][0]
    return result.exit_code, {c["check"]: c for c in server["checks"]}, result.stderr


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_stock_50_or_51_passes_test_connection_by_any_url(
    old_pbx: FakeFusionPBX, tmp_path: Path, host: str
) -> None:
    """No proxy: an IP URL, another tenant's URL ("localhost"), the tenant's own name."""
    recent_calls(old_pbx, ACME, "301")
    recent_calls(old_pbx, "localhost", "1001")
    exit_code, checks, stderr = run_test_connection(
        acme_config(tmp_path, old_pbx.url.replace("127.0.0.1", host))
    )
    assert exit_code == 0, stderr
    assert "1 of 1 connection(s) OK" in stderr
    assert checks["tenant"]["status"] == "ok"
    assert f"FusionPBX {old_pbx.mode} gets Host {ACME}" in checks["tenant"]["detail"]
    # plain http: a warning on the URL and no TLS to check; everything else passes
    assert {name for name, c in checks.items() if c["status"] != "ok"} == {"url", "tls"}
    assert "5.6" not in checks["login_page"]["detail"]


def test_test_connection_behind_a_host_rewriting_proxy_says_so_and_what_voipbill_does(
    proxy: HostRewritingProxy, old_pbx: FakeFusionPBX, tmp_path: Path
) -> None:
    recent_calls(old_pbx, ACME, "301")
    # the proxy's tenant had no call in the last 7 days: the old check then said OK
    exit_code, checks, stderr = run_test_connection(acme_config(tmp_path, proxy.url))
    assert exit_code == 0, stderr  # voipbill's exports are acme's (the pull tests prove it)
    tenant = checks["tenant"]
    assert tenant["status"] == "warn"
    assert "rewrites the Host header" in tenant["detail"]
    assert "by Host alone the export holds no calls" in tenant["detail"]  # its tenant had none
    assert f"a session the key's login fixed to {ACME}" in tenant["detail"]
    assert "resolves" not in checks["domain"]["detail"]
    assert "with a warning (tenant)" in stderr


def test_test_connection_says_plainly_when_it_could_not_check_the_tenant(
    proxy: HostRewritingProxy, tmp_path: Path
) -> None:
    exit_code, checks, stderr = run_test_connection(acme_config(tmp_path, proxy.url))
    assert exit_code == 0, stderr
    assert checks["tenant"]["status"] == "skip"
    assert checks["tenant"]["detail"].startswith("not checked: no CDRs in the last 7 days")
    assert "rewrites the Host header could not be seen" in checks["tenant"]["detail"]


@pytest.mark.parametrize("proxy_host", [None, *PROXY_HOSTS])
def test_pull_and_rate_get_the_tenants_calls_on_50_and_51_behind_any_proxy(
    old_pbx: FakeFusionPBX, tmp_path: Path, proxy_host: str | None
) -> None:
    with contextlib.ExitStack() as stack:
        url = old_pbx.url
        if proxy_host is not None:
            url = stack.enter_context(behind_proxy(old_pbx, proxy_host)).url
        config = acme_config(tmp_path, url)
        out = tmp_path / "cdrs.csv"
        pulled = invoke("--config", str(config), "pull", "--service", "acme",
                        "--from", "2026-11-04", "--to", "2026-11-04", "-o", str(out))  # fmt: skip
        rated = invoke("--config", str(config), "rate", "--service", "acme",
                       "--from", "2026-11-04", "--to", "2026-11-04", "--format", "json",
                       "--detail", "calls")  # fmt: skip
    assert pulled.exit_code == 0, pulled.stderr
    uuid_column = 13 if old_pbx.mode == "5.0" else 14  # 5.1 has missed_call before it
    lines = out.read_text(encoding="utf-8").splitlines()[1:]
    assert sorted(line.split('","')[uuid_column] for line in lines) == ACME_UUIDS
    assert rated.exit_code == 0, rated.stderr
    assert sorted(call["call_uuid"] for call in json.loads(rated.stdout)["calls"]) == ACME_UUIDS


def test_on_50_each_chunk_is_one_keyed_request_in_one_session(
    pbx50: FakeFusionPBX, tmp_path: Path
) -> None:
    with behind_proxy(pbx50, "127.0.0.1") as proxy:
        out = tmp_path / "cdrs.csv"
        result = invoke("--config", str(acme_config(tmp_path, proxy.url)), "pull", "--service",
                        "acme", "--from", "2026-11-01", "--to", "2026-11-10",
                        "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    login, probe, cookie_only, *chunks = pbx50.requests
    assert login.path == "/login.php" and probe.form["key"] == ACME_KEY
    assert probe.form["xml_cdr_uuid"] == PROBE_UUID  # the key's login exports nothing
    assert "key" not in cookie_only.form  # 5.0 answers it with its login page: key every time
    assert len(chunks) == 10  # one request a day, each with the key and the same session
    assert all(r.path == EXPORT_PATH and r.form["key"] == ACME_KEY for r in chunks)
    assert [r.form["start_epoch"] for r in chunks[:1]] == [cookie_only.form["start_epoch"]]
    assert len({r.cookies["PHPSESSID"] for r in [probe, cookie_only, *chunks]}) == 1


def test_a_50_whose_session_cookie_never_comes_back_is_refused_not_billed(
    pbx50: FakeFusionPBX, tmp_path: Path
) -> None:
    with behind_proxy(pbx50, DOMAIN) as proxy:
        proxy.drop_cookies = True
        out = tmp_path / "cdrs.csv"
        result = invoke("--config", str(acme_config(tmp_path, proxy.url)), "pull", "--service",
                        "acme", "--period", "2026-11", "-o", str(out))  # fmt: skip
        rated = invoke("--config", str(acme_config(tmp_path, proxy.url)), "rate", "--service",
                       "acme", "--period", "2026-11")  # fmt: skip
    assert result.exit_code == 5
    assert "started a new session for each request" in result.stderr
    assert "nothing is billed" in result.stderr and "PHPSESSID" in result.stderr
    assert not out.exists()
    assert rated.exit_code == 5 and rated.stdout == ""


def test_test_connection_service_counts_the_tenants_calls_behind_the_proxy(
    proxy: HostRewritingProxy, old_pbx: FakeFusionPBX, tmp_path: Path
) -> None:
    recent_calls(old_pbx, ACME, "301")
    for _ in range(2):
        old_pbx.add_cdr(domain_name=ACME, extension="", start_epoch=int(time.time()) - 900)
    recent_calls(old_pbx, DOMAIN, "2112")
    result = invoke("--config", str(acme_config(tmp_path, proxy.url)), "test-connection",
                    "--service", "acme", "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    service = json.loads(result.stdout)["service"]
    assert service["calls"] == 3  # acme's: 301, and the two outbound calls with no extension
    assert {f["value"]: f["calls"] for f in service["fields"]}["301"] == 1
    assert service["unbilled"]["extensions"] == []  # never pbx.test's 2112
    assert service["outbound_without_extension"] == 2
    assert "2 outbound call(s) with no extension, which no service bills" in result.stderr


def test_a_bad_key_on_50_is_a_refused_key_not_a_56_login_token(
    pbx50: FakeFusionPBX, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "k" * 34)
    result = invoke("--config", str(acme_config(tmp_path, pbx50.url)), "test-connection",
                    "--format", "json")  # fmt: skip
    assert result.exit_code == 4
    error = json.loads(result.stdout)["servers"][0]["error"]
    assert error["code"] == "bad_key_or_domain"
    assert "5.6" not in result.stderr + result.stdout
    assert "https://" not in error["hint"]


def test_an_unknown_domain_on_50_is_a_refused_key(pbx50: FakeFusionPBX, tmp_path: Path) -> None:
    config = write_config(tmp_path, pbx50.url, tenant="nosuch.test", extensions="301")
    result = invoke("--config", str(config), "pull", "--service", "acme", "--period", "2026-11",
                    "-o", str(tmp_path / "out.csv"))  # fmt: skip
    assert result.exit_code == 4
    assert "refused the API key for domain nosuch.test" in result.stderr
    assert "5.6" not in result.stderr and "login token" not in result.stderr


def test_with_the_database_down_the_server_answered_with_an_error_page(
    fake_pbx: FakeFusionPBX, tmp_path: Path
) -> None:
    fake_pbx.failures.add("db_down")
    result = invoke("--config", str(write_config(tmp_path, fake_pbx.url)), "test-connection")
    assert result.exit_code == 5
    assert "answered with an error page" in result.stderr
    assert "SQLSTATE[08006]" in result.stderr and "PostgreSQL" in result.stderr
    assert "not a FusionPBX login page" not in result.stderr


def test_https_on_a_plain_http_port_says_so_without_a_certificate_hint(
    fake_pbx: FakeFusionPBX, tmp_path: Path
) -> None:
    url = fake_pbx.url.replace("http://", "https://")
    result = invoke("--config", str(write_config(tmp_path, url)), "test-connection")
    assert result.exit_code == 4
    assert "answered in plain http, not TLS" in result.stderr
    assert "self-signed" not in result.stderr and "ca_bundle" not in result.stderr


@pytest.fixture
def closes_on_greeting() -> Iterator[str]:
    """A plain-http port that closes the connection on a TLS greeting (PHP's built-in server)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.recv(4096)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def test_https_on_a_port_that_closes_the_connection_says_it_may_be_plain_http(
    closes_on_greeting: str, tmp_path: Path
) -> None:
    result = invoke("--config", str(write_config(tmp_path, closes_on_greeting)), "test-connection")
    assert result.exit_code == 4
    assert "closed the connection during the TLS handshake" in result.stderr
    assert "may speak plain http" in result.stderr
    assert "certificate" not in result.stderr and "ca_bundle" not in result.stderr


@pytest.mark.parametrize("mode", ["5.1", "5.5"])
def test_a_session_cookie_that_never_comes_back_is_named(mode: str, tmp_path: Path) -> None:
    with three_tenants(mode) as fake, behind_proxy(fake, ACME) as proxy:
        proxy.drop_cookies = True
        out = tmp_path / "cdrs.csv"
        result = invoke("--config", str(acme_config(tmp_path, proxy.url)), "pull", "--service",
                        "acme", "--period", "2026-11", "-o", str(out))  # fmt: skip
    assert result.exit_code == 4
    assert "its session cookie (PHPSESSID) does not come back" in result.stderr
    assert "did not reach it" not in result.stderr
    assert "Secure session cookie" in result.stderr  # the URL is plain http
    assert not out.exists()
