"""`active_from` and `active_until` on a service (rules §13): a date, as a TOML date or a
"YYYY-MM-DD" string, in the config's time zone."""

from __future__ import annotations

import re
from datetime import date, datetime

from voipbill.config.table import Table
from voipbill.periods import FIRST_BILLABLE_DAY, LAST_BILLABLE_DAY

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def service_dates(table: Table) -> tuple[date | None, date | None]:
    """(active_from, active_until) of a [services.X] table; both optional."""
    active_from = _day(table, "active_from")
    active_until = _day(table, "active_until")
    if active_from is not None and active_until is not None and active_until < active_from:
        raise table.error(
            "active_until",
            f"{active_until} is before active_from {active_from}",
            hint="the service is active from active_from to active_until, both included",
        )
    return active_from, active_until


def _day(table: Table, key: str) -> date | None:
    value: str | date | None = table.pop(key, (str, date))
    if value is None:
        return None
    example = f'e.g. {key} = "2026-10-15"'
    if isinstance(value, datetime):  # a TOML date-time: a day has no time of day here
        raise table.error(key, "a date without a time of day", hint=example)
    if isinstance(value, str):
        if not _DATE.fullmatch(value.strip()):
            raise table.error(key, f"{value!r} is not a date YYYY-MM-DD", hint=example)
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            message = f"{value!r} is not a day of the calendar"
            raise table.error(key, message, hint=example) from None
    if not FIRST_BILLABLE_DAY <= value <= LAST_BILLABLE_DAY:
        raise table.error(
            key,
            f"{value} is out of range",
            hint=f"billing dates run from {FIRST_BILLABLE_DAY} to {LAST_BILLABLE_DAY}",
        )
    return value
