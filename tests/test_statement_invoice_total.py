"""Rules §12: a statement's total in the minor unit is the sum of the category amounts, each
rounded half-up to the minor unit: exactly what the invoice lines (rules §11) charge."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fakewhmcs import FakeWhmcs
from tests.ledgerhelpers import Billing, epoch
from tests.statementhelpers import NOVEMBER, SERVICE, call
from tests.statementhelpers import epoch as nov_epoch
from tests.test_invoice_cli import push, vb
from tests.test_invoice_cli import setup as whmcs_setup
from voipbill.billing import ServiceTotals
from voipbill.config import StatementSettings
from voipbill.invoicing.lines import CategoryUsage, build_lines
from voipbill.rating import RatedCall
from voipbill.statement import build_statement, render_html

CATEGORIES = ["national", "mobile", "international", "tollfree", "premium", "inbound", "local"]
STATUSES = ["rated", "rated", "rated", "late", "no_charge", "unanswered", "unrated"]


@st.composite
def rated_calls(draw: st.DrawFn) -> list[RatedCall]:
    count = draw(st.integers(min_value=0, max_value=25))
    calls = []
    for n in range(count):
        status = draw(st.sampled_from(STATUSES))
        charged = status in ("rated", "late")
        cents = draw(st.integers(min_value=0, max_value=99_999))  # 0.0000 .. 9.9999
        cost = None if status == "unrated" else str(Decimal(cents).scaleb(-4) if charged else 0)
        calls.append(
            call(
                f"c{n:03d}",
                nov_epoch(1 + n % 28, 9),
                category=draw(st.sampled_from(CATEGORIES)),
                cost=cost,
                status=status,
                billed=60 if charged else 0,
            )
        )
    return calls


@settings(max_examples=60, deadline=None)
@given(calls=rated_calls(), currency=st.sampled_from(["CAD", "AUD", "JPY", "KWD"]))
def test_the_statement_total_is_the_sum_of_the_invoice_lines(
    calls: list,
    currency: str,  # type: ignore[type-arg]
) -> None:
    data = build_statement(
        calls,
        service=SERVICE,
        period=NOVEMBER,
        currency=currency,
        rounding_digits=4,
        settings=StatementSettings(),
        run_id=None,
        committed_at=None,
    )
    totals = ServiceTotals("mcon", "mcon.wat5.ictvoip.ca")
    for rated in calls:
        totals.add(rated)
    usages = [
        CategoryUsage("mcon", category, bucket.calls, bucket.billed_seconds, bucket.amount)
        for category, bucket in totals.categories.items()
    ]
    lines = build_lines(
        usages, run_id=1, period_start=date(2026, 11, 1), period_end=date(2026, 11, 30),
        currency=currency,
    )  # fmt: skip
    assert data.total_in_minor_unit == sum((line.amount for line in lines), Decimal(0))
    digits = {"JPY": 0, "KWD": 3}.get(currency, 2)
    assert data.total_in_minor_unit.as_tuple().exponent == -digits  # printed with its decimals


def test_two_categories_each_rounded_down_make_the_total() -> None:
    """Hand-worked: national 0.0144 -> 0.01 and international 0.1030 -> 0.10 make 0.11;
    the call costs sum to 0.1174, which alone would round to 0.12."""
    calls = [
        call("n", nov_epoch(3, 9), cost="0.0144", billed=84),
        call("i", nov_epoch(4, 9), category="international", cost="0.1030"),
    ]
    data = build_statement(
        calls,
        service=SERVICE,
        period=NOVEMBER,
        currency="CAD",
        rounding_digits=4,
        settings=StatementSettings(),
        run_id=None,
        committed_at=None,
    )
    assert data.total.amount == Decimal("0.1174")
    assert data.total_in_minor_unit == Decimal("0.11")
    assert '<div class="value">CAD 0.11</div>' in render_html(data)


def test_the_statement_shows_what_the_whmcs_push_charges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_whmcs: FakeWhmcs
) -> None:
    """The CLI end to end, with a 3 % markup on the deck (0.0100/min 6/6; UK 0.05 + 0.05/min
    60/60): a national call of 84 s costs 0.0103 x 84 / 60 = 0.01442 -> 0.0144, a UK call of
    60 s 0.0515 + 0.0515 = 0.1030; the invoice lines are 0.01 and 0.10: 0.11."""
    fake_whmcs.add_service(42, 1, "mcon.wat5.ictvoip.ca|5192229000", "2112")
    billing: Billing = whmcs_setup(tmp_path, monkeypatch, fake_whmcs.url)
    text = billing.config.read_text()
    billing.config.write_text(
        text.replace('country = "CA"\n', 'country = "CA"\nmarkup_percent = "3"\n', 1)
    )
    billing.add("n1", epoch(10, 5), billsec=84)
    billing.add("uk", epoch(10, 6), billsec=60, destination_number="442079460000")
    billing.commit("2026-10", "calls.csv")
    dry = push(billing, "--dry-run", "--format", "json")
    assert dry.exit_code == 0, dry.stderr
    amounts = {line["item"]: line["amount"] for line in json.loads(dry.stdout)["lines"]}
    assert amounts == {"national": "0.01", "international": "0.10"}
    html = vb(billing, "statement", "--service", "mcon", "--period", "2026-10")
    assert html.exit_code == 0, html.stderr
    assert '<div class="value">CAD 0.11</div>' in html.stdout
    assert "CAD 0.1174" in html.stdout
