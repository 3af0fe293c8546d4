"""The cost decks of a run, and the calls a run sells below their carrier cost (rules §15).

`MarginRater` is the rater of a billing run: it prices calls exactly as `ServiceRater` does and,
as they pass, counts those sold below carrier cost (rated or late, no free seconds, a negative
margin), for the money warning of `rate` and commits. The count is per service (`BelowCost`),
complete once the run's calls are read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from voipbill.config import Config, Package
from voipbill.decks import Deck, DeckError, check_command, load_deck
from voipbill.margin.costs import CarrierCosts
from voipbill.rating import CHARGED_STATUSES, Outcome, PricedCall, ServiceRater


@dataclass(slots=True)
class BelowCost:
    """The calls of one service sold below their carrier cost, and their margin."""

    service: str
    digits: int  # the package's rounding digits, to print the margin with
    calls: int = 0
    margin: Decimal = Decimal(0)


class MarginRater(ServiceRater):
    """A ServiceRater that counts the calls it sells below carrier cost (see the module)."""

    costs: CarrierCosts | None = None
    below: BelowCost | None = None

    def priced(self) -> Iterator[PricedCall]:
        costs, below = self.costs, self.below
        calls = super().priced()
        if costs is None or below is None:
            yield from calls
            return
        charged = CHARGED_STATUSES
        never: set[Outcome] = set()  # outcomes whose calls cannot sell below cost
        # outcome -> billsec -> margin of a charged call without free seconds (None: no
        # carrier cost); its price and carrier cost depend on nothing else unless the cost
        # deck prices the number by date
        margins: dict[Outcome, dict[int, Decimal | None]] = {}
        for call in calls:
            cost = call[8]
            if not call[7] and cost is not None and call[2].status in charged:
                outcome, billsec = call[2], call[3]
                known = margins.get(outcome)
                if known is None:
                    if outcome in never:
                        yield call
                        continue
                    if self._never_below(outcome):
                        never.add(outcome)
                        yield call
                        continue
                    known = margins[outcome] = {}
                if billsec in known:
                    margin = known[billsec]
                else:
                    number = outcome.number
                    carrier = costs.of(
                        number.number,
                        number.number_class,
                        outcome.direction,
                        outcome.status,
                        billsec,
                        call[0],
                    )
                    margin = None if carrier is None else cost - carrier.amount
                    if not costs.dated(number.number):
                        known[billsec] = margin
                if margin is not None and margin < 0:
                    below.calls += 1
                    below.margin += margin
            yield call

    def _never_below(self, outcome: Outcome) -> bool:
        """A call priced by a row of the deck that is also its cost deck, with no included
        seconds, pays that row's price times 1 + markup (never negative) by the same increment,
        and a minimum cost only raises it: it can never sell below that row's carrier cost.
        Nor can an inbound call whose carrier cost is 0 (`inbound_cost` unset)."""
        source = outcome.source
        if source is None or self.costs is None:
            return False
        if outcome.direction == "inbound":  # a cost is never negative: nor is its margin here
            return not self.package.inbound_cost
        return (
            source.kind == "deck" and self.costs.deck is self.deck and not source.included_seconds
        )


def cost_decks(config: Config, raters: Sequence[ServiceRater]) -> dict[str, Deck | None]:
    """Package name -> its cost deck (rules §15), each deck loaded once; a package whose cost
    deck is its deck shares the deck its raters already hold."""
    loaded: dict[str, Deck] = {}
    for rater in raters:
        if rater.deck is not None and rater.package.deck is not None:
            loaded.setdefault(rater.package.deck, rater.deck)
    found: dict[str, Deck | None] = {}
    for rater in raters:
        package = rater.package
        if package.name not in found:
            found[package.name] = cost_deck(config, package, loaded)
    return found


def cost_deck(config: Config, package: Package, loaded: dict[str, Deck]) -> Deck | None:
    """The package's cost deck, loaded into `loaded` (deck name -> deck) once; a broken one is
    a configuration error naming the key (rules §15)."""
    name = package.carrier_deck
    if name is None:
        return None
    deck = loaded.get(name)
    if deck is None:
        deck_config = config.decks[name]
        key = "cost_deck" if package.cost_deck is not None else "deck"
        try:
            deck = loaded[name] = load_deck(
                deck_config.path,
                layout=deck_config.layout,
                timezone=config.timezone,
                check_command=check_command(config.path, name),
            )
        except DeckError as exc:
            raise DeckError(
                exc.path,
                exc.errors,
                hint=exc.fix,
                check_command=exc.check_command,
                where=f"packages -> {package.name} -> {key} ({name!r})",
            ) from None
    return deck


def carrier_costs(config: Config, raters: Sequence[ServiceRater]) -> dict[str, CarrierCosts]:
    """Service name -> the carrier costs of its package (rules §15)."""
    decks = cost_decks(config, raters)
    shared: dict[str, CarrierCosts] = {}
    for rater in raters:
        package = rater.package
        if package.name not in shared:
            shared[package.name] = CarrierCosts(package, decks[package.name], rater.normaliser)
    return {rater.service.name: shared[rater.package.name] for rater in raters}


def watch(
    raters: Sequence[ServiceRater], costs: Mapping[str, CarrierCosts]
) -> dict[str, BelowCost]:
    """Make each MarginRater count its below-cost calls, by the carrier costs of `costs`
    (service name -> carrier costs); service name -> its count."""
    found = {}
    for rater in raters:
        if isinstance(rater, MarginRater):
            name = rater.service.name
            rater.costs = costs[name]
            rater.below = found[name] = BelowCost(name, rater.package.rounding_digits)
    return found
