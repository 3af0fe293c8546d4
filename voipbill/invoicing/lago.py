"""The Lago client (rules §11): one usage event per billed call, `batch_size` (100) a request.

`POST <url>/api/v1/events/batch` with `Authorization: Bearer <key>`. Lago refuses an event
whose `transaction_id` it already has (422 `value_already_exist`, keyed by the event's index
in the batch) and then stores none of the batch. Such an event counts as already in Lago, and
the rest of the batch is sent again without it: resending is always safe. A batch over the
server's LAGO_EVENTS_BATCH_MAX_LENGTH (422 `too_many_events`) is split and sent again.

Lago answers 200 and drops an event whose subscription or metric is wrong, so the push looks
both up first (`subscription`, `billable_metric`). A 401 is a bad key; a 403 is a key without
a permission, and its code (`write_action_not_allowed_for_event`) is shown.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import requests

from voipbill.config.model import LagoConfig
from voipbill.invoicing.transport import Refused, Rejected, Transport, UnexpectedAnswer
from voipbill.money import format_money

BATCH_PATH = "/api/v1/events/batch"
SUBSCRIPTION_PATH = "/api/v1/subscriptions"
METRIC_PATH = "/api/v1/billable_metrics"
MAX_BATCH = 100  # Lago's LAGO_EVENTS_BATCH_MAX_LENGTH default
ALREADY_SENT = "value_already_exist"
TOO_MANY = "too_many_events"


@dataclass(frozen=True)
class LagoEvent:
    transaction_id: str  # `<server>:<xml_cdr_uuid>`: one call, once
    external_subscription_id: str
    code: str
    timestamp: int  # the call's start_epoch (a late call: its period's first second)
    properties: Mapping[str, str]

    def to_json(self) -> dict[str, Any]:
        return {
            "transaction_id": self.transaction_id,
            "external_subscription_id": self.external_subscription_id,
            "code": self.code,
            "timestamp": self.timestamp,
            "properties": dict(self.properties),
        }


def call_event(
    *,
    server: str,
    xml_cdr_uuid: str,
    subscription: str,
    metric_code: str,
    start_epoch: int,
    cost: Decimal,
    billed_seconds: int,
    category: str,
    service: str,
    timestamp: int | None = None,
) -> LagoEvent:
    """The event of one billed call; money and seconds as strings, so nothing turns float.

    `timestamp` is when Lago bills it: the call's start, or for a late call the first second
    of the period it is billed in; `start` always keeps the call's own start."""
    return LagoEvent(
        transaction_id=f"{server}:{xml_cdr_uuid}",
        external_subscription_id=subscription,
        code=metric_code,
        timestamp=start_epoch if timestamp is None else timestamp,
        properties={
            "cost": format_money(cost),
            "billed_seconds": str(billed_seconds),
            "category": category,
            "service": service,
            "start": str(start_epoch),
        },
    )


@dataclass(frozen=True)
class BatchResult:
    accepted: tuple[str, ...]  # transaction ids Lago stored now
    already_sent: tuple[str, ...]  # transaction ids Lago had before (422 value_already_exist)
    requests: int  # POSTs made for this batch

    def __add__(self, other: BatchResult) -> BatchResult:
        return BatchResult(
            self.accepted + other.accepted,
            self.already_sent + other.already_sent,
            self.requests + other.requests,
        )


class TooManyEvents(Exception):
    """Lago refused a batch for its size (422 `too_many_events`): it stored none of it."""


