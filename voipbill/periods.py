"""Billing periods: calendar days in the config's time zone (rules §4.2, §7)."""

from __future__ import annotations

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


# CDRs carry Unix epochs; FusionPBX treats an epoch of 0 as "no filter" (CONTRACT §8.17), and
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
    match = re.fullmatch(r"(\d{4})-(\d{2})", text)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise UsageError(f"--period {text!r} is not a month", hint="write YYYY-MM, e.g. 2026-10")
    year, month = int(match.group(1)), int(match.group(2))
    if not FIRST_BILLABLE_DAY.year <= year <= LAST_BILLABLE_DAY.year:
        raise UsageError(
            f"--period {text!r} is out of range",
            hint=f"billing dates run from {FIRST_BILLABLE_DAY} to {LAST_BILLABLE_DAY}",
        )
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def resolve_period(
    zone: ZoneInfo,
    *,
    from_day: str | None,
    to_day: str | None,
    month: str | None,
    required: bool = True,
) -> Period | None:
    """Turn `--from/--to` or `--period` into a Period; exactly one form must be given."""
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
