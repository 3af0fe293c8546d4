"""The WHMCS External API client (rules §11): services, billable items, invoices.

Every call is a form POST to `<url>/includes/api.php` with `action`, `identifier`, `secret`,
(`accesskey`) and `responsetype=json`. The credentials are in the body only, never in the
URL, so no web server log or proxy sees them.

WHMCS's documentation shows both `result` and `status` as the success key, ids as strings or
numbers, and lists flattened into `invoices[invoice][0][id]` keys in some examples: all of
these are read.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any

import requests

from voipbill.config.model import WhmcsConfig
from voipbill.invoicing.transport import Refused, Rejected, Transport, UnexpectedAnswer

API_PATH = "/includes/api.php"
PAGE_SIZE = 100
# The only action voipbill sends that changes WHMCS: only its lost answer is "maybe done".
WRITES = frozenset({"AddBillableItem"})
# The answers WHMCS gives for bad credentials, an IP address not on the allow list, or an
# API role without the action. Only "Invalid IP <address>" and "Authentication Failed" are
# seen in public reports; the rest are guesses at the same family.
_REFUSAL = re.compile(
    r"authenticat|invalid ip|ip address|not allowed|forbidden|access denied|permission|"
    r"credential|api access|invalid access key",
    re.IGNORECASE,
)
_BRACKETS = re.compile(r"\[([^\]]*)\]")


@dataclass(frozen=True)
class WhmcsService:
    """One service (a client's purchased product) as GetClientsProducts describes it."""

    id: int
    client_id: int
    product_id: int | None
    product_name: str
    domain: str  # ictVoIP keeps the tenant string here
    username: str  # and the extensions string here
    status: str


@dataclass(frozen=True)
class InvoiceHeader:
    """One invoice as GetInvoices lists it."""

    id: int
    date: dt.date  # the invoice date (WHMCS's own time zone)

    @property
    def key(self) -> tuple[dt.date, int]:
        return (self.date, self.id)


@dataclass(frozen=True)
class InvoiceItem:
    invoice_id: int
    id: int
    type: str
    relid: int | None
    description: str
    amount: str


class WhmcsClient:
    def __init__(self, settings: WhmcsConfig, *, session: requests.Session | None = None) -> None:
        self.settings = settings
        self._identifier = settings.identifier.read().reveal()
        self._secret = settings.secret.read().reveal()
        self._access_key = settings.access_key.read().reveal() if settings.access_key else None
        secrets = [self._identifier, self._secret, self._access_key or ""]
        self.transport = Transport(
            "WHMCS", settings.url, timeout_s=settings.timeout_s, secrets=secrets, session=session
        )
        self._items_seen: dict[int, list[InvoiceItem]] = {}  # GetInvoice answers, this run

    def call(self, action: str, params: Mapping[str, str | int] | None = None) -> dict[str, Any]:
        """One API action; the answer when it is a success, else the error it maps to."""
        form = {"action": action, **{k: str(v) for k, v in (params or {}).items()}}
        form.update(identifier=self._identifier, secret=self._secret, responsetype="json")
        if self._access_key:
            form["accesskey"] = self._access_key
        writes = action in WRITES
        response = self.transport.post(API_PATH, data=form, writes=writes)
        try:
            answer = self._answer(action, response)
        except UnexpectedAnswer as error:
            error.maybe_done = writes  # a lookup that got a strange answer changed nothing
            raise
        outcome = str(answer.get("result", answer.get("status", ""))).lower()
        if outcome == "success":
            return answer
        message = str(answer.get("message") or answer.get("error") or "(no message)")
        message = self.transport.clean(message)
        if outcome == "error":
            if _REFUSAL.search(message) or response.status_code in (401, 403):
                raise Refused(
                    f"WHMCS refused {action}: {message}",
                    hint="check the API credential, its role's allowed actions, and the "
                    "allowed IPs (or access_key_env) under Setup > General Settings > Security",
                )
            raise Rejected(f"WHMCS {action}: {message}")
        strange = UnexpectedAnswer(f"WHMCS {action}: an answer with neither result nor status")
        strange.maybe_done = writes
        raise strange

    def _answer(self, action: str, response: requests.Response) -> dict[str, Any]:
        try:
            answer = json.loads(response.content.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            answer = None
        if isinstance(answer, dict):
            return unflatten(answer)
        if response.status_code in (401, 403):
            raise Refused(
                f"WHMCS refused {action}: HTTP {response.status_code}",
                hint="check the API credential and the allowed IPs",
            )
        raise UnexpectedAnswer(
            f"WHMCS {action}: HTTP {response.status_code}, not a JSON answer: "
            f"{self.transport.snippet(response)}",
            hint=f"check that {self.settings.url}{API_PATH} is the WHMCS API",
        )

    def services(
        self, *, product_id: int | None = None, client_id: int | None = None
    ) -> Iterator[WhmcsService]:
        """Every service (of one product, or one client), page by page."""
        params: dict[str, str | int] = {}
        if product_id is not None:
            params["pid"] = product_id
        if client_id is not None:
            params["clientid"] = client_id
        for entry in self._pages("GetClientsProducts", params, "products", "product"):
            yield _service(entry)

    def service(self, service_id: int) -> WhmcsService | None:
        """One service by its id, or None when WHMCS has no such service."""
        answer = self.call("GetClientsProducts", {"serviceid": service_id})
        for entry in _entries(answer, "products", "product"):
            found = _service(entry)
            if found.id == service_id:
                return found
        return None

    def add_billable_item(self, *, client_id: int, description: str, amount: str) -> int:
        """Add one billable item; its `billableid`."""
        answer = self.call(
            "AddBillableItem",
            {
                "clientid": client_id,
                "description": description,
                "amount": amount,
                "unit": "quantity",
                "quantity": 1,
                "invoiceaction": self.settings.invoice_action,
            },
        )
        billable = _int(answer.get("billableid"))
        if billable is None:
            raise UnexpectedAnswer("WHMCS AddBillableItem: success without a billableid")
        return billable

    def client_currency(self, client_id: int) -> str:
        """The client's WHMCS currency code (GetClientsDetails `currency_code`), e.g. "AUD"."""
        answer = self.call("GetClientsDetails", {"clientid": client_id})
        client = answer.get("client")
        code = client.get("currency_code") if isinstance(client, dict) else None
        code = code or answer.get("currency_code")  # older WHMCS repeat it at the top level
        if not isinstance(code, str) or not code.strip():
            raise UnexpectedAnswer(
                f"WHMCS GetClientsDetails: no currency_code for client {client_id}"
            )
        return code.strip().upper()

    def invoices(self, *, client_id: int, since: dt.date | None = None) -> list[InvoiceHeader]:
        """A client's invoices, newest first; with `since`, none dated before it.

        Asked newest first (`orderby=date`, `order=desc`, WHMCS 8+); the pages stop at the
        first invoice older than `since` when WHMCS kept that order."""
        found: list[InvoiceHeader] = []
        params: dict[str, str | int] = {"userid": client_id, "orderby": "date", "order": "desc"}
        for page in self._page_lists("GetInvoices", params, "invoices", "invoice"):
            headers = [header for header in map(_invoice, page) if header is not None]
            found.extend(headers)
            newest_first = all(a.key >= b.key for a, b in pairwise(headers))
            if since is not None and newest_first and any(h.date < since for h in headers):
                break
        found = [h for h in found if since is None or h.date >= since]
        return sorted(found, key=lambda header: header.key, reverse=True)

    def invoice_items(self, invoice_id: int) -> list[InvoiceItem]:
        answer = self.call("GetInvoice", {"invoiceid": invoice_id})
        return [
            InvoiceItem(
                invoice_id=invoice_id,
                id=_int(entry.get("id")) or 0,
                type=str(entry.get("type") or ""),
                relid=_int(entry.get("relid")),
                description=str(entry.get("description") or ""),
                amount=str(entry.get("amount") or ""),
            )
            for entry in _entries(answer, "items", "item")
        ]

    def find_token(
        self, token: str, *, client_id: int, amount: Decimal, since: dt.date | None = None
    ) -> InvoiceItem | None:
        """The invoice line of a client that carries `token` AND `amount`, if any.

        The client's invoices are read newest first, none dated before `since` (the day the
        line went pending, less one for WHMCS's own time zone); each invoice once per client."""
        for header in self.invoices(client_id=client_id, since=since):
            items = self._items_seen.get(header.id)
            if items is None:
                items = self._items_seen[header.id] = self.invoice_items(header.id)
            for item in items:
                if token in item.description and _amount(item.amount) == amount:
                    return item
        return None

    def _pages(
        self, action: str, params: Mapping[str, str | int], outer: str, inner: str
    ) -> Iterator[dict[str, Any]]:
        for page in self._page_lists(action, params, outer, inner):
            yield from page

    def _page_lists(
        self, action: str, params: Mapping[str, str | int], outer: str, inner: str
    ) -> Iterator[list[dict[str, Any]]]:
        start = 0
        while True:
            answer = self.call(action, {**params, "limitstart": start, "limitnum": PAGE_SIZE})
            entries = _entries(answer, outer, inner)
            yield entries
            total = _int(answer.get("totalresults"))
            returned = _int(answer.get("numreturned"))
            start += returned if returned is not None else len(entries)
            # an empty page ends it too: a WHMCS that miscounts must not loop forever
            if total is None or start >= total or not entries:
                return


def _service(entry: Mapping[str, Any]) -> WhmcsService:
    service_id = _int(entry.get("id"))
    client_id = _int(entry.get("clientid"))
    if service_id is None or client_id is None:
        raise UnexpectedAnswer("WHMCS GetClientsProducts: a service without an id or clientid")
    return WhmcsService(
        id=service_id,
        client_id=client_id,
        product_id=_int(entry.get("pid")),
        product_name=str(entry.get("name") or ""),
        domain=str(entry.get("domain") or ""),
        username=str(entry.get("username") or ""),
        status=str(entry.get("status") or ""),
    )


def _invoice(entry: Mapping[str, Any]) -> InvoiceHeader | None:
    invoice_id = _int(entry.get("id"))
    if invoice_id is None:
        return None
    try:
        day = dt.date.fromisoformat(str(entry.get("date") or "")[:10])
    except ValueError:
        day = dt.date.max  # no readable date: never skipped as too old
    return InvoiceHeader(invoice_id, day)


def _amount(text: str) -> Decimal | None:
    try:
        return Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        return None


def _entries(answer: Mapping[str, Any], outer: str, inner: str) -> list[dict[str, Any]]:
    """`answer[outer][inner]` as a list: PHP gives "" or [] for none, a dict for one."""
    container = answer.get(outer)
    found = container.get(inner) if isinstance(container, dict) else None
    if isinstance(found, dict):
        found = [found]
    if not isinstance(found, list):
        return []
    return [entry for entry in found if isinstance(entry, dict)]


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def unflatten(answer: Mapping[str, Any]) -> dict[str, Any]:
    """Turn keys like `items[item][0][id]` into nested tables, lists where keys are 0, 1, ..."""
    result: dict[str, Any] = {}
    for key, value in answer.items():
        head, _, rest = key.partition("[")
        if not rest or not head:
            result[key] = value
            continue
        parts = [head, *_BRACKETS.findall("[" + rest)]
        node = result
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
    return {key: _lists(value) for key, value in result.items()}


def _lists(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    converted = {key: _lists(child) for key, child in value.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted
