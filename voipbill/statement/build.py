"""A period's rated calls into the frozen StatementData that the renderers print.

The calls are read once, in the order given (the run's order: start, then uuid), so a month of
a million calls needs only its totals and the first `max_calls` rows in memory.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from voipbill.config import Service, StatementSettings
from voipbill.config.model import LOGO_TYPES
from voipbill.errors import ConfigError, UsageError
from voipbill.money import invoiced_total
from voipbill.periods import Period
from voipbill.rating import CHARGED_STATUSES, RatedCall
from voipbill.report import billed_minutes
from voipbill.statement.model import CallLine, DayUsage, Operator, StatementData, UsageRow
from voipbill.text import shown

# A logo is a small picture; a bigger file is more likely the wrong path than a logo.
MAX_LOGO_BYTES = 1_000_000
_ZERO = Decimal(0)


@dataclass(slots=True)
class _Tally:
    calls: int = 0
    billed_seconds: int = 0
    free_seconds: int = 0
    amount: Decimal = field(default_factory=Decimal)

    def add(self, call: RatedCall) -> None:
        self.calls += 1
        if call.status in CHARGED_STATUSES:
            self.billed_seconds += call.billed_seconds
            self.free_seconds += call.free_seconds
            self.amount += call.cost or _ZERO

    def row(self, label: str) -> UsageRow:
        return UsageRow(
            label=label,
            calls=self.calls,
            billed_seconds=self.billed_seconds,
            free_seconds=self.free_seconds,
            billed_minutes=billed_minutes(self.billed_seconds),
            free_minutes=billed_minutes(self.free_seconds),
            amount=self.amount,
        )


def build_statement(
    calls: Iterable[RatedCall],
    *,
    service: Service,
    period: Period,
    currency: str,
    rounding_digits: int,
    settings: StatementSettings,
    run_id: str | None,
    committed_at: datetime | None,
    made_at: datetime | None = None,
) -> StatementData:
    """The statement of one service for one period.

    `run_id` and `committed_at` are the committed run's; both None make a preview, dated
    `made_at` (default: now). A committed statement is dated by its commit time only, so it
    comes out the same every time it is made.
    """
    if (run_id is None) != (committed_at is None):
        raise ValueError("a committed statement needs both its run id and its commit time")
    if committed_at is not None:
        made_at = committed_at
    elif made_at is None:
        made_at = datetime.now(period.timezone).replace(microsecond=0)
    zone = period.timezone
    total = _Tally()
    categories: dict[str, _Tally] = {}
    extensions: dict[str, _Tally] = {}
    days = {day: _Tally() for day in _days(period.first_day, period.last_day)}
    earlier = _Tally()  # late calls: CDRs of the days before the period, billed in it
    lines: list[CallLine] = []
    more_calls = 0
    day_of = _DayOf(zone)
    for call in calls:
        total.add(call)
        categories.setdefault(call.category, _Tally()).add(call)
        extensions.setdefault(shown(call.extension) or "(no extension)", _Tally()).add(call)
        days.get(day_of(call.start_epoch), earlier).add(call)
        if len(lines) < settings.max_calls:
            lines.append(_line(call, zone))
        else:
            more_calls += 1
    day_rows = [_day_row(day, tally) for day, tally in days.items()]
    if earlier.calls:
        day_rows.insert(0, _day_row(None, earlier))
    return StatementData(
        operator=Operator(
            company=settings.company,
            address=settings.address,
            logo_data_uri=logo_data_uri(settings.logo) if settings.logo else None,
        ),
        service=service.name,
        tenant=service.domain,
        dids=service.dids,
        period_label=period.label,
        first_day=period.first_day,
        last_day=period.last_day,
        timezone=zone.key,
        currency=currency,
        rounding_digits=rounding_digits,
        run_id=run_id,
        committed_at=committed_at,
        made_at=made_at,
        categories=tuple(tally.row(name) for name, tally in sorted(categories.items())),
        extensions=tuple(tally.row(name) for name, tally in sorted(extensions.items())),
        days=tuple(day_rows),
        total=total.row("total"),
        total_in_minor_unit=invoiced_total(
            (tally.amount for tally in categories.values()), currency
        ),
        calls=tuple(lines),
        more_calls=more_calls,
    )


def logo_data_uri(path: Path) -> str:
    """The `[statement] logo` file as a data: URI, so the statement fetches nothing."""
    media_type = LOGO_TYPES.get(path.suffix.lower())
    if media_type is None:
        raise ConfigError(f"statement -> logo: {path} is not an image file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"statement -> logo: cannot read {path}: {exc.strerror}") from None
    if len(data) > MAX_LOGO_BYTES:
        raise ConfigError(
            f"statement -> logo: {path} is {len(data)} bytes (at most {MAX_LOGO_BYTES})",
            hint="use a small PNG or SVG logo",
        )
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def _days(first: date, last: date) -> list[date]:
    if (last - first).days > 366:
        raise UsageError("a statement covers at most a year", hint="use --period YYYY-MM")
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


class _DayOf:
    """The local calendar day of an epoch, cached per quarter hour of UTC.

    Every UTC offset and DST change in use since 1980 falls on a quarter hour, so all the
    seconds of one quarter share their local date.
    """

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._hours: dict[int, date] = {}

    def __call__(self, epoch: int) -> date:
        quarter = epoch // 900
        day = self._hours.get(quarter)
        if day is None:
            day = self._hours[quarter] = datetime.fromtimestamp(quarter * 900, self.zone).date()
        return day


def _day_row(day: date | None, tally: _Tally) -> DayUsage:
    return DayUsage(
        day=day,
        calls=tally.calls,
        billed_seconds=tally.billed_seconds,
        billed_minutes=billed_minutes(tally.billed_seconds),
        amount=tally.amount,
    )


def _line(call: RatedCall, zone: ZoneInfo) -> CallLine:
    inbound = call.direction.lower() == "inbound"
    return CallLine(
        start=datetime.fromtimestamp(call.start_epoch, zone).strftime("%Y-%m-%d %H:%M:%S"),
        extension=shown(call.extension),  # a committed call of an older voipbill: raw text
        direction=call.direction,
        number=shown((call.caller if inbound else call.dialed) or call.dialed),
        description=call.description,
        category=call.category,
        billsec=call.billsec,
        billed_seconds=call.billed_seconds,
        free_seconds=call.free_seconds,
        cost=call.cost,
        status=call.status,
    )
