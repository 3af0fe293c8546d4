"""What the billing ledger file holds (SPEC §9): its tables, and the records kept in them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from voipbill.periods import Period

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    period TEXT NOT NULL,
    first_day TEXT NOT NULL,
    last_day TEXT NOT NULL,
    services TEXT NOT NULL,
    late_days INTEGER NOT NULL,
    format TEXT NOT NULL,
    detail TEXT NOT NULL,
    currency TEXT NOT NULL,
    calls INTEGER NOT NULL,
    late_calls INTEGER NOT NULL,
    amount TEXT NOT NULL,
    output_path TEXT NOT NULL,
    output_sha256 TEXT NOT NULL,
    output BLOB NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('committed', 'voided')),
    created TEXT NOT NULL,
    voided TEXT
);
CREATE TABLE IF NOT EXISTS run_services (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    position INTEGER NOT NULL,
    service TEXT NOT NULL,
    calls INTEGER NOT NULL,
    late_calls INTEGER NOT NULL,
    amount TEXT NOT NULL,
    PRIMARY KEY (run_id, service)
);
CREATE TABLE IF NOT EXISTS calls (
    server TEXT NOT NULL,
    xml_cdr_uuid TEXT NOT NULL,
    service TEXT NOT NULL,
    period TEXT NOT NULL,
    start_epoch INTEGER NOT NULL,
    status TEXT NOT NULL,
    cost TEXT,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    PRIMARY KEY (server, xml_cdr_uuid)
);
CREATE INDEX IF NOT EXISTS calls_by_run ON calls(run_id);
CREATE TABLE IF NOT EXISTS voided_calls (
    server TEXT NOT NULL,
    xml_cdr_uuid TEXT NOT NULL,
    service TEXT NOT NULL,
    period TEXT NOT NULL,
    start_epoch INTEGER NOT NULL,
    status TEXT NOT NULL,
    cost TEXT,
    run_id INTEGER NOT NULL REFERENCES runs(id)
);
"""
# Why a run was voided (`ledger void --reason`); made by the first void that gives one, so a
# ledger from before reasons were kept needs no new version.
VOID_REASONS = """
CREATE TABLE IF NOT EXISTS void_reasons (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id),
    reason TEXT NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class LedgerCall:
    """One row of a committed run, as the ledger keeps it."""

    service: str
    server: str
    xml_cdr_uuid: str
    start_epoch: int
    status: str
    cost: Decimal | None


@dataclass(frozen=True, slots=True)
class ServiceTotal:
    service: str
    calls: int
    late_calls: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Selection:
    """What a run rated and how it printed it: a rerun of the same selection is a replay."""

    period: Period
    services: tuple[str, ...]
    late_days: int
    format: str
    detail: str


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
        }
