"""Invoicing on both ledgers (rules §11, §9 "Same semantics, same commands, invoicing journal
included"): `invoice push`, `status`, `reconcile` and `ledger void --yes-pushed` on SQLite and
PostgreSQL alike; the plan a dry run prints is what the push does; two hosts pushing at once
never send a line twice; a PostgreSQL that goes away during a push leaves its lines pending."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.clirunner import invoke
from tests.fakewhmcs import FakeWhmcs
from tests.ledgerbackends import Backend
from tests.ledgerhelpers import Billing
from tests.pgserver import PgServer
from tests.test_invoice_cli import adds, billed_month, push, setup, vb
from voipbill.config import load


@pytest.fixture
def month(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_whmcs: FakeWhmcs,
    ledger_backend: Backend,
) -> Billing:
    """October committed on either ledger: mcon's national line is 0.05 (0.0460 rounded)."""
    fake_whmcs.add_service(42, 1, "mcon.wat5.ictvoip.ca|5192229000", "2112")
    billing = setup(tmp_path, monkeypatch, fake_whmcs.url)
    text = billing.config.read_text()
    billing.backend = ledger_backend
    sqlite = Backend().ledger_toml(billing.ledger)
    billing.config.write_text(text.replace(sqlite, billing.ledger_toml()))
    billed_month(billing)
    return billing


def status(billing: Billing) -> list[tuple[int, str, str]]:
    found = vb(billing, "invoice", "status", "--format", "json")
    assert found.exit_code == 0, found.stderr
    return [(x["line"], x["item"], x["state"]) for x in json.loads(found.stdout)["lines"]]


def test_push_status_and_void_work_on_either_ledger(fake_whmcs: FakeWhmcs, month: Billing) -> None:
    first = push(month)
    assert first.exit_code == 0, first.stderr
    assert [(a["amount"], a["clientid"]) for a in adds(fake_whmcs)] == [("0.05", "1")]
    again = push(month)
    assert again.exit_code == 0 and "0 sent to whmcs now, 1 sent before" in again.stderr
    assert len(adds(fake_whmcs)) == 1
    assert status(month) == [(1, "national", "sent")]
    refused = vb(month, "ledger", "void", "--run", "1", "--yes")
    assert refused.exit_code == 2 and "--yes-pushed" in refused.stderr
    voided = vb(month, "ledger", "void", "--run", "1", "--yes", "--yes-pushed")
    assert voided.exit_code == 0, voided.stderr
    assert "remove from WHMCS, client 1: billable item 1, 0.05" in voided.stderr


def test_the_dry_run_shows_the_plan_the_push_then_carries_out(
    fake_whmcs: FakeWhmcs, month: Billing
) -> None:
    fake_whmcs.faults.add("drop_answer")
    assert push(month).exit_code == 4  # the line is pending: it may be on WHMCS
    fake_whmcs.faults.clear()
    settled = vb(month, "invoice", "reconcile", "--line", "1", "--not-sent")
    assert settled.exit_code == 0, settled.stderr
    plan = push(month, "--dry-run", "--format", "json")
    assert plan.exit_code == 0, plan.stderr
    actions = [(x["item"], x["amount"], x["action"]) for x in json.loads(plan.stdout)["lines"]]
    assert actions == [("national", "0.05", "send")]
    assert status(month) == [(1, "national", "not_sent")]  # the dry run wrote nothing
    done = push(month)
    assert done.exit_code == 0, done.stderr
    assert [a["amount"] for a in adds(fake_whmcs)] == ["0.05", "0.05"]  # the lost one, then this
    assert status(month) == [(1, "national", "sent")]
    plan = push(month, "--dry-run", "--format", "json")
    assert [x["action"] for x in json.loads(plan.stdout)["lines"]] == ["already sent"]


def test_two_hosts_pushing_at_once_never_send_a_line_twice(
    pg: PgServer, fake_whmcs: FakeWhmcs, month: Billing, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both hosts skip the run lock (an older voipbill, or a script): the journal's `pending`
    insert is the claim, so exactly one of them sends the line."""
    from voipbill.invoicing.journal import PendingLines, WhmcsLine, push_whmcs
    from voipbill.invoicing.lines import InvoiceLine
    from voipbill.invoicing.whmcs import WhmcsClient
    from voipbill.ledger import LineTaken
    from voipbill.ledger.postgres import PostgresLedger

    if month.backend.pg is None:
        pytest.skip("two hosts share a PostgreSQL ledger")
    config = load(month.config, check_fields=False)
    assert config.invoicing.whmcs is not None
    client = WhmcsClient(config.invoicing.whmcs)
    both_in = threading.Barrier(2)
    line = InvoiceLine(1, "mcon", "national", 3, 276, Decimal("0.05"), "CAD", "n [vb:1:mcon:n]")
    outcomes: list[str] = []

    def host() -> None:
        store = PostgresLedger.open(month.backend.settings, create=True)
        assert store is not None
        with store:
            both_in.wait(5)
            try:
                report = push_whmcs(store.journal, client, [WhmcsLine(line, 1)])
                outcomes.append(f"sent {len(report.sent)}")
            except (LineTaken, PendingLines) as exc:
                outcomes.append(type(exc).__name__)

    hosts = [threading.Thread(target=host) for _ in range(2)]
    for thread in hosts:
        thread.start()
    for thread in hosts:
        thread.join(30)
    assert len(adds(fake_whmcs)) == 1  # never twice
    assert sorted(outcomes)[-1] == "sent 1" and len(outcomes) == 2
    assert status(month) == [(1, "national", "sent")]


def test_a_postgresql_gone_during_a_push_leaves_the_line_pending(
    pg: PgServer, fake_whmcs: FakeWhmcs, month: Billing, monkeypatch: pytest.MonkeyPatch
) -> None:
    if month.backend.pg is None:
        pytest.skip("the PostgreSQL ledger")
    real = fake_whmcs._AddBillableItem

    def add_then_cut(form: dict[str, str]) -> Any:
        answer = real(form)
        pg.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'voipbill'"
        )
        return answer

    monkeypatch.setattr(fake_whmcs, "_AddBillableItem", add_then_cut)
    cut = push(month)
    assert cut.exit_code == 4, cut.stderr
    assert "Traceback" not in cut.stderr and "the ledger postgresql" in cut.stderr
    monkeypatch.setattr(fake_whmcs, "_AddBillableItem", real)
    assert status(month) == [(1, "national", "pending")]  # never marked sent, never lost
    stopped = push(month)
    assert stopped.exit_code == 1 and "line 1 (whmcs run 1 mcon national)" in stopped.stderr
    assert len(adds(fake_whmcs)) == 1
    settled = invoke("--config", str(month.config), "invoice", "reconcile", "--line", "1", "--sent")
    assert settled.exit_code == 0, settled.stderr
    assert status(month) == [(1, "national", "sent")]
