"""Decimal parsing, the one rounding of a call's cost (rules §6), and totals in minor units."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from decimal import (
    MAX_PREC,
    ROUND_CEILING,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    Inexact,
)

ROUNDING_MODES = {
    "half-up": ROUND_HALF_UP,
    "half-even": ROUND_HALF_EVEN,
    "up": ROUND_CEILING,  # rules §6: `up` is ceiling
    "down": ROUND_FLOOR,  # rules §6: `down` is floor
}

# rules §3: a plain decimal, point or comma; no sign, exponent or thousands separator.
_DECIMAL = re.compile(r"\d+(?:[.,]\d+)?|[.,]\d+")


class DecimalSyntaxError(ValueError):
    """The text is not a plain non-negative decimal number."""


def parse_decimal(text: str) -> Decimal:
    """Parse a non-negative decimal written with a point or a comma (`0,012` is 0.012).

    Rejects signs, exponents, thousands separators, NaN and infinities: a rate deck that says
    `1.234,5` or `1e-3` is more likely broken than meant.
    """
    cleaned = text.strip()
    if not _DECIMAL.fullmatch(cleaned):
        raise DecimalSyntaxError(f"{text!r} is not a plain decimal number")
    return Decimal(cleaned.replace(",", "."))


def round_cost(value: Decimal, digits: int, mode: str) -> Decimal:
    """Round a call's cost: the only place money is rounded (rules §6)."""
    return value.quantize(Decimal(1).scaleb(-digits), rounding=ROUNDING_MODES[mode])


def rounder(digits: int, mode: str) -> Callable[[Decimal], Decimal]:
    """`round_cost` with its digits and mode fixed, for the many calls of one package."""
    quantum = Decimal(1).scaleb(-digits)
    rounding = ROUNDING_MODES[mode]

    def rounded(value: Decimal) -> Decimal:
        return value.quantize(quantum, rounding=rounding)

    return rounded


def format_amount(value: Decimal, digits: int) -> str:
    """An amount, a sum of rounded call costs, printed with exactly `digits` decimals.

    Such a sum never has more decimals than its calls, so this only pads with zeros; the
    Inexact trap makes sure nothing is ever rounded here (rules §6: one rounding, per call).
    """
    exact = Context(prec=MAX_PREC, traps=[Inexact])
    return format_money(value.quantize(Decimal(1).scaleb(-digits), context=exact))


def format_money(value: Decimal) -> str:
    """A plain decimal string, never in exponent notation."""
    return f"{value:f}"


# ISO 4217 minor units of the currencies that do not have 2 decimals; every other one has 2.
_CODES_BY_DECIMALS = {
    0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF",
    3: "BHD IQD JOD KWD LYD OMR TND",
    4: "CLF UYW",
}
_MINOR_UNITS = {
    code: digits for digits, codes in _CODES_BY_DECIMALS.items() for code in codes.split()
}


# ISO 4217's active codes (the 2025 list), without XTS (testing) and XXX (no currency).
_ISO_4217_CODES = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD
BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP
ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK
JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK
MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN
PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS
TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU
XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XUA YER ZAR ZMW ZWG ZWL"""
ISO_4217 = frozenset(_ISO_4217_CODES.split())


def minor_unit(currency: str) -> int:
    """The decimals of an ISO 4217 currency: 2 for CAD, USD, GBP, EUR; 0 for JPY; 3 for KWD."""
    return _MINOR_UNITS.get(currency.upper(), 2)


def invoiced_total(amounts: Iterable[Decimal], currency: str) -> Decimal:
    """What the invoice lines of these category amounts add up to (rules §11, §12): each amount
    rounded half-up to the minor unit on its own, then summed, so that a statement's total in
    the minor unit is exactly what the invoice charges."""
    zero = Decimal(0).quantize(Decimal(1).scaleb(-minor_unit(currency)))
    return sum((round_to_minor_unit(amount, currency) for amount in amounts), zero)


def round_to_minor_unit(value: Decimal, currency: str) -> Decimal:
    """An amount as an invoice carries it: half-up to the currency's minor unit (rules §11).

    A category's amount is a sum of per-call costs kept to more decimals than the currency
    has; an invoice line cannot carry a fraction of a cent, so this is its one rounding.
    """
    return value.quantize(Decimal(1).scaleb(-minor_unit(currency)), rounding=ROUND_HALF_UP)
