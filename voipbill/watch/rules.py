"""The six alert rules of rules §14, over the figures of voipbill.watch.figures.

Each alert has its key — (service, rule, scope, item, level) — by which the ledger records it
once (voipbill.watch.record): the scope is the watch day or the billing period, the item a call
or a country code where the rule has one, and the level the multiple of a spend threshold the
figure passed (a spend alert comes back at each further multiple).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from voipbill.config.watch import WatchSettings
from voipbill.ledger.base import LedgerBase
from voipbill.money import format_money
from voipbill.periods import billing_period
from voipbill.watch import figures
from voipbill.wording import amount_text, counted


@dataclass(frozen=True, slots=True)
class Alert:
    service: str
    rule: str
    day: date
    value: str  # money as a decimal string, or a count / a country code
    threshold: str
    detail: str
    line: str  # `alert: acme: …`, what stderr and the webhook's text say
    scope: str  # the day or the period the alert is about
    item: str = ""  # the call or the country code, where the rule has one
    level: int = 1  # the multiple of a spend threshold passed

    @property
    def key(self) -> tuple[str, str, str, str, int]:
        return (self.service, self.rule, self.scope, self.item, self.level)

    def to_json(self) -> dict[str, object]:
        return {
            "service": self.service,
            "rule": self.rule,
            "day": self.day.isoformat(),
            "value": self.value,
            "threshold": self.threshold,
            "detail": self.detail,
        }


def _level(value: Decimal, threshold: Decimal) -> int:
    """How many multiples of the threshold the figure is over: 62 over 50 is 1, 101 is 2."""
    if threshold <= 0:
        return 1
    whole = int(value / threshold)
    return whole if value > whole * threshold else whole - 1


def _spend(
    service: str,
    rule: str,
    day: date,
    cost: Decimal,
    limit: Decimal,
    money: _Money,
    *,
    where: str,
    scope: str,
) -> list[Alert]:
    """A spend rule's alert, at the multiple of its threshold the cost has passed (rules §14)."""
    if cost <= limit:
        return []
    level = _level(cost, limit)
    over = limit * level if limit > 0 else limit
    return [
        Alert(
            service, rule, day, money.plain(cost), money.plain(over),
            f"spend {where}",
            f"alert: {service}: spend {money.text(cost)} {where} is over "
            f"{rule} {money.plain(over)}",
            scope=scope, level=level,
        )
    ]  # fmt: skip


def check(
    ledger: LedgerBase,
    service: str,
    settings: WatchSettings,
    day: date,
    zone: ZoneInfo,
    currency: str,
    billing_day: int | None,
) -> list[Alert]:
    """Every alert of one service on the watch day, in the order of rules §14's table."""
    start, end = figures.day_range(day, zone)
    found: list[Alert] = []
    money = _Money(currency)
    day_cost: Decimal | None = None
    if settings.spend_per_day is not None:
        day_cost = figures.cost_between(ledger, service, start, end)
        found += _spend(
            service, "spend_per_day", day, day_cost, settings.spend_per_day, money,
            where=f"on {day}", scope=day.isoformat(),
        )  # fmt: skip
    if settings.spend_per_period is not None:
        period = billing_period(day, billing_day, zone)
        cost = figures.cost_between(ledger, service, period.start_epoch, period.end_epoch)
        found += _spend(
            service, "spend_per_period", day, cost, settings.spend_per_period, money,
            where=f"in {period.name}", scope=period.name,
        )  # fmt: skip
    if settings.call_cost is not None:
        for uuid, epoch, cost in figures.costly_calls(
            ledger, service, start, end, settings.call_cost
        ):
            at = datetime.fromtimestamp(epoch, zone).strftime("%H:%M")
            found.append(
                Alert(
                    service, "call_cost", day, money.plain(cost), money.plain(settings.call_cost),
                    f"call {uuid} at {at}",
                    f"alert: {service}: call {uuid} at {at} on {day} cost {money.text(cost)}, "
                    f"over call_cost {money.plain(settings.call_cost)}",
                    scope=day.isoformat(), item=uuid,
                )
            )  # fmt: skip
    if settings.spike_factor is not None:
        if day_cost is None:
            day_cost = figures.cost_between(ledger, service, start, end)
        median = statistics.median(figures.daily_costs(ledger, service, day, zone))
        floor = settings.spike_floor if settings.spike_floor is not None else Decimal(0)
        limit = settings.spike_factor * median
        if day_cost > limit and day_cost > floor:
            found.append(
                Alert(
                    service, "spike_factor", day, money.plain(day_cost),
                    money.plain(max(limit, floor)),
                    f"median of the {figures.BASELINE_DAYS} days before: {money.plain(median)}",
                    f"alert: {service}: spend {money.text(day_cost)} on {day} is over "
                    f"spike_factor {format_money(settings.spike_factor)} × the median "
                    f"{money.plain(median)} of the {figures.BASELINE_DAYS} days before "
                    f"(and over spike_floor {money.plain(floor)})",
                    scope=day.isoformat(),
                )
            )  # fmt: skip
    if settings.new_country:
        history = figures.day_range(day - timedelta(days=figures.COUNTRY_DAYS), zone)[0]
        for code in figures.new_countries(ledger, service, start, end, history):
            found.append(
                Alert(
                    service, "new_country", day, f"+{code}", "new_country",
                    f"no call to +{code} in the {figures.COUNTRY_DAYS} days before",
                    f"alert: {service}: international call to country code +{code} on {day}, "
                    f"none in the {figures.COUNTRY_DAYS} days before (new_country)",
                    scope=day.isoformat(), item=code,
                )
            )  # fmt: skip
    if settings.burst is not None:
        window = settings.burst.minutes * 60
        count, first = _densest(figures.risky_starts(ledger, service, start, end), window)
        if count >= settings.burst.calls:
            at = datetime.fromtimestamp(first, zone).strftime("%H:%M")
            limit_text = f"{settings.burst.calls} calls in {settings.burst.minutes} minutes"
            found.append(
                Alert(
                    service, "burst", day, str(count), limit_text,
                    f"from {at}",
                    f"alert: {service}: {counted(count, 'international or premium call')} "
                    f"within {settings.burst.minutes} minutes from {at} on {day}, "
                    f"burst {limit_text}",
                    scope=day.isoformat(),
                )
            )  # fmt: skip
    return found


def _densest(starts: list[int], window: int) -> tuple[int, int]:
    """(most calls started within `window` seconds of the first of them, that first start)."""
    best, first, low = 0, 0, 0
    for high, epoch in enumerate(starts):
        while epoch - starts[low] >= window:
            low += 1
        if high - low + 1 > best:
            best, first = high - low + 1, starts[low]
    return best, first


class _Money:
    def __init__(self, currency: str) -> None:
        self.currency = currency

    def text(self, amount: Decimal) -> str:
        return amount_text(amount, self.currency)

    def plain(self, amount: Decimal) -> str:
        return amount_text(amount, self.currency).removesuffix(f" {self.currency}")
