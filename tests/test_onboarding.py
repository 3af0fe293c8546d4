"""Onboarding a customer: the only server preselected, and `test-connection --service`.

The check an admin runs after typing a customer's fields: the key opens the service's tenant,
and the PBX's calls of the last 30 days are counted per extension and DID of the fields.
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.clirunner import invoke
from tests.fakepbx import ADMIN_KEY, DOMAIN, EXPORT_PATH, FakeFusionPBX
from tests.pbxhelpers import KEY_ENV, pbx
from voipbill.fusionpbx.client import row_tenants
from voipbill.fusionpbx.service_check import ServiceCheck
from voipbill.periods import make_period

__all__ = ["pbx"]  # the fixture, imported for pytest

DAY = 86400
TZ = "America/Toronto"


@pytest.fixture(autouse=True)
def admin_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, ADMIN_KEY)


def config_file(tmp_path: Path, url: str, *, servers: int = 1, tenant: str = DOMAIN) -> Path:
    """Two services of one tenant, neither naming its server."""
    tables = "".join(
        f'[servers.{name}]\nurl = "{url}"\napi_key_env = "{KEY_ENV}"\ntimeout_s = 5\n\n'
        for name in ("wat5", "wat6")[:servers]
    )
    path = tmp_path / "voipbill.toml"
    path.write_text(
        f"""timezone = "{TZ}"
currency = "CAD"

{tables}[packages.paygo]
country = "CA"

[services.acme]
package = "paygo"
tenant = "{tenant} | 5192229000"
extensions = "1001 | 2216"

