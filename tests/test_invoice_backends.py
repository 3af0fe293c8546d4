"""`invoice push` on either ledger backend (rules §9, §11): the journal, the ledger's id in the
token, a lost WHMCS answer reconciled, and a second Lago push that sends nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests import fakelago, fakewhmcs
from tests.clirunner import Result, invoke
from tests.fakelago import FakeLago
from tests.fakewhmcs import FakeWhmcs
from tests.invoicinghelpers import invoicing_toml
from tests.ledgerbackends import Backend
from tests.ledgerhelpers import Billing, epoch


def month(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: Backend, whmcs: str, lago: str
) -> Billing:
    monkeypatch.setenv("VOIPBILL_WHMCS_ID", fakewhmcs.IDENTIFIER)
    monkeypatch.setenv("VOIPBILL_WHMCS_SECRET", fakewhmcs.SECRET)
    monkeypatch.setenv("VOIPBILL_LAGO_KEY", fakelago.API_KEY)
    billing = Billing(tmp_path, backend=backend)
    text = billing.config.read_text().replace(
        "[services.mcon]\n",
        '[services.mcon]\nwhmcs_service_id = 42\nlago_subscription = "sub-mcon"\n',
    )
    text += invoicing_toml(whmcs, lago)
    billing.config.write_text(text)
    billing.add("n1", epoch(10, 5), billsec=60)  # 0.0100
    billing.add("n2", epoch(10, 6), billsec=90)  # 0.0150
    billing.add("n3", epoch(10, 7), billsec=125)  # 126 s: 0.0210
    billing.commit("2026-10", "calls.csv")
    return billing


def vb(billing: Billing, *args: str) -> Result:
    return invoke("--config", str(billing.config), *args)


def push(billing: Billing, to: str) -> Result:
    return vb(billing, "invoice", "push", "--to", to, "--period", "2026-10")


def test_whmcs_and_lago_on_either_ledger(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    ledger_backend: Backend,
    fake_whmcs: FakeWhmcs,
    fake_lago: FakeLago,
) -> None:
    fake_whmcs.add_service(42, 1, "mcon.wat5.ictvoip.ca|5192229000", "2112")
    billing = month(tmp_path, monkeypatch, ledger_backend, fake_whmcs.url, fake_lago.url)
    (ledger_id,) = billing.query("SELECT ledger_id FROM ledger_meta")[0]
    assert re.fullmatch("[0-9a-f]{8}", str(ledger_id))
    fake_whmcs.faults.add("drop_answer")
    assert push(billing, "whmcs").exit_code == 4
    fake_whmcs.faults.clear()
    (item,) = fake_whmcs.billable_items
    assert item["description"].endswith(f"[vb:{ledger_id}:1:mcon:national]")
    assert push(billing, "whmcs").exit_code == 1  # pending: never resent
    fake_whmcs.run_cron()
    found = vb(billing, "invoice", "reconcile")
    assert found.exit_code == 0, found.stderr
    assert push(billing, "lago").exit_code == 0
    again = push(billing, "lago")
    assert again.exit_code == 0 and "0 sent to lago now, 3 sent before" in again.stderr
    assert len(fake_lago.billed()) == 3
    status = json.loads(vb(billing, "invoice", "status", "--format", "json").stdout)
    assert [(line["system"], line["item"], line["state"]) for line in status["lines"]] == [
        ("whmcs", "national", "sent"),
        ("lago", "events", "sent"),
    ]
