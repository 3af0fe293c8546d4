"""What a call cost the operator: its carrier cost (rules §15), next to its price (rules §6).

The carrier cost of a call is read from the package's cost deck (`cost_deck`, else its `deck`)
at deck price: the longest prefix in effect at the call's start (rules §3), that row's connect
fee and increment (else the package's `increment`), on the call's billsec, with no markup, no
included seconds, no free minutes and no minimum, rounded as a call's cost (rules §6.7). An
inbound call costs `inbound_cost` per minute by `inbound_increment`. Unanswered and local calls
cost 0; a number with no cost-deck row (a short or local-class number has none) has no carrier
cost at all: None, which is never counted as 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from voipbill.config import Package
from voipbill.decks import Deck, DeckRow
from voipbill.increments import DEFAULT_INCREMENT, Increment
from voipbill.money import rounder
from voipbill.numbers import LOCAL as LOCAL_CLASS
from voipbill.numbers import SHORT, Normaliser
from voipbill.rating import LOCAL, UNANSWERED, RatedCall

_SIXTY = Decimal(60)
_NO_ROW = frozenset({LOCAL_CLASS, SHORT})  # rules §15: these numbers have no cost-deck row
_FREE = frozenset({UNANSWERED, LOCAL})  # rules §15: these calls cost the operator 0


@dataclass(frozen=True, slots=True)
class CarrierCost:
    """A call's carrier cost, rounded as a call cost, and the cost deck's matched prefix
    (empty for an inbound, unanswered or local call)."""

    amount: Decimal
    prefix: str = ""


class CarrierCosts:
    """The carrier cost of any call of one package (rules §15)."""

    def __init__(
        self, package: Package, deck: Deck | None, normaliser: Normaliser | None = None
    ) -> None:
        self.package = package
        self.deck = deck
        self.normaliser = normaliser  # classifies the number of a `special` call (of_call)
        self.outbound = package.increment or DEFAULT_INCREMENT
        self.inbound = package.inbound_increment or self.outbound
        self.round = rounder(package.rounding_digits, package.rounding_mode)  # rules §6.5
        self.zero = CarrierCost(self.round(Decimal(0)))
        self._inbound: dict[int, CarrierCost] = {}  # billed seconds -> carrier cost
        self._rows: dict[str, DeckRow | None] = {}  # number -> its row, when not dated
        self._dated: dict[str, bool] = {}  # number -> whether its row depends on the date
        self._costs: dict[tuple[int, int], CarrierCost] = {}  # (id(row), billed s) -> cost
        self._classes: dict[tuple[str, bool], str] = {}  # (number as written, outbound) -> class

    def of(
        self, number: str, number_class: str, direction: str, status: str, billsec: int, start: int
    ) -> CarrierCost | None:
        """The carrier cost of one call (see the module docstring); None: no cost-deck row."""
        if status in _FREE:
            return self.zero
        if direction == "inbound":
            billed = self.inbound.billed_seconds(billsec)
            found = self._inbound.get(billed)
            if found is None:
                found = CarrierCost(self.round(self.package.inbound_cost * billed / _SIXTY))
                self._inbound[billed] = found
            return found
        row = self.row(number, number_class, start)
        if row is None:
            return None
        billed = (row.increment or self.outbound).billed_seconds(billsec)
        key = (id(row), billed)
        found = self._costs.get(key)
        if found is None:
            found = self._costs[key] = CarrierCost(
                self.round(row.connect_fee + row.rate * billed / _SIXTY), row.prefix
            )
        return found

    def row(self, number: str, number_class: str, start: int) -> DeckRow | None:
        """The cost deck's row for an outbound call to `number` starting at `start`."""
        deck = self.deck
        if deck is None or number_class in _NO_ROW:
            return None
        rows = self._rows
        if number in rows:
            return rows[number]
        if self.dated(number):
            return deck.lookup(number, start)
        row = rows[number] = deck.lookup(number, start)
        return row

    def dated(self, number: str) -> bool:
        """Can the cost deck price calls to `number` differently by their start?"""
        found = self._dated.get(number)
        if found is None:
            found = self._dated[number] = self.deck is not None and self.deck.dated(number)
        return found

    def of_call(self, call: RatedCall) -> CarrierCost | None:
        """The carrier cost of a rated call row (rules §15)."""
        return self.of(
            call.normalized,
            self.number_class(call),
            call.direction,
            call.status,
            call.billsec,
            call.start_epoch,
        )

    def number_class(self, call: RatedCall) -> str:
        """The number's class (rules §5): its category, except for a call a special rule
        priced, whose category is `special`: its number is classified again."""
        if call.category != "special":
            return call.category
        if self.normaliser is None:
            return ""
        outbound = call.direction not in ("inbound", "local")
        key = (call.dialed, outbound)
        found = self._classes.get(key)
        if found is None:
            normalised = self.normaliser.normalise(call.dialed, outbound=outbound)
            found = self._classes[key] = normalised.number_class
        return found


def row_cost(row: DeckRow, increment: Increment, billsec: int) -> Decimal:
    """A deck row's price of `billsec` seconds at deck price: connect fee + rate × billed / 60,
    unrounded (rules §15: no markup, no included seconds, no free minutes, no minimum)."""
    return row.connect_fee + row.rate * increment.billed_seconds(billsec) / _SIXTY
