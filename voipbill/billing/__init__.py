"""One billing run, owned by the core: what `rate`, `explain`, `audit-numbers` and `pull` ask.

```
billing.run(config, selection, period, sources, ledger) -> RunResult   # rate now (or reproduce)
billing.committed(config, services, period, ledger) -> RunResult | None  # the ledger alone
billing.result_for(config, selection, period, sources, ledger) -> RunResult  # committed, or now
billing.commit(ledger, result, layout, text, output_path) -> run id | None
billing.commit_window(config, selection, period, sources, ledger, layout, output_path,
                      strict=..., render=...) -> CommitOutcome   # the whole commit protocol
billing.margin_of(config, selection, period, sources, ledger, by) -> (RunResult, margins)
```
A `RunResult` holds the calls per service, their totals, what was left out and why, and its
warnings (`messages(result)`); `report` and `cli/tables` render it. Nothing here prints.
"""

from __future__ import annotations

from voipbill.billing.audit import AuditRun, audit_numbers
from voipbill.billing.commit import CommitOutcome, Renderer, StrictFailure, commit_window
from voipbill.billing.explain import Explanation, explain
from voipbill.billing.margin import margin_of
from voipbill.billing.messages import messages
from voipbill.billing.raters import select_services
from voipbill.billing.result import Difference, Layout, Message, RunResult, ServiceResult
from voipbill.billing.run import Selection, commit, committed, result_for, run
from voipbill.billing.sources import (
    CdrFile,
    CdrSource,
    LedgerOnly,
    Pulled,
    Servers,
    pull,
    source_of,
)
from voipbill.billing.totals import CategoryTotal, ServiceTotals, billed_minutes

__all__ = [
    "AuditRun",
    "CategoryTotal",
    "CdrFile",
    "CdrSource",
    "CommitOutcome",
    "Difference",
    "Explanation",
    "Layout",
    "LedgerOnly",
    "Message",
    "Pulled",
    "Renderer",
    "RunResult",
    "Selection",
    "Servers",
    "ServiceResult",
    "ServiceTotals",
    "StrictFailure",
    "audit_numbers",
    "billed_minutes",
    "commit",
    "commit_window",
    "committed",
    "explain",
    "margin_of",
    "messages",
    "pull",
    "result_for",
    "run",
    "select_services",
    "source_of",
]
