"""A fake Lago API for the tests, on 127.0.0.1: events, subscriptions, billable metrics.

It follows lago-api's code (app/controllers/api/v1/*, app/services/events/*):

- Bearer auth: a wrong key is 401 `{"status": 401, "error": "Unauthorized"}`; a key without
  the permission is 403 `{"status": 403, "error": "Forbidden", "code":
  "<read|write>_action_not_allowed_for_<resource>"}` (GET reads, anything else writes).
- `POST /api/v1/events/batch`: none is `no_events`, more than `max_batch`
  (LAGO_EVENTS_BATCH_MAX_LENGTH, default 100) is `too_many_events`, both under `events`;
  `transaction_id` and `code` are required. On the PostgreSQL event store a transaction id the
  subscription already has is `value_already_exist`, keyed by the event's index, and then
  the WHOLE batch is refused and nothing of it is stored; on the ClickHouse store
  (`store = "clickhouse"`) it overwrites instead. Lago answers 200 for an event of an
  unknown or inactive subscription, one outside its time, or of an unknown metric: it keeps
  it and never bills it (`billed()` tells them apart).
- `GET /api/v1/subscriptions/{external_id}[?status=]`: the subscription of that status
  (default `active`), 404 `subscription_not_found` otherwise; `{"subscription": {...}}`.
- `GET /api/v1/billable_metrics/{code}`: `{"billable_metric": {...}}` or 404
  `billable_metric_not_found`.

API::

    API_KEY
    class FakeLago:
        url: str; requests: list[RecordedRequest]; faults: set[str]   # {"drop_answer"}
        events: dict[tuple[str, str], dict]   # (external_subscription_id, transaction_id) -> event
        subscriptions: list[dict]; metrics: dict[str, dict]
        max_batch: int; store: str; denied: set[str]   # e.g. {"write_event", "read_subscription"}
        def add_subscription(external_id, status="active", started_at=..., ending_at=None) -> dict
        def add_metric(code, aggregation_type="sum_agg", field_name="cost") -> dict
        def billed() -> list[dict]   # the stored events Lago would bill
    fixture: fake_lago (subscription "sub-mcon" active since 2026-01-01, metric "voip_cost")
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import pytest

from tests.fakehttp import Answer, DropAnswer, FakeServer, RecordedRequest

API_KEY = "4f0c1a6e-5d1b-4c7e-9a55-2b8d3e6f7a90"
BATCH_PATH = "/api/v1/events/batch"
SUBSCRIPTIONS = "/api/v1/subscriptions/"
METRICS = "/api/v1/billable_metrics/"
MAX_BATCH = 100


class FakeLago(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.faults: set[str] = set()  # "drop_answer": store the batch, close unanswered
        self.events: dict[tuple[str, str], dict[str, Any]] = {}
        self.subscriptions: list[dict[str, Any]] = []
        self.metrics: dict[str, dict[str, Any]] = {}
        self.max_batch = MAX_BATCH
        self.store = "postgres"  # or "clickhouse"
        self.denied: set[str] = set()  # "<read|write>_<resource>" the key may not do

    def add_subscription(
        self,
        external_id: str,
        status: str = "active",
        started_at: str | None = "2026-01-01T00:00:00.000Z",
        ending_at: str | None = None,
    ) -> dict[str, Any]:
        record = {
            "lago_id": str(uuid.uuid4()),
            "external_id": external_id,
            "external_customer_id": f"cust-{external_id}",
            "plan_code": "voip",
            "status": status,
            "billing_time": "calendar",
            "subscription_at": started_at,
            "started_at": None if status == "pending" else started_at,
            "ending_at": ending_at,
            "terminated_at": ending_at if status == "terminated" else None,
            "canceled_at": None,
            "created_at": "2025-12-01T00:00:00Z",
        }
        self.subscriptions.append(record)
        return record

    def add_metric(
        self, code: str, aggregation_type: str = "sum_agg", field_name: str | None = "cost"
    ) -> dict[str, Any]:
        record = {
            "lago_id": str(uuid.uuid4()),
            "name": code,
            "code": code,
            "description": "",
            "aggregation_type": aggregation_type,
            "weighted_interval": None,
            "recurring": False,
            "created_at": "2025-12-01T00:00:00Z",
            "field_name": field_name,
            "filters": [],
        }
        self.metrics[code] = record
        return record

    def billed(self) -> list[dict[str, Any]]:
        """The stored events Lago bills: of a known metric and a subscription that was
        active at the event's time (Events::PostProcessService's matching)."""
        return [event for event in self.events.values() if self._bills(event)]

    def _bills(self, event: dict[str, Any]) -> bool:
        if event.get("code") not in self.metrics:
            return False
        moment = float(event.get("timestamp") or 0)
        for sub in self.subscriptions:
            if sub["external_id"] != event.get("external_subscription_id"):
                continue
            if sub["status"] not in ("active", "terminated") or not sub["started_at"]:
                continue
            ended = sub["terminated_at"] or sub["ending_at"]
            if _epoch(sub["started_at"]) <= moment and (ended is None or moment <= _epoch(ended)):
                return True
        return False

    # --- the API ----------------------------------------------------------------------------

    def answer(self, request: RecordedRequest) -> Answer:
        authorization = request.headers.get("authorization", "")
        parts = authorization.split(" ")
        if len(parts) != 2 or parts[0] != "Bearer" or parts[1] != API_KEY:
            return Answer(401, {"status": 401, "error": "Unauthorized"})
        mode = "read" if request.method == "GET" else "write"
        if request.path == BATCH_PATH and request.method == "POST":
            return self._allowed(mode, "event") or self._batch(request)
        if request.path.startswith(SUBSCRIPTIONS) and request.method == "GET":
            external_id = unquote(request.path[len(SUBSCRIPTIONS) :])
            status = request.query.get("status") or "active"
            return self._allowed(mode, "subscription") or self._subscription(external_id, status)
        if request.path.startswith(METRICS) and request.method == "GET":
            metric = self.metrics.get(unquote(request.path[len(METRICS) :]))
            found = _not_found("billable_metric") if metric is None else None
            return (
                self._allowed(mode, "billable_metric")
                or found
                or Answer(200, {"billable_metric": metric})
            )
        return Answer(404, {"status": 404, "error": "Not Found", "code": "route_not_found"})

    def _allowed(self, mode: str, resource: str) -> Answer | None:
        if f"{mode}_{resource}" not in self.denied:
            return None
        code = f"{mode}_action_not_allowed_for_{resource}"
        return Answer(403, {"status": 403, "error": "Forbidden", "code": code})

    def _subscription(self, external_id: str, status: str) -> Answer:
        found = [
            sub
            for sub in self.subscriptions
            if sub["external_id"] == external_id and sub["status"] == status
        ]
        if not found:
            return _not_found("subscription")
        # order("terminated_at DESC NULLS FIRST, started_at DESC")
        found.sort(key=lambda s: (s["terminated_at"] is None, s["terminated_at"] or ""))
        return Answer(200, {"subscription": found[-1]})

    def _batch(self, request: RecordedRequest) -> Answer:
        try:
            events = request.json().get("events")
        except ValueError:
            return Answer(400, {"status": 400, "error": "Bad Request"})
        if not events:
            return _invalid({"events": ["no_events"]})
        if len(events) > self.max_batch:
            return _invalid({"events": ["too_many_events"]})
        errors: dict[str, dict[str, list[str]]] = {}
        for index, event in enumerate(events):
            problems: dict[str, list[str]] = {}
            for field in ("transaction_id", "code"):
                if not event.get(field):
                    problems[field] = ["value_is_mandatory"]
            key = (event.get("external_subscription_id") or "", event.get("transaction_id") or "")
            if key in self.events and self.store == "postgres":
                problems["transaction_id"] = ["value_already_exist"]
            if problems:
                errors[str(index)] = problems
        if errors:
            return _invalid(errors)  # the whole batch, nothing stored
        stored = []
        for event in events:
            record = {**event, "lago_id": str(uuid.uuid4())}
            self.events[(event.get("external_subscription_id") or "", event["transaction_id"])] = (
                record
            )
            stored.append(record)
        if "drop_answer" in self.faults:
            raise DropAnswer
        return Answer(200, {"events": stored})


def _epoch(text: str) -> float:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _not_found(resource: str) -> Answer:
    return Answer(404, {"status": 404, "error": "Not Found", "code": f"{resource}_not_found"})


def _invalid(details: dict[str, Any]) -> Answer:
    body = {
        "status": 422,
        "error": "Unprocessable Entity",
        "code": "validation_errors",
        "error_details": details,
    }
    return Answer(422, body)


@pytest.fixture
def fake_lago() -> Iterator[FakeLago]:
    with FakeLago() as fake:
        fake.add_subscription("sub-mcon")
        fake.add_metric("voip_cost")
        yield fake
