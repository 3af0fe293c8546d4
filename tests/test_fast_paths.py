"""The fast paths of rating and output give exactly what the plain ones give."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.cdrfactory import cdr, write_config, write_export
from voipbill import config as config_module
from voipbill.billing.raters import build_raters
from voipbill.billing.scope import RatingRun
from voipbill.cdrs import CdrProblem, read_cdr_file
from voipbill.decks import load_deck
from voipbill.numbers import Normaliser, NumberPlan
from voipbill.periods import resolve_period
from voipbill.report import (
    ServiceTotals,
    StartFormatter,
    csv_field,
    tally,
    write_calls_csv,
    write_priced_csv,
)

OCT_15 = 1792069200
PACKAGE = """markup_percent = "12.5"
free_minutes = 2
inbound_billing = true
inbound_rate = "0.0049"
increment = "30/6"
exclude = ["*xx"]
no_charge = ["[tollfree]"]
custom_rates = [ { prefix = "1212", rate = "0.02", connect_fee = "0.001" } ]
special = [ { pattern = "1900", mode = "hybrid", flat = "0.35", per_minute = "0.5" } ]
"""
DECK = '''prefix,description,rate,connect_fee,increment,effective_from
1,"Canada, US",0.0100,0,6/6,
1519,"Waterloo ""KW""",0.0090,0,,
1519,"Waterloo ""KW""",0.0080,0,,2026-10-15
1800,Toll-free,0,0,,
44,United Kingdom,0.0500,0.0500,60/60,
'''
NUMBERS = [
    "15195550100",
    "5195550101",
    "12125550123",
    "18005551234",
    "442079460000",
    "19005550000",
    "2113",
    "*97",
    "99999999",
    "011447700900123",
]


def rated_run(tmp_path: Path, rows: list[dict[str, str]]):  # type: ignore[no-untyped-def]
    config = config_module.load(write_config(tmp_path, PACKAGE, deck=DECK))
    period = resolve_period(config.timezone, from_day="2026-10-01", to_day="2026-10-31", month=None)
    assert period is not None
    raters = build_raters(config, list(config.services.values()))
    problems: list[CdrProblem] = []
    run = RatingRun(raters, period)
    run.feed(read_cdr_file(write_export(tmp_path / "cdrs.csv", rows), problems=problems), "cdrs")
    return config, raters


row_strategy = st.fixed_dictionaries(
    {
        "direction": st.sampled_from(["outbound", "inbound", "local"]),
        "number": st.sampled_from(NUMBERS),
        "billsec": st.integers(min_value=0, max_value=4000),
        "offset": st.integers(min_value=-86_400 * 20, max_value=86_400 * 20),
        "extension": st.sampled_from(["2112", "2113", "2114", ""]),
        "caller": st.sampled_from(["2112", "ACME, Inc", 'say "hi"', "15195550100"]),
        "status": st.sampled_from(["answered", "missed", "busy", ""]),
    }
)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(row_strategy, max_size=30))
def test_fast_calls_csv_is_byte_for_byte_the_plain_one(rows, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    directory = tmp_path_factory.mktemp("fast")
    export = [
        cdr(
            direction=row["direction"],
            destination_number=row["number"],
            caller_destination=row["number"] if row["direction"] != "inbound" else "5192229000",
            billsec=row["billsec"],
            start_epoch=OCT_15 + row["offset"],
            extension=row["extension"],
            caller_id_number=row["caller"],
            status=row["status"],
        )
        for row in rows
    ]
    config, raters = rated_run(directory, export)
    plain, plain_totals = (
        io.StringIO(),
        [ServiceTotals(r.service.name, r.service.domain) for r in raters],
    )
    calls = (
        call
        for rater, totals in zip(raters, plain_totals, strict=True)
        for call in tally(rater.calls(), totals)
    )
    write_calls_csv(plain, calls, config.currency, config.timezone)
    fast, fast_totals = (
        io.StringIO(),
        [ServiceTotals(r.service.name, r.service.domain) for r in raters],
    )
    write_priced_csv(fast, zip(raters, fast_totals, strict=True), config.currency, config.timezone)
    assert fast.getvalue() == plain.getvalue()
    assert fast_totals == plain_totals


def test_statuses_only_writes_the_same_csv_and_counts_the_same_statuses(tmp_path: Path) -> None:
    rows = [
        cdr(destination_number=number, billsec=billsec, start_epoch=OCT_15 + index)
        for index, (number, billsec) in enumerate(zip(NUMBERS, [0, 61, 5, 30, 90] * 2, strict=True))
    ]
    config, raters = rated_run(tmp_path, rows)
    full, full_totals = io.StringIO(), [ServiceTotals(r.service.name, "") for r in raters]
    write_priced_csv(full, zip(raters, full_totals, strict=True), config.currency, config.timezone)
    lean, lean_totals = io.StringIO(), [ServiceTotals(r.service.name, "") for r in raters]
    write_priced_csv(
        lean,
        zip(raters, lean_totals, strict=True),
        config.currency,
        config.timezone,
        statuses_only=True,
    )
    assert lean.getvalue() == full.getvalue()
    assert [t.statuses for t in lean_totals] == [t.statuses for t in full_totals]
    assert sum(full_totals[0].statuses.values()) == 9  # `*xx` excludes *97
    assert not lean_totals[0].categories and not lean_totals[0].destinations


@given(text=st.text(alphabet=st.sampled_from('ab ,"\r\n\t;é'), max_size=8))
def test_a_field_is_quoted_as_csv_writer_quotes_it(text: str) -> None:
    import csv

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(["x", text, "y"])
    assert buffer.getvalue() == f"x,{csv_field(text)},y\n"


@pytest.mark.parametrize(
    "zone", ["America/Toronto", "Asia/Kathmandu", "Australia/Lord_Howe", "Europe/Amsterdam", "UTC"]
)
@settings(max_examples=200, deadline=None)
@given(epoch=st.integers(min_value=-3_000_000_000, max_value=4_000_000_000))
def test_start_text_matches_datetime_isoformat(zone: str, epoch: int) -> None:
    timezone = ZoneInfo(zone)
    formatter = StartFormatter(timezone)
    for moment in (epoch, epoch + 1, epoch + 59):  # the second and third use the minute cache
        assert formatter(moment) == datetime.fromtimestamp(moment, timezone).isoformat()


def test_start_text_across_a_dst_change_uses_each_side_offset() -> None:
    zone = ZoneInfo("America/Toronto")
    formatter = StartFormatter(zone)
    change = int(datetime(2026, 11, 1, 6, 0, tzinfo=ZoneInfo("UTC")).timestamp())  # 2:00 EDT
    for epoch in range(change - 120, change + 120, 7):
        assert formatter(epoch) == datetime.fromtimestamp(epoch, zone).isoformat()


def test_a_number_under_a_dated_prefix_is_rated_by_the_row_of_its_day(tmp_path: Path) -> None:
    rows = [
        cdr(destination_number="15195550100", start_epoch=OCT_15 - 86_400, billsec=60),
        cdr(destination_number="15195550100", start_epoch=OCT_15 + 86_400, billsec=60),
    ]
    _, raters = rated_run(tmp_path, rows)
    calls = list(raters[0].calls())
    assert [call.rate for call in calls] == [Decimal("0.010125"), Decimal("0.009")]


def test_deck_dated_is_true_only_under_a_prefix_with_a_dated_row(tmp_path: Path) -> None:
    path = tmp_path / "deck.csv"
    path.write_text(DECK, encoding="utf-8")
    deck = load_deck(path, timezone=ZoneInfo("America/Toronto"))
    assert deck.dated("15195550100")
    assert not deck.dated("16135550100")
    assert not deck.dated("442079460000")


@settings(max_examples=300, deadline=None)
@given(
    region=st.sampled_from(["CA", "US", "GB", "AU", "DE", "AR", "BR", "IT", "FR", "IN", "JM"]),
    kind=st.sampled_from(list(range(11))),
    tail=st.integers(min_value=0, max_value=9),
)
def test_class_agrees_with_phonenumbers_number_type(region: str, kind: int, tail: int) -> None:
    example = phonenumbers.example_number_for_type(region, kind)
    if example is None:
        return
    digits = f"{example.country_code}{phonenumbers.national_significant_number(example)}"
    for text in (digits, digits[:-1] + str(tail)):
        number_plan = NumberPlan(region, example.country_code, "e164", False, "", "00", ())
        result = Normaliser(number_plan).normalise(text)
        if result.number_class == "local":
            continue
        parsed = phonenumbers.parse("+" + text)
        is_toll_free = phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.TOLL_FREE
        assert (result.number_class == "tollfree") == is_toll_free, text
        assert result.region == phonenumbers.region_code_for_number(parsed) or (
            phonenumbers.region_code_for_number(parsed) is None
        )
