"""Real carriers' deck layouts (rules §3): header names, presets, deck options, digit limits."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from voipbill import config as config_module
from voipbill.decks import Deck, DeckError, DeckLayout, header_key, load_deck
from voipbill.errors import ConfigError
from voipbill.increments import Increment

DATA = Path(__file__).parent / "data" / "decks"
TORONTO = ZoneInfo("America/Toronto")


def load(tmp_path: Path, text: str, **layout: object) -> Deck:
    path = tmp_path / "deck.csv"
    path.write_text(text, encoding="utf-8")
    return load_deck(path, layout=DeckLayout(**layout), timezone=TORONTO)  # type: ignore[arg-type]


def problems(tmp_path: Path, text: str, **layout: object) -> list[str]:
    with pytest.raises(DeckError) as caught:
        load(tmp_path, text, **layout)
    return caught.value.errors


def by_prefix(deck: Deck) -> dict[str, tuple[object, ...]]:
    return {row.prefix: row for row in deck.rows}


# -- header names ----------------------------------------------------------------------------


def test_case_a_trailing_currency_and_separators_do_not_matter() -> None:
    names = ["Cost / Min (USD)", "cost/min", "COST_MIN", " Cost-Min. ", "costmin"]
    assert {header_key(name) for name in names} == {"costmin"}
    assert header_key("Connection Cost (USD)") == header_key("connection_cost")


def test_two_cells_for_one_read_column_are_refused(tmp_path: Path) -> None:
    errors = problems(tmp_path, "prefix,rate,Rate\n44,0.02,0.03\n")
    assert errors == ["ambiguous columns: 'rate' (column 2) and 'Rate' (column 3) are both rate"]


def test_two_names_of_one_preset_column_in_one_header_are_refused(tmp_path: Path) -> None:
    text = "Code,Cost/Min,Per Minute Cost\n44,0.02,0.03\n"
    errors = problems(tmp_path, text, preset="astpp")
    assert errors == [
        "ambiguous columns: 'Cost/Min' (column 2) and 'Per Minute Cost' (column 3) are both rate"
    ]


def test_duplicate_cells_no_column_reads_are_only_ignored(tmp_path: Path) -> None:
    deck = load(tmp_path, "prefix,rate,Notes,Notes\n44,0.02,a,b\n")
    assert deck.report.ignored == ("Notes", "Notes")


def test_a_misspelt_column_is_ignored_and_listed(tmp_path: Path) -> None:
    deck = load(tmp_path, "Code,Conect Cost,Cost/Min\n44,0.05,0.02\n", preset="astpp")
    assert deck.report.ignored == ("Conect Cost",)
    assert deck.rows[0].connect_fee == 0
    assert deck.report.columns == (("Code", "prefix"), ("Cost/Min", "rate"))


def test_columns_table_takes_a_list_of_names(tmp_path: Path) -> None:
    layout = DeckLayout.of("voipbill", {"prefix": "Dial Code", "rate": ["Price", "Rate/min"]})
    path = tmp_path / "deck.csv"
    path.write_text("Dial Code,Rate / Min (EUR)\n44,0.02\n", encoding="utf-8")
    deck = load_deck(path, layout=layout, timezone=TORONTO)
    assert deck.report.columns == (("Dial Code", "prefix"), ("Rate / Min (EUR)", "rate"))


def test_a_mapped_single_increment_replaces_the_presets_two_columns(tmp_path: Path) -> None:
    text = "Code,Cost/Min,Initial Increment,Increment,Billing\n44,0.02,60,60,30/6\n"
    deck = load(tmp_path, text, preset="astpp", columns={"increment": ("Billing",)})
    assert deck.rows[0].increment == Increment(30, 6)
    assert deck.report.ignored == ("Initial Increment", "Increment")


def test_mapping_both_increment_forms_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not both"):
        load(tmp_path, "prefix,rate\n", columns={"increment": ("a",), "next_increment": ("b",)})


# -- astpp -------------------------------------------------------------------------------------


def test_astpp_import_sample_layout(tmp_path: Path) -> None:
    # ASTPP's own import sample: `Connect Cost`, `Included Seconds`, `Per Minute Cost`, one
    # `Increment` column, rows ending in `,`, and a line of spaces at the end
    deck = load_deck(DATA / "astpp_import.csv", preset="astpp", timezone=TORONTO)
    rows = by_prefix(deck)
    usa, uk, mobile = rows["1"], rows["44"], rows["4477"]
    assert (usa.rate, usa.increment, usa.included_seconds) == (
        Decimal("0.0120"),
        Increment(6, 6),
        0,
    )
    assert (uk.connect_fee, uk.included_seconds) == (Decimal("0.05"), 30)
    assert uk.increment is None  # an increment of 0 is "not set": the package's
    assert mobile.included_seconds is None  # empty: the package's
    assert deck.report.ignored == ("Precedence",)


def test_astpp_export_layout_with_currency_headers_and_status() -> None:
    deck = load_deck(DATA / "astpp_export.csv", preset="astpp", timezone=TORONTO)
    rows = by_prefix(deck)
    hungary = rows["36"]
    assert (hungary.rate, hungary.connect_fee) == (Decimal("0.0500"), Decimal("0.383"))
    assert (hungary.increment, hungary.included_seconds) == (Increment(25, 25), 25)  # Grace Time
    assert rows["44"].rate == Decimal("0.0210")  # the Inactive line 4 is left out, no duplicate
    assert rows["44"].increment is None  # 0 and 0: the package's
    assert rows["1"].increment == Increment(60, 6)
    assert deck.report.left_out == {"inactive (Status)": (4,)}
    assert deck.report.ignored == (
        "Priority",
        "Strip",
        "Prepend",
        "Trunk",
        "Created Date",
        "Modified Date",
    )


@pytest.mark.parametrize("status", ["Inactive", "INACTIVE", "0", "false", "False"])
def test_astpp_inactive_rows_are_left_out_unchecked(tmp_path: Path, status: str) -> None:
    text = f"Code,Cost/Min,Status\n44,0.02,\n44,not a rate,{status}\n"
    deck = load(tmp_path, text, preset="astpp")
    assert [row.prefix for row in deck.rows] == ["44"]
    assert deck.report.left_out == {"inactive (Status)": (3,)}


def test_astpp_unknown_status_is_refused(tmp_path: Path) -> None:
    errors = problems(tmp_path, "Code,Cost/Min,Status\n44,0.02,Suspended\n", preset="astpp")
    assert errors == ["line 2: Status 'Suspended' is not Active or Inactive (or 1/0, true/false)"]


def test_a_deck_whose_rows_are_all_left_out_is_refused(tmp_path: Path) -> None:
    errors = problems(tmp_path, "Code,Cost/Min,Status\n44,0.02,Inactive\n", preset="astpp")
    assert errors == ["no rate rows below the header (1 left out: see `deck check`)"]


# -- magnus ------------------------------------------------------------------------------------


def test_magnus_with_header_reads_minimal_time_charge_as_no_charge_seconds(tmp_path: Path) -> None:
    text = (
        "prefix,destination,rateinitial,initblock,billingblock,connectcharge,"
        "disconnectcharge,minimal_time_charge\n"
        "1,USA,0.05,30,6,0,0,3\n49,Germany,0.02,0,6,0.01,0.0000,\n"
    )
    rows = by_prefix(load(tmp_path, text, preset="magnus"))
    assert (rows["1"].increment, rows["1"].no_charge_seconds) == (Increment(30, 6), 3)
    assert (rows["49"].increment, rows["49"].no_charge_seconds) == (Increment(6, 6), None)


def test_magnus_non_zero_disconnect_charge_is_refused(tmp_path: Path) -> None:
    text = "prefix,rateinitial,disconnectcharge\n1,0.05,0\n49,0.02,0.01\n"
    assert problems(tmp_path, text, preset="magnus") == [
        "line 3: disconnect fee 0.01: voipbill bills no disconnect fee, so a deck that charges "
        "one is refused (set it to 0, or add it to the connect fee)"
    ]


def test_magnus_headerless_file_in_its_import_order() -> None:
    layout = DeckLayout(preset="magnus", header=False)
    deck = load_deck(DATA / "magnus_noheader.csv", layout=layout, timezone=TORONTO)
    rows = by_prefix(deck)
    germany = rows["49"]
    assert (germany.description, germany.rate, germany.connect_fee) == (
        "Germany",
        Decimal("0.0210"),
        Decimal("0.015"),
    )
    assert (germany.increment, germany.no_charge_seconds) == (Increment(30, 6), 5)
    assert rows["4915"].increment == Increment(1, 1)  # initblock 0 takes billingblock
    assert [row.line for row in deck.rows] == [1, 2, 3]  # no header: the first line is a row
    assert deck.report.extra_cells_ignored  # package_offer, the ninth cell


@pytest.mark.parametrize(
    "layout",
    [DeckLayout(preset="ictvoip", header=False), DeckLayout.of("magnus", {"rate": "x"})],
)
def test_header_false_is_for_magnus_without_a_columns_table(
    tmp_path: Path, layout: DeckLayout
) -> None:
    path = tmp_path / "deck.csv"
    path.write_text("1,x,0.01\n", encoding="utf-8")
    replaced = DeckLayout(layout.preset, layout.columns, header=False)
    with pytest.raises(ConfigError, match="header"):
        load_deck(path, layout=replaced, timezone=TORONTO)


# -- twilio ------------------------------------------------------------------------------------


def test_twilio_cells_of_several_prefixes_and_origination_rows() -> None:
    deck = load_deck(DATA / "twilio.csv", preset="twilio", timezone=TORONTO)
    assert [(row.prefix, row.line) for row in deck.rows] == [
        ("1204", 2),
        ("1226", 2),
        ("1236", 2),
        ("4915", 3),
        ("4916", 3),
        ("4917", 3),
        ("44", 5),
    ]
    assert {row.rate for row in deck.rows if row.prefix.startswith("49")} == {Decimal("0.0600")}
    assert deck.report.left_out == {"priced by the caller's origin": (4,)}
    assert deck.report.ignored == ("Country",)


def test_a_bad_piece_of_a_prefix_cell_is_refused(tmp_path: Path) -> None:
    errors = problems(tmp_path, 'prefix,rate\n"44, 4x, +33",0.02\n')
    assert errors == ["line 2: prefix '4x' is not 1-15 digits"]


def test_a_prefix_twice_in_one_cell_is_a_duplicate(tmp_path: Path) -> None:
    errors = problems(tmp_path, 'prefix,rate\n"44, +44",0.02\n')
    assert errors == ["line 2: prefix 44 effective_from (none) repeats line 2"]


# -- deck options ------------------------------------------------------------------------------


def test_prefix_prepend_completes_npa_nxx_prefixes(tmp_path: Path) -> None:
    deck = load(tmp_path, 'prefix,rate\n201200,0.01\n"+519, 226",0.02\n', prefix_prepend="1")
    assert [row.prefix for row in deck.rows] == ["1201200", "1519", "1226"]
    errors = problems(tmp_path, "prefix,rate\n123456789012345,0.01\n", prefix_prepend="1")
    assert errors == ["line 2: prefix '123456789012345' is not 1-15 digits with '1' in front"]


def test_rate_unit_second_gives_rates_per_minute(tmp_path: Path) -> None:
    deck = load(tmp_path, "prefix,rate\n44,0.0002\n", rate_unit="second")
    assert deck.rows[0].rate == Decimal("0.0120")  # 0.0002 × 60
    errors = problems(tmp_path, "prefix,rate\n44,167\n", rate_unit="second")
    assert errors == ["line 2: rate '167' per second is 10000 or more per minute"]  # 10 020


def test_date_format_reads_effective_from(tmp_path: Path) -> None:
    text = "prefix,rate,effective_from\n44,0.02,11/01/2026\n44,0.03,\n"
    deck = load(tmp_path, text, date_format="%m/%d/%Y")
    assert deck.rows[0].effective_from == date(2026, 11, 1)
    errors = problems(
        tmp_path, "prefix,rate,effective_from\n44,0.02,2026-11-01\n", date_format="%m/%d/%Y"
    )
    assert errors == ["line 2: effective_from '2026-11-01' is not a date %m/%d/%Y"]


@pytest.mark.parametrize(
    ("layout", "match"),
    [
        ({"rate_unit": "hour"}, "rate_unit"),
        ({"prefix_prepend": "+1"}, "prefix_prepend"),
        ({"date_format": "%H"}, "date_format"),
        ({"preset": "cgrates"}, "preset"),
    ],
)
def test_bad_options_are_config_errors(tmp_path: Path, layout: dict[str, str], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load(tmp_path, "prefix,rate\n44,0.02\n", **layout)


# -- digit limits: nothing the deck check accepts may fail in rate ------------------------------


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        ("1" * 38, f"rate '{'1' * 38}' is 10000 or more"),
        ("0." + "1" * 36, f"rate '0.{'1' * 36}' has more than 12 digits after the point"),
        ("0.0000000000001", "rate '0.0000000000001' has more than 12 digits after the point"),
        ("10000", "rate '10000' is 10000 or more"),
    ],
)
def test_rates_too_long_or_too_large_are_refused(tmp_path: Path, cell: str, problem: str) -> None:
    assert problems(tmp_path, f"prefix,rate\n44,{cell}\n") == [f"line 2: {problem}"]


def test_largest_accepted_cells_load(tmp_path: Path) -> None:
    deck = load(tmp_path, "prefix,rate,connect_fee\n44,9999.999999999999,9999.99\n")
    assert deck.rows[0].rate == Decimal("9999.999999999999")
    errors = problems(tmp_path, "prefix,rate,connect_fee\n44,0.01,10000\n")
    assert errors == ["line 2: connect_fee '10000' is 10000 or more"]


@pytest.mark.parametrize("cell", ["5.5", "-1", "five", "100000"])
def test_seconds_cells_are_whole_numbers(tmp_path: Path, cell: str) -> None:
    errors = problems(tmp_path, f'prefix,rate,included_seconds\n44,0.02,"{cell}"\n')
    assert errors == [
        f"line 2: included_seconds {cell!r} is not a whole number of seconds (0-99999)"
    ]


def test_voipbill_preset_reads_the_per_row_rule_columns(tmp_path: Path) -> None:
    deck = load(tmp_path, "prefix,rate,no_charge_seconds,included_seconds\n44,0.02,0,\n")
    assert (deck.rows[0].no_charge_seconds, deck.rows[0].included_seconds) == (0, None)


# -- the [decks.X] keys of the config ----------------------------------------------------------

CONFIG = """
timezone = "America/Toronto"
currency = "CAD"

