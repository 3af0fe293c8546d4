"""Before a push sends anything: is the invoicing system set up to bill it? (rules §11)

Both systems can take usage and never bill it, with no error:

- Lago answers 200 and drops an event whose subscription is unknown, not active, or does not
  cover the event's time, or whose `code` is no billable metric. So each service's
  subscription and the metric are looked up first; when either is wrong nothing is sent for
  that service (exit 5, the reason named). The metric must sum `cost`: voipbill prices the
  calls, Lago adds them up.
- WHMCS adds a billable item to a service of any status, and `AddBillableItem` has no
  currency: the amount is billed in the client's currency. A service that is not Active is a
  money warning (its usage may wait for a renewal invoice that never comes); a client whose
  currency is not the config's is refused (exit 5, nothing sent for that service).

Each check reads; none writes. One lookup per metric, subscription and client per push.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from voipbill.errors import ConfigError
from voipbill.invoicing.whmcs import WhmcsService

SUM = "sum_agg"
COST = "cost"
OTHER_STATUSES = ("pending", "terminated", "canceled")


@dataclass
class Checks:
    """What the pre-flight found: money warnings, and the services refused with a reason."""

    warnings: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


# --- Lago ---------------------------------------------------------------------------------------


class LagoLookups(Protocol):
    def subscription(self, external_id: str, *, status: str = "") -> dict[str, Any] | None: ...

    def billable_metric(self, code: str) -> dict[str, Any] | None: ...


def metric_problem(lago: LagoLookups, code: str) -> str | None:
    """Why Lago would not bill events of `code`, or None."""
    metric = lago.billable_metric(code)
    if metric is None:
        return (
            f"Lago has no billable metric {code!r} (invoicing -> lago -> metric_code): "
            "it would drop every event"
        )
    aggregation, name = metric.get("aggregation_type"), metric.get("field_name")
    if aggregation not in (None, SUM) or name not in (None, COST):
        return (
            f"Lago's billable metric {code!r} is {aggregation} of {name!r}: it must be "
            f'{SUM} of "{COST}" (voipbill prices each call; Lago adds the costs up)'
        )
    return None


def subscription_problem(
    lago: LagoLookups, external_id: str, first_epoch: int, last_epoch: int
) -> str | None:
    """Why Lago would drop events of `external_id` timed first..last, or None."""
    found = lago.subscription(external_id)
    name = f"Lago subscription {external_id!r}"
    if found is None:
        for status in OTHER_STATUSES:  # Lago answers the active one unless asked for another
            other = lago.subscription(external_id, status=status)
            if other is not None and str(other.get("status", status)) == status:
                return f"{name} is {status}, not active: Lago would drop its events"
        return (
            f"Lago has no active subscription {external_id!r} (lago_subscription): "
            "it would drop the events"
        )
    status = str(found.get("status") or "")
    if status != "active":
        return f"{name} is {status or 'of no status'}, not active: Lago would drop its events"
    started = _time(found.get("started_at"))
    if started is None:
        return f"{name} has not started: Lago would drop its events"
    if started > first_epoch:
        return (
            f"{name} started {_shown(started)}, after the first event ({_shown(first_epoch)}): "
            "Lago would drop the events before its start"
        )
    ending = _time(found.get("ending_at"))
    if ending is not None and ending < last_epoch:
        return (
            f"{name} ends {_shown(ending)}, before the last event ({_shown(last_epoch)}): "
            "Lago would drop the events after its end"
        )
    return None


def _time(value: object) -> float | None:
    """An ISO 8601 time of Lago (`2026-10-01T00:00:00.000Z`) as an epoch, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _shown(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# --- WHMCS --------------------------------------------------------------------------------------


class WhmcsLookups(Protocol):
    def service(self, service_id: int) -> WhmcsService | None: ...

    def client_currency(self, client_id: int) -> str: ...


@dataclass(frozen=True)
class WhmcsTarget:
    name: str  # the voipbill service
    service_id: int  # its whmcs_service_id


def whmcs_checks(
    whmcs: WhmcsLookups, targets: Sequence[WhmcsTarget], *, currency: str, invoice_action: str
) -> tuple[dict[str, int], Checks]:
    """Each service's WHMCS client, after checking its status and its client's currency."""
    clients: dict[str, int] = {}
    currencies: dict[int, str] = {}
    checks = Checks()
    for target in targets:
        found = whmcs.service(target.service_id)
        if found is None:
            raise ConfigError(
                f"services -> {target.name} -> whmcs_service_id: WHMCS has no service "
                f"{target.service_id}",
                hint="the id is in the service's URL in WHMCS (clientsservices.php?...&id=N)",
            )
        clients[target.name] = found.client_id
        status = found.status.strip()
        if status and status.lower() != "active":  # no status given: nothing to warn about
            checks.warnings.append(status_warning(target, status, invoice_action))
        if found.client_id not in currencies:
            currencies[found.client_id] = whmcs.client_currency(found.client_id)
        theirs = currencies[found.client_id]
        if theirs != currency.upper():
            checks.refused[target.name] = (
                f"WHMCS client {found.client_id} is billed in {theirs}, the config's currency is "
                f"{currency}: AddBillableItem has no currency, so WHMCS would bill these "
                f"{currency} amounts as {theirs}"
            )
    return clients, checks


def status_warning(target: WhmcsTarget, status: str, invoice_action: str) -> str:
    """What happens to a usage line of a service that is not Active, per invoice_action."""
    shown = status or "of no status"
    what = {
        "nextinvoice": (
            "its usage waits for the service's next renewal invoice, which a "
            f"{shown} service may never get: invoice it by hand (the client's Billable Items, "
            'Invoice Selected Items) or use invoice_action = "nextcron"'
        ),
        "nextcron": "WHMCS invoices its usage on its next cron run all the same",
        "noinvoice": "its usage stays uninvoiced until it is invoiced by hand in WHMCS",
    }.get(invoice_action, "check that its usage still reaches an invoice")
    return (
        f"{target.name}: WHMCS service {target.service_id} is {shown}, not Active; with "
        f'invoice_action = "{invoice_action}" {what}'
    )
