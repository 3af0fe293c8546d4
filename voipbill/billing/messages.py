"""What a run says on stderr, as data: every call left out is accounted for (rules §7, §9).

Warnings about money (rows skipped, calls a preview leaves out as billed in another period, late
calls billed, calls a rerun holds back, unrated calls, a rerun that differs from its committed
run) are `about_money`: the CLI
prints each as one line even with `-q`, so cron mail is empty only when nothing needs a look.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from voipbill.billing.completeness import bad_rows, gave_nothing, where
from voipbill.billing.result import Message, RunResult
from voipbill.cdrs import CdrProblem
from voipbill.money import format_amount
from voipbill.wording import amount_text, counted

MAX_EXAMPLES = 5


def money(code: str, text: str, count: int = 0) -> Message:
    return Message("warning", code, text, count, about_money=True)


def messages(result: RunResult) -> list[Message]:
    """The run's warnings and information lines, in the order they are printed."""
    assert result.complete, "the warnings need every call read (RunResult.drain)"
    counters = result.counters
    found: list[Message] = [Message("warning", "source", text) for text in result.source_warnings]
    found += [money("deck_column", text) for text in result.deck_warnings]
    bad = bad_rows(result.problems)
    if bad:
        shown = "; ".join(f"{where(problem)}: {problem.message}" for problem in bad[:MAX_EXAMPLES])
        more = f"; also {', '.join(_lines(bad[MAX_EXAMPLES:]))}" if len(bad) > MAX_EXAMPLES else ""
        found.append(
            money(
                "rows_skipped",
                f"{len(bad)} bad CDR rows skipped (unreadable: their calls are left out): "
                f"{shown}{more}",
                len(bad),
            )
        )
    others = [
        f"{where(problem)}: {problem.message}: {problem.text}"
        for problem in result.problems
        if not problem.bad
    ] + counters.bad_rows
    count = len(others) - len(counters.bad_rows) + counters.bad_row_count
    if count:
        shown = "; ".join(others[:MAX_EXAMPLES])
        more = f"; and {count - MAX_EXAMPLES} more" if count > MAX_EXAMPLES else ""
        found.append(money("rows_damaged", f"{count} CDR rows read with problems: {shown}{more}"))
    # an empty export alone is a warning; one among sources that gave rows is information
    alone = gave_nothing(counters.rows, result.problems)
    for source in result.empty_sources:
        text = f"{source}: the export has no CDRs at all (FusionPBX's empty export)"
        if alone:
            found.append(money("empty_export", f"{text}: nothing to bill from it"))
        else:
            found.append(Message("info", "empty_export", text))
    if not result.commit:
        for label, billed in sorted(counters.billed_elsewhere.items()):
            found.append(
                money(
                    "billed_elsewhere",
                    f"{counted(billed, 'call')} already billed in {label}: left out",
                    billed,
                )
            )
    late = result.late
    if late:
        found.append(
            money(
                "late_calls",
                f"{counted(late, 'late call')} from before {result.period.first_day} billed in "
                "this run (status late)",
                late,
            )
        )
    record = result.reproduced
    if result.held_back and record is not None:
        found.append(
            money(
                "held_back",
                f"{counted(result.held_back, 'call')} of {result.period.label} "
                f"{_are(result.held_back)} not in committed run "
                f"{record.id} (they reached FusionPBX after it, or were bad rows then): left "
                f"out; {_how_to_bill(result, record.id)}",
                result.held_back,
            )
        )
    if counters.ambiguous:
        found.append(
            money(
                "ambiguous",
                f"{counted(counters.ambiguous, 'call')} matched more than one service: each was "
                "billed once, to the first service named",
                counters.ambiguous,
            )
        )
    unrated = result.unrated
    if unrated:
        found.append(
            money(
                "unrated_calls",
                f"{counted(unrated, 'call')} unrated: no rate source applies; "
                f"{'it is' if unrated == 1 else 'they are'} listed with an "
                "empty cost and left out of every amount (see `voipbill explain`)",
                unrated,
            )
        )
    for below in result.below_cost.values():
        if below.calls:
            found.append(
                money(
                    "below_cost",
                    f"{below.service}: {counted(below.calls, 'call')} sold below carrier cost "
                    f"(margin {format_amount(below.margin, below.digits)} {result.currency}): "
                    "see voipbill margin",
                    below.calls,
                )
            )
    difference = result.difference
    if record is not None and difference is not None:
        found.append(
            money(
                "rerun_differs",
                f"rating {result.period.label} again gives a different result than committed "
                f"run {record.id} for {counted(difference.calls, 'call')} (the deck, config or "
                f"CDRs changed): {amount_text(difference.amount_now, result.currency)} now, "
                f"{amount_text(difference.committed_amount, result.currency)} committed; showing "
                f"the committed result; `voipbill ledger void --run {record.id}` to re-rate",
                difference.calls,
            )
        )
    if record is not None and result.legacy_rerun:
        found.append(
            money(
                "rerun_rated_now",
                f"committed run {record.id} was made by an older voipbill that kept no calls: "
                "in another format, detail or service order than it was committed in, its calls "
                "are shown as rated now, which may differ from what was committed",
            )
        )
    if counters.b_legs or counters.duplicates:
        found.append(
            Message(
                "info",
                "dropped",
                f"dropped {counters.b_legs} b-legs and {counters.duplicates} repeated rows; "
                f"{counters.outside_period} rows outside the period, "
                f"{counters.other_services} in no service of this run",
            )
        )
    if result.gathered:
        listed = sum(sum(service.totals.statuses.values()) for service in result.services)
        committed, fresh = len(result.gathered), listed - len(result.gathered)
        # rules §9: a preview of an open period says "N calls committed, M not yet"
        text = f"{counted(committed, 'call')} committed" + (
            f" by earlier runs of {result.period.label}, {fresh} by this run"
            if result.commit
            else f", {fresh} not yet"
        )
        found.append(Message("info", "committed_in_period", text, committed))
    held = sum(counters.billed_elsewhere.values()) if result.commit else 0
    if held:
        # rules §9: overlapping commit windows are normal (`--days 3` every night): the calls
        # the ledger holds already are left out of the commit, and that is not news
        found.append(
            Message(
                "info",
                "already_committed",
                f"{held:,} call{'' if held == 1 else 's'} already committed",
                held,
            )
        )
    if counters.outside_service_dates:
        found.append(
            Message(
                "info",
                "outside_service_dates",
                f"{counted(counters.outside_service_dates, 'call')} outside their service's dates "
                "(active_from/active_until): not billed",
                counters.outside_service_dates,
            )
        )
    if counters.late_already_billed:
        found.append(
            Message(
                "info",
                "late_already_billed",
                f"{counted(counters.late_already_billed, 'call')} of the --late-days window "
                f"{_are(counters.late_already_billed)} already "
                "billed in an earlier period",
                counters.late_already_billed,
            )
        )
    return found


def _lines(problems: list[CdrProblem]) -> list[str]:
    """ "SOURCE line 4, 9, 12" per source, in order."""
    by_source: dict[str, list[str]] = {}
    for problem in problems:
        by_source.setdefault(problem.source, []).append(str(problem.line))
    return [f"{source} line {', '.join(lines)}" for source, lines in by_source.items()]


def _how_to_bill(result: RunResult, run_id: int) -> str:
    """What bills the held-back calls: the next period's run only reaches them with enough
    --late-days (counted back from its first day), else a void and a new commit."""
    void = f"`voipbill ledger void --run {run_id}` and commit {result.period.label} again"
    if result.held_back_from is None:
        return void
    earliest = datetime.fromtimestamp(result.held_back_from, result.timezone).date()
    next_first_day = result.period.last_day + timedelta(days=1)
    days = (next_first_day - earliest).days
    return (
        f"the next period's run (from {next_first_day}) bills them as late calls with "
        f"--late-days {days} or more (the earliest started on {earliest}), or {void}"
    )


def _are(count: int) -> str:
    return "is" if count == 1 else "are"