[decks.carrier]
path = "deck.csv"
{keys}
"""


def config_deck(tmp_path: Path, keys: str) -> DeckLayout:
    path = tmp_path / "voipbill.toml"
    path.write_text(CONFIG.format(keys=keys), encoding="utf-8")
    return config_module.load(path).decks["carrier"].layout


def test_deck_options_and_column_lists_are_read_from_the_config(tmp_path: Path) -> None:
    keys = (
        'preset = "magnus"\nheader = false\nprefix_prepend = "1"\nrate_unit = "second"\n'
        'date_format = "%d/%m/%Y"'
    )
    assert config_deck(tmp_path, keys) == DeckLayout(
        preset="magnus",
        header=False,
        prefix_prepend="1",
        rate_unit="second",
        date_format="%d/%m/%Y",
    )
    layout = config_deck(
        tmp_path, '[decks.carrier.columns]\nrate = ["Price", "Rate/min"]\nprefix = "Dial"'
    )
    assert layout.columns == {"rate": ("Price", "Rate/min"), "prefix": ("Dial",)}


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ('rate_unit = "hour"', "decks -> carrier -> rate_unit: 'hour': use 'minute' or 'second'"),
        ('preset = "astpp"\nheader = false', "decks -> carrier -> header: header = false is for"),
        (
            "[decks.carrier.columns]\nrate = []",
            "decks -> carrier -> columns -> rate: give a header",
        ),
        ("[decks.carrier.columns]\nrate = 5", "decks -> carrier -> columns -> rate: expected"),
        ('prefix_prepend = "1a"', "decks -> carrier -> prefix_prepend: '1a' must be digits"),
        ("header = 0", "decks -> carrier -> header: expected a boolean"),
    ],
)
def test_bad_deck_keys_name_their_key_path(tmp_path: Path, keys: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_deck(tmp_path, keys)
    assert caught.value.message.startswith(message)
