"""Customer-facing outputs never show carrier cost or margin (rules §15): the calls CSV, the
summary, statements, invoice lines and Lago events are grepped for both words and for every
carrier-cost and margin figure of the month."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests import fakelago, fakewhmcs
from tests.clirunner import invoke
from tests.fakelago import FakeLago
from tests.fakewhmcs import FakeWhmcs
from tests.invoicinghelpers import invoicing_toml
from tests.ledgerhelpers import Billing, epoch

# The carrier bills 1 at 0.0077/min by 60/60 and toll-free at 0.0333/min: figures that no
# customer-facing number of this month has (the customer pays 0.0100/min at 6/6, toll-free 0).
CARRIER = """prefix,description,rate,connect_fee,increment
1,NANP carrier,0.0077,0,60/60
1800,Toll-free carrier,0.0333,0,60/60
"""
# carrier costs 60 s: 0.0077, 90 s (120 s): 0.0154, 125 s (180 s): 0.0231, toll-free 600 s:
# 0.3330; their sum 0.3792; margins 0.0023, -0.0004, -0.0021, -0.3330; sum -0.3332
SECRET_FIGURES = ("0.0077", "0.0154", "0.0231", "0.333", "0.3792", "0.0023", "0.0004", "0.0021")
MCON = "[services.mcon]\n"


def month(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, whmcs: str, lago: str) -> Billing:
    monkeypatch.setenv("VOIPBILL_WHMCS_ID", fakewhmcs.IDENTIFIER)
    monkeypatch.setenv("VOIPBILL_WHMCS_SECRET", fakewhmcs.SECRET)
    monkeypatch.setenv("VOIPBILL_LAGO_KEY", fakelago.API_KEY)
    billing = Billing(tmp_path)
    billing.write_config(
        'no_charge = ["[tollfree]"]\ncost_deck = "carrier"\ninbound_cost = "0.0077"'
    )
    (tmp_path / "carrier.csv").write_text(CARRIER, encoding="utf-8")
    text = billing.config.read_text().replace(
        MCON, MCON + 'whmcs_service_id = 42\nlago_subscription = "sub-mcon"\n'
    )
    text += '\n[decks.carrier]\npath = "carrier.csv"\n'
    text += invoicing_toml(whmcs, lago)
    billing.config.write_text(text)
    billing.add("n1", epoch(10, 5), billsec=60)  # 0.0100
    billing.add("n2", epoch(10, 6), billsec=90)  # 0.0150
    billing.add("n3", epoch(10, 7), billsec=125)  # 126 s: 0.0210
    billing.add("t1", epoch(10, 8), billsec=600, destination_number="18005550100")  # 0
    return billing


def assert_private(name: str, text: str) -> None:
    text = re.sub(r"<style.*?</style>", "", text, flags=re.DOTALL)  # CSS has its own margins
    for word in ("carrier", "margin"):
        assert word not in text.lower(), f"{name} shows {word!r}"
    for figure in SECRET_FIGURES:
        assert figure not in text, f"{name} shows the carrier cost or margin {figure}"


@pytest.mark.slow
def test_no_customer_output_shows_carrier_cost_or_margin(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_whmcs: FakeWhmcs,
    fake_lago: FakeLago,
) -> None:
    fake_whmcs.add_service(42, 1, "mcon.wat5.ictvoip.ca|5192229000", "2112")
    billing = month(tmp_path, monkeypatch, fake_whmcs.url, fake_lago.url)
    config = str(billing.config)
    outputs: dict[str, str] = {}
    for layout in (["csv", "calls"], ["csv", "summary"], ["json", "calls"], ["json", "summary"]):
        result = billing.rate("--period", "2026-10", "--format", layout[0], "--detail", layout[1])
        assert result.exit_code == 0, result.stderr
        outputs[f"rate {' '.join(layout)}"] = result.stdout
    table = billing.rate("--period", "2026-10", "--format", "table")
    outputs["rate table"] = table.stdout
    # the operator is told, on stderr, and only there
    assert "sold below carrier cost" in table.stderr
    # the figures are real: `voipbill margin` shows them to the operator
    shown = invoke(
        "--config", config, "margin", "--cdr-file", str(tmp_path / "cdrs.csv"),
        "--period", "2026-10", "-f", "csv",
    )  # fmt: skip
    assert shown.exit_code == 0, shown.stderr
    assert shown.stdout.splitlines()[-1] == "mcon,total,4,0.0460,0.3792,-0.3332,-724.35,2,0,CAD"
    billing.commit("2026-10", "calls.csv")
    outputs["committed calls CSV"] = billing.file("calls.csv").decode()
    statement = invoke(
        "--config", config, "statement", "--service", "mcon", "--period", "2026-10",
        "-o", str(tmp_path / "mcon.html"),
    )  # fmt: skip
    assert statement.exit_code == 0, statement.stderr
    outputs["statement"] = (tmp_path / "mcon.html").read_text(encoding="utf-8")
    dry = invoke(
        "--config", config, "invoice", "push", "--to", "whmcs", "--period", "2026-10",
        "--dry-run", "--format", "json",
    )  # fmt: skip
    assert dry.exit_code == 0, dry.stderr
    outputs["invoice lines (dry run)"] = dry.stdout
    pushed = invoke("--config", config, "invoice", "push", "--to", "whmcs", "--period", "2026-10")
    assert pushed.exit_code == 0, pushed.stderr
    outputs["WHMCS billable items"] = json.dumps(fake_whmcs.billable_items)
    lago = invoke("--config", config, "invoice", "push", "--to", "lago", "--period", "2026-10")
    assert lago.exit_code == 0, lago.stderr
    assert len(fake_lago.events) == 3  # one per billed call: the no_charge call is none
    outputs["Lago events"] = json.dumps(list(fake_lago.events.values()))
    for name, text in outputs.items():
        assert text.strip(), name
        assert_private(name, text)
