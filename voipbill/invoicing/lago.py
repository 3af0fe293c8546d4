"""The Lago events client (rules §11): one usage event per billed call, in batches of 100.

`POST <url>/api/v1/events/batch` with `Authorization: Bearer <key>`. Lago refuses an event
whose `transaction_id` it already has (422 `value_already_exist`, keyed by the event's index
in the batch) and then stores none of the batch. Such an event was sent before, so it counts
as sent, and the rest of the batch is sent again without it: resending is always safe.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests

from voipbill.config.model import LagoConfig
from voipbill.invoicing.transport import Refused, Rejected, Transport, UnexpectedAnswer
from voipbill.money import format_money

BATCH_PATH = "/api/v1/events/batch"
MAX_BATCH = 100  # Lago's LAGO_EVENTS_BATCH_MAX_LENGTH default
ALREADY_SENT = "value_already_exist"


@dataclass(frozen=True)
class LagoEvent:
    transaction_id: str  # `<server>:<xml_cdr_uuid>`: one call, once
    external_subscription_id: str
    code: str
    timestamp: int  # the call's start_epoch
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
) -> LagoEvent:
    """The event of one billed call; money and seconds as strings, so nothing turns float."""
    return LagoEvent(
        transaction_id=f"{server}:{xml_cdr_uuid}",
        external_subscription_id=subscription,
        code=metric_code,
        timestamp=start_epoch,
        properties={
            "cost": format_money(cost),
            "billed_seconds": str(billed_seconds),
            "category": category,
            "service": service,
        },
    )


@dataclass(frozen=True)
class BatchResult:
    accepted: tuple[str, ...]  # transaction ids Lago stored now
    already_sent: tuple[str, ...]  # transaction ids Lago had before (422 value_already_exist)
    requests: int  # POSTs made for this batch


class LagoClient:
    def __init__(self, settings: LagoConfig, *, session: requests.Session | None = None) -> None:
        self.settings = settings
        self._key = settings.api_key.read().reveal()
        self.transport = Transport(
            "Lago", settings.url, timeout_s=settings.timeout_s, secrets=[self._key], session=session
        )

    def send(self, events: Sequence[LagoEvent]) -> Iterator[tuple[list[LagoEvent], BatchResult]]:
        """Send the events in batches of at most 100; each batch with what became of it."""
        for start in range(0, len(events), MAX_BATCH):
            batch = list(events[start : start + MAX_BATCH])
            yield batch, self.send_batch(batch)

    def send_batch(self, events: Sequence[LagoEvent]) -> BatchResult:
        if not events or len(events) > MAX_BATCH:
            raise ValueError(f"a Lago batch holds 1 to {MAX_BATCH} events, not {len(events)}")
        ids = [event.transaction_id for event in events]
        if len(set(ids)) != len(ids):
            raise ValueError("a Lago batch must not repeat a transaction_id")
        pending = list(events)
        already: list[str] = []
        posts = 0
        while pending:
            posts += 1
            response = self.transport.post(
                BATCH_PATH,
                json={"events": [event.to_json() for event in pending]},
                headers={"Authorization": f"Bearer {self._key}"},
            )
            if response.status_code in (200, 201):
                break
            duplicates = self._duplicates(response, len(pending))
            already.extend(pending[index].transaction_id for index in sorted(duplicates))
            # Lago stored none of the batch: send again what it did not have
            pending = [event for index, event in enumerate(pending) if index not in duplicates]
        accepted = tuple(event.transaction_id for event in pending)
        return BatchResult(accepted=accepted, already_sent=tuple(already), requests=posts)

    def _duplicates(self, response: requests.Response, size: int) -> set[int]:
        """The indexes refused only as already sent; any other refusal raises."""
        status = response.status_code
        if status in (401, 403):
            raise Refused(
                f"Lago refused the API key (HTTP {status})",
                hint="check invoicing -> lago -> api_key_env or api_key_file",
            )
        answer = _json(response)
        if status != 422 or answer is None:
            raise UnexpectedAnswer(
                f"Lago events batch: HTTP {status}: {self.transport.snippet(response)}"
            )
        details = answer.get("error_details")
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
                problems.append(f"{key}: {fields}")
        if problems or not duplicates:
            shown = "; ".join(problems[:3]) or self.transport.snippet(response)
            raise Rejected(f"Lago refused the events batch: {self.transport.clean(shown)}")
        return duplicates


def _json(response: requests.Response) -> dict[str, Any] | None:
    try:
        answer = json.loads(response.content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return answer if isinstance(answer, dict) else None
