"""Customer statements as HTML: the numbers on the page, the chart, escaping, the cap, the mark."""

from __future__ import annotations

import base64
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from tests.statementhelpers import (
    call,
    chart_bars,
    epoch,
    november_calls,
    statement,
    tables,
)
from voipbill.billing import ServiceTotals, billed_minutes
from voipbill.config import StatementSettings
from voipbill.errors import ConfigError
from voipbill.money import format_amount, format_money, round_to_minor_unit
from voipbill.statement import render_html

PREVIEW_MARK = "PREVIEW — not an invoice"


def test_summary_by_category_is_the_hand_worked_one() -> None:
    rows = tables(render_html(statement()))["summary"]
    assert rows[0] == ["Category", "Calls", "Billed min", "Free min", "Amount (CAD)"]
    # national: a 66 s + c 60 s (all free) + f unanswered; international: b 120 s + e unrated
    assert rows[1:] == [
        ["inbound", "1", "0.00", "0.00", "0.0000"],
        ["international", "2", "2.00", "0.00", "0.5118"],
        ["national", "3", "2.10", "1.00", "0.0132"],
        ["Total", "6", "4.10", "1.00", "0.5250"],
    ]


def test_statement_amounts_equal_the_run_summary() -> None:
    calls = november_calls()
    totals = ServiceTotals("mcon", "mcon.wat5.ictvoip.ca")
    for rated in calls:
        totals.add(rated)
    buckets = [*totals.categories.items(), ("total", totals.total)]
    summary = {
        category: [
            str(bucket.calls),
            format_money(billed_minutes(bucket.billed_seconds)),
            format_amount(bucket.amount, 4),
        ]
        for category, bucket in buckets
    }
    rows = tables(render_html(statement(calls)))["summary"][1:]
    on_statement = {row[0].lower(): [row[1], row[2], row[4]] for row in rows}
    assert on_statement == summary


def test_total_in_cents_is_the_sum_of_the_category_lines_with_the_rounding_note() -> None:
    html = render_html(statement())
    # rules §12: each category's amount rounded half-up to the cent, then summed, as the
    # invoice lines: international 0.5118 -> 0.51, national 0.0132 -> 0.01, inbound 0 -> 0.00:
    # 0.52 (rounding the call-cost sum 0.5250 instead would have said 0.53)
    assert '<div class="value">CAD 0.52</div>' in html
    assert (
        'Sum of the call costs: <span class="nowrap">CAD 0.5250</span>; the total adds up the '
        "category amounts, each rounded to the cent" in html
    )
    assert "Each call's cost is rounded to 4 decimals" in html
    assert "minor unit (2 decimals)" in html


def test_per_extension_subtotals() -> None:
    rows = tables(render_html(statement()))["extensions"][1:]
    assert rows == [
        ["2112", "4", "2.10", "1.00", "0.0132"],
        ["2113", "2", "2.00", "0.00", "0.5118"],
    ]


def test_daily_chart_bars_add_up_to_the_period() -> None:
    data = statement()
    bars = chart_bars(render_html(data))
    minutes, amounts = bars[:30], bars[30:]
    assert len(bars) == 60  # one bar per day of November, in each of the two panels
    assert [bar["day"] for bar in minutes] == [f"2026-11-{day:02d}" for day in range(1, 31)]
    assert sum(int(bar["seconds"]) for bar in minutes) == 246 == data.total.billed_seconds
    assert sum(Decimal(bar["value"]) for bar in amounts) == Decimal("0.5250")
    by_day = {bar["day"]: int(bar["seconds"]) for bar in minutes}
    assert by_day["2026-11-03"] == 186 and by_day["2026-11-05"] == 60


def test_a_call_late_on_the_day_clocks_fall_back_stays_on_that_day() -> None:
    # 2026-11-01 is 25 hours long in Toronto; 23:30 EST is 04:30 UTC on the 2nd
    data = statement([call("x", epoch(1, 23, 30), billed=120, cost="0.0240")])
    assert data.days[0].billed_seconds == 120
    assert data.days[1].billed_seconds == 0


def test_late_calls_from_before_the_period_get_their_own_bar() -> None:
    late = call("old", epoch(29, 10, 0, month=10), billed=60, cost="0.0120", status="late")
    html = render_html(statement([late, *november_calls()]))
    bars = chart_bars(html)
    assert len(bars) == 62
    assert bars[0]["day"] == "late calls" and bars[0]["seconds"] == "60"
    assert sum(int(bar["seconds"]) for bar in bars[:31]) == 306
    assert "late call" in tables(html)["calls"][1][-1]


