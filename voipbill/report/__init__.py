"""What is written from a run's result: the calls CSV, the summary CSV and JSON (rules §7).

`write(stream, result, layout)` and `render(result, layout)` take a billing.RunResult; the
row writers below them (`write_calls_csv`, the fast `write_priced_csv`) take calls or raters.
"""

from __future__ import annotations

from voipbill.billing.totals import CategoryTotal, ServiceTotals, billed_minutes, tally
from voipbill.report.calls import (
    CALL_COLUMNS,
    StartFormatter,
    call_document,
    call_values,
    csv_field,
    plain,
    write_calls_csv,
    write_priced_csv,
)
from voipbill.report.documents import (
    JSON_VERSION,
    SUMMARY_COLUMNS,
    render,
    service_summary,
    summary_rows,
    write,
    write_csv,
    write_json,
)

__all__ = [
    "CALL_COLUMNS",
    "JSON_VERSION",
    "SUMMARY_COLUMNS",
    "CategoryTotal",
    "ServiceTotals",
    "StartFormatter",
    "billed_minutes",
    "call_document",
    "call_values",
    "csv_field",
    "plain",
    "render",
    "service_summary",
    "summary_rows",
    "tally",
    "write",
    "write_calls_csv",
    "write_csv",
    "write_json",
    "write_priced_csv",
]
