"""rules §7: `rate --days N` is the N calendar days that end today, today included, in the
config timezone."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.clirunner import Result
from tests.ledgerhelpers import Billing, epoch, uuids
from voipbill import periods


@pytest.fixture
def billing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Billing:
    monkeypatch.setattr(periods, "today", lambda zone: date(2026, 11, 7))
    billing = Billing(tmp_path)
    billing.add("nov-04-late", epoch(11, 4, 23, 59))  # the day before the window
    billing.add("nov-05-early", epoch(11, 5, 0, 0))  # its first instant, local midnight
    billing.add("nov-07-late", epoch(11, 7, 23, 59))  # today, its last minute
    billing.add("nov-08-early", epoch(11, 8, 0, 0))  # tomorrow
    return billing


def test_days_3_on_nov_7_is_nov_5_to_nov_7(billing: Billing) -> None:
    result = billing.rate("--all", "--days", "3")
    assert result.exit_code == 0, result.stderr
    assert uuids(result.stdout) == ["nov-05-early", "nov-07-late"]


def test_days_1_is_today_alone(billing: Billing) -> None:
    result = billing.rate("--all", "--days", "1")
    assert result.exit_code == 0, result.stderr
    assert uuids(result.stdout) == ["nov-07-late"]


def test_days_lists_the_same_calls_as_from_to(billing: Billing) -> None:
    days = billing.rate("--all", "--days", "3", "--detail", "summary")
    window = billing.rate(
        "--all", "--from", "2026-11-05", "--to", "2026-11-07", "--detail", "summary"
    )
    assert days.stdout == window.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--days", "0"), "--days 0: give 1 or more days"),
        (("--days", "3", "--period", "2026-11"), "give one of --days, --period or --from/--to"),
        (("--days", "3", "--from", "2026-11-01"), "give one of --days, --period or --from/--to"),
        (("--days", "40000"), "--days 40000 reaches back before 2000-01-01"),
    ],
)
def test_bad_days_are_usage_errors(billing: Billing, args: tuple[str, ...], message: str) -> None:
    result = billing.rate("--all", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_nightly_overlapping_commits_are_quiet_and_record_only_new_calls(
    billing: Billing, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = str(billing.directory / "night.csv")

    def night(day: int, *args: str) -> Result:
        monkeypatch.setattr(periods, "today", lambda zone: date(2026, 11, day))
        result = billing.rate(*args, "--all", "--days", "3", "--commit", "-o", out)
        assert result.exit_code == 0, result.stderr
        return result

    assert night(7, "-q").stderr == ""  # Nov 5-7: nov-05-early, nov-07-late
    # Nov 6-8: nov-07-late is held already; nov-08-early is new: no warning, even without -q
    assert night(8, "-q").stderr == ""
    assert "warning" not in night(8).stderr
    assert uuids(billing.file("night.csv")) == ["nov-08-early"]
    assert billing.query("SELECT count(*) FROM runs") == [(2,)]
    # Nov 7-9: nothing new: no run, one information line
    quiet = night(9, "-q")
    assert quiet.stderr == ""
    loud = night(9)
    assert "2 calls already committed" in loud.stderr
    assert "nothing new to commit, no run recorded" in loud.stderr
    assert "warning" not in loud.stderr
    assert billing.query("SELECT count(*) FROM runs") == [(2,)]
    # a call that reached FusionPBX since is committed in a run of its own
    billing.add("nov-08-new", epoch(11, 8, 10, 0))
    later = night(9)
    assert "committed run 3" in later.stderr and "2 calls already committed" in later.stderr
    assert uuids(billing.file("night.csv")) == ["nov-08-new"]
    assert set(billing.billed()) == {"nov-05-early", "nov-07-late", "nov-08-early", "nov-08-new"}
