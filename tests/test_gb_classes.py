"""A UK package in local-prefix mode: the number classes, free categories, short numbers and
special rules (rules §4.4, §5.3, §5.6, §6), each call priced by hand.

The deck (60/60 throughout, no markup):
    44     United Kingdom   0.0200/min
    447    UK mobile        0.1000/min
    4470   UK personal      0.3000/min
    44845  UK 0845          0.0700/min
    449    UK premium       0.5000/min
    118    Directory        0.9000/min   (a short number never reaches the deck)
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.billinghelpers import rate_rows
from tests.cdrfactory import cdr
from voipbill import config as config_module
from voipbill.errors import ConfigError
from voipbill.rating import RatedCall

GB_DECK = """prefix,description,rate,connect_fee,increment
44,United Kingdom,0.0200,0,60/60
447,UK mobile,0.1000,0,60/60
4470,UK personal,0.3000,0,60/60
44845,UK 0845,0.0700,0,60/60
449,UK premium,0.5000,0,60/60
118,Directory,0.9000,0,60/60
"""
OCT_15_0900 = 1792051200  # 2026-10-15 09:00 BST


def gb_config(tmp_path: Path, package: str = "") -> Path:
    (tmp_path / "deck_gb.csv").write_text(GB_DECK, encoding="utf-8")
    path = tmp_path / "voipbill.toml"
    path.write_text(
        f"""
timezone = "Europe/London"
currency = "GBP"

[decks.uk]
path = "deck_gb.csv"

[packages.uk]
deck = "uk"
country = "GB"
number_mode = "local-prefix"
increment = "60/60"
{package}

[services.london]
package = "uk"
tenant = "london.example.net | 02079460001"
extensions = "201 | 202"
""",
        encoding="utf-8",
    )
    return path


def rate_gb(tmp_path: Path, rows: list[dict[str, str]], package: str = "") -> list[RatedCall]:
    return rate_rows(gb_config(tmp_path, package), rows)


def call_to(number: str, minute: int, billsec: int = 120, **fields: object) -> dict[str, str]:
    """An answered outbound call from extension 201, `minute` minutes after 09:00."""
    return cdr(
        extension="201",
        caller_id_number="201",
        destination_number=number,
        start_epoch=OCT_15_0900 + 60 * minute,
        billsec=billsec,
        **fields,
    )


# The UK calls of the issue, in call order: the mobile and premium calls come first, so under
# the old rule (every own-country number national) they would have taken the free minute.
UK_CALLS = [
    ("07400123456", "mobile"),
    ("09098790000", "premium"),
    ("07031234567", "premium"),  # 070: personal number
    ("08451234567", "premium"),
    ("118118", "short"),
    ("999", "local"),
    ("02079460000", "national"),
    ("01612345678", "national"),
]


def by_dialed(calls: list[RatedCall]) -> dict[str, RatedCall]:
    return {call.dialed: call for call in calls}


def test_uk_numbers_get_their_class_category_status_and_price(tmp_path: Path) -> None:
    rows = [call_to(number, minute) for minute, (number, _) in enumerate(UK_CALLS)]
    calls = by_dialed(rate_gb(tmp_path, rows, "free_minutes = 1"))
    # (category, status, normalized, matched_prefix, free_seconds, cost), 120 s billed each
    expected = {
        # 0.10 × 120/60; mobile is not a free category by default
        "07400123456": ("mobile", "rated", "447400123456", "447", 0, Decimal("0.2000")),
        # 0.50 × 2
        "09098790000": ("premium", "rated", "449098790000", "449", 0, Decimal("1.0000")),
        # 0.30 × 2
        "07031234567": ("premium", "rated", "447031234567", "4470", 0, Decimal("0.6000")),
        # 0.07 × 2
        "08451234567": ("premium", "rated", "448451234567", "44845", 0, Decimal("0.1400")),
        # short: no special rule prices it, and the deck's 118 row is not for short numbers
        "118118": ("short", "unrated", "118118", "", 0, None),
        # emergency: stays local
        "999": ("local", "local", "999", "", 0, Decimal("0.0000")),
        # the first national call takes the 60 free seconds: 0.02 × 60/60
        "02079460000": ("national", "rated", "442079460000", "44", 60, Decimal("0.0200")),
        # the allowance is gone: 0.02 × 2
        "01612345678": ("national", "rated", "441612345678", "44", 0, Decimal("0.0400")),
    }
    for dialed, (category, status, normalized, prefix, free, cost) in expected.items():
        call = calls[dialed]
        got = (call.category, call.status, call.normalized, call.matched_prefix)
        assert got == (category, status, normalized, prefix), dialed
        assert (call.free_seconds, call.cost) == (free, cost), dialed
    assert calls["118118"].billed_seconds == 120  # unrated: by the package increment
    assert calls["118118"].rate is None and calls["118118"].connect_fee is None


def test_free_categories_lets_mobile_calls_use_free_minutes(tmp_path: Path) -> None:
    rows = [call_to("07400123456", 0), call_to("02079460000", 1)]
    package = 'free_minutes = 1\nfree_categories = ["national", "mobile"]'
    calls = by_dialed(rate_gb(tmp_path, rows, package))
    # the mobile call comes first: 60 of its 120 s free -> 0.10 × 60/60 = 0.10
    assert (calls["07400123456"].free_seconds, calls["07400123456"].cost) == (
        60,
        Decimal("0.1000"),
    )
    # nothing left for the national call: 0.02 × 2
    assert (calls["02079460000"].free_seconds, calls["02079460000"].cost) == (0, Decimal("0.0400"))


def test_premium_calls_never_eat_national_free_minutes_by_default(tmp_path: Path) -> None:
    rows = [call_to("09098790000", 0), call_to("08451234567", 1), call_to("02079460000", 2)]
    calls = by_dialed(rate_gb(tmp_path, rows, "free_minutes = 2"))
    assert calls["09098790000"].free_seconds == 0
    assert calls["08451234567"].free_seconds == 0
    # the national call takes all 120 s: fully covered, cost 0
    assert (calls["02079460000"].free_seconds, calls["02079460000"].cost) == (
        120,
        Decimal("0.0000"),
    )


def test_custom_priced_calls_of_a_free_category_use_free_minutes(tmp_path: Path) -> None:
    package = """free_minutes = 1
