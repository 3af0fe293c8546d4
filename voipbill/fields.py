"""Product field strings (SPEC §1). PLACEHOLDER until the fields work lands."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldProblem:
    field: str
    segment: int
    text: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}, segment {self.segment}: {self.message}"


@dataclass(frozen=True)
class Tenant:
    domain: str
    dids: tuple[str, ...]
    extension: str | None = None
    peer_id: str | None = None


@dataclass(frozen=True)
class FieldsResult:
    tenant: Tenant | None
    extensions: tuple[str, ...]
    problems: tuple[FieldProblem, ...]


def validate(
    tenant: str,
    extensions: str | None,
    *,
    pbx: str = "fusionpbx",
    country: str = "CA",
    ext_digits: tuple[int, int] = (2, 7),
) -> FieldsResult:
    parts = [p.strip() for p in tenant.split("|")]
    return FieldsResult(
        Tenant(parts[0], tuple("+1" + p for p in parts[1:])),
        tuple(p.strip() for p in (extensions or "").split("|")),
        (),
    )
