"""`voipbill invoice push|status|reconcile` and `ledger void` of a pushed run, end to end:
a committed run in a real ledger, the real clients, the fakes on 127.0.0.1."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from tests import fakelago, fakewhmcs
from tests.clirunner import Result, invoke
from tests.fakelago import FakeLago
from tests.fakewhmcs import FakeWhmcs
from tests.invoicinghelpers import invoicing_toml
from tests.ledgerhelpers import Billing, epoch

MCON = "[services.mcon]\n"


def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, whmcs: str, lago: str = "") -> Billing:
    """The mcon service (paygo: 0.0100/min, 6/6) as WHMCS service 42 and Lago sub-mcon."""
    monkeypatch.setenv("VOIPBILL_WHMCS_ID", fakewhmcs.IDENTIFIER)
    monkeypatch.setenv("VOIPBILL_WHMCS_SECRET", fakewhmcs.SECRET)
    monkeypatch.setenv("VOIPBILL_LAGO_KEY", fakelago.API_KEY)
    billing = Billing(tmp_path)
    text = billing.config.read_text().replace(
        MCON, MCON + 'whmcs_service_id = 42\nlago_subscription = "sub-mcon"\n'
    )
    text += invoicing_toml(whmcs, lago)
    billing.config.write_text(text)
    return billing


def vb(billing: Billing, *args: str) -> Result:
    return invoke("--config", str(billing.config), *args)


def push(billing: Billing, *args: str, to: str = "whmcs") -> Result:
    return vb(billing, "invoice", "push", "--to", to, "--period", "2026-10", *args)


def billed_month(billing: Billing) -> None:
    """Three national calls (60 s, 90 s, 125 s -> 126 s at 6/6) and one toll-free call."""
    billing.add("n1", epoch(10, 5), billsec=60)  # 0.0100
    billing.add("n2", epoch(10, 6), billsec=90)  # 0.0150
    billing.add("n3", epoch(10, 7), billsec=125)  # 126 s: 0.0210
    billing.add("t1", epoch(10, 8), billsec=600, destination_number="18005550100")  # 0
    billing.commit("2026-10", "calls.csv")


@pytest.fixture
def whmcs_month(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_whmcs: FakeWhmcs) -> Billing:
    fake_whmcs.add_service(42, 1, "mcon.wat5.ictvoip.ca|5192229000", "2112")
    billing = setup(tmp_path, monkeypatch, fake_whmcs.url)
    billed_month(billing)
    return billing


def adds(fake: FakeWhmcs) -> list[dict[str, str]]:
    return [r.form for r in fake.requests if r.form.get("action") == "AddBillableItem"]


def test_push_puts_one_line_per_category_and_a_second_push_sends_nothing(
    fake_whmcs: FakeWhmcs, whmcs_month: Billing
) -> None:
    first = push(whmcs_month)
    assert first.exit_code == 0, first.stderr
    # national: 0.0100 + 0.0150 + 0.0210 = 0.0460 -> 0.05; the toll-free category is 0: no line
    (item,) = fake_whmcs.billable_items
    assert (item["clientid"], item["amount"], item["unit"], item["quantity"]) == (
        "1",
        "0.05",
        "quantity",
        "1",
    )
    assert item["invoiceaction"] == "nextinvoice"
    (ledger_id,) = whmcs_month.query("SELECT ledger_id FROM ledger_meta")[0]
    assert re.fullmatch("[0-9a-f]{8}", ledger_id)
    assert item["description"] == (
        "national calls 2026-10-01 to 2026-10-31: 3 calls, 4.60 min "
        f"[vb:{ledger_id}:1:mcon:national]"
    )
    posts = len(fake_whmcs.requests)
    second = push(whmcs_month)
    assert second.exit_code == 0, second.stderr
    assert len(fake_whmcs.requests) == posts  # not even a lookup
    assert "0 sent to whmcs now, 1 sent before" in second.stderr
    assert len(fake_whmcs.billable_items) == 1
    for request in fake_whmcs.requests:
        assert fakewhmcs.SECRET not in request.target and fakewhmcs.IDENTIFIER not in request.target
    assert fakewhmcs.SECRET not in first.stderr + second.stderr


def test_a_lost_answer_leaves_the_line_pending_push_stops_with_1_then_reconcile(
    fake_whmcs: FakeWhmcs, whmcs_month: Billing
) -> None:
    fake_whmcs.faults.add("drop_answer")
    lost = push(whmcs_month)
    assert lost.exit_code == 4, lost.stderr
    assert "line 1 (whmcs run 1 mcon national): mcon national 0.05 may be on WHMCS" in lost.stderr
    assert "invoice reconcile --line 1 --sent" in lost.stderr
    fake_whmcs.faults.clear()
    status = json.loads(vb(whmcs_month, "invoice", "status", "--format", "json").stdout)
    assert [(line["line"], line["state"]) for line in status["lines"]] == [(1, "pending")]
    stopped = push(whmcs_month)
    assert stopped.exit_code == 1
    assert "line 1 (whmcs run 1 mcon national)" in stopped.stderr
    assert len(fake_whmcs.billable_items) == 1  # never resent
    # not invoiced yet: WHMCS cannot show it, the line stays the operator's
    early = vb(whmcs_month, "invoice", "reconcile")
    assert early.exit_code == 1 and "--line 1 --sent" in early.stderr
    fake_whmcs.run_cron()
    found = vb(whmcs_month, "invoice", "reconcile")
    assert found.exit_code == 0, found.stderr
    assert "found on WHMCS invoice 1" in found.stderr
    again = push(whmcs_month)
    assert again.exit_code == 0 and len(fake_whmcs.billable_items) == 1


def test_reconcile_never_takes_an_older_invoice_with_the_same_token_and_amount(
    fake_whmcs: FakeWhmcs, whmcs_month: Billing
) -> None:
    """A ledger made again from scratch numbers its runs from 1 again: the invoice of the old
    ledger's run 1 carries the same `[vb:1:mcon:national]` line, from before this line went
    pending."""
    fake_whmcs.add_invoice(
        1, "2025-11-03", [{"description": "old [vb:1:mcon:national]", "amount": "0.05"}]
    )
    fake_whmcs.faults.add("drop_answer")
    assert push(whmcs_month).exit_code == 4
    fake_whmcs.faults.clear()
    left = vb(whmcs_month, "invoice", "reconcile")
    assert left.exit_code == 1 and "--line 1 --sent" in left.stderr
    assert not any(r.form.get("invoiceid") == "1" for r in fake_whmcs.requests)  # never read
    fake_whmcs.run_cron()
    found = vb(whmcs_month, "invoice", "reconcile")
    assert found.exit_code == 0 and "found on WHMCS invoice 2" in found.stderr


def test_a_new_ledger_whose_run_ids_collide_never_reconciles_the_old_ledgers_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_whmcs: FakeWhmcs
) -> None:
    """Two ledgers, each with its run 1 of October for mcon, the same calls and amount, the
    same day: the new ledger's lost line is not the old ledger's invoiced one."""
    fake_whmcs.add_service(42, 1, "mcon.wat5.ictvoip.ca|5192229000", "2112")
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    old = setup(tmp_path / "old", monkeypatch, fake_whmcs.url)
    billed_month(old)
    assert push(old).exit_code == 0
    fake_whmcs.run_cron()  # invoice 1: the old ledger's line, 0.05
    new = setup(tmp_path / "new", monkeypatch, fake_whmcs.url)
    billed_month(new)
    fake_whmcs.faults.add("drop_answer")
    assert push(new).exit_code == 4
    fake_whmcs.faults.clear()
    tokens = [item["description"].rsplit(" ", 1)[1] for item in fake_whmcs.billable_items]
    assert tokens[0] != tokens[1] and tokens[0].endswith(":1:mcon:national]")
    left = vb(new, "invoice", "reconcile")
    assert left.exit_code == 1 and "--line 1 --sent" in left.stderr  # not the old line
    fake_whmcs.run_cron()  # invoice 2: the new ledger's line
    found = vb(new, "invoice", "reconcile")
    assert found.exit_code == 0 and "found on WHMCS invoice 2" in found.stderr


def test_a_line_sent_with_the_older_token_is_still_found_by_it(
    fake_whmcs: FakeWhmcs, whmcs_month: Billing
) -> None:
    """A line an older voipbill left pending, with `[vb:<run>:<service>:<category>]`."""
    fake_whmcs.faults.add("drop_answer")
    assert push(whmcs_month).exit_code == 4
    fake_whmcs.faults.clear()
    with sqlite3.connect(whmcs_month.ledger) as connection:
        connection.execute(
            "UPDATE invoice_lines SET description = 'national calls [vb:1:mcon:national]'"
        )
    fake_whmcs.billable_items[0]["description"] = "national calls [vb:1:mcon:national]"
    fake_whmcs.run_cron()
    found = vb(whmcs_month, "invoice", "reconcile")
    assert found.exit_code == 0 and "found on WHMCS invoice 1" in found.stderr


def test_a_line_settled_not_sent_is_sent_by_the_next_push(
    fake_whmcs: FakeWhmcs, whmcs_month: Billing
) -> None:
    fake_whmcs.faults.add("drop_answer")
    assert push(whmcs_month).exit_code == 4
    fake_whmcs.faults.clear()
    fake_whmcs.billable_items.clear()  # the operator found nothing under Billable Items
    settled = vb(whmcs_month, "invoice", "reconcile", "--line", "1", "--not-sent")
    assert settled.exit_code == 0, settled.stderr
    assert push(whmcs_month).exit_code == 0
    assert [item["amount"] for item in fake_whmcs.billable_items] == ["0.05"]
    sent_twice = vb(whmcs_month, "invoice", "reconcile", "--line", "1", "--sent")
    assert sent_twice.exit_code == 2 and "not pending" in sent_twice.stderr


def test_a_wrong_secret_exits_4_without_showing_it(
    fake_whmcs: FakeWhmcs, whmcs_month: Billing, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOIPBILL_WHMCS_SECRET", "not-the-secret-9f8e7d")
    result = push(whmcs_month)
    assert result.exit_code == 4
    assert "Authentication Failed" in result.stderr
    assert "not-the-secret-9f8e7d" not in result.stderr + result.stdout
    assert fake_whmcs.billable_items == []


def test_an_unknown_client_is_exit_5_and_the_line_is_sent_once_it_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_whmcs: FakeWhmcs
) -> None:
    fake_whmcs.add_service(42, 9, "mcon.wat5.ictvoip.ca", "2112")  # client 9 is not in WHMCS
    billing = setup(tmp_path, monkeypatch, fake_whmcs.url)
    billed_month(billing)
    refused = push(billing)
    assert refused.exit_code == 5 and "Client Not Found" in refused.stderr  # GetClientsDetails
    status = json.loads(vb(billing, "invoice", "status", "--format", "json").stdout)
    assert status["lines"] == []  # refused before any line was written
    assert fake_whmcs.billable_items == []
    fake_whmcs.clients.add(9)
    assert push(billing).exit_code == 0
    assert [item["clientid"] for item in fake_whmcs.billable_items] == ["9"]


def test_a_service_wmhcs_does_not_have_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_whmcs: FakeWhmcs
) -> None:
    billing = setup(tmp_path, monkeypatch, fake_whmcs.url)  # WHMCS has no service 42
    billed_month(billing)
    result = push(billing)
    assert result.exit_code == 3 and "WHMCS has no service 42" in result.stderr


def test_a_preview_period_is_never_pushed(fake_whmcs: FakeWhmcs, whmcs_month: Billing) -> None:
    whmcs_month.add("nov", epoch(11, 5))
    preview = whmcs_month.rate("--period", "2026-11")
    assert preview.exit_code == 0
    result = vb(whmcs_month, "invoice", "push", "--to", "whmcs", "--period", "2026-11")
    assert result.exit_code == 2 and "no committed run for 2026-11" in result.stderr
    assert fake_whmcs.requests == []


def test_no_ledger_at_all_is_nothing_to_push(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_whmcs: FakeWhmcs
) -> None:
    billing = setup(tmp_path, monkeypatch, fake_whmcs.url)
    result = push(billing)
    assert result.exit_code == 2 and "no committed run" in result.stderr
    assert not billing.ledger.exists()


def test_dry_run_sends_nothing_and_writes_nothing(
    fake_whmcs: FakeWhmcs, whmcs_month: Billing
) -> None:
    result = push(whmcs_month, "--dry-run", "--format", "json")
    assert result.exit_code == 0, result.stderr
    (line,) = json.loads(result.stdout)["lines"]
    assert (line["item"], line["amount"], line["action"]) == ("national", "0.05", "send")
    assert fake_whmcs.requests == []
    assert whmcs_month.query("SELECT count(*) FROM invoice_lines") == [(0,)]


def test_void_of_a_pushed_run_needs_yes_pushed_and_lists_what_to_remove(
    fake_whmcs: FakeWhmcs, whmcs_month: Billing
) -> None:
    assert push(whmcs_month).exit_code == 0
    refused = vb(whmcs_month, "ledger", "void", "--run", "1", "--yes")
    assert refused.exit_code == 2 and "--yes-pushed" in refused.stderr
    assert whmcs_month.query("SELECT status FROM runs") == [("committed",)]
    voided = vb(whmcs_month, "-q", "ledger", "void", "--run", "1", "--yes", "--yes-pushed")
    assert voided.exit_code == 0, voided.stderr
    assert "remove from WHMCS, client 1: billable item 1, 0.05" in voided.stderr
    assert ":1:mcon:national]" in voided.stderr
    gone = push(whmcs_month)
    assert gone.exit_code == 2  # the period has no committed run any more


def test_a_run_never_pushed_is_voided_as_before(whmcs_month: Billing) -> None:
    voided = vb(whmcs_month, "ledger", "void", "--run", "1", "--yes")
    assert voided.exit_code == 0 and "remove" not in voided.stderr


# --- Lago -----------------------------------------------------------------------------------


def lago_month(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lago: FakeLago, calls: int
) -> Billing:
    billing = setup(tmp_path, monkeypatch, "http://127.0.0.1:9", lago.url)
    for n in range(calls):
        billing.add(f"call-{n:04d}", epoch(10, 1 + n % 28, 8 + n % 10, n % 60))
    billing.commit("2026-10", "calls.csv")
    return billing


def batch_sizes(lago: FakeLago) -> list[int]:
    return [len(r.json()["events"]) for r in lago.requests if r.path.endswith("/batch")]


@pytest.mark.parametrize(("calls", "sizes"), [(100, [100]), (101, [100, 1])])
def test_lago_gets_one_event_per_billed_call_in_batches_of_100(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_lago: FakeLago,
    calls: int,
    sizes: list[int],
) -> None:
    billing = lago_month(tmp_path, monkeypatch, fake_lago, calls)
    result = push(billing, to="lago")
    assert result.exit_code == 0, result.stderr
    assert batch_sizes(fake_lago) == sizes
    assert len(fake_lago.events) == calls
    event = fake_lago.events[("sub-mcon", "file:call-0000")]
    assert event["code"] == "voip_cost" and event["timestamp"] == epoch(10, 1, 8, 0)
    assert event["properties"] == {
        "cost": "0.0100",
        "billed_seconds": "60",
        "category": "national",
        "service": "mcon",
        "start": str(epoch(10, 1, 8, 0)),
    }
    again = push(billing, to="lago")
    assert again.exit_code == 0, again.stderr
    assert f"0 sent to lago now, {calls} sent before" in again.stderr
    assert batch_sizes(fake_lago) == sizes  # nothing sent again


def test_a_lago_batch_whose_answer_was_lost_is_resent_without_a_duplicate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_lago: FakeLago
) -> None:
    billing = lago_month(tmp_path, monkeypatch, fake_lago, 101)
    fake_lago.faults.add("drop_answer")  # Lago stores batch 1, the answer never comes
    crashed = push(billing, to="lago")
    assert crashed.exit_code == 4
    assert "may be in Lago now" in crashed.stderr  # a batch is a write
    status = json.loads(vb(billing, "invoice", "status", "--format", "json").stdout)
    assert [(line["item"], line["state"]) for line in status["lines"]] == [("events", "pending")]
    fake_lago.faults.clear()
    resent = push(billing, to="lago")
    assert resent.exit_code == 0, resent.stderr
    assert len(fake_lago.events) == 101  # every call once
    assert "warning" not in resent.stderr  # the 100 Lago had were ours
    assert "1 sent to lago now, 100 sent before" in resent.stderr
    status = json.loads(vb(billing, "invoice", "status", "--format", "json").stdout)
    assert [line["state"] for line in status["lines"]] == ["sent"]
    assert status["lines"][0]["remote_id"] == "1 new, 100 already in Lago"
    assert all(fakelago.API_KEY not in request.target for request in fake_lago.requests)


@pytest.mark.slow
def test_void_with_yes_pushed_from_a_script_exits_0(
    fake_whmcs: FakeWhmcs, whmcs_month: Billing
) -> None:
    """Rules §8: a void that was carried out is a success (exit 0), from cron or a script."""
    import subprocess
    import sys

    assert push(whmcs_month).exit_code == 0
    for confirm in (["--yes", "--yes-pushed"], ["--yes-pushed"]):
        if confirm == ["--yes-pushed"]:
            whmcs_month.commit("2026-10", "again.csv")
            assert push(whmcs_month).exit_code == 0
        run = whmcs_month.query("SELECT max(id) FROM runs")[0][0]
        args = ["--config", str(whmcs_month.config), "ledger", "void", "--run", str(run)]
        done = subprocess.run(
            [sys.executable, "-m", "voipbill", *args, *confirm],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "remove from WHMCS" in done.stderr and f"voided run {run}" in done.stderr
        assert whmcs_month.query("SELECT status FROM runs WHERE id = ?", run) == [("voided",)]
