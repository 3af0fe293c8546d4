"""Where a run's CDRs come from (a `--cdr-file` or the servers), and what it left out."""

from __future__ import annotations

from pathlib import Path

from voipbill.cdrs import CdrProblem, read_cdr_file
from voipbill.cli import output
from voipbill.config import Config
from voipbill.fusionpbx import FusionPBXClient
from voipbill.ledger_records import RunRecord
from voipbill.periods import Period
from voipbill.rating import ServiceRater
from voipbill.runs import RatingRun

MAX_PROBLEMS_SHOWN = 5


def feed_run(
    run: RatingRun,
    config: Config,
    raters: list[ServiceRater],
    period: Period,
    *,
    cdr_file: Path | None,
    problems: list[CdrProblem],
) -> None:
    if cdr_file is not None:
        run.feed(read_cdr_file(cdr_file, problems=problems), str(cdr_file))
        run.sources_done()
        return
    # One export per (server, domain): services sharing a tenant domain share its CDRs.
    groups: dict[tuple[str, str], list[ServiceRater]] = {}
    for rater in raters:
        server = config.server_of(rater.service)
        groups.setdefault((server.name, config.export_domain(rater.service)), []).append(rater)
    for (server_name, domain), members in groups.items():
        with FusionPBXClient(config.servers[server_name], domain) as client:
            records = client.records(period, problems)
            run.feed(records, f"{server_name}:{domain}", members)
            for warning in client.warnings:
                output.warn(warning)
    run.sources_done()


def report_run(
    run: RatingRun,
    problems: list[CdrProblem],
    *,
    unrated: int,
    late: int = 0,
    replay: RunRecord | None = None,
) -> None:
    """Warnings on stderr (silenced by -q): every call left out is accounted for."""
    counters = run.counters
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        output.warn(f"{problem.source} line {problem.line}: {problem.message}: {problem.text}")
    if len(problems) > MAX_PROBLEMS_SHOWN:
        output.warn(f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more unreadable CDR rows")
    for message in counters.bad_rows:
        output.warn(message)
    if counters.bad_row_count > len(counters.bad_rows):
        output.warn(f"... and {counters.bad_row_count - len(counters.bad_rows)} more rows left out")
    for label, count in sorted(counters.billed_elsewhere.items()):
        output.warn(f"{count} calls already billed in {label}: left out")
    if late:
        output.warn(
            f"{late} late calls from before {run.period.first_day} billed in this run (status late)"
        )
    held_back = run.held_back_calls()
    if held_back and replay is not None:
        output.warn(
            f"{held_back} calls of {run.period.label} are not in "
            f"committed run {replay.id} (they reached FusionPBX after it): left out; "
            "the next period's run bills them with --late-days"
        )
    if counters.ambiguous:
        output.warn(
            f"{counters.ambiguous} calls matched more than one service: each was billed "
            "once, to the first service named"
        )
    if unrated:
        output.warn(
            f"{unrated} calls unrated: no rate source applies; they are listed with an "
            "empty cost and left out of every amount (see `voipbill explain`)"
        )
    if counters.b_legs or counters.duplicates:
        output.info(
            f"dropped {counters.b_legs} b-legs and {counters.duplicates} repeated rows "
            f"(SPEC §4.1); {counters.outside_period} rows outside the period, "
            f"{counters.other_services} in no service of this run"
        )
    if counters.late_already_billed:
        output.info(
            f"{counters.late_already_billed} calls of the --late-days window are already billed "
            "in an earlier period"
        )
