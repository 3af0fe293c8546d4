"""Never twice: the journal around the real clients and the fakes (memory store)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.fakelago import FakeLago
from tests.fakewhmcs import FakeWhmcs
from tests.invoicinghelpers import lago_settings, whmcs_settings
from tests.memoryjournal import MemoryJournal
from tests.test_lago_client import events
from voipbill.errors import ExitCode, UsageError
from voipbill.invoicing.journal import (
    LAGO,
    WHMCS,
    LineState,
    PendingLines,
    WhmcsLine,
    push_lago,
    push_whmcs,
    reconcile_whmcs,
    settle,
)
from voipbill.invoicing.lago import LagoClient
from voipbill.invoicing.lines import CategoryUsage, build_lines
from voipbill.invoicing.transport import AnswerLost, Refused, Rejected
from voipbill.invoicing.whmcs import WhmcsClient


def run_lines(client_id: int = 1) -> list[WhmcsLine]:
    lines = build_lines(
        [
            CategoryUsage("mcon", "national", 3, 750, Decimal("12.3450")),
            CategoryUsage("mcon", "international", 1, 60, Decimal("4.2000")),
            CategoryUsage("mcon", "tollfree", 2, 120, Decimal("0")),
            CategoryUsage("mcon", "total", 6, 930, Decimal("16.5450")),
        ],
        run_id=7,
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        currency="CAD",
    )
    return [WhmcsLine(line, client_id) for line in lines]


@pytest.fixture
def whmcs(fake_whmcs: FakeWhmcs, monkeypatch: pytest.MonkeyPatch) -> WhmcsClient:
    return WhmcsClient(whmcs_settings(fake_whmcs.url, monkeypatch))


def test_push_puts_one_item_per_category_and_a_second_push_posts_nothing(
    fake_whmcs: FakeWhmcs, whmcs: WhmcsClient
) -> None:
    journal = MemoryJournal()
    first = push_whmcs(journal, whmcs, run_lines())
    assert [(item["amount"], item["clientid"]) for item in fake_whmcs.billable_items] == [
        ("4.20", "1"),
        ("12.35", "1"),  # 12.3450 half-up
    ]
    assert fake_whmcs.billable_items[1]["description"].endswith("[vb:7:mcon:national]")
    assert [line.state for line in first.sent] == [LineState.SENT, LineState.SENT]
    assert [line.remote_id for line in first.sent] == ["1", "2"]
    posts = len(fake_whmcs.requests)
    second = push_whmcs(journal, whmcs, run_lines())
    assert second.sent == () and len(second.already_sent) == 2
    assert len(fake_whmcs.requests) == posts


def test_a_lost_answer_leaves_pending_then_push_stops_with_exit_1_naming_it(
    fake_whmcs: FakeWhmcs, whmcs: WhmcsClient
) -> None:
    journal = MemoryJournal()
    fake_whmcs.faults.add("drop_answer")
    with pytest.raises(AnswerLost):
        push_whmcs(journal, whmcs, run_lines())
    (line,) = journal.lines_for_run(WHMCS, 7)
    assert line.state is LineState.PENDING and line.item == "international"
    fake_whmcs.faults.clear()
    posts = len(fake_whmcs.requests)
    with pytest.raises(PendingLines) as caught:
        push_whmcs(journal, whmcs, run_lines())
    assert caught.value.exit_code == ExitCode.INVALID_INPUT
    assert "line 1 (whmcs run 7 mcon international)" in caught.value.message
    assert len(fake_whmcs.requests) == posts  # nothing was sent
    assert len(fake_whmcs.billable_items) == 1


def test_reconcile_finds_the_pending_line_once_whmcs_invoiced_it(
    fake_whmcs: FakeWhmcs, whmcs: WhmcsClient
) -> None:
    journal = MemoryJournal()
    fake_whmcs.faults.add("drop_answer")
    with pytest.raises(AnswerLost):
        push_whmcs(journal, whmcs, run_lines())
    fake_whmcs.faults.clear()
    ((line, item),) = reconcile_whmcs(journal, whmcs, 7)
    assert item is None and line.state is LineState.PENDING  # not invoiced: not visible
    fake_whmcs.run_cron()
    ((line, item),) = reconcile_whmcs(journal, whmcs, 7)
    assert item is not None and line.state is LineState.SENT and line.remote_id == "1"
    push_whmcs(journal, whmcs, run_lines())
    assert [i["description"][:13] for i in fake_whmcs.billable_items] == [
        "international",
        "national call",
    ]  # the international line was not added twice


def test_the_operator_settles_a_line_not_sent_and_the_next_push_sends_it(
    fake_whmcs: FakeWhmcs, whmcs: WhmcsClient
) -> None:
    journal = MemoryJournal()
    fake_whmcs.faults.add("drop_answer")
    with pytest.raises(AnswerLost):
        push_whmcs(journal, whmcs, run_lines())
    fake_whmcs.faults.clear()
    fake_whmcs.billable_items.clear()  # the operator deleted it under Billable Items
    settled = settle(journal, 1, sent=False)
    assert settled.state is LineState.NOT_SENT
    report = push_whmcs(journal, whmcs, run_lines())
    assert len(report.sent) == 2 and len(fake_whmcs.billable_items) == 2
    assert len(journal.lines) == 2  # the settled line was reused, not duplicated
    with pytest.raises(UsageError, match="not pending"):
        settle(journal, 1, sent=True)


def test_an_unknown_client_is_exit_5_and_the_line_is_not_sent(
    fake_whmcs: FakeWhmcs, whmcs: WhmcsClient
) -> None:
    journal = MemoryJournal()
    with pytest.raises(Rejected, match="Client ID not Found"):
        push_whmcs(journal, whmcs, run_lines(client_id=99))
    assert [line.state for line in journal.lines_for_run(WHMCS, 7)] == [LineState.NOT_SENT]
    push_whmcs(journal, whmcs, run_lines(client_id=1))  # fixed config: no exit 1
    assert len(fake_whmcs.billable_items) == 2


def test_a_wrong_secret_is_exit_4_and_leaves_nothing_pending(
    fake_whmcs: FakeWhmcs, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = MemoryJournal()
    bad = WhmcsClient(whmcs_settings(fake_whmcs.url, monkeypatch, secret="wrong"))
    with pytest.raises(Refused) as caught:
        push_whmcs(journal, bad, run_lines())
    assert caught.value.exit_code == ExitCode.CONNECTION
    assert all(line.state is LineState.NOT_SENT for line in journal.lines.values())


def test_lago_resend_after_a_crash_makes_no_duplicate(
    fake_lago: FakeLago, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = MemoryJournal()
    lago = LagoClient(lago_settings(fake_lago.url, monkeypatch))
    calls = events(150)
    fake_lago.faults.add("drop_answer")
    with pytest.raises(AnswerLost):
        push_lago(journal, lago, run_id=7, service="mcon", subscription="sub-mcon", events=calls)
    (line,) = journal.lines_for_run(LAGO, 7)
    assert line.state is LineState.PENDING and line.item == "events"
    assert len(fake_lago.events) == 100  # Lago stored batch 1; the answer was lost
    fake_lago.faults.clear()
    report = push_lago(
        journal, lago, run_id=7, service="mcon", subscription="sub-mcon", events=calls
    )
    assert (report.new, report.ours, report.foreign) == (50, 100, 0)
    assert report.line.remote_id == "50 new, 100 already in Lago"
    assert len(fake_lago.events) == 150
    posts = len(fake_lago.requests)
    again = push_lago(
        journal, lago, run_id=7, service="mcon", subscription="sub-mcon", events=calls
    )
    assert again.before and again.events == 150 and again.new == 0
    assert len(fake_lago.requests) == posts
    (line,) = journal.lines.values()
    assert line.amount == Decimal("0.0120") * 150


def test_events_lago_has_on_a_line_never_sent_are_foreign(
    fake_lago: FakeLago, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A voided and re-committed run sends the same transaction ids from a new run."""
    lago = LagoClient(lago_settings(fake_lago.url, monkeypatch))
    old, new = MemoryJournal(), MemoryJournal()
    push_lago(old, lago, run_id=1, service="mcon", subscription="sub-mcon", events=events(30))
    report = push_lago(
        new, lago, run_id=2, service="mcon", subscription="sub-mcon", events=events(40)
    )
    assert (report.new, report.ours, report.foreign) == (10, 0, 30)
    assert len(fake_lago.events) == 40  # each once


def test_a_lines_of_an_older_voipbill_by_batch_count_as_sent_by_this_ledger(
    fake_lago: FakeLago, monkeypatch: pytest.MonkeyPatch
) -> None:
    lago = LagoClient(lago_settings(fake_lago.url, monkeypatch))
    journal = MemoryJournal()
    calls = events(150)
    lago.send_batch(calls[:100])  # what an older voipbill sent as "batch 1"
    old = journal.add_pending(LAGO, 7, "mcon", "batch 1", "sub-mcon", Decimal("1.2"), "100 events")
    journal.mark_sent(old.id, "100 new, 0 already in Lago")
    report = push_lago(
        journal, lago, run_id=7, service="mcon", subscription="sub-mcon", events=calls
    )
    assert (report.new, report.ours, report.foreign) == (50, 100, 0)
    posts = len(fake_lago.requests)
    again = push_lago(
        journal, lago, run_id=7, service="mcon", subscription="sub-mcon", events=calls
    )
    assert again.before and len(fake_lago.requests) == posts
