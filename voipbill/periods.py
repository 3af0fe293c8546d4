"""Billing periods: calendar days in the config's time zone (rules §4.2, §7, §13).

`period_days` owns the one rule of billing periods: the calendar month, or, with a
`billing_day` D, from day D of a month to the day before day D of the next, D clamped to the
month's last day and always taken from the month that opens the period.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from voipbill.errors import UsageError


@dataclass(frozen=True, slots=True)
class Period:
    """[local midnight of `first_day`, local midnight after `last_day`), as epochs.

    `start_epoch` is inclusive and `end_epoch` exclusive, so consecutive periods neither
    overlap nor leave a gap, DST days included (a day may be 23 or 25 hours long).
    """

    first_day: date
    last_day: date
    start_epoch: int
    end_epoch: int
    timezone: ZoneInfo

    def contains(self, epoch: int) -> bool:
        return self.start_epoch <= epoch < self.end_epoch

    @property
    def name(self) -> str:
        """The period's name by its first and last day, `2026-11-15..2026-12-14` (rules §13)."""
        return f"{self.first_day.isoformat()}..{self.last_day.isoformat()}"

    @property
    def label(self) -> str:
        if (
            self.first_day.day == 1
            and (self.last_day + timedelta(days=1)).day == 1
            and (
                self.first_day.year,
                self.first_day.month,
            )
            == (self.last_day.year, self.last_day.month)
        ):
            return f"{self.first_day:%Y-%m}"
        return f"{self.first_day.isoformat()}..{self.last_day.isoformat()}"

    def extended_back(self, days: int) -> Period:
        """The same period starting `days` calendar days earlier (for `--late-days`)."""
        try:
            first = self.first_day - timedelta(days=days)
        except OverflowError:
            first = date.min
        return make_period(first, self.last_day, self.timezone)


def local_midnight_epoch(day: date, zone: ZoneInfo) -> int:
    # Midnight exists on every day in every zone voipbill supports; where a zone skips
    # midnight (a few historical DST rules), zoneinfo resolves it forwards with fold=0.
    return int(datetime.combine(day, time(0), tzinfo=zone).timestamp())


# CDRs carry Unix epochs; FusionPBX treats an epoch of 0 as "no filter" (docs/fusionpbx.md §2), and
# no FusionPBX CDR predates 2000: dates outside this range are typing mistakes.
FIRST_BILLABLE_DAY = date(2000, 1, 1)
LAST_BILLABLE_DAY = date(2099, 12, 31)


def make_period(first_day: date, last_day: date, zone: ZoneInfo) -> Period:
    if first_day < FIRST_BILLABLE_DAY or last_day > LAST_BILLABLE_DAY:
        raise UsageError(
            f"the period {first_day.isoformat()} to {last_day.isoformat()} is out of range",
            hint=f"billing dates run from {FIRST_BILLABLE_DAY} to {LAST_BILLABLE_DAY}",
        )
    if last_day < first_day:
        raise UsageError(
            f"--to {last_day.isoformat()} is before --from {first_day.isoformat()}",
            hint="--to is the last day billed, inclusive",
        )
    return Period(
        first_day=first_day,
        last_day=last_day,
        start_epoch=local_midnight_epoch(first_day, zone),
        end_epoch=local_midnight_epoch(last_day + timedelta(days=1), zone),
        timezone=zone,
    )


def parse_day(text: str, option: str) -> date:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} {text!r} is not a date", hint="write YYYY-MM-DD") from None


def parse_month(text: str) -> tuple[date, date]:
    """The calendar month `--period YYYY-MM` names, as its first and last day."""
    return period_days_starting(*parse_year_month(text), None)


