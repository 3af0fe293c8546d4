"""Rate CDR rows as `voipbill rate` does: one `billing.run` over a FusionPBX export, no ledger.

The rating tests price calls by hand and compare; they go through the same entry point as the
CLI, so a test can never pass on a rater assembled differently from the real one.
"""

from __future__ import annotations

from pathlib import Path

from tests.cdrfactory import write_export
from voipbill import billing
from voipbill import config as config_module
from voipbill.config import Config
from voipbill.periods import resolve_period
from voipbill.rating import RatedCall


def rate_rows(
    config: Path | Config,
    rows: list[dict[str, str]],
    *,
    first: str = "2026-10-01",
    last: str = "2026-10-31",
    export: Path | None = None,
) -> list[RatedCall]:
    """Every call of `rows` for every service of `config`, service by service, in the period
    `first`..`last`. The rows are written as an export beside the config file (or to `export`);
    a row the reader cannot split fails the run, as it fails `rate`."""
    if isinstance(config, Path):
        export = export or config.parent / "cdrs.csv"
        config = config_module.load(config)
    assert export is not None, "a loaded Config needs `export`: where to write the rows"
    period = resolve_period(config.timezone, from_day=first, to_day=last, month=None)
    assert period is not None
    selection = billing.Selection(tuple(config.services.values()))
    result = billing.run(config, selection, period, billing.CdrFile(write_export(export, rows)))
    return list(result.calls())
