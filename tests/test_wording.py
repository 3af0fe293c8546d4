"""Message wording: `1 call`, never `1 calls`; `0.00 AUD`, never `0 AUD`."""

from __future__ import annotations

from decimal import Decimal

import pytest

from voipbill.wording import amount_text, counted


@pytest.mark.parametrize(
    ("count", "text"), [(0, "0 calls"), (1, "1 call"), (2, "2 calls"), (1000, "1000 calls")]
)
def test_counted(count: int, text: str) -> None:
    assert counted(count, "call") == text


def test_counted_with_an_irregular_plural() -> None:
    assert counted(1, "entry", "entries") == "1 entry"
    assert counted(3, "entry", "entries") == "3 entries"


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("0", "AUD", "0.00 AUD"),
        ("5", "AUD", "5.00 AUD"),
        ("238.9650", "AUD", "238.9650 AUD"),  # per-call precision is kept, never rounded
        ("12.5", "CAD", "12.50 CAD"),
        ("0", "JPY", "0 JPY"),
        ("0", "KWD", "0.000 KWD"),
        ("1E+1", "AUD", "10.00 AUD"),  # never in exponent notation
    ],
)
def test_amount_text_has_at_least_the_currency_decimals(
    amount: str, currency: str, text: str
) -> None:
    assert amount_text(Decimal(amount), currency) == text