def parse_year_month(text: str) -> tuple[int, int]:
    """`--period YYYY-MM` as (year, month), checked against the billable range."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", text)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise UsageError(f"--period {text!r} is not a month", hint="write YYYY-MM, e.g. 2026-10")
    year, month = int(match.group(1)), int(match.group(2))
    if not FIRST_BILLABLE_DAY.year <= year <= LAST_BILLABLE_DAY.year:
        raise UsageError(
            f"--period {text!r} is out of range",
            hint=f"billing dates run from {FIRST_BILLABLE_DAY} to {LAST_BILLABLE_DAY}",
        )
    return year, month


def opening_day(year: int, month: int, billing_day: int | None) -> date:
    """The day a billing period opens in this month: day `billing_day` (1-31), or the month's
    last day when it has fewer days; day 1 without a billing day (a calendar month)."""
    day = billing_day or 1
    if day > 28:
        day = min(day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def period_days_starting(year: int, month: int, billing_day: int | None) -> tuple[date, date]:
    """First and last day of the billing period that starts in `month` (rules §13).

    It runs from this month's opening day to the day before the next month's, so consecutive
    periods follow each other with no gap and no overlap: `billing_day = 31` gives Jan 31 - Feb
    27, Feb 28 - Mar 30, Mar 31 - Apr 29; `billing_day = 15` gives Nov 15 - Dec 14.
    """
    following = (year + 1, 1) if month == 12 else (year, month + 1)
    return (
        opening_day(year, month, billing_day),
        opening_day(*following, billing_day) - timedelta(days=1),
    )


def period_days(day: date, billing_day: int | None) -> tuple[date, date]:
    """First and last day of the billing period that holds `day`."""
    if day >= opening_day(day.year, day.month, billing_day):
        return period_days_starting(day.year, day.month, billing_day)
    previous = (day.year - 1, 12) if day.month == 1 else (day.year, day.month - 1)
    return period_days_starting(*previous, billing_day)


def billing_period(day: date, billing_day: int | None, zone: ZoneInfo) -> Period:
    """The billing period that holds `day`, with its local-midnight bounds in `zone`."""
    return make_period(*period_days(day, billing_day), zone)


def billing_period_at(epoch: int, billing_day: int | None, zone: ZoneInfo) -> Period:
    """The billing period a call that started at `epoch` falls in."""
    return billing_period(datetime.fromtimestamp(epoch, zone).date(), billing_day, zone)


def billing_period_starting_in(text: str, billing_day: int | None, zone: ZoneInfo) -> Period:
    """`--period YYYY-MM` for a service: its billing period that starts in that month."""
    return make_period(*period_days_starting(*parse_year_month(text), billing_day), zone)


def resolve_period(
    zone: ZoneInfo,
    *,
    from_day: str | None,
    to_day: str | None,
    month: str | None,
    required: bool = True,
    days: int | None = None,
) -> Period | None:
    """Turn `--from/--to`, `--period` or `--days` into a Period; exactly one form must be given."""
    if days is not None:
        if month is not None or from_day is not None or to_day is not None:
            raise UsageError("give one of --days, --period or --from/--to")
        return last_days(days, zone)
    if month is not None:
        if from_day is not None or to_day is not None:
            raise UsageError("give either --period or --from/--to, not both")
        first, last = parse_month(month)
        return make_period(first, last, zone)
    if from_day is None and to_day is None:
        if required:
            raise UsageError(
                "no billing period given", hint="add --period YYYY-MM or --from DATE --to DATE"
            )
        return None
    if from_day is None or to_day is None:
        raise UsageError("--from and --to go together", hint="give both dates, YYYY-MM-DD")
    return make_period(parse_day(from_day, "--from"), parse_day(to_day, "--to"), zone)


def today(zone: ZoneInfo) -> date:
    """The current day in the config's time zone."""
    return datetime.now(zone).date()


def last_days(days: int, zone: ZoneInfo) -> Period:
    """`--days N`: the N calendar days that end today, today included (rules §7)."""
    if days < 1:
        raise UsageError(f"--days {days}: give 1 or more days", hint="--days 1 is today alone")
    last = today(zone)
    if days > (last - FIRST_BILLABLE_DAY).days + 1:
        raise UsageError(
            f"--days {days} reaches back before {FIRST_BILLABLE_DAY}",
            hint="use --from DATE --to DATE for an older window",
        )
    return make_period(last - timedelta(days=days - 1), last, zone)
