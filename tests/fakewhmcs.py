"""A fake WHMCS External API for the tests, on 127.0.0.1 (`/includes/api.php`).

It follows the documented contract (developer-docs api-reference pages): the request
parameter tables, the answers and the documented error strings of AddBillableItem,
GetClientsProducts, GetClientsDetails, GetInvoices (with `orderby`/`order`) and GetInvoice.
Where the docs say nothing it makes a guess, marked GUESS below; tests that depend on a guess
say so. Like WHMCS, it adds a billable item to a service of any status, and in the client's
currency (AddBillableItem has none).

API (other tests are written against it; keep it stable)::

    IDENTIFIER, SECRET                  # the one API credential it accepts
    class FakeWhmcs:
        url: str                        # "http://127.0.0.1:PORT"
        requests: list[RecordedRequest] # every request received, in order
        faults: set[str]                # see FAULTS
        success_key: str                # "result" (the docs' tables) or "status" (an example)
        flat_lists: bool                # answer lists as the docs' flattened keys
        clients: set[int]
        currencies: dict[int, str]      # client -> currency code (default CAD)
        services: list[dict[str, str]]  # GetClientsProducts entries, as WHMCS spells them
        billable_items: list[dict[str, str]]
        invoices: dict[int, dict]       # id -> {id, userid, status, date, items: [...]}
        def add_service(id, clientid, domain, username, pid=1, name="VoIP",
                        status="Active") -> dict
        def run_cron(day=None) -> list[int]  # invoice every uninvoiced nextinvoice/nextcron
        def add_invoice(client, day, items) -> int  # an invoice made some other way
    fixture: fake_whmcs (clients 1 and 2 in CAD, no services)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from tests.fakehttp import Answer, DropAnswer, FakeServer, RecordedRequest

IDENTIFIER = "D4j1dKYE3g40VROOPCGyJ9zRwP0ADJIv"  # the shape of the docs' example credential
SECRET = "F1CKGXRIpylMfsrig3mwwdSdYUdLiFlo"
API_PATH = "/includes/api.php"
INVOICE_ACTIONS = ("noinvoice", "nextcron", "nextinvoice", "duedate", "recur")
FAULTS = frozenset(
    {
        "drop_answer",  # AddBillableItem adds the item, then closes the connection unanswered
        "deny_ip",  # every call: "Invalid IP 127.0.0.1" (the IP allow list refuses us)
        "php_error",  # every call: an HTML PHP fatal error page, HTTP 500
    }
)


class FakeWhmcs(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.faults: set[str] = set()
        self.success_key = "result"
        self.flat_lists = False
        self.clients: set[int] = {1, 2}
        self.currencies: dict[int, str] = {}
        self.services: list[dict[str, str]] = []
        self.billable_items: list[dict[str, str]] = []
        self.invoices: dict[int, dict[str, Any]] = {}

    def add_service(
        self,
        id: int,
        clientid: int,
        domain: str,
        username: str,
        pid: int = 1,
        name: str = "VoIP",
        status: str = "Active",  # or Pending, Suspended, Terminated, Cancelled, Fraud, Completed
    ) -> dict[str, str]:
        # the fields of the docs' example that matter here; WHMCS gives ids as strings
        entry = {
            "id": str(id),
            "clientid": str(clientid),
            "pid": str(pid),
            "name": name,
            "domain": domain,
            "username": username,
            "password": "xxxxxxxx",
            "status": status,
            "billingcycle": "Monthly",
            "nextduedate": "2026-12-01",
        }
        self.services.append(entry)
        return entry

    def add_invoice(self, client: int, day: str, items: list[dict[str, str]]) -> int:
        """An invoice of `client` dated `day` (YYYY-MM-DD) with these lines."""
        invoice_id = len(self.invoices) + 1
        lines = [
            {"id": str(100 * invoice_id + n), "type": "", "relid": "0", "taxed": "0", **item}
            for n, item in enumerate(items, 1)
        ]
        self.invoices[invoice_id] = {
            "id": invoice_id,
            "userid": client,
            "status": "Unpaid",
            "date": day,
            "items": lines,
        }
        return invoice_id

    def run_cron(self, day: str | None = None) -> list[int]:
        """What the WHMCS daily cron does with uninvoiced items: one invoice per client,
        dated `day` (default today).

        GUESS: the invoice line of a billable item has type "Item" and relid = its id.
        """
        day = day or date.today().isoformat()
        made = []
        for client in sorted({int(item["clientid"]) for item in self.billable_items}):
            due = [
                item
                for item in self.billable_items
                if int(item["clientid"]) == client
                and item["invoiced"] == "0"
                and item["invoiceaction"] in ("nextinvoice", "nextcron")
            ]
            if not due:
                continue
            invoice_id = len(self.invoices) + 1
            self.invoices[invoice_id] = {
                "id": invoice_id,
                "userid": client,
                "status": "Unpaid",
                "date": day,
                "items": [
                    {
                        "id": str(100 * invoice_id + n),
                        "type": "Item",
                        "relid": item["id"],
                        "description": item["description"],
                        "amount": item["amount"],
                        "taxed": "0",
                    }
                    for n, item in enumerate(due, 1)
                ],
            }
            for item in due:
                item["invoiced"] = "1"
            made.append(invoice_id)
        return made

    # --- the API ----------------------------------------------------------------------------

    def answer(self, request: RecordedRequest) -> Answer:
        if request.path != API_PATH or request.method != "POST":
            return Answer(404, b"<html>Not Found</html>", "text/html")
        if "php_error" in self.faults:
            return Answer(500, b"<b>Fatal error</b>: Uncaught Error in api.php", "text/html")
        form = request.form
        if "deny_ip" in self.faults:
            return self._error("Invalid IP 127.0.0.1")
        identifier = form.get("identifier", form.get("username"))  # the docs allow both names
        secret = form.get("secret", form.get("password"))
        if identifier != IDENTIFIER or secret != SECRET:
            return self._error("Authentication Failed")  # GUESS: the text of public reports
        action = form.get("action", "")
        handler = getattr(self, f"_{action}", None)
        if handler is None:
            return self._error("Command Not Found")  # GUESS
        result: Answer = handler(form)
        return result

    def _ok(self, **fields: Any) -> Answer:
        return Answer(200, {self.success_key: "success", **fields})

    def _error(self, message: str) -> Answer:
        return Answer(200, {"result": "error", "message": message})  # GUESS: HTTP 200

    def _AddBillableItem(self, form: dict[str, str]) -> Answer:
        if not form.get("clientid", "").isdigit() or int(form["clientid"]) not in self.clients:
            return self._error("Client ID not Found")
        if not form.get("description"):
            return self._error("You must provide a description")
        action = form.get("invoiceaction", "noinvoice")
        if action not in INVOICE_ACTIONS:
            return self._error("Invalid Invoice Action")
        if form.get("unit") not in ("hours", "quantity"):
            return self._error("Invalid Unit, please specify either 'hours' or 'quantity'")
        if action in ("duedate", "recur") and not form.get("duedate"):
            return self._error("Due date is required")
        billable_id = len(self.billable_items) + 1
        self.billable_items.append(
            {
                "id": str(billable_id),
                "clientid": form["clientid"],
                "description": form["description"],
                "amount": form.get("amount", "0"),
                "unit": form["unit"],
                "quantity": form.get("quantity", "0"),
                "invoiceaction": action,
                "invoiced": "0",
            }
        )
        if "drop_answer" in self.faults:
            raise DropAnswer
        return self._ok(billableid=str(billable_id))

    def _GetClientsProducts(self, form: dict[str, str]) -> Answer:
        found = [
            service
            for service in self.services
            if all(
                not form.get(key) or service.get(field) == form[key]
                for key, field in (
                    ("clientid", "clientid"),
                    ("serviceid", "id"),
                    ("pid", "pid"),
                    ("domain", "domain"),
                )
            )
        ]
        start, number = int(form.get("limitstart", 0)), int(form.get("limitnum", 25))
        page = found[start : start + number]
        return self._page("products", "product", page, len(found), start)

    def _GetClientsDetails(self, form: dict[str, str]) -> Answer:
        if not form.get("clientid") and not form.get("email"):
            return self._error("Either clientid Or email Is Required")
        client = int(form["clientid"]) if form.get("clientid", "").isdigit() else 0
        if client not in self.clients:
            return self._error("Client Not Found")
        currency = self.currencies.get(client, "CAD")
        details = {
            "userid": str(client),
            "id": str(client),
            "firstname": "Test",
            "lastname": f"Client {client}",
            "status": "Active",
            "currency": "1" if currency == "CAD" else "2",
            "currency_code": currency,
        }
        if self.flat_lists:  # the docs' example prints the nested table as `client[...]` keys
            return self._ok(**{f"client[{key}]": value for key, value in details.items()})
        return self._ok(client=details)

    def _GetInvoices(self, form: dict[str, str]) -> Answer:
        found = [
            {
                "id": str(invoice["id"]),
                "userid": str(invoice["userid"]),
                "date": invoice["date"],
                "status": invoice["status"],
            }
            for invoice in self.invoices.values()
            if (not form.get("userid") or str(invoice["userid"]) == form["userid"])
            and (not form.get("status") or invoice["status"] == form["status"])
        ]
        orderby = form.get("orderby", "id")
        if orderby not in ("id", "invoicenumber", "date", "duedate", "total", "status"):
            return self._error("Invalid orderby")  # GUESS: the docs list the accepted values
        field = {"invoicenumber": "id", "duedate": "date", "total": "id"}.get(orderby, orderby)
        found.sort(key=lambda entry: (entry[field], int(entry["id"])))
        if form.get("order", "asc").lower() == "desc":
            found.reverse()
        start, number = int(form.get("limitstart", 0)), int(form.get("limitnum", 25))
        page = found[start : start + number]
        return self._page("invoices", "invoice", page, len(found), start)

    def _GetInvoice(self, form: dict[str, str]) -> Answer:
        invoice = self.invoices.get(int(form.get("invoiceid") or 0))
        if invoice is None:
            return self._error("Invoice ID Not Found")
        fields = {"invoiceid": str(invoice["id"]), "userid": str(invoice["userid"])}
        fields["status"] = invoice["status"]
        fields["date"] = invoice["date"]
        if self.flat_lists:
            fields.update(_flat("items", "item", invoice["items"]))
        else:
            fields["items"] = {"item": invoice["items"]}
        return self._ok(**fields)

    def _page(
        self, outer: str, inner: str, page: list[dict[str, str]], total: int, start: int
    ) -> Answer:
        fields: dict[str, Any] = {
            "totalresults": str(total),  # the docs' examples give it as a string
            "startnumber": start,
            "numreturned": len(page),
        }
        if self.flat_lists:
            fields.update(_flat(outer, inner, page))
        else:
            fields[outer] = {inner: page}
        return self._ok(**fields)


def _flat(outer: str, inner: str, entries: list[dict[str, str]]) -> dict[str, str]:
    """Lists the way the GetInvoices/GetInvoice examples print them: `items[item][0][id]`."""
    return {
        f"{outer}[{inner}][{index}][{key}]": value
        for index, entry in enumerate(entries)
        for key, value in entry.items()
    }


@pytest.fixture
def fake_whmcs() -> Iterator[FakeWhmcs]:
    with FakeWhmcs() as fake:
        yield fake
