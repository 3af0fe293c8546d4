"""Invoice lines: one per service and category with a non-zero amount, half-up to the cent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voipbill.config.description import template_problem
from voipbill.invoicing.lines import CategoryUsage, build_line, build_lines, line_token
from voipbill.money import minor_unit, round_to_minor_unit

NOV_1, NOV_30 = date(2026, 11, 1), date(2026, 11, 30)


def usage(category: str, amount: str, calls: int = 3, seconds: int = 750) -> CategoryUsage:
    return CategoryUsage("mcon", category, calls, seconds, Decimal(amount))


def line_of(item: CategoryUsage, currency: str = "CAD", **options: str):  # type: ignore[no-untyped-def]
    return build_line(
        item, run_id=7, period_start=NOV_1, period_end=NOV_30, currency=currency, **options
    )


@pytest.mark.parametrize(
    ("currency", "digits"), [("CAD", 2), ("USD", 2), ("GBP", 2), ("EUR", 2), ("JPY", 0)]
)
def test_minor_units_of_iso_4217(currency: str, digits: int) -> None:
    assert minor_unit(currency) == digits


@pytest.mark.parametrize(
    ("amount", "currency", "rounded"),
    [
        ("12.3450", "CAD", "12.35"),  # half-up, not half-even (which gives 12.34)
        ("12.3449", "CAD", "12.34"),
        ("0.0050", "USD", "0.01"),
        ("1234.5", "JPY", "1235"),
        ("1233.5", "JPY", "1234"),  # half-even would keep 1234 too; 1234.5 above tells them apart
        ("0.0005", "KWD", "0.001"),
    ],
)
def test_amounts_round_half_up_to_the_minor_unit(amount: str, currency: str, rounded: str) -> None:
    assert str(round_to_minor_unit(Decimal(amount), currency)) == rounded


def test_the_default_description_then_the_token() -> None:
    line = line_of(usage("national", "12.3450", calls=3, seconds=750))
    assert line is not None
    # 750 s = 12.5 min; the amount 12.3450 rounds half-up to 12.35
    assert line.description == (
        "national calls 2026-11-01 to 2026-11-30: 3 calls, 12.50 min [vb:7:mcon:national]"
    )
    assert line.amount == Decimal("12.35") and line.amount_text == "12.35"
    assert line.key == (7, "mcon", "national")
    assert line.token == "[vb:7:mcon:national]"


def test_one_call_is_one_call_not_one_calls() -> None:
    line = line_of(usage("premium", "4.9450", calls=1, seconds=120))
    assert line is not None
    assert line.description == (
        "premium calls 2026-11-01 to 2026-11-30: 1 call, 2.00 min [vb:7:mcon:premium]"
    )
    # a template of the operator's own that says "{calls} calls" reads right too
    own = line_of(usage("premium", "4.9450", calls=1), template="{calls} calls of {category}")
    assert own is not None and own.description.startswith("1 call of premium ")


def test_every_placeholder_of_a_template() -> None:
    template = "{service}|{category}|{period_start}|{period_end}|{calls}|{minutes}|{amount}"
    line = line_of(usage("international", "3.1", calls=2, seconds=61), template=template)
    assert line is not None
    # 61 s = 1.0166… min, shown 1.02; amount 3.1 shown with the currency's 2 decimals
    assert line.description == (
        "mcon|international|2026-11-01|2026-11-30|2|1.02|3.10 [vb:7:mcon:international]"
    )


def test_a_yen_line_has_no_decimals() -> None:
    line = line_of(usage("national", "1234.5"), currency="JPY", template="{amount}")
    assert line is not None and line.amount_text == "1235"


@pytest.mark.parametrize("amount", ["0", "0.0049", "0.0000"])
def test_an_amount_that_rounds_to_zero_makes_no_line(amount: str) -> None:
    assert line_of(usage("national", amount)) is None


def test_total_is_not_a_line_and_lines_are_ordered() -> None:
    lines = build_lines(
        [
            usage("total", "15.00"),
            usage("tollfree", "0"),
            usage("national", "10.00"),
            CategoryUsage("acme", "international", 1, 60, Decimal("5.00")),
        ],
        run_id=7,
        period_start=NOV_1,
        period_end=NOV_30,
        currency="CAD",
    )
    assert [line.key for line in lines] == [(7, "acme", "international"), (7, "mcon", "national")]


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{customer} calls", "unknown placeholder {customer}"),
        ("{amount:.2f}", "{amount} takes no format"),
        ("{calls!r}", "{calls} takes no format"),
        ("{} calls", "unknown placeholder {}"),
        ("{service.name}", "unknown placeholder {service.name}"),
        ("{category calls", "not a valid template"),
    ],
)
def test_a_bad_template_is_named(template: str, problem: str) -> None:
    found = template_problem(template)
    assert found is not None and problem in found


def test_a_literal_brace_is_fine() -> None:
    assert template_problem("{{usage}} {category}") is None


@given(st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False))
def test_rounding_moves_an_amount_by_at_most_half_a_cent(amount: Decimal) -> None:
    rounded = round_to_minor_unit(amount, "CAD")
    assert abs(rounded - amount) <= Decimal("0.005")
    assert rounded.as_tuple().exponent == -2


def test_the_token_names_run_service_and_category() -> None:
    assert line_token(12, "mcon", "national") == "[vb:12:mcon:national]"


def test_the_token_names_the_ledger_first() -> None:
    assert line_token(12, "mcon", "national", ledger_id="0a1b2c3d") == (
        "[vb:0a1b2c3d:12:mcon:national]"
    )
    line = line_of(usage("national", "1.00"), ledger_id="0a1b2c3d")
    assert line is not None and line.token == "[vb:0a1b2c3d:7:mcon:national]"
    assert line.description.endswith(" [vb:0a1b2c3d:7:mcon:national]")
