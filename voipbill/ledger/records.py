"""The records the billing ledger keeps (rules §9), whatever store holds them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from voipbill.numbers import country_code_of
from voipbill.periods import Period
from voipbill.rating import CHARGED_STATUSES, RatedCall

COMMITTED, VOIDED = "committed", "voided"


class LedgerCall(NamedTuple):
    """One row of a committed run: the call as its output listed it, and its ledger key.

    With it, what the call cost the operator (rules §15): its carrier cost (None: no cost-deck
    row) and the cost deck's matched prefix ("" for none); a prefix of None records nothing,
    which reads back as a call committed before carrier costs were recorded.
    """

    server: str  # with call.call_uuid, the key of rules §9: (server, xml_cdr_uuid)
    call: RatedCall
    carrier_cost: Decimal | None = None
    carrier_prefix: str | None = None
    # the billing period the call is billed in (its label); None: the run's own period
    period: str | None = None
    # listed by the run, but billed in its period by an earlier run: not claimed again
    held: bool = False


def call_facts(call: RatedCall) -> tuple[str, str, str | None]:
    """(direction, category, country calling code or None) of a committed call, which the
    alert rules read in SQL (rules §14: new countries, bursts of international calls)."""
    code = country_code_of(call.normalized.lstrip("+")) if call.normalized else None
    return call.direction, call.category, None if code is None else str(code)


@dataclass(frozen=True, slots=True)
class ServiceTotal:
    service: str
    calls: int
    late_calls: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class RunSelection:
    """What a run rated and how it printed it: a rerun of the same selection is a replay."""

    period: Period
    services: tuple[str, ...]
    late_days: int
    format: str
    detail: str
    # "SOURCE line N" of each bad CDR row a run with --skip-bad-rows left out (rules §7, §9)
    skipped_rows: tuple[str, ...] = ()
    # (service, month "YYYY-MM" in the config timezone, free seconds the run gave), rules §6
    free_seconds: tuple[tuple[str, str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: int
    period: str
    first_day: date
    last_day: date
    services: tuple[str, ...]
    late_days: int
    format: str
    detail: str
    currency: str
    calls: int
    late_calls: int
    amount: Decimal
    output_path: str
    output_sha256: str
    status: str
    created: str
    voided: str | None
    per_service: tuple[ServiceTotal, ...]
    void_reason: str | None = None
    skipped_rows: tuple[str, ...] = ()  # bad CDR rows left out with --skip-bad-rows

    def to_json(self) -> dict[str, object]:
        return {
            "run": self.id,
            "period": self.period,
            "period_start": self.first_day.isoformat(),
            "period_end": self.last_day.isoformat(),
            "services": [
                {
                    "service": t.service,
                    "calls": t.calls,
                    "late_calls": t.late_calls,
                    "amount": str(t.amount),
                }
                for t in self.per_service
            ],
            "late_days": self.late_days,
            "format": self.format,
            "detail": self.detail,
            "calls": self.calls,
            "late_calls": self.late_calls,
            "amount": str(self.amount),
            "currency": self.currency,
            "output": self.output_path,
            "sha256": self.output_sha256,
            "status": self.status,
            "created": self.created,
            "voided": self.voided,
            "void_reason": self.void_reason,
            "skipped_rows": len(self.skipped_rows),
            "skipped_lines": list(self.skipped_rows),
        }


def call_row(call: RatedCall) -> list[object]:
    """A committed call as stored: its fields in order, money as strings (never floats)."""
    return [
        None if value is None else str(value) if isinstance(value, Decimal) else value
        for value in call
    ]


def call_from_row(row: list[object]) -> RatedCall:
    """The committed call back from `call_row`, every field as it was listed."""
    values = list(row)
    for index in _MONEY_FIELDS:
        text = values[index]
        values[index] = None if text is None else Decimal(str(text))
    return RatedCall(*values)  # type: ignore[arg-type]


_MONEY_FIELDS = tuple(RatedCall._fields.index(name) for name in ("rate", "connect_fee", "cost"))


def service_totals(services: tuple[str, ...], calls: Sequence[LedgerCall]) -> list[ServiceTotal]:
    """Per service: calls listed, late calls, and the amount (rated and late costs, rules §7)."""
    counts = dict.fromkeys(services, 0)
    late = dict.fromkeys(services, 0)
    amounts = dict.fromkeys(services, Decimal(0))
    for entry in calls:
        call = entry.call
        counts[call.service] += 1
        if call.status == "late":
            late[call.service] += 1
        if call.status in CHARGED_STATUSES and call.cost is not None:
            amounts[call.service] += call.cost
    return [ServiceTotal(name, counts[name], late[name], amounts[name]) for name in services]
