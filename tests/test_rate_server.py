"""`voipbill rate` straight from a FusionPBX server (the fake one, both versions)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.clirunner import invoke
from tests.fakepbx import ADMIN_KEY, DOMAIN, SUPERADMIN_KEY, FakeFusionPBX
from tests.pbxhelpers import KEY_ENV
from tests.pbxhelpers import pbx as pbx  # the fixture, re-exported


def config_for(tmp_path: Path, url: str) -> Path:
    (tmp_path / "deck.csv").write_text("prefix,rate\n1,0.0120\n", encoding="utf-8")
    path = tmp_path / "voipbill.toml"
    path.write_text(
        f"""timezone = "America/New_York"
currency = "USD"

[servers.lab]
url = "{url}"
api_key_env = "{KEY_ENV}"
timeout_s = 5
chunk_hours = 6

[decks.main]
path = "deck.csv"

[packages.basic]
deck = "main"
country = "CA"
increment = "6/6"

[services.acme]
server = "lab"
package = "basic"
tenant = "{DOMAIN} | 5192229000"
extensions = "1001 | 1002"
""",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("key", [ADMIN_KEY, SUPERADMIN_KEY])
def test_rate_from_the_server_bills_each_call_once(
    pbx: FakeFusionPBX,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    key: str,
) -> None:
    monkeypatch.setenv(KEY_ENV, key)
    config = config_for(tmp_path, pbx.url)
    result = invoke(
        "rate", "-c", str(config), "--from", "2024-03-10", "--to", "2024-03-10", "--format", "csv"
    )
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    # the seed: an outbound call (its b-leg only visible to a superadmin), an inbound call,
    # a local call and a missed call; LOSE_RACE and NULL hangup_cause rows never exported
    assert [(row["call_uuid"][-1], row["status"]) for row in rows] == [
        ("1", "rated"),
        ("2", "no_charge"),
        ("3", "local"),
        ("4", "unanswered"),
    ]
    # 65 s at 6/6 -> 66 s × 0.012/min = 0.0132
    assert rows[0]["cost"] == "0.0132"
    assert all(key not in request.target for request in pbx.requests)


def test_rate_from_the_server_with_a_bad_key_exits_4(
    pbx: FakeFusionPBX,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(KEY_ENV, "x" * 40)
    config = config_for(tmp_path, pbx.url)
    result = invoke("rate", "-c", str(config), "--period", "2024-03", "--format", "csv")
    assert result.exit_code == 4
    assert "refused the API key" in result.stderr
    assert "x" * 40 not in result.stderr
    assert result.stdout == ""
