"""FusionPBX 5.0: the export's tenant comes from the Host header, so voipbill sends it.

Against the fake's 5.0 mode (the 5.0.1 captures), with the URLs a real operator had: an IP,
and another tenant's host name. Also the 5.0 and 5.2 messages that used to mislead.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clirunner import invoke
from tests.fakepbx import EXPORT_PATH, FakeFusionPBX, FakeUser
from tests.pbxhelpers import KEY_ENV, write_config
from tests.test_fakepbx_50 import ACME, ACME_KEY, add_pbx_test_rows

NOV_4 = 1793750400  # 2026-11-04 00:00 UTC
ACME_UUIDS = ["acacacac-0000-4000-8000-000000000001", "acacacac-0000-4000-8000-000000000002"]


@pytest.fixture(autouse=True)
def acme_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, ACME_KEY)


@pytest.fixture
def pbx50() -> Iterator[FakeFusionPBX]:
    """acme.test (two calls, the key's tenant), pbx.test (three) and "localhost" (one)."""
    fake = FakeFusionPBX(mode="5.0", users=[FakeUser(ACME_KEY, ACME, "admin")], domain_tz="UTC")
    add_pbx_test_rows(fake)
    for offset, uuid in enumerate(ACME_UUIDS):
        fake.add_cdr(
            xml_cdr_uuid=uuid, domain_name=ACME, extension="301", start_epoch=NOV_4 + offset * 60
        )
    fake.add_cdr(domain_name="localhost", extension="1001", start_epoch=NOV_4 + 3600)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


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


def test_test_connection_on_50_sees_the_tenants_calls_through_the_host_header(
    pbx50: FakeFusionPBX, tmp_path: Path
) -> None:
    pbx50.add_cdr(domain_name=ACME, extension="301", start_epoch=int(time.time()) - 600)
    url = pbx50.url.replace("127.0.0.1", "localhost")
    result = invoke("--config", str(acme_config(tmp_path, url)), "test-connection",
                    "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    checks = {c["check"]: c for c in json.loads(result.stdout)["servers"][0]["checks"]}
    assert checks["tenant"]["status"] == "ok"
    assert "Host header" in checks["tenant"]["detail"]
    assert "5.6" not in checks["login_page"]["detail"]


def test_test_connection_catches_an_export_that_is_another_tenants(
    pbx50: FakeFusionPBX, tmp_path: Path
) -> None:
    pbx50.add_cdr(domain_name="localhost", extension="1001", start_epoch=int(time.time()) - 600)
    pbx50.host_override = "localhost"  # a proxy in front sets Host to another tenant's name
    result = invoke("--config", str(acme_config(tmp_path, pbx50.url)), "test-connection",
                    "--format", "json")  # fmt: skip
    assert result.exit_code == 5
    server = json.loads(result.stdout)["servers"][0]
    assert server["error"]["code"] == "wrong_tenant"
    assert {c["check"]: c["status"] for c in server["checks"]}["tenant"] == "fail"
    assert "0 of 1" not in result.stderr and "OK" not in result.stderr


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
