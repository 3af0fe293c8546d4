"""rules §14: the six alert rules, hand-worked, on both ledger backends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tests.ledgerbackends import Backend, ledger_backend  # noqa: F401
from tests.ledgerhelpers import TORONTO
from tests.test_ledger_contract import open_store
from voipbill.config.watch import Burst, WatchSettings
from voipbill.ledger import LedgerCall, RunSelection, commit_run
from voipbill.ledger.base import LedgerBase
from voipbill.periods import make_period
from voipbill.rating import RatedCall
from voipbill.watch.rules import Alert, check

DAY = date(2026, 11, 7)


@pytest.fixture
def store(ledger_backend: Backend, tmp_path: Path) -> Iterator[LedgerBase]:  # noqa: F811
    opened = open_store(ledger_backend, tmp_path / "ledger.sqlite")
    assert opened is not None
    with opened:
        yield opened


def at(month: int, day: int, hour: int = 12, minute: int = 0, second: int = 0) -> int:
    return int(datetime(2026, month, day, hour, minute, second, tzinfo=TORONTO).timestamp())


def call(
    uuid: str,
    start: int,
    cost: str | None = "0",
    *,
    number: str = "14165550100",
    category: str = "national",
    direction: str = "outbound",
    status: str = "rated",
) -> RatedCall:
    return RatedCall(
        "mcon", "acme", "1001", uuid, start, direction, category, "1001", number, number,
        "1", "", 60, 60, 0, Decimal("0.01"), None, None if cost is None else Decimal(cost), status,
    )  # fmt: skip


def commit(store: LedgerBase, tmp: Path, calls: list[RatedCall]) -> None:
    period = make_period(date(2026, 1, 1), date(2026, 12, 31), TORONTO)
    selection = RunSelection(period, ("mcon",), 0, "csv", "calls")
    rows = [LedgerCall("wat5", entry) for entry in calls]
    commit_run(store, selection, rows, "CAD", tmp / "out.csv", "x\n")  # type: ignore[arg-type]


def alerts(store: LedgerBase, settings: WatchSettings, day: date = DAY) -> list[Alert]:
    return check(store, "mcon", settings, day, TORONTO, "CAD", None)


def test_spend_per_day_counts_the_watch_days_calls_only(store: LedgerBase, tmp_path: Path) -> None:
    commit(store, tmp_path, [
        call("a", at(11, 7, 0, 0), "30.05"),  # the first second of the day
        call("b", at(11, 7, 23, 59, 59), "32.05"),  # the last
        call("c", at(11, 6, 23, 59, 59), "100"),  # the day before
        call("d", at(11, 8, 0, 0), "100"),  # the day after
    ])  # fmt: skip
    [alert] = alerts(store, WatchSettings(spend_per_day=Decimal("50")))
    assert alert.line == "alert: mcon: spend 62.10 CAD on 2026-11-07 is over spend_per_day 50.00"
    assert (alert.rule, alert.value, alert.threshold, alert.level) == (
        "spend_per_day", "62.10", "50.00", 1
    )  # fmt: skip
    assert alerts(store, WatchSettings(spend_per_day=Decimal("62.10"))) == []  # not above it


def test_spend_per_day_level_is_the_multiple_passed(store: LedgerBase, tmp_path: Path) -> None:
    commit(store, tmp_path, [call("a", at(11, 7), "100.01")])
    [alert] = alerts(store, WatchSettings(spend_per_day=Decimal("50")))
    assert alert.level == 2
    assert alert.line.endswith("is over spend_per_day 100.00")


def test_spend_per_period_counts_the_calendar_month(store: LedgerBase, tmp_path: Path) -> None:
    commit(store, tmp_path, [
        call("a", at(11, 1, 0, 0), "200"),
        call("b", at(11, 30, 23, 0), "250"),  # after the watch day, in its period
        call("c", at(10, 31, 23, 59), "500"),  # last month
    ])  # fmt: skip
    [alert] = alerts(store, WatchSettings(spend_per_period=Decimal("400")))
    assert alert.line == (
        "alert: mcon: spend 450.00 CAD in 2026-11-01..2026-11-30 is over spend_per_period 400.00"
    )


def test_call_cost_is_one_alert_per_call_above_it(store: LedgerBase, tmp_path: Path) -> None:
    commit(store, tmp_path, [
        call("equal", at(11, 7, 9), "5.0000"),
        call("just", at(11, 7, 10), "5.0001"),
        call("big", at(11, 7, 11, 30), "7.20"),
        call("yesterday", at(11, 6, 11), "9"),
        call("unpriced", at(11, 7, 12), None, status="unrated"),
    ])  # fmt: skip
    found = alerts(store, WatchSettings(call_cost=Decimal("5")))
    assert [(a.item, a.value) for a in found] == [("just", "5.0001"), ("big", "7.20")]
    assert found[1].line == (
        "alert: mcon: call big at 11:30 on 2026-11-07 cost 7.20 CAD, over call_cost 5.00"
    )


def _baseline(days_with_two: int) -> list[RatedCall]:
    # 2.00 on each of the last `days_with_two` days before the watch day, nothing on the others
    return [call(f"b{n}", at(11, 7) - n * 86400, "2.00") for n in range(1, days_with_two + 1)]


def test_spike_is_over_factor_times_the_28_day_median_and_the_floor(
    store: LedgerBase, tmp_path: Path
) -> None:
    # 15 days of 2.00 and 13 of 0: the median of the 28 is 2.00; 5 x 2.00 = 10.00
    old = call("old", at(11, 7) - 29 * 86400, "1000")  # the 29th day before: not in the median
    commit(store, tmp_path, [*_baseline(15), old, call("t", at(11, 7, 15), "10.01")])
    settings = WatchSettings(spike_factor=Decimal("5"), spike_floor=Decimal("10"))
    [alert] = alerts(store, settings)
    assert alert.rule == "spike_factor"
    assert alert.value == "10.01"
    assert "the median 2.00 of the 28 days before" in alert.line


def test_spike_with_a_median_of_one_is_held_back_by_the_floor(
    store: LedgerBase, tmp_path: Path
) -> None:
    # 14 days of 2.00 and 14 of 0: the median is (0 + 2.00) / 2 = 1.00, 5 x 1.00 = 5.00 < 9.00
    commit(store, tmp_path, [*_baseline(14), call("t", at(11, 7, 15), "9.00")])
    floor = WatchSettings(spike_factor=Decimal("5"), spike_floor=Decimal("10"))
    assert alerts(store, floor) == []  # 9.00 is not over the floor
    [alert] = alerts(store, WatchSettings(spike_factor=Decimal("5")))  # floor 0
    assert "the median 1.00 of" in alert.line


def test_new_country_looks_back_90_days(store: LedgerBase, tmp_path: Path) -> None:
    intl = {"category": "international"}
    commit(store, tmp_path, [
        call("uk-old", at(11, 7) - 89 * 86400, number="442071234567", **intl),
        call("ng-older", at(11, 7) - 91 * 86400, number="2348012345678", **intl),
        call("uk", at(11, 7, 1), number="442071234567", **intl),
        call("ng", at(11, 7, 2), number="2348012345678", **intl),
        call("fr", at(11, 7, 3), None, number="33142345678", status="unanswered", **intl),
        call("de", at(11, 7, 4), number="4930123456", status="local", **intl),
    ])  # fmt: skip
    found = alerts(store, WatchSettings(new_country=True))
    assert [(a.rule, a.item) for a in found] == [("new_country", "234"), ("new_country", "33")]
    assert found[1].line == (
        "alert: mcon: international call to country code +33 on 2026-11-07, "
        "none in the 90 days before (new_country)"
    )


def test_burst_counts_outbound_international_and_premium_within_the_window(
    store: LedgerBase, tmp_path: Path
) -> None:
    commit(store, tmp_path, [
        call("i1", at(11, 7, 2, 0), category="international", status="unanswered"),
        call("p2", at(11, 7, 2, 4), category="premium"),
        call("i3", at(11, 7, 2, 9, 59), category="international"),
        call("n", at(11, 7, 2, 5)),  # national: not counted
        call("in", at(11, 7, 2, 6), category="international", direction="inbound"),
        call("i4", at(11, 7, 2, 10, 1), category="international"),  # i1 is 10 min before
    ])  # fmt: skip
    [alert] = alerts(store, WatchSettings(burst=Burst(calls=3, minutes=10)))
    assert alert.value == "3"
    assert alert.line == (
        "alert: mcon: 3 international or premium calls within 10 minutes from 02:00 on "
        "2026-11-07, burst 3 calls in 10 minutes"
    )
    assert alerts(store, WatchSettings(burst=Burst(calls=4, minutes=10))) == []
