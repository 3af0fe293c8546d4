"""One `voipbill watch` run (rules §14): check the rules, print the new alerts, record them,
send them (and those earlier runs could not send) to the webhook.

The order is the promise: an alert is printed (`announce`) before the ledger records it, so a
run that dies in between prints it again next time (a repeat, never a silence); it is recorded
before the webhook is tried, so a webhook that fails is retried by the next run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from voipbill.config import Config, Service
from voipbill.config.model import read_secret
from voipbill.ledger.base import LedgerBase
from voipbill.watch import figures, record, webhook
from voipbill.watch.rules import Alert, check


@dataclass
class WatchResult:
    alerts: list[Alert] = field(default_factory=list)  # printed by this run
    warnings: list[str] = field(default_factory=list)  # webhooks that failed


def has_calls(ledger: LedgerBase) -> bool:
    """Whether the ledger holds any committed call (else there is nothing to watch)."""
    return ledger.execute("SELECT 1 FROM calls LIMIT 1").fetchone() is not None


def watch(
    ledger: LedgerBase,
    config: Config,
    services: Sequence[Service],
    day: date,
    *,
    repeat: bool,
    announce: Callable[[list[Alert]], None],
) -> WatchResult:
    secrets = _secrets(config)  # a missing key is exit 3 before anything is printed
    found: list[Alert] = []
    for service in services:
        settings = config.watch_of(service)
        found += check(
            ledger,
            service.name,
            settings,
            day,
            config.timezone,
            config.currency,
            config.billing_day_of(service),
        )
    fresh = record.new_alerts(ledger, found)
    shown = found if repeat else fresh
    announce(shown)
    record.record(ledger, ((a, _hook(config, a.service) is None) for a in fresh))
    result = WatchResult(alerts=shown)
    for key, body in record.unsent(ledger):
        hook = _hook(config, key[0])
        if hook is None:  # the webhook was taken out of the config since
            record.mark_sent(ledger, key)
            continue
        url, secret_env = hook
        failure = webhook.post(url, body, None if secret_env is None else secrets[secret_env])
        if failure is None:
            record.mark_sent(ledger, key)
        else:
            result.warnings.append(f"{failure}; the alert is sent again by the next run")
    return result


def _secrets(config: Config) -> dict[str, str]:
    """Each webhook's HMAC key, by the variable named in `webhook_secret_env`."""
    names = {config.watch_of(s).webhook_secret_env for s in config.services.values()}
    return {
        name: read_secret(name, None, "watch -> webhook_secret", "HMAC key").reveal()
        for name in sorted(n for n in names if n is not None)
    }


def _hook(config: Config, service: str) -> tuple[str, str | None] | None:
    if service not in config.services:
        return None
    settings = config.watch_of(config.services[service])
    if settings.webhook_url is None:
        return None
    return settings.webhook_url, settings.webhook_secret_env


def daily_chart(ledger: LedgerBase, config: Config, service: str, day: date) -> list[Decimal]:
    """The service's committed cost on the 28 days before the watch day, then on the day."""
    start, end = figures.day_range(day, config.timezone)
    before = figures.daily_costs(ledger, service, day, config.timezone)
    return [*before, figures.cost_between(ledger, service, start, end)]