def test_cdr_text_is_escaped() -> None:
    hostile = call(
        "x",
        epoch(4, 9, 0),
        direction="inbound",
        category="inbound",
        caller="<script>alert(1)</script>",
        description='"><img src=x onerror=alert(2)>',
        extension="<b>2112</b>",
    )
    html = render_html(statement([hostile]))
    assert "<script" not in html and "<img src=x" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    number_cell = tables(html)["calls"][1][2]
    assert number_cell.startswith("<script>alert(1)</script>")


def test_operator_text_in_the_page_header_cannot_end_the_style_sheet() -> None:
    settings = StatementSettings(company='Evil"; } </style><script>x</script>')
    html = render_html(statement(settings=settings))
    assert html.count("</style>") == 1
    assert "<script" not in html


def test_html_is_self_contained() -> None:
    html = render_html(statement())
    assert "<script" not in html
    assert "http:" not in html and "https:" not in html and "url(" not in html
    assert "<style>" in html and "<svg" in html


def test_call_list_is_capped_with_the_count_of_the_rest() -> None:
    data = statement(settings=StatementSettings(max_calls=2))
    html = render_html(data)
    rows = tables(html)["calls"]
    assert len(rows) == 1 + 2
    assert [row[0] for row in rows[1:]] == ["2026-11-03 09:15:00", "2026-11-03 14:00:00"]
    assert "and 4 more calls: see the calls CSV" in html
    assert data.total.calls == 6  # the totals still count every call


def test_no_more_calls_line_when_all_calls_fit() -> None:
    html = render_html(statement(settings=StatementSettings(max_calls=6)))
    assert len(tables(html)["calls"]) == 1 + 6
    assert "more calls" not in html


def test_call_rows_show_the_customer_what_happened() -> None:
    rows = tables(render_html(statement()))["calls"]
    assert rows[0] == ["Start", "Ext.", "Number", "Category", "Duration", "Cost (CAD)"]
    assert rows[1] == [
        "2026-11-03 09:15:00",
        "2112",
        "14165550123 | Canada - Toronto",
        "national",
        "1:01",
        "0.0132",
    ]
    assert rows[3][-1] == "0.0000 | free minutes"
    assert rows[4][2] == "12895550180"  # an inbound call shows who called
    assert rows[5][-1] == "— | unrated"


def test_same_committed_statement_is_the_same_text_every_time() -> None:
    assert render_html(statement()) == render_html(statement())


def test_preview_is_marked_on_screen_and_on_every_printed_page() -> None:
    html = render_html(statement(committed=False))
    assert f'<div class="preview-mark">{PREVIEW_MARK}</div>' in html
    assert '@top-center { content: "PREVIEW \\2014  not an invoice"' in html
    assert "none committed: preview" in html


def test_committed_statement_has_no_preview_mark_and_names_its_run() -> None:
    html = render_html(statement())
    assert "PREVIEW" not in html
    facts = html[html.index('<dl class="facts">') :]
    assert "<dt>Run</dt><dd>7</dd>" in facts
    assert "<dt>Committed</dt><dd>2026-12-02 03:15:00 EST</dd>" in facts
    assert '<meta name="dcterms.created" content="2026-12-02T08:15:00Z">' in html


def test_header_names_the_service_tenant_dids_and_period() -> None:
    html = render_html(statement())
    for text in (
        "<dd>mcon</dd>",
        "<dd>mcon.wat5.ictvoip.ca</dd>",
        "<dd>+15192229000</dd>",
        "<dd>America/Toronto</dd>",
        "November 2026",
        "2026-11-01 to 2026-11-30",
    ):
        assert text in html


def test_logo_is_embedded_as_a_data_uri(tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    html = render_html(statement(settings=StatementSettings(company="N", logo=logo)))
    encoded = base64.b64encode(logo.read_bytes()).decode()
    assert f'<img src="data:image/png;base64,{encoded}" alt="N">' in html


def test_a_missing_logo_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"statement -> logo: cannot read .*nologo\.png"):
        statement(settings=StatementSettings(logo=tmp_path / "nologo.png"))


def test_a_statement_with_no_calls_says_so() -> None:
    data = statement([])
    html = render_html(data)
    assert "No calls in this period." in html
    assert data.total_in_minor_unit == Decimal("0.00")
    assert len(chart_bars(html)) == 60


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("0.5250", "CAD", "0.53"),
        ("0.5249", "CAD", "0.52"),
        ("1234.5000", "JPY", "1235"),
        ("1.23450", "KWD", "1.235"),
        ("0", "EUR", "0.00"),
    ],
)
def test_round_to_minor_unit(amount: str, currency: str, expected: str) -> None:
    assert str(round_to_minor_unit(Decimal(amount), currency)) == expected


def test_amounts_print_with_the_rounding_digits() -> None:
    data = replace(statement(), rounding_digits=6)
    html = render_html(data)
    assert format_amount(Decimal("0.5250"), 6) == "0.525000"
    assert "0.525000" in html
