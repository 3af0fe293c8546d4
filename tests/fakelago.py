"""A fake Lago events API for the tests, on 127.0.0.1 (`POST /api/v1/events/batch`).

It follows lago-api's code (notes §2.1): Bearer auth with 401 `Unauthorized`; at most 100
events a batch (`too_many_events`), none is `no_events`; `transaction_id` and `code`
required; a transaction id already stored for the subscription is refused with
`value_already_exist`, keyed by the event's index, and then the WHOLE batch is refused and
nothing of it is stored.

API::

    API_KEY
    class FakeLago:
        url: str; requests: list[RecordedRequest]; faults: set[str]   # {"drop_answer"}
        events: dict[tuple[str, str], dict]   # (external_subscription_id, transaction_id) -> event
    fixture: fake_lago
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakehttp import Answer, DropAnswer, FakeServer, RecordedRequest

API_KEY = "4f0c1a6e-5d1b-4c7e-9a55-2b8d3e6f7a90"
BATCH_PATH = "/api/v1/events/batch"
MAX_BATCH = 100


class FakeLago(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.faults: set[str] = set()  # "drop_answer": store the batch, close unanswered
        self.events: dict[tuple[str, str], dict[str, Any]] = {}

    def answer(self, request: RecordedRequest) -> Answer:
        if request.path != BATCH_PATH or request.method != "POST":
            return Answer(404, {"status": 404, "error": "Not Found", "code": "route_not_found"})
        authorization = request.headers.get("authorization", "")
        parts = authorization.split(" ")
        if len(parts) != 2 or parts[0] != "Bearer" or parts[1] != API_KEY:
            return Answer(401, {"status": 401, "error": "Unauthorized"})
        try:
            events = request.json().get("events")
        except ValueError:
            return Answer(400, {"status": 400, "error": "Bad Request"})
        if not events:
            return _invalid({"events": ["no_events"]})
        if len(events) > MAX_BATCH:
            return _invalid({"events": ["too_many_events"]})
        errors: dict[str, dict[str, list[str]]] = {}
        for index, event in enumerate(events):
            problems: dict[str, list[str]] = {}
            for field in ("transaction_id", "code"):
                if not event.get(field):
                    problems[field] = ["value_is_mandatory"]
            key = (event.get("external_subscription_id") or "", event.get("transaction_id") or "")
            if key in self.events:
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
        yield fake
