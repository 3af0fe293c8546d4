"""The price of every call: which calls are billed (SPEC §4) and what each costs (SPEC §6).

Rating is two passes per service. The first pass decides, for each CDR in scope, its number,
category and status and finds its rate source; it keeps one compact `_Pending` tuple per call.
The second pass sorts those by (`start_epoch`, `xml_cdr_uuid`), hands out free minutes in that
order and rounds each cost once.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from voipbill.cdrs import CdrRecord
from voipbill.config import Package, Service, SpecialRule
from voipbill.decks import Deck
from voipbill.increments import DEFAULT_INCREMENT, Increment
from voipbill.money import round_cost
from voipbill.numbers import Normalised, Normaliser
from voipbill.patterns import PatternSet

# SPEC §4.6: these `status` values mean the call was not answered, whatever its billsec.
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
_SIXTY = Decimal(60)
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class RateSource:
    """Where a call's price comes from (SPEC §6), as shown on its row."""

    kind: str  # "special", "custom", "deck" or "inbound"
    matched_prefix: str
    description: str
    rate: Decimal  # per minute; deck rates carry the markup, unrounded
    connect_fee: Decimal
    increment: Increment
    charges_flat: bool = True  # special `per_minute` rules charge no flat part
    charges_minutes: bool = True  # special `flat_per_call` rules charge no minutes


@dataclass(frozen=True, slots=True)
class RatedCall:
    """One row of `rate --detail calls` (SPEC §7)."""

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


class _Pending(NamedTuple):
    start_epoch: int
    call_uuid: str
    extension: str
    direction: str
    category: str
    caller: str
    number: Normalised
    source: RateSource | None
    billsec: int
    billed_seconds: int
    status: str


