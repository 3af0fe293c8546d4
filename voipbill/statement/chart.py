"""The daily usage chart: an inline SVG of billed minutes and amount per day, made here.

Drawn by hand rather than by a chart library so that it needs no script, fetches nothing and
is the same bytes every time: coordinates are integer tenths of a pixel, computed from the
exact Decimal values, and every number is written in one fixed format.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from markupsafe import Markup, escape

from voipbill.money import format_amount, format_money
from voipbill.statement.model import DayUsage
from voipbill.wording import counted

WIDTH = 720
_LEFT = 64  # room for the value labels of the y axis
_RIGHT = 8
_PANEL = 110  # the height of one panel's bars
_TOP = 22  # a panel's title above its bars
_GAP = 34  # the day labels below a panel
_FONT = 'font-family="DejaVu Sans, Arial, sans-serif"'
# Styles are attributes, not CSS classes: WeasyPrint does not apply the page's stylesheet
# inside an inline SVG (the day labels came out at the default 16px, overlapping).
_TITLE = f'{_FONT} font-size="13" font-weight="bold" fill="#1d2530"'
_AXIS = f'{_FONT} font-size="11" fill="#4a5663"'
_DAY = f'{_FONT} font-size="10.5" fill="#4a5663"'
_MINUTES_COLOUR = "#2f6db5"
_AMOUNT_COLOUR = "#23855f"


def daily_chart(days: Sequence[DayUsage], currency: str, digits: int) -> Markup:
    """Two bar panels, minutes above and amount below, one bar per day of the period."""
    height = 2 * (_TOP + _PANEL + _GAP)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-label="Billed minutes and amount per day">'
    ]
    parts += _panel(
        days,
        0,
        "Billed minutes per day",
        [day.billed_minutes for day in days],
        False,
        _MINUTES_COLOUR,
        currency,
        digits,
    )
    parts += _panel(
        days,
        _TOP + _PANEL + _GAP,
        f"Amount per day ({currency})",
        [day.amount for day in days],
        True,
        _AMOUNT_COLOUR,
        currency,
        digits,
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def nice_ceiling(value: Decimal) -> Decimal:
    """The smallest of 1, 2, 2.5 and 5 times a power of ten that is at least `value` (> 0)."""
    power = Decimal(1).scaleb(value.adjusted())
    for step in (1, 2, Decimal("2.5"), 5, 10):
        candidate = power * step
        if candidate >= value:
            return candidate
    raise AssertionError("unreachable: 10 x 10^adjusted() exceeds every value")


def _panel(
    days: Sequence[DayUsage],
    top: int,
    title: str,
    values: Sequence[Decimal],
    money: bool,
    colour: str,
    currency: str,
    digits: int,
) -> list[str]:
    plot_width = WIDTH - _LEFT - _RIGHT
    baseline = top + _TOP + _PANEL
    largest = max(values, default=Decimal(0))
    ceiling = nice_ceiling(largest) if largest > 0 else Decimal(1)
    parts = [
        f'<text x="{_LEFT}" y="{top + 14}" {_TITLE}>{escape(title)}</text>',
        _axis_line(top + _TOP, _axis_label(ceiling, money)),
        _axis_line(top + _TOP + _PANEL // 2, _axis_label(ceiling / 2, money)),
        _axis_line(baseline, "0"),
    ]
    slot = plot_width * 10 // max(len(days), 1)  # tenths of a pixel per day
    bar = max(slot * 7 // 10, 10)
    label_every = 1 if len(days) <= 31 else 7
    for index, (day, value) in enumerate(zip(days, values, strict=True)):
        x = _LEFT * 10 + index * slot + (slot - bar) // 2
        bar_height = int((value * _PANEL * 10) // ceiling)
        name = day.day.isoformat() if day.day else "late calls"
        exact = format_amount(value, digits) if money else format_money(value)
        tip = (
            f"{name}: {counted(day.calls, 'call')}, {format_money(day.billed_minutes)} min, "
            f"{currency} {format_amount(day.amount, digits)}"
        )
        parts.append(
            f'<rect x="{_tenths(x)}" y="{_tenths(baseline * 10 - bar_height)}" '
            f'width="{_tenths(bar)}" height="{_tenths(bar_height)}" fill="{colour}" '
            f'data-day="{escape(name)}" data-seconds="{day.billed_seconds}" '
            f'data-value="{exact}"><title>{escape(tip)}</title></rect>'
        )
        if index % label_every == 0:
            label = str(day.day.day) if day.day else "late"
            centre = _tenths(_LEFT * 10 + index * slot + slot // 2)
            parts.append(
                f'<text x="{centre}" y="{baseline + 15}" text-anchor="middle" {_DAY}>{label}</text>'
            )
    return parts


def _axis_line(y: int, label: str) -> str:
    return (
        f'<line x1="{_LEFT}" y1="{y}" x2="{WIDTH - _RIGHT}" y2="{y}" stroke="#d5dce3"/>'
        f'<text x="{_LEFT - 6}" y="{y + 4}" text-anchor="end" {_AXIS}>'
        f"{escape(label)}</text>"
    )


def _axis_label(value: Decimal, money: bool) -> str:
    """A gridline's value; an amount with at least two decimals (2.50, not 2.5)."""
    plain = value.normalize()
    if money:
        return format_amount(plain, max(2, -int(plain.as_tuple().exponent)))
    return format_money(plain)


def _tenths(value: int) -> str:
    whole, tenth = divmod(value, 10)
    return f"{whole}.{tenth}" if tenth else str(whole)
