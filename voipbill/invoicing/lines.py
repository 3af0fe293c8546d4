"""Invoice lines: what a committed period puts on a customer's invoice (rules §11).

One line per service and category whose amount, rounded half-up to the currency's minor
unit, is not zero. `total` is a sum, not a category, and makes no line; a free or no-charge
category sums to zero and makes none either. Each description ends with a token
`[vb:<ledger>:<run>:<service>:<category>]`, so the line can be found again on the invoicing
system's invoices after a crash. `<ledger>` is the ledger's own id (8 hex digits, made when the
ledger was created), so a line of a ledger made again from scratch, whose run numbers start at
1 again, can never be taken for an older ledger's.

Everything here is pure: plain inputs in, frozen lines out, so a line can be built from any
summary of a committed run (the billing core's result, or a ledger record).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from voipbill.config.description import DEFAULT_DESCRIPTION
from voipbill.money import format_money, round_to_minor_unit
from voipbill.report import billed_minutes

TOTAL_CATEGORY = "total"


@dataclass(frozen=True)
class CategoryUsage:
    """One row of a committed run's summary: a service's calls of one category."""

    service: str
    category: str
    calls: int
    billed_seconds: int
    amount: Decimal  # the sum of the calls' rounded costs, before the invoice rounding


@dataclass(frozen=True)
class InvoiceLine:
    run_id: int
    service: str
    category: str
    calls: int
    billed_seconds: int
    amount: Decimal  # rounded to the currency's minor unit, never zero
    currency: str
    description: str  # the rendered template, a space, then the token
    ledger_id: str = ""  # the ledger's id, in the token

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.run_id, self.service, self.category)

    @property
    def token(self) -> str:
        return line_token(self.run_id, self.service, self.category, ledger_id=self.ledger_id)

    @property
    def amount_text(self) -> str:
        """The amount with exactly the currency's decimals, e.g. `12.30`, `1200` for JPY."""
        return format_money(self.amount)


def line_token(run_id: int, service: str, category: str, *, ledger_id: str = "") -> str:
    """`[vb:<ledger>:<run>:<service>:<category>]`; without a ledger id (a ledger of an older
    voipbill read before its upgrade), the older `[vb:<run>:<service>:<category>]`."""
    if ledger_id:
        return f"[vb:{ledger_id}:{run_id}:{service}:{category}]"
    return f"[vb:{run_id}:{service}:{category}]"


def describe(
    template: str,
    usage: CategoryUsage,
    amount: Decimal,
    period_start: date,
    period_end: date,
) -> str:
    values = {
        "service": usage.service,
        "category": usage.category,
        "period_start": period_start.isoformat(),
        "period_end": period_end.isoformat(),
        "calls": str(usage.calls),
        "minutes": format_money(billed_minutes(usage.billed_seconds)),
        "amount": format_money(amount),
    }
    if usage.calls == 1:
        # the default template, and any that says "{calls} calls": "1 call", never "1 calls"
        template = template.replace("{calls} calls", "{calls} call")
    return template.format_map(values)


def build_line(
    usage: CategoryUsage,
    *,
    run_id: int,
    period_start: date,
    period_end: date,
    currency: str,
    template: str = DEFAULT_DESCRIPTION,
    ledger_id: str = "",
) -> InvoiceLine | None:
    """The invoice line of one summary row, or None when it makes no line."""
    if usage.category == TOTAL_CATEGORY:
        return None
    amount = round_to_minor_unit(usage.amount, currency)
    if amount.is_zero():
        return None
    text = describe(template, usage, amount, period_start, period_end)
    token = line_token(run_id, usage.service, usage.category, ledger_id=ledger_id)
    return InvoiceLine(
        run_id=run_id,
        service=usage.service,
        category=usage.category,
        calls=usage.calls,
        billed_seconds=usage.billed_seconds,
        amount=amount,
        currency=currency,
        description=f"{text} {token}",
        ledger_id=ledger_id,
    )


def build_lines(
    usages: Iterable[CategoryUsage],
    *,
    run_id: int,
    period_start: date,
    period_end: date,
    currency: str,
    template: str = DEFAULT_DESCRIPTION,
    ledger_id: str = "",
) -> list[InvoiceLine]:
    """Every line of a run, by service then category, in a stable order."""
    lines = []
    for usage in sorted(usages, key=lambda u: (u.service, u.category)):
        line = build_line(
            usage,
            run_id=run_id,
            period_start=period_start,
            period_end=period_end,
            currency=currency,
            template=template,
            ledger_id=ledger_id,
        )
        if line is not None:
            lines.append(line)
    return lines