Trace = list[tuple[str, str]]


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
        trace_uuid: str | None = None,
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
        self.markup = 1 + package.markup_percent / 100
        outbound_increment = package.increment or DEFAULT_INCREMENT
        self.increments = {
            "outbound": outbound_increment,
            "inbound": package.inbound_increment or outbound_increment,
        }
        # SPEC §6.1: highest priority first, then the longest pattern text, then list order
        ranked = sorted(
            enumerate(package.special),
            key=lambda item: (-item[1].priority, -len(item[1].pattern), item[0]),
        )
        self.special = tuple(rule for _, rule in ranked)
        # SPEC §6.2: the longest custom prefix wins
        self.custom = sorted(package.custom_rates, key=lambda rate: -len(rate.prefix))
        self.pending: list[_Pending] = []
        self.excluded = 0
        self.trace_uuid = trace_uuid
        self.trace: Trace = []

    # -- SPEC §4.2 scope ------------------------------------------------------------------------

    def owns(self, record: CdrRecord) -> bool:
        """Is this call the service's? Its extension, or an inbound call to one of its DIDs."""
        if record.domain_name is not None and record.domain_name.lower() not in self.domains:
            return False
        if record.extension:
            return record.extension in self.extensions
        if record.direction == "inbound" and record.caller_destination:
            return self.normaliser.normalise(record.caller_destination).number in self.did_numbers
        return False

    # -- SPEC §4.3–4.6 and the rate source of §6 ------------------------------------------------

    def add(self, record: CdrRecord, *, late: bool = False) -> None:
        """Classify one in-scope call (its start_epoch and billsec already checked)."""
        trace = self.trace if record.xml_cdr_uuid == self.trace_uuid else None
        direction = record.direction
        inbound = direction == "inbound"
        dialed = (
            (record.caller_destination or record.destination_number)
            if inbound
            else (record.destination_number)
        )
        number = self.normaliser.normalise(dialed)
        if number.number_class == "local" or direction == "local":
            category = "local"
        else:
            category = "inbound" if inbound else number.number_class
        if trace is not None:
            source_field = (
                "caller_destination"
                if inbound and record.caller_destination
                else "destination_number"
            )
            trace.append(
                ("number", f"{source_field} {dialed!r} (direction {direction or 'empty'})")
            )
            trace.extend(("normalise", step) for step in number.steps)
            trace.append(("category", f"{category} (class {number.number_class})"))

        original = dialed.strip()
        excluded_by = self.exclude.match(original, number.number, category, direction)
        if excluded_by is not None:
            self.excluded += 1
            if trace is not None:
                trace.append(
                    ("exclude", f"matches exclude pattern {excluded_by}: left out of every output")
                )
            return
        if trace is not None:
            trace.append(("exclude", "no exclude pattern matches"))

        billsec = record.billsec or 0
        billing_direction = "inbound" if inbound else "outbound"
        source: RateSource | None = None
        billed_seconds = 0
        if category == "local":
            status = LOCAL
            reason = "category local"
        elif billsec == 0 or record.status in UNANSWERED_STATUSES:
            status = UNANSWERED
            reason = f"billsec {billsec}, status {record.status or 'empty'}"
        elif (
            matched := self.no_charge.match(original, number.number, category, direction)
        ) is not None:
            status = NO_CHARGE
            reason = f"matches no_charge pattern {matched}"
        elif inbound and not self.package.inbound_billing:
            status = NO_CHARGE
            reason = "inbound call and the package has inbound_billing = false"
        else:
            source = self.rate_source(original, number, billing_direction, record.start_epoch or 0)
            if source is None:
                status = UNRATED
                reason = "no rate source (no special rule, custom rate, deck row or inbound rate)"
                billed_seconds = self.increments[billing_direction].billed_seconds(billsec)
            else:
                status = LATE if late else RATED
                reason = f"priced by {source.kind}"
                billed_seconds = source.increment.billed_seconds(billsec)
                if source.kind == "special":
                    category = "special"
        if trace is not None:
            trace.append(("status", f"{status}: {reason}"))
            if source is not None:
                trace.append(("rate source", _describe(source)))
                trace.append(
                    (
                        "increment",
                        f"{source.increment}: billsec {billsec} s -> billed {billed_seconds} s",
                    )
                )
        self.pending.append(
            _Pending(
                record.start_epoch or 0,
                record.xml_cdr_uuid,
                record.extension,
                direction,
                category,
                record.caller_id_number,
                number,
                source,
                billsec,
                billed_seconds,
                status,
            )
        )

    def rate_source(
        self, original: str, number: Normalised, direction: str, start_epoch: int
    ) -> RateSource | None:
        """SPEC §6: special rule, custom rate, deck row, then inbound rate; None is unrated."""
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
                )
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
            )
        if number.number_class == "local":
            return None
        for custom in self.custom:
            if digits.startswith(custom.prefix):
                return RateSource(
                    "custom",
                    custom.prefix,
                    "custom rate",
                    custom.rate,
                    custom.connect_fee,
                    custom.increment or self.increments["outbound"],
                )
        row = self.deck.lookup(digits, start_epoch) if self.deck is not None else None
        if row is None:
            return None
        return RateSource(
            "deck",
            row.prefix,
            row.description,
            row.rate * self.markup,
            row.connect_fee * self.markup,
            row.increment or self.increments["outbound"],
        )

    # -- SPEC §6: free minutes, cost, rounding ---------------------------------------------------

    def calls(self) -> Iterator[RatedCall]:
        """The service's calls in (start_epoch, xml_cdr_uuid) order, each priced and rounded."""
        self.pending.sort(key=operator.itemgetter(0, 1))
        free_left = int(self.package.free_minutes * 60)
        digits, mode = self.package.rounding_digits, self.package.rounding_mode
        zero_cost = round_cost(_ZERO, digits, mode)
        service, tenant = self.service.name, self.service.domain
        for call in self.pending:
            source = call.source
            free_seconds = 0
            if call.status in CHARGED_STATUSES and source is not None:
                if call.category == "national" and free_left > 0:
                    free_seconds = min(free_left, call.billed_seconds)
                    free_left -= free_seconds
                cost = self.cost(source, call.billed_seconds, free_seconds)
                rounded: Decimal | None = round_cost(cost, digits, mode)
                if call.call_uuid == self.trace_uuid:
                    self.trace.append(
                        ("free minutes", f"{free_seconds} s free, {free_left} s left")
                    )
                    self.trace.append(
                        (
                            "cost",
                            f"{cost} before rounding, {rounded} after ({digits} digits, {mode})",
                        )
                    )
                row_rate: Decimal | None = source.rate
                row_fee: Decimal | None = source.connect_fee
                billed = call.billed_seconds
                prefix, description = source.matched_prefix, source.description
            else:
                rounded = None if call.status == UNRATED else zero_cost
                row_rate = row_fee = None
                billed = call.billed_seconds if call.status == UNRATED else 0
                prefix = description = ""
            yield RatedCall(
                service=service,
                tenant=tenant,
                extension=call.extension,
                call_uuid=call.call_uuid,
                start_epoch=call.start_epoch,
                direction=call.direction,
                category=call.category,
                caller=call.caller,
                dialed=call.number.original,
                normalized=call.number.number,
                matched_prefix=prefix,
                description=description,
                billsec=call.billsec,
                billed_seconds=billed,
                free_seconds=free_seconds,
                rate=row_rate,
                connect_fee=row_fee,
                cost=rounded,
                status=call.status,
            )

    @staticmethod
    def cost(source: RateSource, billed_seconds: int, free_seconds: int) -> Decimal:
        """SPEC §6: connect_fee + rate × (billed − free) / 60; a fully free call costs 0."""
        if free_seconds and free_seconds >= billed_seconds:
            return _ZERO
        cost = source.connect_fee if source.charges_flat else _ZERO
        if source.charges_minutes:
            cost += source.rate * (billed_seconds - free_seconds) / _SIXTY
        return cost


def _special_matches(rule: SpecialRule, original: str, digits: str) -> bool:
    if rule.compiled is not None:
        return bool(rule.compiled.fullmatch(original) or rule.compiled.fullmatch(digits))
    return original.startswith(rule.pattern) or digits.startswith(rule.pattern)


def _describe(source: RateSource) -> str:
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
