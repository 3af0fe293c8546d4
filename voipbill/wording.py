"""Small wording helpers for messages: `1 call`, `2 calls`; amounts with their currency."""

from __future__ import annotations

from decimal import Decimal

from voipbill.money import format_money, minor_unit


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`1 call`, `0 calls`, `2 calls` (`plural` when the noun does not just take an s)."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def amount_text(amount: Decimal, currency: str) -> str:
    """An amount and its currency, with at least the currency's decimals: `0.00 AUD`, not `0
    AUD`; more decimals (per-call costs are kept to 4) are shown as they are, never rounded."""
    places = minor_unit(currency)
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -places:
        amount = amount.quantize(Decimal(1).scaleb(-places))
    return f"{format_money(amount)} {currency}"
