"""`voipbill deck margin`: a package checked against its carrier's deck before it goes live
(rules §15).

Every prefix of the sell side (deck rows, custom rates, special rules of type `prefix`) and of
the cost deck is priced as an answered outbound call of each length to a number that starts
with it: the price by rules §6 (special rule, custom rate, then the deck with the markup; its
increment, connect fee, included and no-charge seconds, minimum cost and rounding; no free
minutes, no `no_charge` or `exclude` pattern: a prefix has no class), the carrier cost by the
cost deck at deck price. Each side takes its own longest prefix in effect on the day checked.

One pass over the union of the prefixes; each side is looked up in its own prefix index, and a
price or cost is worked out once per (row or rule, length).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import IO

from voipbill import pricing
from voipbill.config import Config, Package
from voipbill.decks import Deck, check_command, load_deck
from voipbill.errors import UsageError
from voipbill.margin.costs import row_cost
from voipbill.margin.watch import cost_deck
from voipbill.money import format_money, rounder
from voipbill.numbers import Normalised
from voipbill.periods import local_midnight_epoch
from voipbill.pricing import PriceList, RateSource

DEFAULT_LENGTHS = (30, 60, 300)
BELOW_COST, UNSOLD = "below_cost", "unsold"


@dataclass(frozen=True, slots=True)
class Finding:
    """A prefix sold below cost at one length, or not sold at all (seconds, price None)."""

    prefix: str
    status: str  # BELOW_COST or UNSOLD
    cost_prefix: str
    seconds: int | None = None
    sell_source: str = ""  # deck, custom or special
    sell_prefix: str = ""  # the sell side's matched prefix (a special rule: its pattern)
    price: Decimal | None = None
    cost: Decimal | None = None

    @property
    def margin(self) -> Decimal | None:
        if self.price is None or self.cost is None:
            return None
        return self.price - self.cost


@dataclass
class GoLiveCheck:
    """What `deck margin` found for one package."""

    package: str
    day: date
    lengths: tuple[int, ...]
    findings: list[Finding]
    prefixes: int = 0  # distinct prefixes checked (sell side and cost deck together)
    no_carrier_row: int = 0  # prefixes sold with no cost-deck row: nothing to compare

    @property
    def below_cost(self) -> int:
        """Distinct prefixes sold below cost at some length."""
        return len({f.prefix for f in self.findings if f.status == BELOW_COST})

    @property
    def unsold(self) -> int:
        return sum(1 for f in self.findings if f.status == UNSOLD)


def check_package(
    config: Config, name: str, lengths: tuple[int, ...] = DEFAULT_LENGTHS, day: date | None = None
) -> GoLiveCheck:
    """Load the package's decks (as `rate` does) and check it on `day` (default today)."""
    package = config.packages.get(name)
    if package is None:
        known = ", ".join(config.packages) or "none"
        raise UsageError(f"no package named {name!r} in {config.path}", hint=f"packages: {known}")
    loaded: dict[str, Deck] = {}
    sell = None
    if package.deck is not None:
        deck_config = config.decks[package.deck]
        sell = loaded[package.deck] = load_deck(
            deck_config.path,
            layout=deck_config.layout,
            timezone=config.timezone,
            check_command=check_command(config.path, package.deck),
        )
    cost = cost_deck(config, package, loaded)
    if cost is None:
        raise UsageError(
            f"package {name!r} has no deck and no cost_deck: nothing to check against",
            hint=f'set cost_deck = "<the carrier\'s deck>" in [packages.{name}]',
        )
    when = day or datetime.now(config.timezone).date()
    start = local_midnight_epoch(when, config.timezone)
    return check(package, sell, cost, start, lengths, when)


