"""Where a billed call's price comes from and what it costs before rounding (rules §6).

A `PriceList` is one package's price sources, ranked once: special rules, custom rates, the deck
with the markup, the inbound rate, and the increments. Rating (voipbill.rating) asks it for the
source of each distinct (direction, number) and for the cost of each call; free minutes and the
single rounding stay with rating, which hands them out in call order.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TypedDict

from voipbill.config import Package, SpecialRule
from voipbill.decks import Deck
from voipbill.increments import DEFAULT_INCREMENT, Increment
from voipbill.numbers import LOCAL as LOCAL_CLASS
from voipbill.numbers import SHORT, Normalised

_SIXTY = Decimal(60)
# rules §6.2-6.3: only a special rule prices these classes (no custom rate, no deck row)
_SPECIAL_ONLY = frozenset({LOCAL_CLASS, SHORT})
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class RateSource:
    """Where a call's price comes from (rules §6), as shown on its row."""

    kind: str  # "special", "custom", "deck" or "inbound"
    matched_prefix: str
    description: str
    rate: Decimal  # per minute; deck rates carry the markup, unrounded
    connect_fee: Decimal
    increment: Increment
    charges_flat: bool = True  # special `per_minute` rules charge no flat part
    charges_minutes: bool = True  # special `flat_per_call` rules charge no minutes
    # rules §6 per-call rules: the deck row's cells, else the package's
    no_charge_seconds: int = 0  # an answered call of at most this billsec is no_charge
    included_seconds: int = 0  # taken off billsec before the increment
    minimum_cost: Decimal = _ZERO  # a call that pays anything pays at least this

    def billed_seconds(self, billsec: int) -> int:
        """rules §6.2-3: the included seconds come off first; a call inside them bills 0 s."""
        return self.increment.billed_seconds(billsec - self.included_seconds)


class _Rules(TypedDict):
    no_charge_seconds: int
    included_seconds: int
    minimum_cost: Decimal


