"""The price of every call: which calls are billed (rules §4) and what each costs (rules §6).

This module holds rules §4 (scope, category, exclude, status) and runs the two passes; where a
price comes from and the cost formula (rules §6) live in voipbill.pricing.

Rating is two passes per service. The first pass decides, for each CDR in scope, its number,
category and status and finds its rate source; it keeps one compact tuple per call. The second
pass sorts those by (`start_epoch`, `xml_cdr_uuid`), hands out free minutes in that order and
rounds each cost once.

A month of CDRs repeats the same few thousand numbers, so everything that depends only on the
number and the direction (normalisation, category, exclude and no_charge patterns, the rate
source) is decided once per distinct (direction, number) and shared by its calls (`_Decision`,
`Outcome`); only what depends on the call itself (billsec, status, start, late) is looked at per
call. A cost that uses no free minutes depends only on its source and billed seconds: it is
computed and rounded once per such pair.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import ClassVar, NamedTuple
from zoneinfo import ZoneInfo

from voipbill import pricing
from voipbill.cdrs import CdrRecord
from voipbill.config import Package, Service
from voipbill.decks import Deck
from voipbill.free_minutes import MonthlyAllowance
from voipbill.increments import Increment
from voipbill.money import round_cost
from voipbill.numbers import LOCAL as LOCAL_CLASS
from voipbill.numbers import Normalised, Normaliser
from voipbill.patterns import PatternSet
from voipbill.pricing import PriceList, RateSource
from voipbill.text import shown

__all__ = [
    "CHARGED_STATUSES",
    "LATE",
    "LOCAL",
    "NO_CHARGE",
    "RATED",
    "UNANSWERED",
    "UNANSWERED_STATUSES",
    "UNRATED",
    "Outcome",
    "PricedCall",
    "RateSource",
    "RatedCall",
    "ServiceRater",
    "dialed_number",
]

# rules §4.6: these `status` values mean the call was not answered, whatever its billsec.
UNANSWERED_STATUSES = frozenset({"missed", "no_answer", "cancelled", "busy", "failed"})

RATED, LATE, NO_CHARGE, UNANSWERED, LOCAL, UNRATED = (
    "rated",
    "late",
    "no_charge",
    "unanswered",
    "local",
    "unrated",
)
CHARGED_STATUSES = frozenset({RATED, LATE})
_ZERO = Decimal(0)


class RatedCall(NamedTuple):
    """One row of `rate --detail calls` (rules §7); a tuple, since a run yields millions."""

    service: str
    tenant: str
    extension: str
    call_uuid: str
    start_epoch: int
    direction: str
    category: str
    caller: str
    dialed: str
    normalized: str
    matched_prefix: str
    description: str
    billsec: int
    billed_seconds: int
    free_seconds: int
    rate: Decimal | None
    connect_fee: Decimal | None
    cost: Decimal | None
    status: str


class Outcome:
    """What the calls of one decision share once their status is known (shared, read-only)."""

    __slots__ = ("category", "direction", "increment", "number", "source", "status")

    def __init__(
        self,
        number: Normalised,
        direction: str,
        category: str,
        status: str,
        source: RateSource | None = None,
        increment: Increment | None = None,
    ) -> None:
        self.number = number
        self.direction = direction
        self.category = category
        self.status = status
        self.source = source  # set for rated and late calls only
        self.increment = increment  # rated, late and unrated calls; None: 0 billed seconds

    def __lt__(self, other: object) -> bool:
        # Pending calls sort as tuples by (start_epoch, uuid), unique in a run; this only keeps
        # a repeated (start_epoch, uuid) from raising TypeError (it keeps their order).
        return False


class _Decision:
    """rules §4.3–4.7 and the rate source of §6 for one (direction, number as written)."""

    __slots__ = (
        "billing_direction",
        "category",
        "dated",
        "dated_outcomes",
        "excluded_by",
        "late",
        "local",
        "no_charge",
        "no_charge_reason",
        "number",
        "original",
        "rated",
        "short",
        "unanswered",
    )

    def __init__(self, number: Normalised, direction: str, category: str) -> None:
        self.number = number
        self.original = number.original.strip()
        self.category = category
        self.billing_direction = "inbound" if direction == "inbound" else "outbound"
        self.excluded_by: str | None = None
        self.local: Outcome | None = None
        self.unanswered = Outcome(number, direction, category, UNANSWERED)
        self.no_charge: Outcome | None = None
        self.no_charge_reason = ""
        # rules §6.1: a call within its rate source's no_charge_seconds
        self.short = Outcome(number, direction, category, NO_CHARGE)
        self.dated = False  # the deck row depends on the call's start: look it up per call
        self.dated_outcomes: dict[tuple[int, bool], Outcome] = {}  # (id(source), late) ->
        self.rated: Outcome | None = None
        self.late: Outcome | None = None


class _Shared:
    """The decision caches of one (package, deck, normaliser), shared by its raters."""

    _live: ClassVar[weakref.WeakValueDictionary[tuple[int, int, int], _Shared]] = (
        weakref.WeakValueDictionary()
    )

    def __init__(self, package: Package, deck: Deck | None, normaliser: Normaliser) -> None:
        # holding the three keeps their ids from being reused while this entry lives
        self.owners = (package, deck, normaliser)
        self.decisions: dict[str, dict[str, _Decision]] = {}
        self.prices = PriceList(package, deck)

    @classmethod
    def of(cls, package: Package, deck: Deck | None, normaliser: Normaliser) -> _Shared:
        key = (id(package), id(deck), id(normaliser))
        shared = cls._live.get(key)
        if shared is None:
            shared = cls._live[key] = cls(package, deck, normaliser)
        return shared


# A pending call: (start_epoch, xml_cdr_uuid, outcome, billsec, extension, caller_id_number)
_Pending = tuple[int, str, Outcome, int, str, str]
# A priced call: the pending tuple, then billed seconds, free seconds and the rounded cost
# (None when unrated).
PricedCall = tuple[int, str, Outcome, int, str, str, int, int, Decimal | None]
# Small integers shared by every call that has them (billsec), instead of one int per call.
_SMALL = tuple(range(8192))


class ServiceRater:
    """Rates the calls of one service for one run."""

    def __init__(
        self,
        service: Service,
        package: Package,
        deck: Deck | None,
        normaliser: Normaliser,
        *,
        export_domain: str | None = None,
    ) -> None:
        self.service = service
        self.package = package
        self.deck = deck
        self.normaliser = normaliser
        self.domains = {service.domain.lower(), (export_domain or service.domain).lower()}
        self.extensions = frozenset(service.extension_list)
        self.did_numbers = frozenset(normaliser.normalise(did).number for did in service.dids)
        self.exclude = PatternSet(package.exclude)
        self.no_charge = PatternSet(package.no_charge)
        self.pending: list[_Pending] = []
        self.excluded = 0
        # Raters of one package (same deck, same number plan) decide a number the same way:
        # they share these caches, so a number is decided once per run, not once per service.
        shared = _Shared.of(package, deck, normaliser)
        self._shared = shared  # keeps the caches alive as long as this rater
        self._decisions = shared.decisions  # direction -> number as written -> decision
        self.prices = shared.prices  # rules §6 price sources, deck rows priced once per package
        self._texts: dict[str, str] = {}  # one string object per distinct extension and caller
        # rules §6 free minutes: months in the config timezone (billing.raters sets it), and the
        # free seconds committed runs already gave per month (billing.run, from the ledger)
        self.timezone = ZoneInfo("UTC")
        self.free_seconds_used: Mapping[str, int] = {}
        self.free_seconds_given: dict[str, int] = {}  # by this run, once its calls are priced

    # -- rules §4.2 scope ------------------------------------------------------------------------

    def owns(self, record: CdrRecord) -> bool:
        """Is this call the service's? Its extension, or an inbound call to one of its DIDs."""
        if record.domain_name is not None and record.domain_name.lower() not in self.domains:
            return False
        if record.extension:
            return record.extension in self.extensions
        if record.direction == "inbound" and record.caller_destination:
            return self.normaliser.normalise(record.caller_destination).number in self.did_numbers
        return False

    # -- rules §4.3–4.6 and the rate source of §6 ------------------------------------------------

    def add(self, record: CdrRecord, *, late: bool = False) -> None:
        """Classify one in-scope call (its start_epoch and billsec already checked)."""
        direction = record.direction
        if direction == "inbound":  # dialed_number, inline: this runs once per CDR
            dialed = record.caller_destination or record.destination_number
        else:
            dialed = record.destination_number
        decisions = self._decisions.get(direction)
        if decisions is None:
            decisions = self._decisions[direction] = {}
        decision = decisions.get(dialed)
        if decision is None:
            decision = decisions[dialed] = self._decide(direction, dialed)
        self._add(record, decision, late)

    def _decide(self, direction: str, dialed: str) -> _Decision:
        """Everything about a call that depends only on its direction and number."""
        inbound = direction == "inbound"
        # rules §5.3: a 2-7 digit number may be a short number on a call going out, not local
        number = self.normaliser.normalise(dialed, outbound=direction not in ("inbound", "local"))
        if number.number_class == LOCAL_CLASS or direction == "local":
            category = "local"
        else:
            category = "inbound" if inbound else number.number_class
        decision = _Decision(number, direction, category)
        original = decision.original
        decision.excluded_by = self.exclude.match(original, number.number, category, direction)
        if decision.excluded_by is not None:
            return decision
        # rules §4.4: a special rule matching the number of a call that is not local by
        # direction makes it skip the local status
        if category == "local" and (
            direction == "local"
            or self.prices.special_source(original, number, decision.billing_direction) is None
        ):
            decision.local = Outcome(number, direction, category, LOCAL)
            return decision
        matched = self.no_charge.match(original, number.number, category, direction)
        if matched is not None:
            decision.no_charge_reason = f"matches no_charge pattern {matched}"
        elif inbound and not self.package.inbound_billing:
            decision.no_charge_reason = "inbound call and the package has inbound_billing = false"
        if decision.no_charge_reason:
            decision.no_charge = Outcome(number, direction, category, NO_CHARGE)
            return decision
        billing_direction = decision.billing_direction
        prices = self.prices
        if prices.dated(number, billing_direction):
            # the deck may price this number differently by date; any earlier source
            # (special, custom) is still date-free: try those first
            source = prices.fixed_source(original, number, billing_direction)
            if source is None:
                decision.dated = True
                return decision
        else:
            source = prices.source(original, number, billing_direction, 0)
        decision.rated = self._outcome(decision, direction, source, RATED)
        decision.late = self._outcome(decision, direction, source, LATE)
        return decision

    def _outcome(
        self, decision: _Decision, direction: str, source: RateSource | None, status: str
    ) -> Outcome:
        if source is None:
            increment = self.prices.increments[decision.billing_direction]
            return Outcome(decision.number, direction, decision.category, UNRATED, None, increment)
        category = "special" if source.kind == "special" else decision.category
        return Outcome(decision.number, direction, category, status, source, source.increment)

    def _dated_outcome(
        self, decision: _Decision, direction: str, start: int, late: bool
    ) -> Outcome:
        """A call whose deck row depends on its start: looked up per call, outcome per row."""
        source = self.prices.deck_source(decision.number.number, start)
        key = (id(source), late)  # deck sources live as long as the rater (its PriceList)
        outcome = decision.dated_outcomes.get(key)
        if outcome is None:
            outcome = self._outcome(decision, direction, source, LATE if late else RATED)
            decision.dated_outcomes[key] = outcome
        return outcome

    def _add(self, record: CdrRecord, decision: _Decision, late: bool) -> Outcome | None:
        """rules §4.6 status, the part that depends on the call itself; None when excluded."""
        if decision.excluded_by is not None:
            self.excluded += 1
            return None
        billsec = record.billsec or 0
        start = record.start_epoch or 0
        if decision.local is not None:
            outcome = decision.local
        elif billsec == 0 or record.status in UNANSWERED_STATUSES:
            outcome = decision.unanswered
        elif decision.no_charge is not None:
            outcome = decision.no_charge
        elif decision.dated:
            outcome = self._dated_outcome(decision, record.direction, start, late)
        else:
            fixed = decision.late if late else decision.rated
            assert fixed is not None  # set by _decide for every decision that reaches here
            outcome = fixed
        source = outcome.source
        if source is not None and billsec <= source.no_charge_seconds:
            outcome = decision.short
        texts = self._texts
        # shown as every output shows CDR text: control characters as \xNN (rules §7)
        extension = texts.get(record.extension)
        if extension is None:
            extension = texts[record.extension] = shown(record.extension)
        caller = texts.get(record.caller_id_number)
        if caller is None:
            caller = texts[record.caller_id_number] = shown(record.caller_id_number)
        self.pending.append(
            (
                start,
                record.xml_cdr_uuid,
                outcome,
                _SMALL[billsec] if billsec < 8192 else billsec,
                extension,
                caller,
            )
        )
        return outcome

    # -- rules §6: free minutes, cost, rounding ---------------------------------------------------

    def priced(self) -> Iterator[PricedCall]:
        """The service's calls in (start_epoch, xml_cdr_uuid) order, each priced and rounded.

        Compact tuples (see PricedCall) for writers that format millions of rows; `calls()`
        gives the same as RatedCall rows.
        """
        # (start_epoch, uuid) is unique in a run: plain tuple order, no key tuples to build
        self.pending.sort()
        per_month = int(self.package.free_minutes * 60)
        allowance = MonthlyAllowance(
            per_month, self.timezone, self.free_seconds_used, self.service.dates
        )
        self.free_seconds_given = allowance.given  # filled as the calls are priced
        free_categories = frozenset(self.package.free_categories)
        digits, mode = self.package.rounding_digits, self.package.rounding_mode
        zero_cost = round_cost(_ZERO, digits, mode)
        # (id(source), billsec) -> (billed seconds, rounded cost without free minutes)
        costs: dict[tuple[int, int], tuple[int, Decimal]] = {}
        by_billed: dict[tuple[int, int], Decimal] = {}  # (id(source), billed seconds) -> cost
        for start, call_uuid, outcome, billsec, extension, caller in self.pending:
            source = outcome.source
            if source is None:
                increment = outcome.increment
                if increment is None:
                    yield (start, call_uuid, outcome, billsec, extension, caller, 0, 0, zero_cost)
                else:  # unrated: billed by the package increment, no cost (rules §6)
                    billed = increment.billed_seconds(billsec - self.package.included_seconds)
                    yield (start, call_uuid, outcome, billsec, extension, caller, billed, 0, None)
                continue
            key = (id(source), billsec)
            cached = costs.get(key)
            if cached is None:
                billed = source.billed_seconds(billsec)
                billed_key = (id(source), billed)
                rounded = by_billed.get(billed_key)
                if rounded is None:
                    rounded = by_billed[billed_key] = round_cost(
                        pricing.cost(source, billed, 0), digits, mode
                    )
                cached = costs[key] = (billed, rounded)
            billed, rounded = cached
            free_seconds = 0
            if per_month > 0 and outcome.category in free_categories:
                free_seconds = allowance.take(start, billed)
            if free_seconds:
                rounded = round_cost(pricing.cost(source, billed, free_seconds), digits, mode)
            yield (
                start,
                call_uuid,
                outcome,
                billsec,
                extension,
                caller,
                billed,
                free_seconds,
                rounded,
            )

    def calls(self) -> Iterator[RatedCall]:
        """The service's calls in (start_epoch, xml_cdr_uuid) order, each priced and rounded."""
        service, tenant = self.service.name, self.service.domain
        new = tuple.__new__
        for (
            start,
            call_uuid,
            outcome,
            billsec,
            extension,
            caller,
            billed,
            free,
            cost,
        ) in self.priced():
            source = outcome.source
            number = outcome.number
            if source is None:
                matched_prefix = description = ""
                rate = connect_fee = None
            else:
                matched_prefix, description = source.matched_prefix, source.description
                rate, connect_fee = source.rate, source.connect_fee
            yield new(
                RatedCall,
                (
                    service,
                    tenant,
                    extension,
                    call_uuid,
                    start,
                    outcome.direction,
                    outcome.category,
                    caller,
                    shown(number.original),
                    shown(number.number),
                    matched_prefix,
                    description,
                    billsec,
                    billed,
                    free,
                    rate,
                    connect_fee,
                    cost,
                    outcome.status,
                ),
            )


def dialed_number(record: CdrRecord) -> str:
    """rules §4.3: the number a call is rated by, as written in the CDR."""
    if record.direction == "inbound":
        return record.caller_destination or record.destination_number
    return record.destination_number