free_categories = ["premium"]
custom_rates = [ { prefix = "449", rate = "0.40" } ]"""
    call = by_dialed(rate_gb(tmp_path, [call_to("09098790000", 0)], package))["09098790000"]
    # custom 0.40/min, 60 of 120 s free: 0.40 × 60/60
    assert (call.description, call.free_seconds, call.cost) == (
        "custom rate",
        60,
        Decimal("0.4000"),
    )


def test_special_rule_prices_118_directory_numbers_and_uses_no_free_minutes(
    tmp_path: Path,
) -> None:
    package = """free_minutes = 10
free_categories = ["national", "mobile", "premium"]
special = [ { pattern = "118", mode = "hybrid", flat = "0.50", per_minute = "1.20" } ]"""
    rows = [call_to("118118", 0, billsec=90), call_to("118500", 5, billsec=0)]
    calls = by_dialed(rate_gb(tmp_path, rows, package))
    priced = calls["118118"]
    # 90 s -> 120 billed (60/60); 0.50 + 1.20 × 120/60 = 2.90; special calls take no free time
    assert (priced.category, priced.status, priced.matched_prefix) == ("special", "rated", "118")
    assert (priced.billed_seconds, priced.free_seconds, priced.cost) == (120, 0, Decimal("2.9000"))
    assert (priced.rate, priced.connect_fee, priced.description) == (
        Decimal("1.20"),
        Decimal("0.50"),
        "",
    )
    # an unanswered call is not priced, so it keeps its class category
    assert (calls["118500"].category, calls["118500"].status) == ("short", "unanswered")


def test_custom_rate_does_not_price_a_short_number(tmp_path: Path) -> None:
    package = 'custom_rates = [ { prefix = "118", rate = "0.50" } ]'
    call = by_dialed(rate_gb(tmp_path, [call_to("118118", 0)], package))["118118"]
    assert (call.category, call.status, call.cost) == ("short", "unrated", None)


def test_short_numbers_are_for_outbound_calls_only(tmp_path: Path) -> None:
    local = call_to("118118", 0, direction="local")
    calls = rate_gb(tmp_path, [local])
    assert [(c.category, c.status) for c in calls] == [("local", "local")]


def test_special_rule_matching_an_extension_number_skips_the_local_status(tmp_path: Path) -> None:
    package = 'special = [ { pattern = "55", mode = "flat_per_call", flat = "0.25" } ]'
    rows = [
        call_to("5501", 0),
        call_to("5502", 1, direction="local"),
        call_to("5503", 2, billsec=0),
    ]
    calls = by_dialed(rate_gb(tmp_path, rows, package))
    # outbound to a 4-digit number the rule matches: priced by the rule
    assert (calls["5501"].category, calls["5501"].status, calls["5501"].cost) == (
        "special",
        "rated",
        Decimal("0.2500"),
    )
    # a local call is never looked at by special rules
    assert (calls["5502"].category, calls["5502"].status) == ("local", "local")
    # matched but unanswered: not priced, so the category stays local
    assert (calls["5503"].category, calls["5503"].status) == ("local", "unanswered")


@pytest.mark.parametrize(
    ("word", "number", "status"),
    [
        ("[mobile]", "07400123456", "no_charge"),
        ("[premium]", "09098790000", "no_charge"),
        ("[short]", "118118", "no_charge"),
        ("[premium]", "07400123456", "rated"),
    ],
)
def test_pattern_words_for_the_new_classes(
    tmp_path: Path, word: str, number: str, status: str
) -> None:
    call = only_call(rate_gb(tmp_path, [call_to(number, 0)], f'no_charge = ["{word}"]'))
    assert call.status == status


def test_exclude_short_hides_short_numbers(tmp_path: Path) -> None:
    rows = [call_to("118118", 0), call_to("02079460000", 1)]
    calls = rate_gb(tmp_path, rows, 'exclude = ["[short]"]')
    assert [call.dialed for call in calls] == ["02079460000"]


def only_call(calls: list[RatedCall]) -> RatedCall:
    assert len(calls) == 1, calls
    return calls[0]


# -- free_categories in the configuration --------------------------------------------------------


def test_free_categories_defaults_to_national(tmp_path: Path) -> None:
    package = config_module.load(gb_config(tmp_path)).packages["uk"]
    assert package.free_categories == ("national",)


@pytest.mark.parametrize("bad", ["special", "short", "local", "National"])
def test_free_categories_refuses_what_free_minutes_cannot_go_to(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_module.load(gb_config(tmp_path, f'free_categories = ["mobile", "{bad}"]'))
    assert caught.value.message.startswith("packages -> uk -> free_categories[2]: ")
    assert repr(bad) in caught.value.message