class PriceList:
    """The price sources of one package and its deck, in the order rules §6 tries them."""

    def __init__(self, package: Package, deck: Deck | None) -> None:
        self.package = package
        self.deck = deck
        self.markup = 1 + package.markup_percent / 100
        outbound_increment = package.increment or DEFAULT_INCREMENT
        self.increments = {
            "outbound": outbound_increment,
            "inbound": package.inbound_increment or outbound_increment,
        }
        # rules §6.1: highest priority first, then the longest pattern text, then list order
        ranked = sorted(
            enumerate(package.special),
            key=lambda item: (-item[1].priority, -len(item[1].pattern), item[0]),
        )
        self.special = tuple(rule for _, rule in ranked)
        # rules §6.2: the longest custom prefix wins
        self.custom = sorted(package.custom_rates, key=lambda rate: -len(rate.prefix))
        self._deck_sources: dict[int, RateSource] = {}  # id(deck row) -> its marked-up source
        # rules §6: every source but a deck row with its own cells uses the package's
        self.rules = _Rules(
            no_charge_seconds=package.no_charge_seconds,
            included_seconds=package.included_seconds,
            minimum_cost=package.minimum_cost,
        )

    def source(
        self, original: str, number: Normalised, direction: str, start_epoch: int
    ) -> RateSource | None:
        """rules §6: special rule, custom rate, deck row, then inbound rate; None is unrated."""
        source = self.fixed_source(original, number, direction)
        if source is not None or direction == "inbound" or number.number_class in _SPECIAL_ONLY:
            return source
        return self.deck_source(number.number, start_epoch)

    def dated(self, number: Normalised, direction: str) -> bool:
        """Can the deck price this call differently by date (an outbound, non-local call)?"""
        return (
            direction != "inbound"
            and self.deck is not None
            and self.deck.dated(number.number)
            and number.number_class not in _SPECIAL_ONLY
        )

    def fixed_source(self, original: str, number: Normalised, direction: str) -> RateSource | None:
        """The sources of rules §6 that do not depend on the date: all but the deck."""
        special = self.special_source(original, number, direction)
        if special is not None:
            return special
        if direction == "inbound":
            if self.package.inbound_rate is None:
                return None
            return RateSource(
                "inbound",
                "",
                "inbound",
                self.package.inbound_rate,
                _ZERO,
                self.increments["inbound"],
                **self.rules,
            )
        if number.number_class in _SPECIAL_ONLY:
            return None
        digits = number.number
        for custom in self.custom:
            if digits.startswith(custom.prefix):
                return RateSource(
                    "custom",
                    custom.prefix,
                    "custom rate",
                    custom.rate,
                    custom.connect_fee,
                    custom.increment or self.increments["outbound"],
                    **self.rules,
                )
        return None

    def special_source(
        self, original: str, number: Normalised, direction: str
    ) -> RateSource | None:
        """The special rule that prices the call, whatever the number's class (rules §6.1)."""
        digits = number.number
        for rule in self.special:
            if rule.direction in (direction, "both") and _special_matches(rule, original, digits):
                return RateSource(
                    kind="special",
                    matched_prefix=rule.pattern,
                    description="",
                    rate=rule.per_minute,
                    connect_fee=rule.flat,
                    increment=self.increments[direction],
                    charges_flat=rule.mode != "per_minute",
                    charges_minutes=rule.mode != "flat_per_call",
                    **self.rules,
                )
        return None

    def deck_source(self, digits: str, start_epoch: int) -> RateSource | None:
        """The deck row for a number at a start, with the markup applied, made once per row
        (rules §6.3); None when no row prices it."""
        deck = self.deck
        row = None if deck is None else deck.lookup(digits, start_epoch)
        if row is None:
            return None
        source = self._deck_sources.get(id(row))
        if source is None:
            package = self.package
            source = self._deck_sources[id(row)] = RateSource(
                "deck",
                row.prefix,
                row.description,
                row.rate * self.markup,
                row.connect_fee * self.markup,
                row.increment or self.increments["outbound"],
                no_charge_seconds=package.no_charge_seconds
                if row.no_charge_seconds is None
                else row.no_charge_seconds,
                included_seconds=package.included_seconds
                if row.included_seconds is None
                else row.included_seconds,
                minimum_cost=package.minimum_cost,
            )
        return source


def cost(source: RateSource, billed_seconds: int, free_seconds: int) -> Decimal:
    """rules §6.5-6: connect_fee + rate × (billed − free) / 60; a fully free call costs 0; a
    cost above 0 and below the package's minimum_cost is the minimum (unrounded)."""
    if free_seconds and free_seconds >= billed_seconds:
        return _ZERO
    amount = source.connect_fee if source.charges_flat else _ZERO
    if source.charges_minutes:
        amount += source.rate * (billed_seconds - free_seconds) / _SIXTY
    if amount < source.minimum_cost and amount > 0:
        return source.minimum_cost
    return amount


def describe(source: RateSource) -> str:
    """One line saying which source priced a call and how, for `explain`."""
    if source.kind == "special":
        parts = []
        if source.charges_flat:
            parts.append(f"flat {source.connect_fee}")
        if source.charges_minutes:
            parts.append(f"{source.rate}/min")
        return f"special rule {source.matched_prefix!r}: {' + '.join(parts)}, no markup"
    if source.kind == "deck":
        return (
            f"deck prefix {source.matched_prefix} ({source.description or 'no description'}): "
            f"{source.rate}/min, connect fee {source.connect_fee} (markup included)"
        )
    if source.kind == "custom":
        return (
            f"custom rate prefix {source.matched_prefix}: {source.rate}/min, "
            f"connect fee {source.connect_fee}"
        )
    return f"inbound_rate {source.rate}/min, no connect fee"


def _special_matches(rule: SpecialRule, original: str, digits: str) -> bool:
    if rule.compiled is not None:
        return bool(rule.compiled.fullmatch(original) or rule.compiled.fullmatch(digits))
    return original.startswith(rule.pattern) or digits.startswith(rule.pattern)
