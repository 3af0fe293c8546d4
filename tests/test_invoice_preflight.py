"""`invoice push` checks the invoicing system before sending, as WHMCS and Lago really behave
(rules §11): Lago drops events of a wrong subscription or metric with a 200; WHMCS bills a
billable item in the client's currency and waits for a renewal invoice a Terminated service
never gets. Two services, mcon (3 calls) and acme (2 calls), in one committed run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import fakelago, fakewhmcs
from tests.cdrfactory import write_config
from tests.clirunner import Result, invoke
from tests.fakelago import FakeLago
from tests.fakewhmcs import FakeWhmcs
from tests.invoicinghelpers import invoicing_toml
from tests.ledgerhelpers import SERVICES, Billing, epoch

ACME = """
[services.acme]
package = "paygo"
tenant = "acme.wat5.ictvoip.ca | 4165550199"
extensions = "3001"
whmcs_service_id = 43
lago_subscription = "sub-acme"
"""


class Operator(Billing):
    """mcon (WHMCS service 42, Lago sub-mcon) and acme (43, sub-acme), paygo 0.0100/min."""

    whmcs_url = "http://127.0.0.1:9"
    lago_url = "http://127.0.0.1:9"
    lago_extra = ""

    def write_config(self, package: str = "") -> Path:
        mcon = SERVICES.replace(
            "[services.mcon]\n",
            '[services.mcon]\nwhmcs_service_id = 42\nlago_subscription = "sub-mcon"\n',
        )
        ledger = f'\n[ledger]\npath = "{self.ledger}"\n'
        self.config = write_config(self.directory, package, services=mcon + ACME + ledger)
        text = self.config.read_text() + invoicing_toml(
            self.whmcs_url, self.lago_url, self.lago_extra
        )
        self.config.write_text(text)
        return self.config


def operator(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    whmcs: str = "http://127.0.0.1:9",
    lago: str = "http://127.0.0.1:9",
    lago_extra: str = "",
) -> Operator:
    monkeypatch.setenv("VOIPBILL_WHMCS_ID", fakewhmcs.IDENTIFIER)
    monkeypatch.setenv("VOIPBILL_WHMCS_SECRET", fakewhmcs.SECRET)
    monkeypatch.setenv("VOIPBILL_LAGO_KEY", fakelago.API_KEY)
    Operator.whmcs_url, Operator.lago_url, Operator.lago_extra = whmcs, lago, lago_extra
    billing = Operator(tmp_path)
    billing.add("m1", epoch(10, 5), billsec=60)  # 0.0100
    billing.add("m2", epoch(10, 6), billsec=90)  # 0.0150
    billing.add("m3", epoch(10, 7), billsec=125)  # 126 s: 0.0210
    billing.add("a1", epoch(10, 8), billsec=600, extension="3001")  # 0.1000
    billing.add("a2", epoch(10, 9), billsec=1200, extension="3001")  # 0.2000
    billing.commit("2026-10", "oct.csv", "--all")
    return billing


def vb(billing: Billing, *args: str) -> Result:
    return invoke("--config", str(billing.config), *args)


def push(billing: Billing, to: str, *args: str) -> Result:
    return vb(billing, "invoice", "push", "--to", to, "--period", "2026-10", *args)


def journal(billing: Billing) -> list[tuple[str, str, str]]:
    status = json.loads(vb(billing, "invoice", "status", "--format", "json").stdout)
    return [(line["service"], line["item"], line["state"]) for line in status["lines"]]


def posted(lago: FakeLago) -> list[str]:
    """The transaction ids of every events batch request, in order."""
    return [
        event["transaction_id"]
        for request in lago.requests
        if request.path.endswith("/batch")
        for event in request.json()["events"]
    ]


# --- Lago ---------------------------------------------------------------------------------------


@pytest.fixture
def lago(fake_lago: FakeLago) -> FakeLago:
    fake_lago.add_subscription("sub-acme")
    return fake_lago


def test_both_services_go_once_and_a_second_push_says_0_now_5_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lago: FakeLago
) -> None:
    billing = operator(tmp_path, monkeypatch, lago=lago.url)
    first = push(billing, "lago")
    assert first.exit_code == 0, first.stderr
    assert "5 sent to lago now, 0 sent before" in first.stderr
    assert len(lago.billed()) == 5
    again = push(billing, "lago")
    assert again.exit_code == 0, again.stderr
    assert "0 sent to lago now, 5 sent before" in again.stderr
    assert len(posted(lago)) == 5  # nothing sent twice, nothing asked the second time
    assert sorted(journal(billing)) == [("acme", "events", "sent"), ("mcon", "events", "sent")]


def test_a_lost_answer_is_finished_by_a_push_of_every_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lago: FakeLago
) -> None:
    billing = operator(tmp_path, monkeypatch, lago=lago.url)
    lago.faults.add("drop_answer")
    lost = push(billing, "lago")
    assert lost.exit_code == 4 and "may be in Lago now" in lost.stderr
    lago.faults.clear()
    finished = push(billing, "lago")  # no --service
    assert finished.exit_code == 0, finished.stderr
    assert "warning" not in finished.stderr  # what Lago had, this ledger sent
    assert sorted(event["transaction_id"] for event in lago.billed()) == sorted(
        f"file:{uuid}" for uuid in ("m1", "m2", "m3", "a1", "a2")
    )
    assert {state for _, _, state in journal(billing)} == {"sent"}


@pytest.mark.parametrize(
    ("subscription", "reason"),
    [
        (None, "no active subscription 'sub-acme'"),
        ({"status": "terminated", "ending_at": "2026-09-30T00:00:00Z"}, "is terminated"),
        ({"status": "pending", "started_at": "2026-12-01T00:00:00Z"}, "is pending"),
        ({"started_at": "2026-10-08T18:00:00Z"}, "after the first event"),
        ({"ending_at": "2026-10-08T00:00:00Z"}, "before the last event"),
    ],
    ids=["unknown", "terminated", "pending", "started-late", "ended-early"],
)
def test_a_subscription_lago_would_drop_events_of_gets_nothing_and_exit_5(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_lago: FakeLago,
    subscription: dict[str, str] | None,
    reason: str,
) -> None:
    if subscription is not None:
        fake_lago.add_subscription("sub-acme", **subscription)
    billing = operator(tmp_path, monkeypatch, lago=fake_lago.url)
    result = push(billing, "lago", "-q")
    assert result.exit_code == 5, result.stderr
    assert "acme: nothing sent to lago" in result.stderr and reason in result.stderr
    assert sorted(posted(fake_lago)) == ["file:m1", "file:m2", "file:m3"]  # mcon still goes
    assert journal(billing) == [("mcon", "events", "sent")]  # nothing marked for acme


def test_an_unknown_metric_sends_nothing_at_all_and_is_looked_up_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lago: FakeLago
) -> None:
    lago.metrics.clear()
    billing = operator(tmp_path, monkeypatch, lago=lago.url)
    result = push(billing, "lago")
    assert result.exit_code == 5
    assert "no billable metric 'voip_cost'" in result.stderr
    assert "mcon: nothing sent" in result.stderr and "acme: nothing sent" in result.stderr
    assert posted(lago) == [] and journal(billing) == []
    assert [r.path for r in lago.requests].count("/api/v1/billable_metrics/voip_cost") == 1


def test_a_metric_that_does_not_sum_cost_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lago: FakeLago
) -> None:
    lago.add_metric("voip_cost", field_name="billed_seconds")
    billing = operator(tmp_path, monkeypatch, lago=lago.url)
    result = push(billing, "lago")
    assert result.exit_code == 5 and 'sum_agg of "cost"' in result.stderr
    assert posted(lago) == []


def test_one_metric_lookup_for_two_services(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lago: FakeLago
) -> None:
    billing = operator(tmp_path, monkeypatch, lago=lago.url)
    assert push(billing, "lago").exit_code == 0
    paths = [r.path for r in lago.requests]
    assert paths.count("/api/v1/billable_metrics/voip_cost") == 1
    assert paths.count("/api/v1/subscriptions/sub-mcon") == 1
    assert paths.count("/api/v1/subscriptions/sub-acme") == 1


def test_events_lago_already_holds_from_a_voided_run_are_a_money_warning_even_with_q(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lago: FakeLago
) -> None:
    billing = operator(tmp_path, monkeypatch, lago=lago.url)
    assert push(billing, "lago").exit_code == 0
    voided = vb(
        billing, "ledger", "void", "--run", "1", "--reason", "deck fix", "--yes", "--yes-pushed"
    )
    assert voided.exit_code in (0, 1), voided.stderr
    billing.commit("2026-10", "oct2.csv", "--all")
    result = push(billing, "lago", "-q")
    assert result.exit_code == 0, result.stderr
    assert "mcon: Lago already had 3 of the 3 events" in result.stderr
    assert "acme: Lago already had 2 of the 2 events" in result.stderr
    assert "keeps their old cost" in result.stderr
    assert len(lago.events) == 5  # Lago's PostgreSQL store refused them all


def test_a_lower_server_batch_limit_splits_and_sends_every_event_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lago: FakeLago
) -> None:
    lago.max_batch = 2  # LAGO_EVENTS_BATCH_MAX_LENGTH=2
    billing = operator(tmp_path, monkeypatch, lago=lago.url)
    result = push(billing, "lago")
    assert result.exit_code == 0, result.stderr
    assert len(lago.billed()) == 5
    accepted = [r for r in lago.requests if r.path.endswith("/batch")]
    sizes = [len(r.json()["events"]) for r in accepted]
    assert max(sizes[-2:]) <= 2 and sum(s for s in sizes if s <= 2) == 5  # each once


def test_batch_size_sets_the_events_per_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lago: FakeLago
) -> None:
    billing = operator(tmp_path, monkeypatch, lago=lago.url, lago_extra="batch_size = 2\n")
    assert push(billing, "lago").exit_code == 0
    sizes = [len(r.json()["events"]) for r in lago.requests if r.path.endswith("/batch")]
    assert sorted(sizes) == [1, 2, 2]  # acme 2, mcon 2 + 1


def test_a_key_without_the_write_permission_is_a_403_code_not_a_bad_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lago: FakeLago
) -> None:
    lago.denied.add("write_event")
    billing = operator(tmp_path, monkeypatch, lago=lago.url)
    result = push(billing, "lago")
    assert result.exit_code == 4
    assert "write_action_not_allowed_for_event" in result.stderr
    assert "refused the API key" not in result.stderr
    assert fakelago.API_KEY not in result.stderr
    assert {state for _, _, state in journal(billing)} == {"not_sent"}


# --- WHMCS --------------------------------------------------------------------------------------


@pytest.fixture
def whmcs(fake_whmcs: FakeWhmcs) -> FakeWhmcs:
    fake_whmcs.add_service(42, 1, "mcon.wat5.ictvoip.ca|5192229000", "2112")
    fake_whmcs.add_service(43, 2, "acme.wat5.ictvoip.ca|4165550199", "3001")
    return fake_whmcs


def actions(fake: FakeWhmcs, action: str) -> list[dict[str, str]]:
    return [r.form for r in fake.requests if r.form.get("action") == action]


@pytest.mark.parametrize(
    ("invoice_action", "words"),
    [("nextinvoice", "renewal invoice"), ("nextcron", "next cron run")],
)
def test_a_terminated_service_is_a_money_warning_shown_with_q(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    whmcs: FakeWhmcs,
    invoice_action: str,
    words: str,
) -> None:
    whmcs.services[1]["status"] = "Terminated"
    billing = operator(tmp_path, monkeypatch, whmcs=whmcs.url)
    billing.config.write_text(
        billing.config.read_text().replace(
            'secret_env = "VOIPBILL_WHMCS_SECRET"\n',
            f'secret_env = "VOIPBILL_WHMCS_SECRET"\ninvoice_action = "{invoice_action}"\n',
        )
    )
    result = push(billing, "whmcs", "-q")
    assert result.exit_code == 0, result.stderr
    assert "acme: WHMCS service 43 is Terminated" in result.stderr and words in result.stderr
    assert "mcon" not in result.stderr
    # sent all the same: mcon 0.0460 -> 0.05, acme 0.3000 -> 0.30
    assert sorted(item["amount"] for item in whmcs.billable_items) == ["0.05", "0.30"]


def test_a_client_in_another_currency_gets_nothing_exit_5_naming_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, whmcs: FakeWhmcs
) -> None:
    whmcs.currencies[2] = "USD"
    billing = operator(tmp_path, monkeypatch, whmcs=whmcs.url)
    result = push(billing, "whmcs", "-q")
    assert result.exit_code == 5
    assert "acme: nothing sent to whmcs" in result.stderr
    assert "billed in USD" in result.stderr and "CAD" in result.stderr
    assert {item["clientid"] for item in whmcs.billable_items} == {"1"}  # mcon's only
    assert [service for service, _, _ in journal(billing)] == ["mcon"]


def test_one_currency_lookup_per_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_whmcs: FakeWhmcs
) -> None:
    fake_whmcs.add_service(42, 1, "mcon.wat5.ictvoip.ca|5192229000", "2112")
    fake_whmcs.add_service(43, 1, "acme.wat5.ictvoip.ca|4165550199", "3001")  # same client
    billing = operator(tmp_path, monkeypatch, whmcs=fake_whmcs.url)
    assert push(billing, "whmcs").exit_code == 0
    assert len(actions(fake_whmcs, "GetClientsDetails")) == 1


def test_an_active_service_and_one_without_a_status_are_no_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, whmcs: FakeWhmcs
) -> None:
    del whmcs.services[1]["status"]  # an answer that leaves the status out says nothing of it
    billing = operator(tmp_path, monkeypatch, whmcs=whmcs.url)
    result = push(billing, "whmcs", "-q")
    assert result.exit_code == 0 and result.stderr == ""
    assert len(whmcs.billable_items) == 2
