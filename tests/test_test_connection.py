"""`voipbill test-connection` run as an admin would, against the fake FusionPBX."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.clirunner import invoke
from tests.fakepbx import ADMIN_KEY, USER_KEY, FakeFusionPBX
from tests.pbxhelpers import KEY_ENV, closed_port, pbx, write_config

__all__ = ["pbx"]  # the fixture, imported for pytest


@pytest.fixture(autouse=True)
def admin_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, ADMIN_KEY)


def statuses(document: dict[str, object]) -> dict[str, str]:
    servers = document["servers"]
    assert isinstance(servers, list)
    return {check["check"]: check["status"] for check in servers[0]["checks"]}


def test_a_good_server_passes_every_check(pbx: FakeFusionPBX, tmp_path: Path) -> None:
    pbx.add_cdr(start_epoch=int(time.time()) - 3600)
    result = invoke("--config", str(write_config(tmp_path, pbx.url)), "test-connection")
    assert result.exit_code == 0, result.stderr
    for label in ("login page", "API key accepted", "export permission", "CDR columns"):
        assert label in result.stdout
    assert "fail" not in result.stdout
    assert "1 of 1 connection(s) OK" in result.stderr
    assert ADMIN_KEY not in result.stdout + result.stderr


def test_json_has_a_version_and_every_check(pbx: FakeFusionPBX, tmp_path: Path) -> None:
    pbx.add_cdr(start_epoch=int(time.time()) - 3 * 86400)  # found by widening past 24 h
    config = write_config(tmp_path, pbx.url)
    result = invoke("--config", str(config), "test-connection", "--format", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["version"] == 1
    assert document["servers"][0]["domain"] == "pbx.test"
    assert document["servers"][0]["error"] is None
    checks = statuses(document)
    assert checks["url"] == "warn"  # plain http
    assert checks["tls"] == "skip"
    for name in ("dns", "tcp", "login_page", "api_key", "export_permission", "columns", "clock"):
        assert checks[name] == "ok", name


def test_without_recent_cdrs_columns_are_not_checked(pbx: FakeFusionPBX, tmp_path: Path) -> None:
    config = write_config(tmp_path, pbx.url)
    result = invoke("--config", str(config), "test-connection", "--format", "json")
    assert result.exit_code == 0, result.stderr
    columns = [
        c for c in json.loads(result.stdout)["servers"][0]["checks"] if c["check"] == "columns"
    ]
    assert columns[0]["status"] == "skip"
    assert "no CDRs" in columns[0]["detail"]


def test_a_bad_key_exits_4_with_a_hint_and_skips_the_rest(
    pbx: FakeFusionPBX, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad_key = "k" * 34
    monkeypatch.setenv(KEY_ENV, bad_key)
    config = write_config(tmp_path, pbx.url)
    result = invoke("--config", str(config), "test-connection", "--format", "json")
    assert result.exit_code == 4
    document = json.loads(result.stdout)
    checks = statuses(document)
    assert checks["login_page"] == "ok" and checks["api_key"] == "fail"
    assert checks["export_permission"] == checks["columns"] == "skip"
    assert document["servers"][0]["error"]["code"] == "bad_key_or_domain"
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "refused the API key" in errors[0]
    assert "hint:" in result.stderr
    assert bad_key not in result.stdout + result.stderr
    assert all(bad_key not in r.target for r in pbx.requests)


def test_a_user_group_key_fails_on_the_export_permission(
    pbx: FakeFusionPBX, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, USER_KEY)
    result = invoke("--config", str(write_config(tmp_path, pbx.url)), "test-connection")
    assert result.exit_code == 4
    assert "xml_cdr_export" in result.stderr


def test_a_php_error_exits_5(pbx: FakeFusionPBX, tmp_path: Path) -> None:
    pbx.failures.add("php_fatal")
    result = invoke("--config", str(write_config(tmp_path, pbx.url)), "test-connection")
    assert result.exit_code == 5
    assert "PHP error" in result.stderr


def test_a_closed_port_fails_at_the_tcp_step(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"http://127.0.0.1:{closed_port()}")
    result = invoke("--config", str(config), "test-connection", "--format", "json")
    assert result.exit_code == 4
    checks = statuses(json.loads(result.stdout))
    assert checks["dns"] == "ok" and checks["tcp"] == "fail" and checks["login_page"] == "skip"


def test_an_unknown_host_fails_at_the_dns_step(tmp_path: Path) -> None:
    config = write_config(tmp_path, "https://pbx.invalid")
    result = invoke("--config", str(config), "test-connection", "--format", "json")
    assert result.exit_code == 4
    assert statuses(json.loads(result.stdout))["dns"] == "fail"


def test_an_unknown_server_name_is_a_usage_error(pbx: FakeFusionPBX, tmp_path: Path) -> None:
    config = write_config(tmp_path, pbx.url)
    result = invoke("--config", str(config), "test-connection", "--server", "nope")
    assert result.exit_code == 2
    assert "wat5" in result.stderr


def test_a_missing_key_variable_is_a_config_error(
    pbx: FakeFusionPBX, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV)
    result = invoke("--config", str(write_config(tmp_path, pbx.url)), "test-connection")
    assert result.exit_code == 3
    assert KEY_ENV in result.stderr
    assert pbx.requests == []