class LagoClient:
    def __init__(self, settings: LagoConfig, *, session: requests.Session | None = None) -> None:
        self.settings = settings
        self._key = settings.api_key.read().reveal()
        self.transport = Transport(
            "Lago", settings.url, timeout_s=settings.timeout_s, secrets=[self._key], session=session
        )
        # the events per request: `batch_size`, lowered for good when Lago refuses a size
        self.batch_limit = settings.batch_size

    @property
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key}"}

    def send(self, events: Sequence[LagoEvent]) -> Iterator[tuple[list[LagoEvent], BatchResult]]:
        """Send the events in batches of at most `batch_size`; each batch with its fate."""
        start = 0
        while start < len(events):
            batch = list(events[start : start + self.batch_limit])
            yield batch, self.send_batch(batch)
            start += len(batch)

    def send_batch(self, events: Sequence[LagoEvent]) -> BatchResult:
        """One batch, split in halves and sent again as long as Lago refuses it for its size
        (a self-hosted Lago's LAGO_EVENTS_BATCH_MAX_LENGTH may be under 100): every event
        reaches Lago exactly once, whatever the limit."""
        if not events:
            raise ValueError("a Lago batch holds at least one event")
        ids = [event.transaction_id for event in events]
        if len(set(ids)) != len(ids):
            raise ValueError("a Lago batch must not repeat a transaction_id")
        result = BatchResult((), (), 0)
        start = 0
        while start < len(events):
            part = list(events[start : start + self.batch_limit])
            try:
                result = result + self._post_batch(part)
            except TooManyEvents:
                if len(part) == 1:
                    raise Rejected(
                        "Lago refused a batch of 1 event as too many (too_many_events)",
                        hint="check LAGO_EVENTS_BATCH_MAX_LENGTH on the Lago server",
                    ) from None
                self.batch_limit = max(1, len(part) // 2)
                result = result + BatchResult((), (), 1)
                continue  # the same events again, in smaller requests
            start += len(part)
        return result

    def _post_batch(self, events: Sequence[LagoEvent]) -> BatchResult:
        pending = list(events)
        already: list[str] = []
        posts = 0
        while pending:
            posts += 1
            response = self.transport.post(
                BATCH_PATH,
                json={"events": [event.to_json() for event in pending]},
                headers=self._auth,
            )
            if response.status_code in (200, 201):
                break
            duplicates = self._duplicates(response, len(pending))
            already.extend(pending[index].transaction_id for index in sorted(duplicates))
            # Lago stored none of the batch: send again what it did not have
            pending = [event for index, event in enumerate(pending) if index not in duplicates]
        accepted = tuple(event.transaction_id for event in pending)
        return BatchResult(accepted=accepted, already_sent=tuple(already), requests=posts)

    # -- lookups (rules §11: Lago drops events of a wrong subscription or metric silently) ----

    def subscription(self, external_id: str, *, status: str = "") -> dict[str, Any] | None:
        """`GET /api/v1/subscriptions/{external_id}` (Lago answers the active one unless
        `status` is given); None when Lago has none."""
        path = f"{SUBSCRIPTION_PATH}/{quote(external_id, safe='')}"
        if status:
            path += f"?status={quote(status)}"
        return self._lookup(path, "subscription", f"subscription {external_id}")

    def billable_metric(self, code: str) -> dict[str, Any] | None:
        """`GET /api/v1/billable_metrics/{code}`; None when Lago has no such metric."""
        path = f"{METRIC_PATH}/{quote(code, safe='')}"
        return self._lookup(path, "billable_metric", f"billable metric {code}")

    def _lookup(self, path: str, root: str, what: str) -> dict[str, Any] | None:
        response = self.transport.get(path, headers=self._auth)
        if response.status_code == 404:
            return None
        if response.status_code in (401, 403):
            raise self._refusal(response, f"reading the {what}")
        answer = _json(response)
        found = answer.get(root) if answer is not None and response.status_code == 200 else None
        if not isinstance(found, dict):
            error = UnexpectedAnswer(
                f"Lago {what}: HTTP {response.status_code}, not the documented answer: "
                f"{self.transport.snippet(response)}",
                hint=f"check that {self.settings.url} is the Lago API (its /api/v1 routes)",
            )
            error.maybe_done = False  # a lookup changes nothing
            raise error
        return found

    # -- refusals ------------------------------------------------------------------------------

    def _refusal(self, response: requests.Response, doing: str) -> Refused:
        """401: the key is wrong; 403: the key lacks a permission (Lago's code names it)."""
        answer = _json(response) or {}
        code = self.transport.clean(str(answer.get("code") or ""))
        if response.status_code == 401:
            return Refused(
                f"Lago refused the API key (HTTP 401) {doing}",
                hint="check invoicing -> lago -> api_key_env or api_key_file",
            )
        shown = f" {code}" if code else ""
        return Refused(
            f"Lago refused {doing}: HTTP 403{shown}: the API key lacks this permission "
            "(the key itself was accepted)",
            hint="give the key read permission for subscriptions and billable metrics and "
            "write permission for events in Lago (Developers > API keys), or use another key",
        )

    def _duplicates(self, response: requests.Response, size: int) -> set[int]:
        """The indexes refused only as already sent; any other refusal raises."""
        status = response.status_code
        if status in (401, 403):
            raise self._refusal(response, "the events batch")
        answer = _json(response)
        if status != 422 or answer is None:
            raise UnexpectedAnswer(
                f"Lago events batch: HTTP {status}: {self.transport.snippet(response)}"
            )
        details = answer.get("error_details")
        if isinstance(details, dict) and _codes(details.get("events")) & {TOO_MANY}:
            raise TooManyEvents
        duplicates: set[int] = set()
        problems: list[str] = []
        for key, fields in details.items() if isinstance(details, dict) else []:
            if (
                isinstance(key, str)
                and key.isdigit()
                and int(key) < size
                and isinstance(fields, dict)
                and fields == {"transaction_id": [ALREADY_SENT]}
            ):
                duplicates.add(int(key))
            else:
                problems.append(f"{key}: {_describe(fields)}")
        if problems or not duplicates:
            code = str(answer.get("code") or "")
            shown = "; ".join(problems[:3]) or self.transport.snippet(response)
            raise Rejected(
                f"Lago refused the events batch: HTTP 422 {code}: {self.transport.clean(shown)}"
            )
        return duplicates


def _codes(value: Any) -> set[str]:
    return {str(code) for code in value} if isinstance(value, list) else set()


def _describe(fields: Any) -> str:
    """`{"transaction_id": ["value_is_mandatory"]}` as `transaction_id value_is_mandatory`."""
    if isinstance(fields, dict):
        return ", ".join(
            f"{name} {' '.join(str(c) for c in codes) if isinstance(codes, list) else codes}"
            for name, codes in fields.items()
        )
    return str(fields)


def _json(response: requests.Response) -> dict[str, Any] | None:
    try:
        answer = json.loads(response.content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return answer if isinstance(answer, dict) else None
