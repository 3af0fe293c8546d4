"""The Lago client against the fake Lago: batches of 100, a repeated event counts as sent."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from tests import fakelago
from tests.fakelago import FakeLago
from tests.invoicinghelpers import lago_settings
from voipbill.errors import ExitCode
from voipbill.invoicing.lago import LagoClient, LagoEvent, call_event
from voipbill.invoicing.transport import AnswerLost, Refused, Rejected


def events(count: int, first: int = 0) -> list[LagoEvent]:
    return [
        call_event(
            server="wat5",
            xml_cdr_uuid=f"00000000-0000-0000-0000-{n:012d}",
            subscription="sub-mcon",
            metric_code="voip_cost",
            start_epoch=1_764_000_000 + n,
            cost=Decimal("0.0120"),
            billed_seconds=66,
            category="national",
            service="mcon",
        )
        for n in range(first, first + count)
    ]


def test_an_event_carries_the_call_with_money_as_strings() -> None:
    (event,) = events(1)
    assert event.to_json() == {
        "transaction_id": "wat5:00000000-0000-0000-0000-000000000000",
        "external_subscription_id": "sub-mcon",
        "code": "voip_cost",
        "timestamp": 1_764_000_000,
        "properties": {
            "cost": "0.0120",
            "billed_seconds": "66",
            "category": "national",
            "service": "mcon",
            "start": "1764000000",
        },
    }


def test_a_batch_of_100_is_one_request_with_the_bearer_key(
    fake_lago: FakeLago, monkeypatch: pytest.MonkeyPatch
) -> None:
    lago = LagoClient(lago_settings(fake_lago.url, monkeypatch))
    results = [result for _, result in lago.send(events(100))]
    assert len(fake_lago.requests) == 1
    (request,) = fake_lago.requests
    assert request.path == "/api/v1/events/batch"
    assert request.headers["authorization"] == f"Bearer {fakelago.API_KEY}"
    assert fakelago.API_KEY not in request.target
    assert len(request.json()["events"]) == 100
    assert len(results[0].accepted) == 100 and results[0].already_sent == ()
    assert len(fake_lago.events) == 100


def test_101_events_are_two_requests_of_100_and_1(
    fake_lago: FakeLago, monkeypatch: pytest.MonkeyPatch
) -> None:
    lago = LagoClient(lago_settings(fake_lago.url, monkeypatch))
    sizes = [len(batch) for batch, _ in lago.send(events(101))]
    assert sizes == [100, 1]
    assert [len(r.json()["events"]) for r in fake_lago.requests] == [100, 1]
    assert len(fake_lago.events) == 101


def test_a_repeated_event_counts_as_sent_and_the_rest_of_the_batch_is_stored(
    fake_lago: FakeLago, monkeypatch: pytest.MonkeyPatch
) -> None:
    lago = LagoClient(lago_settings(fake_lago.url, monkeypatch))
    lago.send_batch(events(3))  # 0, 1, 2 stored
    result = lago.send_batch(events(5))  # 0..4: three repeated, so Lago refuses the batch
    assert sorted(result.already_sent) == [e.transaction_id for e in events(3)]
    assert sorted(result.accepted) == [e.transaction_id for e in events(2, first=3)]
    assert result.requests == 2
    assert len(fake_lago.events) == 5  # no duplicate, nothing lost
    refused, resent = fake_lago.requests[1:]
    assert len(refused.json()["events"]) == 5 and len(resent.json()["events"]) == 2


def test_a_batch_lago_already_has_whole_is_one_refused_request(
    fake_lago: FakeLago, monkeypatch: pytest.MonkeyPatch
) -> None:
    lago = LagoClient(lago_settings(fake_lago.url, monkeypatch))
    lago.send_batch(events(4))
    result = lago.send_batch(events(4))
    assert result.accepted == () and len(result.already_sent) == 4 and result.requests == 1


def test_a_resend_after_a_lost_answer_makes_no_duplicate(
    fake_lago: FakeLago, monkeypatch: pytest.MonkeyPatch
) -> None:
    lago = LagoClient(lago_settings(fake_lago.url, monkeypatch))
    fake_lago.faults.add("drop_answer")
    with pytest.raises(AnswerLost) as caught:
        lago.send_batch(events(10))
    assert caught.value.maybe_done
    fake_lago.faults.clear()
    result = lago.send_batch(events(10))
    assert len(result.already_sent) == 10 and result.accepted == ()
    assert len(fake_lago.events) == 10


def test_a_wrong_key_is_exit_4_and_not_shown(
    fake_lago: FakeLago, monkeypatch: pytest.MonkeyPatch
) -> None:
    lago = LagoClient(lago_settings(fake_lago.url, monkeypatch, key="not-the-key-1234"))
    with pytest.raises(Refused) as caught:
        lago.send_batch(events(1))
    assert caught.value.exit_code == ExitCode.CONNECTION
    assert "not-the-key-1234" not in caught.value.message + str(caught.value.hint)
    assert fake_lago.events == {}


def test_another_refusal_is_exit_5_naming_lago_reason(
    fake_lago: FakeLago, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = replace(lago_settings(fake_lago.url, monkeypatch), metric_code="")
    bad = [replace(event, code="") for event in events(2)]
    with pytest.raises(Rejected) as caught:
        LagoClient(settings).send_batch(bad)
    assert caught.value.exit_code == ExitCode.BAD_RESPONSE
    assert "value_is_mandatory" in caught.value.message


def test_an_empty_batch_is_refused_before_any_request(
    fake_lago: FakeLago, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match="at least one"):
        LagoClient(lago_settings(fake_lago.url, monkeypatch)).send_batch([])
    assert fake_lago.requests == []


def test_a_403_names_lago_code_and_is_not_a_bad_key(
    fake_lago: FakeLago, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_lago.denied.update({"write_event", "read_subscription"})
    lago = LagoClient(lago_settings(fake_lago.url, monkeypatch))
    with pytest.raises(Refused) as caught:
        lago.send_batch(events(1))
    assert caught.value.exit_code == ExitCode.CONNECTION
    assert "HTTP 403 write_action_not_allowed_for_event" in caught.value.message
    assert "API key (HTTP 401)" not in caught.value.message and "permission" in caught.value.message
    with pytest.raises(Refused, match="read_action_not_allowed_for_subscription"):
        lago.subscription("sub-mcon")


def test_a_422_names_lago_code_and_the_field(
    fake_lago: FakeLago, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = [replace(event, transaction_id="") for event in events(1)]
    with pytest.raises(Rejected) as caught:
        LagoClient(lago_settings(fake_lago.url, monkeypatch)).send_batch(bad)
    assert "HTTP 422 validation_errors" in caught.value.message
    assert "transaction_id value_is_mandatory" in caught.value.message


@pytest.mark.parametrize("limit", [1, 7, 33, 99])
def test_a_batch_refused_for_its_size_is_split_and_every_event_sent_once(
    fake_lago: FakeLago, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    fake_lago.max_batch = limit
    lago = LagoClient(lago_settings(fake_lago.url, monkeypatch))
    calls = events(250)
    sent = [batch for batch, _ in lago.send(calls)]
    assert sum(len(batch) for batch in sent) == 250
    stored = [
        event["transaction_id"]
        for request in fake_lago.requests
        if len(request.json()["events"]) <= limit
        for event in request.json()["events"]
    ]
    assert sorted(stored) == sorted(event.transaction_id for event in calls)  # each once
    assert len(fake_lago.events) == 250 and lago.batch_limit <= limit


def test_a_batch_size_of_the_config_sets_the_requests(
    fake_lago: FakeLago, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = replace(lago_settings(fake_lago.url, monkeypatch), batch_size=40)
    results = [result for _, result in LagoClient(settings).send(events(100))]
    assert [len(r.json()["events"]) for r in fake_lago.requests] == [40, 40, 20]
    assert sum(len(result.accepted) for result in results) == 100


def test_lookups_answer_the_subscription_and_the_metric_or_none(
    fake_lago: FakeLago, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_lago.add_subscription("sub/odd", status="terminated")
    lago = LagoClient(lago_settings(fake_lago.url, monkeypatch))
    found = lago.subscription("sub-mcon")
    assert found is not None and found["status"] == "active"
    assert lago.subscription("nope") is None
    assert lago.subscription("sub/odd") is None  # not active
    terminated = lago.subscription("sub/odd", status="terminated")
    assert terminated is not None and terminated["external_id"] == "sub/odd"
    metric = lago.billable_metric("voip_cost")
    assert metric is not None and metric["field_name"] == "cost"
    assert lago.billable_metric("other") is None
    assert all(request.method == "GET" for request in fake_lago.requests)
