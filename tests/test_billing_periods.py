"""rules §13: billing periods, the calendar month or from a `billing_day` D to the day before
day D of the next month, clamped to short months; and the `billing_day` config key."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.clirunner import invoke
from tests.test_config import FULL, error_of, write
from voipbill import config
from voipbill.errors import UsageError
from voipbill.periods import (
    billing_period,
    billing_period_at,
    billing_period_starting_in,
    period_days,
    period_days_starting,
)

D = date.fromisoformat

# zones with DST, one of them (Lord Howe) moving by half an hour, one (Santiago) whose clocks
# jump at midnight, so that some days have no 00:00 at all; and one without DST
ZONES = ("America/Toronto", "Europe/London", "Australia/Lord_Howe", "America/Santiago", "UTC")


@pytest.mark.parametrize(
    ("billing_day", "month", "first", "last"),
    [
        # the examples of rules §13, worked by hand
        (31, (2027, 1), "2027-01-31", "2027-02-27"),
        (31, (2027, 2), "2027-02-28", "2027-03-30"),
        (31, (2027, 3), "2027-03-31", "2027-04-29"),
        (15, (2026, 11), "2026-11-15", "2026-12-14"),
        # a leap year: February has a 29th, so D = 29, 30, 31 open on Feb 29
        (30, (2028, 2), "2028-02-29", "2028-03-29"),
        (29, (2028, 1), "2028-01-29", "2028-02-28"),
        (29, (2027, 1), "2027-01-29", "2027-02-27"),
        (31, (2026, 12), "2026-12-31", "2027-01-30"),
        (1, (2026, 12), "2026-12-01", "2026-12-31"),
        (None, (2026, 2), "2026-02-01", "2026-02-28"),
    ],
)
def test_the_period_that_starts_in_a_month(
    billing_day: int | None, month: tuple[int, int], first: str, last: str
) -> None:
    assert period_days_starting(*month, billing_day) == (D(first), D(last))


def test_the_period_that_holds_a_day() -> None:
    assert period_days(D("2026-12-14"), 15) == (D("2026-11-15"), D("2026-12-14"))
    assert period_days(D("2026-12-15"), 15) == (D("2026-12-15"), D("2027-01-14"))
    assert period_days(D("2027-01-03"), 15) == (D("2026-12-15"), D("2027-01-14"))
    assert period_days(D("2027-02-28"), 31) == (D("2027-02-28"), D("2027-03-30"))
    assert period_days(D("2027-02-27"), 31) == (D("2027-01-31"), D("2027-02-27"))
    assert period_days(D("2026-10-31"), None) == (D("2026-10-01"), D("2026-10-31"))


def test_a_period_is_named_by_its_first_and_last_day() -> None:
    zone = ZoneInfo("America/Toronto")
    assert billing_period_starting_in("2026-11", 15, zone).name == "2026-11-15..2026-12-14"
    assert billing_period_starting_in("2026-11", None, zone).name == "2026-11-01..2026-11-30"


def test_period_starting_in_checks_the_month_text() -> None:
    with pytest.raises(UsageError):
        billing_period_starting_in("2026-13", 15, ZoneInfo("UTC"))


def test_a_call_falls_in_the_period_of_its_local_day() -> None:
    zone = ZoneInfo("America/Toronto")
    # 2026-12-15 00:30 in Toronto is 05:30 UTC: the new period; 2026-12-14 23:30 the old one
    new = int(datetime(2026, 12, 15, 0, 30, tzinfo=zone).timestamp())
    assert billing_period_at(new, 15, zone).name == "2026-12-15..2027-01-14"
    assert billing_period_at(new - 3600, 15, zone).name == "2026-11-15..2026-12-14"


@settings(max_examples=40, deadline=None)
@given(
    # ten years and two periods from the latest start still end before 2100 (LAST_BILLABLE_DAY)
    start=st.dates(min_value=date(2001, 1, 1), max_value=date(2089, 10, 31)),
    zone_name=st.sampled_from(ZONES),
)
def test_ten_years_of_periods_tile_for_every_billing_day(start: date, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    for billing_day in range(1, 32):
        period = billing_period(start, billing_day, zone)
        assert period.first_day <= start <= period.last_day
        for _ in range(120):  # ten years of monthly periods
            first, last = period.first_day, period.last_day
            # it opens on day D, or on its month's last day when the month is shorter
            opening = min(billing_day, _days_in_month(first))
            assert first.day == opening
            # it holds every day from its first to its last, and no other
            assert period_days(first, billing_day) == (first, last)
            assert period_days(last, billing_day) == (first, last)
            middle = first + (last - first) / 2
            assert period_days(middle, billing_day) == (first, last)
            assert 28 <= (last - first).days + 1 <= 31
            # its bounds are the first instants of its first day and of the day after its last
            _assert_starts_day(period.start_epoch, first, zone)
            _assert_starts_day(period.end_epoch, last + timedelta(days=1), zone)
            following = billing_period(last + timedelta(days=1), billing_day, zone)
            # no gap and no overlap: the next period opens the day after, at this one's end
            assert following.first_day == last + timedelta(days=1)
            assert following.start_epoch == period.end_epoch
            assert billing_period_at(period.end_epoch - 1, billing_day, zone) == period
            assert billing_period_at(period.end_epoch, billing_day, zone) == following
            period = following


def _days_in_month(day: date) -> int:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def _assert_starts_day(epoch: int, day: date, zone: ZoneInfo) -> None:
    # local midnight, or the first instant of the day where the clocks skip midnight
    assert datetime.fromtimestamp(epoch, zone).date() == day
    assert datetime.fromtimestamp(epoch - 1, zone).date() == day - timedelta(days=1)


def test_a_dst_day_makes_a_period_an_hour_shorter_or_longer() -> None:
    zone = ZoneInfo("America/Toronto")
    # 2026-03-08 springs forward, 2026-11-01 falls back
    march = billing_period(D("2026-03-01"), None, zone)
    assert march.end_epoch - march.start_epoch == 31 * 86400 - 3600
    october_15 = billing_period(D("2026-10-20"), 15, zone)  # Oct 15 - Nov 14
    assert october_15.end_epoch - october_15.start_epoch == 31 * 86400 + 3600


# -- the config key ----------------------------------------------------------------------------

SERVICE_LINE = 'extensions = "2112 | 2113 | 2114 | 2115 | 2216"\n'
PACKAGE_LINE = "free_minutes = 100\n"


def test_billing_day_of_the_service_wins_over_the_package(tmp_path: Path) -> None:
    text = FULL.replace(PACKAGE_LINE, PACKAGE_LINE + "billing_day = 1\n").replace(
        SERVICE_LINE, SERVICE_LINE + "billing_day = 15\n"
    )
    loaded = config.load(write(tmp_path, text))
    assert loaded.billing_day_of(loaded.service("mcon")) == 15


def test_the_package_billing_day_applies_when_the_service_has_none(tmp_path: Path) -> None:
    loaded = config.load(
        write(tmp_path, FULL.replace(PACKAGE_LINE, PACKAGE_LINE + "billing_day = 28\n"))
    )
    assert loaded.billing_day_of(loaded.service("mcon")) == 28


def test_without_billing_day_periods_are_calendar_months(tmp_path: Path) -> None:
    loaded = config.load(write(tmp_path, FULL))
    assert loaded.billing_day_of(loaded.service("mcon")) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", "0 is not a day of the month"),
        ("32", "32 is not a day of the month"),
        ('"15"', "expected an integer, got a string"),
        ("15.0", "expected an integer, got a decimal"),
        ("true", "expected an integer, got a boolean"),
    ],
)
def test_a_bad_billing_day_is_named(tmp_path: Path, value: str, expected: str) -> None:
    on_service = error_of(
        tmp_path, FULL.replace(SERVICE_LINE, SERVICE_LINE + f"billing_day = {value}\n")
    )
    assert on_service == f"services -> mcon -> billing_day: {expected}"
    on_package = error_of(
        tmp_path, FULL.replace(PACKAGE_LINE, PACKAGE_LINE + f"billing_day = {value}\n")
    )
    assert on_package == f"packages -> paygo -> billing_day: {expected}"


def test_a_bad_billing_day_exits_3_naming_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, FULL.replace(SERVICE_LINE, SERVICE_LINE + "billing_day = 32\n"))
    result = invoke("rate", "--config", str(path), "--all", "--period", "2026-10")
    assert result.exit_code == 3
    assert "services -> mcon -> billing_day" in result.stderr
    assert "Traceback" not in result.stderr


def test_rate_warns_that_billing_day_is_not_applied_yet(tmp_path: Path) -> None:
    # until billing-day periods reach rating, a service with one is billed by calendar month,
    # and the operator is told so even with -q (it is about money)
    from tests.ledgerhelpers import Billing

    billing = Billing(tmp_path)
    billing.write_config("billing_day = 15")
    result = billing.rate("-q", "--all", "--period", "2026-10")
    assert result.exit_code == 0, result.stderr
    assert "mcon: billing_day = 15 is not applied yet" in result.stderr
