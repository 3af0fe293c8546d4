"""The WHMCS client against the fake WHMCS: what is posted, and how each answer maps to an exit."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from tests import fakewhmcs
from tests.fakewhmcs import FakeWhmcs
from tests.invoicinghelpers import whmcs_settings
from voipbill.errors import ExitCode, VoipbillError
from voipbill.invoicing.transport import (
    AnswerLost,
    NoAnswer,
    Refused,
    Rejected,
    UnexpectedAnswer,
)
from voipbill.invoicing.whmcs import WhmcsClient, unflatten


def client(fake: FakeWhmcs, monkeypatch: pytest.MonkeyPatch, **options: str) -> WhmcsClient:
    return WhmcsClient(whmcs_settings(fake.url, monkeypatch, **options))


def assert_no_secret_in_any_url(fake: FakeWhmcs) -> None:
    assert fake.requests
    for request in fake.requests:
        assert request.method == "POST"
        assert request.query == {}
        for secret in (fakewhmcs.IDENTIFIER, fakewhmcs.SECRET):
            assert secret not in request.target
            assert secret not in str(request.headers)


def test_add_billable_item_posts_the_documented_form_and_returns_the_billable_id(
    fake_whmcs: FakeWhmcs, monkeypatch: pytest.MonkeyPatch
) -> None:
    whmcs = client(fake_whmcs, monkeypatch)
    billable = whmcs.add_billable_item(
        client_id=1, description="national calls [vb:7:mcon:national]", amount="12.30"
    )
    assert billable == 1
    (request,) = fake_whmcs.requests
    assert request.path == "/includes/api.php"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.form == {
        "action": "AddBillableItem",
        "identifier": fakewhmcs.IDENTIFIER,
        "secret": fakewhmcs.SECRET,
        "responsetype": "json",
        "clientid": "1",
        "description": "national calls [vb:7:mcon:national]",
        "amount": "12.30",
        "unit": "quantity",
        "quantity": "1",
        "invoiceaction": "nextinvoice",
    }
    assert fake_whmcs.billable_items[0]["amount"] == "12.30"
    assert_no_secret_in_any_url(fake_whmcs)


def test_success_under_the_status_key_as_in_the_docs_example_is_accepted(
    fake_whmcs: FakeWhmcs, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_whmcs.success_key = "status"
    assert (
        client(fake_whmcs, monkeypatch).add_billable_item(
            client_id=2, description="x", amount="1.00"
        )
        == 1
    )


def test_invoice_action_comes_from_the_config(
    fake_whmcs: FakeWhmcs, monkeypatch: pytest.MonkeyPatch
) -> None:
    whmcs = client(fake_whmcs, monkeypatch, invoice_action="nextcron")
    whmcs.add_billable_item(client_id=1, description="x", amount="1.00")
    assert fake_whmcs.requests[0].form["invoiceaction"] == "nextcron"


def test_access_key_is_sent_in_the_body_when_configured(
    fake_whmcs: FakeWhmcs, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from voipbill.config import SecretSource

    monkeypatch.setenv("VB_TEST_ACCESS", "k3y!passphrase")
    settings = replace(
        whmcs_settings(fake_whmcs.url, monkeypatch),
        access_key=SecretSource("invoicing -> whmcs -> access_key", "key", "VB_TEST_ACCESS"),
    )
    WhmcsClient(settings).service(5)
    assert fake_whmcs.requests[0].form["accesskey"] == "k3y!passphrase"
    assert "k3y" not in fake_whmcs.requests[0].target


def test_a_wrong_secret_is_exit_4_with_whmcs_message_and_no_secret(
    fake_whmcs: FakeWhmcs, monkeypatch: pytest.MonkeyPatch
) -> None:
    whmcs = client(fake_whmcs, monkeypatch, secret="wrong-secret-value")
    with pytest.raises(Refused) as caught:
        whmcs.add_billable_item(client_id=1, description="x", amount="1.00")
    assert caught.value.exit_code == ExitCode.CONNECTION
    assert "Authentication Failed" in caught.value.message
    assert "wrong-secret-value" not in caught.value.message + str(caught.value.hint)
    assert not caught.value.maybe_done
    assert fake_whmcs.billable_items == []


def test_an_ip_not_on_the_allow_list_is_exit_4(
    fake_whmcs: FakeWhmcs, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_whmcs.faults.add("deny_ip")
    with pytest.raises(Refused) as caught:
        client(fake_whmcs, monkeypatch).service(1)
    assert "Invalid IP 127.0.0.1" in caught.value.message
    assert "allowed IPs" in str(caught.value.hint)


def test_an_unknown_client_is_exit_5_with_whmcs_message(
    fake_whmcs: FakeWhmcs, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(Rejected) as caught:
        client(fake_whmcs, monkeypatch).add_billable_item(
            client_id=99, description="x", amount="1.00"
        )
    assert caught.value.exit_code == ExitCode.BAD_RESPONSE
    assert caught.value.message == "WHMCS AddBillableItem: Client ID not Found"
    assert not caught.value.maybe_done


def test_a_php_error_page_is_exit_5_and_may_have_done_the_work(
    fake_whmcs: FakeWhmcs, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_whmcs.faults.add("php_error")
    with pytest.raises(UnexpectedAnswer) as caught:
        client(fake_whmcs, monkeypatch).add_billable_item(client_id=1, description="x", amount="1")
    assert caught.value.exit_code == ExitCode.BAD_RESPONSE
    assert "HTTP 500" in caught.value.message and "Fatal error" in caught.value.message
    assert caught.value.maybe_done


def test_a_lost_answer_leaves_the_item_added_and_says_it_may_be_done(
    fake_whmcs: FakeWhmcs, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_whmcs.faults.add("drop_answer")
    with pytest.raises(AnswerLost) as caught:
        client(fake_whmcs, monkeypatch).add_billable_item(
            client_id=1, description="x [vb:1:a:b]", amount="2.00"
        )
    assert caught.value.maybe_done
    assert caught.value.exit_code == ExitCode.CONNECTION
    assert [item["description"] for item in fake_whmcs.billable_items] == ["x [vb:1:a:b]"]


def test_nothing_listening_is_unreachable_and_certainly_not_done(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FakeWhmcs() as fake:
        url = fake.url
    with pytest.raises(VoipbillError) as caught:
        WhmcsClient(whmcs_settings(url, monkeypatch)).service(1)
    assert caught.value.exit_code == ExitCode.CONNECTION
    assert "refused" in caught.value.message
    assert not getattr(caught.value, "maybe_done", True)


def test_services_are_read_page_by_page_until_totalresults(
    fake_whmcs: FakeWhmcs, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(1, 251):
        fake_whmcs.add_service(number, 1 + number % 2, f"t{number}.example.net | 5192229000", "21")
    services = list(client(fake_whmcs, monkeypatch).services())
    assert [service.id for service in services] == list(range(1, 251))
    starts = [request.form["limitstart"] for request in fake_whmcs.requests]
    assert starts == ["0", "100", "200"]
    assert services[0].client_id == 2 and services[0].domain == "t1.example.net | 5192229000"


def test_services_of_one_product_send_its_pid(
    fake_whmcs: FakeWhmcs, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_whmcs.add_service(1, 1, "a.example.net | 5192229000", "21", pid=4)
    fake_whmcs.add_service(2, 1, "b.example.net | 5192229000", "21", pid=5)
    assert [s.id for s in client(fake_whmcs, monkeypatch).services(product_id=5)] == [2]
    assert fake_whmcs.requests[0].form["pid"] == "5"


def test_one_service_by_id_or_none(fake_whmcs: FakeWhmcs, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_whmcs.add_service(42, 2, "mcon.wat5.ictvoip.ca | 5192229000", "2112 | 2113")
    whmcs = client(fake_whmcs, monkeypatch)
    found = whmcs.service(42)
    assert found is not None and found.client_id == 2 and found.username == "2112 | 2113"
    assert whmcs.service(43) is None


@pytest.mark.parametrize("flat", [False, True], ids=["nested", "flattened-as-in-docs"])
def test_a_token_is_found_on_an_invoice_after_the_cron(
    fake_whmcs: FakeWhmcs, monkeypatch: pytest.MonkeyPatch, flat: bool
) -> None:
    fake_whmcs.flat_lists = flat
    whmcs = client(fake_whmcs, monkeypatch)
    whmcs.add_billable_item(client_id=1, description="other line", amount="1.00")
    billable = whmcs.add_billable_item(client_id=1, description="n [vb:3:a:b]", amount="2.00")
    two = Decimal("2.00")
    assert whmcs.find_token("[vb:3:a:b]", client_id=1, amount=two) is None  # not invoiced yet
    fake_whmcs.run_cron()
    item = whmcs.find_token("[vb:3:a:b]", client_id=1, amount=two)
    assert item is not None and item.relid == billable and item.amount == "2.00"
    assert whmcs.find_token("[vb:3:a:b]", client_id=2, amount=two) is None


def test_unflatten_turns_bracket_keys_into_lists() -> None:
    answer = {"result": "success", "items[item][0][id]": "1", "items[item][1][id]": "2"}
    assert unflatten(answer) == {"result": "success", "items": {"item": [{"id": "1"}, {"id": "2"}]}}


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A server that takes the connection and never answers (the kernel's backlog)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_a_lookup_that_hangs_is_a_connection_failure_never_maybe_done(
    silent_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = replace(whmcs_settings(silent_url, monkeypatch), timeout_s=0.2)
    with pytest.raises(NoAnswer) as caught:
        WhmcsClient(settings).service(42)
    assert caught.value.exit_code == ExitCode.CONNECTION and not caught.value.maybe_done
    assert "within 0.2 s" in caught.value.message and "lookup" in caught.value.message
    assert "may have been" not in caught.value.message + str(caught.value.hint)
    assert "timeout_s" in str(caught.value.hint)


def test_an_add_that_hangs_may_have_been_carried_out(
    silent_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = replace(whmcs_settings(silent_url, monkeypatch), timeout_s=0.2)
    with pytest.raises(AnswerLost) as caught:
        WhmcsClient(settings).add_billable_item(client_id=1, description="x", amount="1.00")
    assert caught.value.maybe_done and "may have been carried out" in str(caught.value.hint)


def test_a_php_error_page_for_a_lookup_changed_nothing(
    fake_whmcs: FakeWhmcs, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_whmcs.faults.add("php_error")
    with pytest.raises(UnexpectedAnswer) as caught:
        client(fake_whmcs, monkeypatch).service(42)
    assert not caught.value.maybe_done


@pytest.mark.parametrize("flat", [False, True], ids=["nested", "flattened-as-in-docs"])
def test_the_client_currency_is_read_from_get_clients_details(
    fake_whmcs: FakeWhmcs, monkeypatch: pytest.MonkeyPatch, flat: bool
) -> None:
    fake_whmcs.flat_lists = flat
    fake_whmcs.currencies[2] = "AUD"
    whmcs = client(fake_whmcs, monkeypatch)
    assert (whmcs.client_currency(1), whmcs.client_currency(2)) == ("CAD", "AUD")
    with pytest.raises(Rejected, match="Client Not Found"):
        whmcs.client_currency(9)


def line(description: str, amount: str) -> dict[str, str]:
    return {"description": description, "amount": amount}


def test_a_token_counts_only_with_its_amount(
    fake_whmcs: FakeWhmcs, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_whmcs.add_invoice(1, "2026-11-02", [line("national [vb:1:mcon:national]", "9.99")])
    whmcs = client(fake_whmcs, monkeypatch)
    token = "[vb:1:mcon:national]"
    assert whmcs.find_token(token, client_id=1, amount=Decimal("12.30")) is None
    assert whmcs.find_token(token, client_id=1, amount=Decimal("9.99")) is not None


def test_invoices_are_read_newest_first_and_none_older_than_since(
    fake_whmcs: FakeWhmcs, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An older ledger's line with the same token and amount, on an invoice from before the
    line went pending, is never taken for it."""
    token = "[vb:1:mcon:national]"
    old = fake_whmcs.add_invoice(1, "2025-11-02", [line(f"national {token}", "12.30")])
    for day in ("2026-11-01", "2026-11-03"):
        fake_whmcs.add_invoice(1, day, [line("monthly plan", "30.00")])
    new = fake_whmcs.add_invoice(1, "2026-11-02", [line(f"national {token}", "12.30")])
    whmcs = client(fake_whmcs, monkeypatch)
    found = whmcs.find_token(token, client_id=1, amount=Decimal("12.3"), since=date(2026, 11, 1))
    assert found is not None and found.invoice_id == new
    read = [
        int(r.form["invoiceid"]) for r in fake_whmcs.requests if r.form["action"] == "GetInvoice"
    ]
    assert read == [3, new] and old not in read  # 2026-11-03, then 2026-11-02: found
    listing = [r.form for r in fake_whmcs.requests if r.form["action"] == "GetInvoices"]
    assert listing[0]["orderby"] == "date" and listing[0]["order"] == "desc"
    assert (
        whmcs.find_token(token, client_id=1, amount=Decimal("12.30"), since=date(2026, 12, 1))
        is None
    )


def test_each_invoice_is_read_once_for_several_lines(
    fake_whmcs: FakeWhmcs, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_whmcs.add_invoice(
        1, "2026-11-02", [line("a [vb:1:m:a]", "1.00"), line("b [vb:1:m:b]", "2.00")]
    )
    whmcs = client(fake_whmcs, monkeypatch)
    assert whmcs.find_token("[vb:1:m:a]", client_id=1, amount=Decimal(1)) is not None
    assert whmcs.find_token("[vb:1:m:b]", client_id=1, amount=Decimal(2)) is not None
    assert [r.form["action"] for r in fake_whmcs.requests].count("GetInvoice") == 1
