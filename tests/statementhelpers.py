"""Rated calls and statements made by hand for the statement tests, and a reader of its HTML."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from voipbill.config import Service, StatementSettings
from voipbill.periods import make_period
from voipbill.rating import RatedCall
from voipbill.statement import StatementData, build_statement

ZONE = ZoneInfo("America/Toronto")
NOVEMBER = make_period(date(2026, 11, 1), date(2026, 11, 30), ZONE)
COMMITTED_AT = datetime(2026, 12, 2, 8, 15, tzinfo=UTC)
SERVICE = Service(
    name="mcon",
    package="paygo",
    tenant="mcon.wat5.ictvoip.ca | 5192229000",
    extensions="2112 | 2113",
    domain="mcon.wat5.ictvoip.ca",
    dids=("+15192229000",),
    extension_list=("2112", "2113"),
)


def epoch(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 11) -> int:
    return int(datetime(2026, month, day, hour, minute, second, tzinfo=ZONE).timestamp())


def call(
    uuid: str,
    start: int,
    *,
    extension: str = "2112",
    direction: str = "outbound",
    category: str = "national",
    caller: str = "2112",
    dialed: str = "14165550123",
    description: str = "Canada - Toronto",
    billsec: int = 60,
    billed: int = 60,
    free: int = 0,
    cost: str | None = "0.0100",
    status: str = "rated",
) -> RatedCall:
    return RatedCall(
        service="mcon",
        tenant="mcon.wat5.ictvoip.ca",
        extension=extension,
        call_uuid=uuid,
        start_epoch=start,
        direction=direction,
        category=category,
        caller=caller,
        dialed=dialed,
        normalized=dialed,
        matched_prefix="1416",
        description=description,
        billsec=billsec,
        billed_seconds=billed,
        free_seconds=free,
        rate=Decimal("0.0120"),
        connect_fee=Decimal(0),
        cost=None if cost is None else Decimal(cost),
        status=status,
    )


def november_calls() -> list[RatedCall]:
    """Six calls worked by hand: 246 billed seconds (60 of them free), CAD 0.5250."""
    return [
        call("a", epoch(3, 9, 15), billsec=61, billed=66, cost="0.0132"),
        call(
            "b",
            epoch(3, 14, 0),
            extension="2113",
            category="international",
            dialed="011447700900123",
            description="United Kingdom - Mobile",
            billsec=118,
            billed=120,
            cost="0.5118",
        ),
        call("c", epoch(5, 10, 0), billsec=55, billed=60, free=60, cost="0.0000"),
        call(
            "d",
            epoch(5, 11, 0),
            direction="inbound",
            category="inbound",
            caller="12895550180",
            dialed="5192229000",
            description="",
            billsec=30,
            billed=0,
            cost="0.0000",
            status="no_charge",
        ),
        call(
            "e",
            epoch(20, 16, 0),
            extension="2113",
            category="international",
            dialed="0118821234",
            description="",
            billsec=40,
            billed=0,
            cost=None,
            status="unrated",
        ),
        call("f", epoch(30, 23, 59, 59), billsec=0, billed=0, cost="0.0000", status="unanswered"),
    ]


def statement(
    calls: list[RatedCall] | None = None,
    *,
    committed: bool = True,
    settings: StatementSettings | None = None,
) -> StatementData:
    return build_statement(
        november_calls() if calls is None else calls,
        service=SERVICE,
        period=NOVEMBER,
        currency="CAD",
        rounding_digits=4,
        settings=settings or StatementSettings(company="Northwind Telecom Inc."),
        run_id="7" if committed else None,
        committed_at=COMMITTED_AT if committed else None,
        made_at=datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
    )


class _Tables(HTMLParser):
    """Every <table> of a page, by its class, as rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = self.tables.setdefault(dict(attrs).get("class") or "", [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        elif tag == "span" and self._cell is not None:
            self._cell.append(" | ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._table is not None and self._cell is not None:
            self._table[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def chart_bars(html: str) -> list[dict[str, str]]:
    """The data-* attributes of every bar of the daily chart, minutes panel first."""
    return [
        dict(re.findall(r'data-(\w+)="([^"]*)"', rect))
        for rect in re.findall(r"<rect [^>]*>", html)
    ]
