"""The ledger store's contract: every public method, the same test on SQLite and on PostgreSQL.

Each test gets a fresh writable store of either backend (`store`), commits through
voipbill.ledger.commit like `rate --commit` does, and reads back through the public methods
only. Amounts are worked by hand from the calls (tests/ledgerhelpers.rated_call).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.ledgerbackends import Backend
from tests.ledgerhelpers import rated_call
from voipbill.errors import UsageError, VoipbillError
from voipbill.ledger import (
    COMMITTED,
    VOIDED,
    LedgerCall,
    LedgerError,
    LedgerStore,
    LineState,
    LineTaken,
    RunSelection,
    commit_run,
)
from voipbill.ledger.base import LedgerBase
from voipbill.periods import make_period, parse_month

ZONE = ZoneInfo("America/Toronto")


def open_store(backend: Backend, path: Path, *, create: bool = True) -> LedgerBase | None:
    if backend.pg is None:
        from voipbill.ledger.sqlite import SqliteLedger

        return SqliteLedger.open(path, create=create)
    from voipbill.ledger.postgres import PostgresLedger

    return PostgresLedger.open(backend.settings, create=create)


@pytest.fixture
def store(ledger_backend: Backend, tmp_path: Path) -> Iterator[LedgerBase]:
    opened = open_store(ledger_backend, tmp_path / "ledger.sqlite")
    assert opened is not None
    with opened:
        yield opened


def selection(month: str, *, skipped: tuple[str, ...] = (), free: tuple = ()) -> RunSelection:  # type: ignore[type-arg]
    first, last = parse_month(month)
    period = make_period(first, last, ZONE)
    return RunSelection(period, ("mcon",), 0, "csv", "calls", skipped, free)


def commit(store: LedgerStore, month: str, uuids: list[str], tmp: Path, **extra: object) -> int:
    calls = [LedgerCall("wat5", rated_call(uuid)) for uuid in uuids]
    text = "call_uuid\n" + "".join(f"{uuid}\n" for uuid in uuids)
    return commit_run(store, selection(month, **extra), calls, "CAD", tmp / f"{month}.csv", text)  # type: ignore[arg-type]


def test_a_committed_run_reads_back_whole(store: LedgerBase, tmp_path: Path) -> None:
    run = commit(store, "2026-10", ["a", "b", "c"], tmp_path)
    assert run == 1 and store.has_run(1) and not store.has_run(2)
    [record] = store.runs()
    assert record == store.run(1)
    assert (record.period, record.first_day, record.last_day) == (
        "2026-10",
        date(2026, 10, 1),
        date(2026, 10, 31),
    )
    assert (record.services, record.calls, record.currency, record.status) == (
        ("mcon",),
        3,
        "CAD",
        COMMITTED,
    )
    assert record.amount == Decimal("0.0300")  # 3 calls at 0.0100
    assert [(t.service, t.calls, t.late_calls, t.amount) for t in record.per_service] == [
        ("mcon", 3, 0, Decimal("0.0300"))
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", record.created)
    assert store.stored_output(1) == "call_uuid\na\nb\nc\n"
    assert store.committed_calls(1) == [rated_call(u) for u in ("a", "b", "c")]
    assert store.committed_run(selection("2026-10").period, ["mcon"]) == record
    assert store.committed_run(selection("2026-11").period, ["mcon"]) is None
    assert store.billed("wat5", "b") == (1, "2026-10")
    assert store.billed("other", "b") is None
    assert store.billed_many(["wat5", "x"], ["a", "c", "zz"]) == {
        ("wat5", "a"): (1, "2026-10"),
        ("wat5", "c"): (1, "2026-10"),
    }
    assert store.runs(service="acme") == [] and store.runs(service="mcon") == [record]


def test_a_missing_run_is_a_usage_error(store: LedgerBase) -> None:
    with pytest.raises(UsageError, match="run 7 is not in the ledger"):
        store.run(7)


def test_skipped_rows_and_free_seconds_are_kept(store: LedgerBase, tmp_path: Path) -> None:
    lines = ("cdrs.csv line 3: bad", "cdrs.csv line 9: bad")
    free = (("mcon", "2026-10", 120), ("mcon", "2026-09", 30))
    commit(store, "2026-10", ["a"], tmp_path, skipped=lines, free=free)
    commit(store, "2026-11", ["b"], tmp_path, free=(("mcon", "2026-11", 60),))
    first, second = store.runs()
    assert (first.skipped_rows, second.skipped_rows) == (lines, ())
    given = store.free_seconds_given("mcon", ZONE)
    assert given == {"2026-09": 30, "2026-10": 120, "2026-11": 60}
    assert store.free_seconds_given("mcon", ZONE, except_runs=[1]) == {"2026-11": 60}
    assert store.free_seconds_given("acme", ZONE) == {}


def test_a_void_releases_exactly_its_calls_and_keeps_its_reason(
    store: LedgerBase, tmp_path: Path
) -> None:
    commit(store, "2026-10", ["a", "b"], tmp_path, free=(("mcon", "2026-10", 60),))
    commit(store, "2026-11", ["c"], tmp_path)
    voided = store.void(1, "wrong deck")
    assert (voided.status, voided.void_reason) == (VOIDED, "wrong deck")
    assert voided.voided is not None
    assert store.billed_many(["wat5"], ["a", "b", "c"]) == {("wat5", "c"): (2, "2026-11")}
    assert store.free_seconds_given("mcon", ZONE) == {}  # a voided run gave nothing
    assert store.committed_run(selection("2026-10").period, ["mcon"]) is None
    with pytest.raises(UsageError, match="already voided"):
        store.void(1)
    assert store.run(2).void_reason is None
    # the released calls can be committed again
    assert commit(store, "2026-10", ["a", "b"], tmp_path) == 3


def test_a_call_is_never_committed_twice(store: LedgerBase, tmp_path: Path) -> None:
    commit(store, "2026-10", ["a", "b"], tmp_path)
    with pytest.raises(VoipbillError):
        commit(store, "2026-11", ["b", "c"], tmp_path)
    assert [r.id for r in store.runs()] == [1]
    assert store.billed_many(["wat5"], ["b", "c"]) == {("wat5", "b"): (1, "2026-10")}
    assert not (tmp_path / "2026-11.csv").exists()


def test_the_ledger_id_is_eight_hex_digits_kept_for_good(
    ledger_backend: Backend, store: LedgerBase, tmp_path: Path
) -> None:
    assert re.fullmatch(r"[0-9a-f]{8}", store.ledger_id)
    commit(store, "2026-10", ["a"], tmp_path)
    again = open_store(ledger_backend, tmp_path / "ledger.sqlite", create=False)
    assert again is not None
    with again:
        assert again.ledger_id == store.ledger_id
    if ledger_backend.pg is None:  # another ledger, another id (1 in 2**32 of a clash)
        other = open_store(ledger_backend, tmp_path / "other.sqlite")
        assert other is not None
        with other:
            assert other.ledger_id != store.ledger_id


def test_the_journal_goes_pending_sent_not_sent_and_never_twice(
    ledger_backend: Backend, store: LedgerBase, tmp_path: Path
) -> None:
    commit(store, "2026-10", ["a"], tmp_path)
    journal = store.journal
    assert journal.all_lines() == [] and journal.line(1) is None
    before = datetime.now(UTC).replace(microsecond=0)
    line = journal.add_pending(
        "whmcs", 1, "mcon", "national", "7", Decimal("0.05"), "d [vb:x:1:mcon:national]"
    )
    assert (line.state, line.amount, line.description, line.remote_id) == (
        LineState.PENDING,
        Decimal("0.05"),
        "d [vb:x:1:mcon:national]",
        None,
    )
    assert line.since is not None and before <= line.since <= datetime.now(UTC)
    # committed at once: another session sees it pending before any request goes out
    reader = open_store(ledger_backend, tmp_path / "ledger.sqlite", create=False)
    assert reader is not None
    with reader:
        assert [seen.state for seen in reader.journal.all_lines()] == [LineState.PENDING]
        with pytest.raises(LineTaken, match="pending"):  # the claim: never sent twice
            store.journal.add_pending("whmcs", 1, "mcon", "national", "7", Decimal("0.05"), "d")
        sent = journal.mark_sent(line.id, "31")
        assert (sent.state, sent.remote_id) == (LineState.SENT, "31")
        assert reader.journal.line(line.id) == sent
    with pytest.raises(LineTaken, match="sent already"):
        journal.add_pending("whmcs", 1, "mcon", "national", "7", Decimal("0.05"), "d")
    lago = journal.add_pending("lago", 1, "mcon", "batch 1", "sub", Decimal("0.01"), "1 event")
    assert journal.mark_not_sent(lago.id).state is LineState.NOT_SENT
    again = journal.add_pending("lago", 1, "mcon", "batch 1", "sub", Decimal("0.02"), "again")
    assert (again.id, again.state, again.amount) == (lago.id, LineState.PENDING, Decimal("0.02"))
    assert [entry.id for entry in journal.lines_for_run("lago", 1)] == [lago.id]
    assert journal.lines_for_run("whmcs", 2) == []
    assert [entry.system for entry in journal.all_lines()] == ["whmcs", "lago"]
    assert journal.call_servers(1) == {("mcon", "a"): "wat5"}
    with pytest.raises(KeyError):
        journal.mark_sent(99, "x")


def test_a_read_only_store_writes_nothing(
    ledger_backend: Backend, store: LedgerBase, tmp_path: Path
) -> None:
    commit(store, "2026-10", ["a"], tmp_path)
    reader = open_store(ledger_backend, tmp_path / "ledger.sqlite", create=False)
    assert reader is not None
    with reader:
        assert reader.where == store.where
        with pytest.raises(LedgerError, match="read-only"):
            reader.journal.add_pending("whmcs", 1, "mcon", "x", "7", Decimal("1"), "d")
    assert store.journal.all_lines() == []


def test_no_ledger_is_made_by_a_read_only_open(ledger_backend: Backend, tmp_path: Path) -> None:
    assert open_store(ledger_backend, tmp_path / "none.sqlite", create=False) is None
    if ledger_backend.pg is None:
        assert not (tmp_path / "none.sqlite").exists()
    else:
        assert not ledger_backend.has_ledger()


def test_each_committed_call_keeps_its_carrier_cost(store: LedgerBase, tmp_path: Path) -> None:
    # rules §15: a cost, a call with no cost-deck row (None, ""), and one committed without
    # any (a run of an older voipbill): left out, so it reads as committed before
    calls = [
        LedgerCall("wat5", rated_call("a"), Decimal("0.0077"), "1416"),
        LedgerCall("wat5", rated_call("b"), None, ""),
        LedgerCall("wat5", rated_call("c")),
    ]
    run = commit_run(store, selection("2026-10"), calls, "CAD", tmp_path / "out.csv", "x\n")
    assert store.carrier_costs(run) == {
        ("mcon", "a"): (Decimal("0.0077"), "1416"),
        ("mcon", "b"): (None, ""),
    }
    assert store.carrier_costs(run + 1) == {}
    store.void(run)
    assert store.carrier_costs(run) == {}  # a voided run bills nothing
