"""`audit-numbers` through the same run: the calls `rate` would bill, their numbers judged."""

from __future__ import annotations

from dataclasses import dataclass

from voipbill.audit import Audit, NumberTally, audit, whole_history
from voipbill.billing.messages import messages
from voipbill.billing.result import Message, RunResult
from voipbill.billing.scope import RatingRun
from voipbill.billing.sources import CdrSource, feed
from voipbill.cdrs import CdrProblem
from voipbill.config import Config, Service
from voipbill.numbers import Normaliser, NumberPlan
from voipbill.periods import Period


@dataclass(frozen=True)
class AuditRun:
    audit: Audit
    period: Period | None  # None: every row of a --cdr-file
    messages: list[Message]


def audit_numbers(
    config: Config, service: Service, period: Period | None, sources: CdrSource
) -> AuditRun:
    """Judge each number on the service's calls of `period` (None: every row of the file)."""
    package = config.package_of(service)
    tally = NumberTally(
        service,
        package,
        Normaliser(NumberPlan.from_package(package)),
        export_domain=config.export_domain(service),
    )
    # With only a file, every row of it is audited (rules §10 has no period to apply).
    scope = RatingRun([tally], period or whole_history(config.timezone))
    problems: list[CdrProblem] = []
    warnings: list[str] = []
    feed(scope, config, [tally], scope.period, sources, problems=problems, warnings=warnings)
    # the run's own accounting (rows skipped, b-legs dropped), nothing priced
    left_out = RunResult(
        scope.period,
        config.currency,
        config.timezone,
        config.timezone_name,
        [],
        counters=scope.counters,
        problems=problems,
        source_warnings=warnings,
    )
    return AuditRun(audit(tally), period, messages(left_out))
