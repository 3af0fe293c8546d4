"""Write the example customer statement: service mcon, October 2026, from examples/cdrs.csv.

Until `voipbill statement` exists this rates the example CDR file itself (as `voipbill rate
--cdr-file` does) and prints the result as a preview, or as a committed run with --committed.

Run: python examples/make_statement.py [--committed] [--service NAME] OUT.html|OUT.pdf
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from voipbill import config as config_module
from voipbill.billing.raters import build_raters
from voipbill.billing.scope import RatingRun
from voipbill.cdrs import read_cdr_file
from voipbill.periods import make_period, parse_month
from voipbill.statement import build_statement, render_for

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--service", default="mcon")
    parser.add_argument("--period", default="2026-10")
    parser.add_argument("--committed", action="store_true", help="print as a committed run")
    parser.add_argument("--paper", default="a4", choices=["a4", "letter"])
    args = parser.parse_args()

    config = config_module.load(HERE / "voipbill.toml")
    service = config.service(args.service)
    period = make_period(*parse_month(args.period), config.timezone)
    (rater,) = build_raters(config, [service])
    run = RatingRun([rater], period)
    run.feed(read_cdr_file(HERE / "cdrs.csv", problems=[]), "examples/cdrs.csv")
    run.sources_done()
    committed_at = datetime(2026, 11, 2, 8, 15, tzinfo=UTC) if args.committed else None
    data = build_statement(
        rater.calls(),
        service=service,
        period=period,
        currency=config.currency,
        rounding_digits=config.package_of(service).rounding_digits,
        settings=config.statement,
        run_id="7" if args.committed else None,
        committed_at=committed_at,
        made_at=datetime(2026, 11, 2, 8, 0, tzinfo=UTC),
    )
    args.output.write_bytes(render_for(data, args.output, paper=args.paper))


if __name__ == "__main__":
    main()