[services.beta]
package = "paygo"
tenant = "{tenant} | 4165550199"
extensions = "3001"
""",
        encoding="utf-8",
    )
    return path


def seed_recent_calls(fake: FakeFusionPBX) -> None:
    """The PBX's calls of last week: the customer's 2216 is really 2261 on the PBX."""
    start = int(time.time()) - 3 * DAY
    calls = [("1001", "outbound", "14165550123")] * 2 + [("2261", "outbound", "14165550123")] * 3
    calls += [("3001", "outbound", "14165550123"), ("2117", "local", "1001")]
    calls += [("1001", "inbound", "5192229000")]  # the DID, answered at 1001
    for offset, (extension, direction, number) in enumerate(calls):
        fake.add_cdr(
            extension=extension,
            direction=direction,
            caller_destination=number,
            destination_number=extension if direction == "inbound" else number,
            start_epoch=start + offset * 60,
        )
    fake.add_cdr(extension="2261", start_epoch=start - 40 * DAY)  # before the 30 days


def check(tmp_path: Path, url: str, *extra: str) -> tuple[int, dict[str, object], str]:
    config = config_file(tmp_path, url)
    result = invoke("--config", str(config), "test-connection", "--service", "acme",
                    "--format", "json", *extra)  # fmt: skip
    return result.exit_code, json.loads(result.stdout), result.stderr


def thirty_days_ago() -> date:
    return datetime.now(ZoneInfo(TZ)).date() - timedelta(days=29)


def test_service_check_lists_the_calls_of_each_extension_and_did(
    pbx: FakeFusionPBX, tmp_path: Path
) -> None:
    seed_recent_calls(pbx)
    code, document, stderr = check(tmp_path, pbx.url)
    assert code == 0, stderr
    service = document["service"]
    assert isinstance(service, dict)
    assert service["domain"] == DOMAIN and service["calls"] == 8
    assert service["from"] == thirty_days_ago().isoformat()
    assert service["fields"] == [
        {"field": "extensions", "value": "1001", "calls": 3},
        {"field": "extensions", "value": "2216", "calls": 0},
        {"field": "tenant", "value": "+15192229000", "calls": 1},
    ]
    assert document["servers"][0]["ok"] is True  # type: ignore[index]
    exports = [r for r in pbx.requests if r.path == EXPORT_PATH and "stop_epoch" in r.form]
    zone = ZoneInfo(TZ)
    first = datetime.combine(thirty_days_ago(), datetime.min.time(), zone)
    after = datetime.combine(thirty_days_ago() + timedelta(days=30), datetime.min.time(), zone)
    window = (exports[-1].form["start_epoch"], exports[-1].form["stop_epoch"])
    assert window == (str(int(first.timestamp())), str(int(after.timestamp()) - 1))


def test_a_wrong_extension_is_a_warning_naming_the_field_and_still_exit_0(
    pbx: FakeFusionPBX, tmp_path: Path
) -> None:
    seed_recent_calls(pbx)
    code, _, stderr = check(tmp_path, pbx.url)
    assert code == 0
    expected = f"warning: 2216: no calls since {thirty_days_ago()}: check the extensions field"
    assert expected in stderr.splitlines()
    assert "1001: no calls" not in stderr


def test_calls_on_extensions_no_service_bills_are_counted_busiest_first(
    pbx: FakeFusionPBX, tmp_path: Path
) -> None:
    seed_recent_calls(pbx)
    _, document, stderr = check(tmp_path, pbx.url)
    service = document["service"]
    assert isinstance(service, dict)
    assert service["unbilled"] == {
        "calls": 4,
        "extensions": [{"extension": "2261", "calls": 3}, {"extension": "2117", "calls": 1}],
    }  # 3001 is beta's: billed, though not by acme
    assert (
        f"warning: 4 call(s) on 2 extension(s) of {DOMAIN} that no service bills: 2261, 2117"
        in stderr.splitlines()
    )


def test_dates_given_are_the_window_and_the_warning_says_so(
    fake_pbx: FakeFusionPBX, tmp_path: Path
) -> None:
    code, document, stderr = check(tmp_path, fake_pbx.url, "--from", "2024-03-10",
                                   "--to", "2024-03-10")  # fmt: skip
    assert code == 0, stderr
    service = document["service"]
    assert isinstance(service, dict)
    assert service["fields"][0] == {"field": "extensions", "value": "1001", "calls": 3}
    assert "2216: no calls from 2024-03-10 to 2024-03-10: check the extensions field" in stderr
    assert "+15192229000: no calls from 2024-03-10 to 2024-03-10: check the tenant field" in stderr


def test_a_tenant_the_key_does_not_open_exits_4(fake_pbx: FakeFusionPBX, tmp_path: Path) -> None:
    config = config_file(tmp_path, fake_pbx.url, tenant="other.test")
    result = invoke("--config", str(config), "test-connection", "--service", "acme")
    assert result.exit_code == 4
    assert "refused the API key for domain other.test" in result.stderr
    assert "API key accepted" in result.stdout  # the checklist shows where it stopped


def test_the_table_shows_each_field_value_with_its_calls(
    fake_pbx: FakeFusionPBX, tmp_path: Path
) -> None:
    seed_recent_calls(fake_pbx)
    config = config_file(tmp_path, fake_pbx.url)
    result = invoke("--config", str(config), "test-connection", "--service", "acme")
    assert result.exit_code == 0, result.stderr
    rows = [[w for w in line.split() if w != "│"] for line in result.stdout.splitlines()]
    assert ["extensions", "1001", "3"] in rows and ["extensions", "2216", "0"] in rows
    assert ["tenant", "+15192229000", "1"] in rows
    assert "acme: connection OK; 8 call(s)" in result.stderr


def test_a_service_without_server_uses_the_only_one_for_pull_and_rate(
    fake_pbx: FakeFusionPBX, tmp_path: Path
) -> None:
    config = config_file(tmp_path, fake_pbx.url)
    dates = ("--from", "2024-03-10", "--to", "2024-03-10")
    pulled = invoke("--config", str(config), "pull", "--service", "acme", *dates,
                    "-o", str(tmp_path / "cdrs.csv"))  # fmt: skip
    assert pulled.exit_code == 0, pulled.stderr
    assert "pulled 4 CDR line(s)" in pulled.stderr
    rated = invoke("--config", str(config), "rate", "--service", "acme", *dates,
                   "--format", "json", "--detail", "calls")  # fmt: skip
    assert rated.exit_code == 0, rated.stderr
    # acme bills 1001: the seed's outbound, inbound and local a-legs (1002's missed call is
    # nobody's)
    assert len(json.loads(rated.stdout)["calls"]) == 3


def test_with_two_servers_a_service_must_name_one_and_the_error_lists_them(
    tmp_path: Path,
) -> None:
    config = config_file(tmp_path, "https://pbx.example.net", servers=2)
    result = invoke("--config", str(config), "test-connection", "--service", "acme")
    assert result.exit_code == 3
    assert "services -> acme -> server: required: the config has 2 servers (wat5, wat6)" in (
        result.stderr
    )


def test_the_unbilled_warning_names_the_five_busiest_then_counts_the_rest() -> None:
    zone = ZoneInfo(TZ)
    result = ServiceCheck("acme", DOMAIN, make_period(date(2026, 11, 1), date(2026, 11, 30), zone),
                          explicit_dates=False)  # fmt: skip
    result.unbilled = [(str(3000 + n), 10 - n) for n in range(7)]
    assert result.warnings() == [
        f"49 call(s) on 7 extension(s) of {DOMAIN} that no service bills: "
        "3000, 3001, 3002, 3003, 3004 and 2 more"
    ]


def test_row_tenants_reads_domain_uuid_wherever_the_column_is() -> None:
    body = '"uuid","domain_uuid"\n"1","aa"\n"2","bb"\n"3","aa"\n'
    assert row_tenants(body) == {"aa", "bb"}
    assert row_tenants('"domain_uuid","x"\n"aa","1"\n"aa","2"\n') == {"aa"}
    assert row_tenants("\n\n") == set() and row_tenants('"uuid"\n"1"\n') == set()
