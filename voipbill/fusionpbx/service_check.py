"""One customer's fields against the PBX: the calls of each extension and DID, and the calls
on extensions that no service bills (`test-connection --service`).

An admin types the extensions field by hand; a `2216` where the PBX has `2261` passes every
syntax check, and the calls on 2261 are never billed. Counting the export's calls per field
value shows it at onboarding, before the first invoice.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from voipbill.cdrs import CdrProblem, CdrRecord, read_cdrs
from voipbill.config import Config, Service
from voipbill.fusionpbx.client import FusionPBXClient
from voipbill.numbers import Normaliser, NumberPlan
from voipbill.periods import Period
from voipbill.text import shown

# How many of the busiest unbilled extensions a report names.
NAMED_UNBILLED = 5


@dataclass(frozen=True)
class FieldCount:
    field: str  # "extensions" or "tenant" (where the DIDs are typed)
    value: str  # the extension, or the DID in E.164 with '+'
    calls: int


@dataclass
class ServiceCheck:
    service: str
    domain: str
    period: Period
    explicit_dates: bool  # --from/--to given, not the default last 30 days
    calls: int = 0  # a-leg calls in the export, each uuid once
    counts: list[FieldCount] = field(default_factory=list)
    unbilled: list[tuple[str, int]] = field(default_factory=list)  # busiest first
    outbound_without_extension: int = 0  # no service bills those (an outbound call has no DID)
    problems: list[CdrProblem] = field(default_factory=list)

    @property
    def unbilled_calls(self) -> int:
        return sum(calls for _, calls in self.unbilled)

    def warnings(self) -> list[str]:
        """One line per field value without a call, then one for the unbilled extensions."""
        first, last = self.period.first_day, self.period.last_day
        when = f"from {first} to {last}" if self.explicit_dates else f"since {first}"
        lines = [
            f"{count.value}: no calls {when}: check the {count.field} field"
            for count in self.counts
            if count.calls == 0
        ]
        if self.unbilled:
            named = ", ".join(extension for extension, _ in self.unbilled[:NAMED_UNBILLED])
            more = len(self.unbilled) - NAMED_UNBILLED
            named += f" and {more} more" if more > 0 else ""
            lines.append(
                f"{self.unbilled_calls} call(s) on {len(self.unbilled)} extension(s) of "
                f"{self.domain} that no service bills: {named}"
            )
        if self.outbound_without_extension:
            lines.append(
                f"{self.outbound_without_extension} outbound call(s) with no extension, which no "
                "service bills"
            )
        if self.problems:
            lines.append(f"{len(self.problems)} row(s) of the export could not be read")
        return lines


def check_service(
    client: FusionPBXClient,
    config: Config,
    service: Service,
    period: Period,
    *,
    explicit_dates: bool = False,
) -> ServiceCheck:
    """Export the period in one request and count the calls of the service's fields."""
    # end_epoch is the midnight after the last day; FusionPBX's range includes its stop.
    body = client.export_range(period.start_epoch, period.end_epoch - 1).body
    result = ServiceCheck(service.name, client.domain, period, explicit_dates)
    records = read_cdrs(
        io.StringIO(body, newline="\n"),
        source=f"{client.server.name} export of {client.domain}",
        problems=result.problems,
    )
    count_calls(result, config, service, records)
    return result


def count_calls(
    result: ServiceCheck, config: Config, service: Service, records: Iterable[CdrRecord]
) -> None:
    normaliser = Normaliser(NumberPlan.from_package(config.package_of(service)))
    # Every extension some service of this domain bills (one domain's export holds no other).
    billed = {
        extension
        for other in config.services.values()
        if other.domain == service.domain
        for extension in other.extension_list
    }
    per_extension: Counter[str] = Counter()
    per_did: Counter[str] = Counter()
    seen: set[str] = set()
    for record in records:
        # a-legs, each call once (rules §4.1), as rating counts them
        if record.leg == "b" or record.xml_cdr_uuid in seen:
            continue
        seen.add(record.xml_cdr_uuid)
        result.calls += 1
        extension = record.extension.strip()
        if extension:
            per_extension[extension] += 1
        elif record.direction == "outbound":
            result.outbound_without_extension += 1
        if record.direction == "inbound":
            dialled = record.caller_destination.strip() or record.destination_number.strip()
            if dialled:
                per_did["+" + normaliser.normalise(dialled).number] += 1
    result.counts = [
        *(FieldCount("extensions", e, per_extension[e]) for e in service.extension_list),
        *(FieldCount("tenant", did, per_did[did]) for did in service.dids),
    ]
    result.unbilled = sorted(
        ((shown(e), calls) for e, calls in per_extension.items() if e not in billed),
        key=lambda item: (-item[1], item[0]),
    )