def check(
    package: Package,
    sell: Deck | None,
    cost: Deck,
    start: int,
    lengths: tuple[int, ...],
    day: date,
) -> GoLiveCheck:
    """The check itself (see the module docstring), at the epoch `start`."""
    # a prefix has no whole number for a regex special rule to match: prefix rules only
    prefix_rules = tuple(rule for rule in package.special if rule.type == "prefix")
    prices = PriceList(replace(package, special=prefix_rules), sell)
    rounded = rounder(package.rounding_digits, package.rounding_mode)  # rules §6.5
    outbound = prices.increments["outbound"]
    prefixes = {row.prefix for row in cost.rows}
    prefixes.update(rule.pattern for rule in prefix_rules if rule.direction != "inbound")
    prefixes.update(custom.prefix for custom in package.custom_rates)
    if sell is not None:
        prefixes.update(row.prefix for row in sell.rows)
    fixed: dict[tuple[str, str], RateSource] = {}  # one object per special rule or custom rate
    prices_of: dict[tuple[int, int], Decimal] = {}  # (id(source), seconds) -> price
    costs_of: dict[tuple[int, int], Decimal] = {}  # (id(cost row), seconds) -> carrier cost
    found = GoLiveCheck(package.name, day, lengths, [], prefixes=len(prefixes))
    for prefix in sorted(prefixes):
        row = cost.lookup(prefix, start)
        source = prices.fixed_source(
            prefix, Normalised(prefix, prefix, "", None, None, ()), "outbound"
        )
        if source is not None:
            source = fixed.setdefault((source.kind, source.matched_prefix), source)
        else:
            source = prices.deck_source(prefix, start)
        if row is None:
            found.no_carrier_row += 1
            continue
        if source is None:
            found.findings.append(Finding(prefix, UNSOLD, row.prefix))
            continue
        for seconds in lengths:
            key = (id(source), seconds)
            price = prices_of.get(key)
            if price is None:
                price = prices_of[key] = rounded(_price(source, seconds))
            cost_key = (id(row), seconds)
            carrier = costs_of.get(cost_key)
            if carrier is None:
                carrier = costs_of[cost_key] = rounded(
                    row_cost(row, row.increment or outbound, seconds)
                )
            if price < carrier:
                found.findings.append(
                    Finding(
                        prefix,
                        BELOW_COST,
                        row.prefix,
                        seconds,
                        source.kind,
                        source.matched_prefix,
                        price,
                        carrier,
                    )
                )
    return found


def _price(source: RateSource, seconds: int) -> Decimal:
    """rules §6 for an answered call of `seconds`, without free minutes, before rounding; a
    length within the source's no_charge_seconds is priced 0."""
    if seconds <= source.no_charge_seconds:
        return Decimal(0)
    return pricing.cost(source, source.billed_seconds(seconds), 0)


FINDING_COLUMNS = [
    "prefix",
    "status",
    "seconds",
    "sell_source",
    "sell_prefix",
    "price",
    "cost_prefix",
    "cost",
    "margin",
    "currency",
]


def finding_rows(found: GoLiveCheck, currency: str) -> list[dict[str, str]]:
    """One row per finding, money as plain decimals (empty where there is none)."""
    return [
        {
            "prefix": finding.prefix,
            "status": finding.status,
            "seconds": "" if finding.seconds is None else str(finding.seconds),
            "sell_source": finding.sell_source,
            "sell_prefix": finding.sell_prefix,
            "price": _text(finding.price),
            "cost_prefix": finding.cost_prefix,
            "cost": _text(finding.cost),
            "margin": _text(finding.margin),
            "currency": currency,
        }
        for finding in found.findings
    ]


def write_csv(stream: IO[str], found: GoLiveCheck, currency: str) -> None:
    writer = csv.DictWriter(stream, fieldnames=FINDING_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(finding_rows(found, currency))


def write_json(stream: IO[str], found: GoLiveCheck, currency: str) -> None:
    document = {
        "package": found.package,
        "date": found.day.isoformat(),
        "lengths": list(found.lengths),
        "currency": currency,
        "prefixes": found.prefixes,
        "below_cost_prefixes": found.below_cost,
        "unsold_prefixes": found.unsold,
        "no_carrier_row_prefixes": found.no_carrier_row,
        "findings": [
            {
                **row,
                "seconds": None if not row["seconds"] else int(row["seconds"]),
                **{key: row[key] or None for key in ("price", "cost", "margin")},
            }
            for row in finding_rows(found, currency)
        ],
    }
    json.dump(document, stream, indent=2, ensure_ascii=False)
    stream.write("\n")


def _text(value: Decimal | None) -> str:
    return "" if value is None else format_money(value)
