"""Rate decks (rules §3): reading each preset, refusing broken decks, and the prefix lookup."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voipbill.decks import Deck, DeckError, DeckRow, load_deck
from voipbill.errors import ConfigError, ExitCode
from voipbill.increments import Increment

DATA = Path(__file__).parent / "data" / "decks"
TORONTO = ZoneInfo("America/Toronto")
JUNE_2026 = int(datetime(2026, 6, 1, 12, tzinfo=UTC).timestamp())
HEADER = "prefix,description,rate,connect_fee,increment,effective_from\n"


def deck_from(tmp_path: Path, text: str, **options: object) -> Deck:
    path = tmp_path / "deck.csv"
    path.write_text(text, encoding="utf-8")
    return load_deck(path, timezone=TORONTO, **options)  # type: ignore[arg-type]


def refusal(tmp_path: Path, text: str | bytes, **options: object) -> DeckError:
    path = tmp_path / "deck.csv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(DeckError) as caught:
        load_deck(path, timezone=TORONTO, **options)  # type: ignore[arg-type]
    return caught.value


# -- presets ------------------------------------------------------------------------------


def test_voipbill_preset_reads_every_canonical_column() -> None:
    deck = load_deck(DATA / "voipbill.csv", timezone=TORONTO)
    assert [row.prefix for row in deck.rows] == ["1", "1416", "1416", "44", "447"]
    uk = deck.rows[3]
    assert uk == DeckRow(
        "44", "United Kingdom", Decimal("0.0200"), Decimal("0.0500"), Increment(30, 6), None, 5
    )
    assert deck.rows[0].connect_fee == Decimal(0) and deck.rows[0].increment is None
    assert deck.rows[2].effective_from == date(2026, 11, 1)
    assert deck.rows[4].increment == Increment(60, 60)  # a single N means N/N


def test_ictvoip_preset_reads_quoted_descriptions_and_crlf() -> None:
    deck = load_deck(DATA / "ictvoip.csv", preset="ictvoip", timezone=TORONTO)
    first = deck.rows[0]
    assert (first.prefix, first.description, first.rate, first.increment) == (
        "1519",
        "Canada, Ontario",
        Decimal("0.0065"),
        Increment(6, 6),
    )
    assert deck.rows[1].increment == Increment(30, 6)
    assert [row.line for row in deck.rows] == [2, 3, 4]


def test_astpp_preset_fills_an_empty_increment_column_from_the_other() -> None:
    deck = load_deck(DATA / "astpp.csv", preset="astpp", timezone=TORONTO)
    by_prefix = {row.prefix: row for row in deck.rows}
    assert by_prefix["1"].increment == Increment(60, 6)
    assert by_prefix["44"].increment == Increment(6, 6)  # empty initial takes the next
    assert by_prefix["221"].increment == Increment(30, 30)  # empty next takes the initial
    assert by_prefix["33"].increment is None  # both empty: the package's increment
    assert by_prefix["44"].connect_fee == Decimal("0.05")
    assert by_prefix["221"].rate == Decimal("0.25")  # Grace Time (5) is not read


def test_magnus_preset_reads_semicolons_and_decimal_commas() -> None:
    deck = load_deck(DATA / "magnus.csv", preset="magnus", timezone=TORONTO)
    germany = deck.rows[1]
    assert (germany.prefix, germany.rate, germany.connect_fee, germany.increment) == (
        "49",
        Decimal("0.0210"),
        Decimal("0.015"),
        Increment(30, 6),
    )
    assert deck.rows[2].increment == Increment(1, 1)


def test_header_names_match_case_insensitively(tmp_path: Path) -> None:
    deck = deck_from(tmp_path, " PREFIX ,Rate\n44,0.02\n")
    assert deck.rows[0].rate == Decimal("0.02")


def test_columns_table_overrides_the_preset(tmp_path: Path) -> None:
    text = "Dial Code,Name,Price,Blocks\n44,UK,0.02,30/6\n"
    columns = {"prefix": "dial code", "description": "Name", "rate": "Price", "increment": "Blocks"}
    row = deck_from(tmp_path, text, columns=columns).rows[0]
    assert (row.prefix, row.description, row.rate, row.increment) == (
        "44",
        "UK",
        Decimal("0.02"),
        Increment(30, 6),
    )


def test_columns_table_naming_a_missing_header_is_refused(tmp_path: Path) -> None:
    error = refusal(tmp_path, HEADER + "1,x,0.01,,,\n", columns={"description": "Destination"})
    assert "'Destination'" in error.message


def test_unknown_canonical_column_name_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="price"):
        deck_from(tmp_path, HEADER, columns={"price": "Rate"})


def test_unknown_preset_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="telnyx"):
        deck_from(tmp_path, HEADER, preset="telnyx")


# -- format rules -------------------------------------------------------------------------


def test_semicolon_header_means_semicolon_separator_and_decimal_comma(tmp_path: Path) -> None:
    deck = deck_from(tmp_path, "prefix;description;rate\n44;UK, London;0,012\n")
    assert (deck.rows[0].description, deck.rows[0].rate) == ("UK, London", Decimal("0.012"))


def test_quoted_decimal_comma_in_a_comma_file(tmp_path: Path) -> None:
    assert deck_from(tmp_path, 'prefix,rate\n44,"0,012"\n').rows[0].rate == Decimal("0.012")


def test_unquoted_decimal_comma_in_a_comma_file_is_an_extra_field(tmp_path: Path) -> None:
    error = refusal(tmp_path, "prefix,rate\n44,0,012\n")
    assert error.errors == [
        "line 2: 3 fields but the header has 2 (a decimal comma in a `,` file must be quoted)"
    ]


def test_leading_plus_is_dropped_and_fifteen_digits_is_the_longest_prefix(tmp_path: Path) -> None:
    deck = deck_from(tmp_path, "prefix,rate\n+44,0.02\n123456789012345,0.03\n")
    assert [row.prefix for row in deck.rows] == ["44", "123456789012345"]
    error = refusal(tmp_path, "prefix,rate\n1234567890123456,0.03\n")
    assert error.errors == ["line 2: prefix '1234567890123456' is not 1-15 digits"]


@pytest.mark.parametrize("prefix", ["", "+", "1-416", "44a", "٤٤", "++44", " 4 4"])
def test_bad_prefixes_are_refused(tmp_path: Path, prefix: str) -> None:
    error = refusal(tmp_path, f'prefix,rate\n"{prefix}",0.02\n')
    assert error.errors[0].startswith("line 2: prefix ")


@pytest.mark.parametrize(
    ("deck", "line", "prefix"),
    [
        ("prefix,rate\n61,0.02\n0613,0.05\n", 3, "0613"),  # Melbourne in national form
        ("prefix,rate\n+0044,0.02\n", 2, "0044"),
        ('prefix,rate\n61,0.02\n"612, 0613",0.05\n', 3, "0613"),  # one of several prefixes
    ],
)
def test_a_prefix_starting_with_0_is_an_error_naming_its_line(
    tmp_path: Path, deck: str, line: int, prefix: str
) -> None:
    # rules §3: E.164 has no leading 0, so the row could never match a normalised number
    error = refusal(tmp_path, deck)
    assert len(error.errors) == 1
    assert error.errors[0].startswith(f"line {line}: prefix {prefix!r} starts with 0")
    assert "national form" in error.errors[0]


@pytest.mark.parametrize("rate", ["-0.01", "1e-3", "1,234.5", "1.234,5", "", "NaN", "free"])
def test_bad_rates_are_refused(tmp_path: Path, rate: str) -> None:
    error = refusal(tmp_path, f'prefix,rate\n44,"{rate}"\n')
    assert error.errors[0].startswith("line 2: rate ")


def test_blank_lines_are_skipped_and_line_numbers_stay_true(tmp_path: Path) -> None:
    deck = deck_from(tmp_path, "prefix,rate\n\n44,0.02\n,\n33,0.03\n")
    assert [(row.prefix, row.line) for row in deck.rows] == [("44", 3), ("33", 5)]


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "deck.csv"
    path.write_bytes("\ufeffprefix,rate\n44,0.02\n".encode())
    assert load_deck(path, timezone=TORONTO).rows[0].prefix == "44"


def test_a_deck_that_is_not_utf8_is_refused_with_its_line(tmp_path: Path) -> None:
    # offset: 24 bytes of header + "33,Fran" = 31
    error = refusal(tmp_path, "prefix,description,rate\n33,Fran\xe7e,0.02\n".encode("latin-1"))
    assert error.errors == ["line 2: not UTF-8 (byte 0xe7 at offset 31)"]
    assert error.exit_code == ExitCode.CONFIG


def test_empty_file_is_refused(tmp_path: Path) -> None:
    assert refusal(tmp_path, "").errors == ["the file is empty"]
    assert refusal(tmp_path, " \n\n").errors == ["the file is empty"]


def test_header_without_rows_is_refused(tmp_path: Path) -> None:
    assert refusal(tmp_path, HEADER).errors == ["no rate rows below the header"]


def test_missing_required_column_is_named(tmp_path: Path) -> None:
    error = refusal(tmp_path, "Prefix,Description,RateValue\n44,UK,0.02\n")
    assert "no 'rate' column (rate, preset voipbill)" in error.message
    assert "'RateValue'" in error.message


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DeckError, match="cannot read it"):
        load_deck(tmp_path / "nope.csv", timezone=TORONTO)


def test_broken_deck_lists_every_problem_with_its_line() -> None:
    with pytest.raises(DeckError) as caught:
        load_deck(DATA / "broken.csv", timezone=TORONTO)
    assert caught.value.errors == [
        "line 3: prefix '1-416' is not 1-15 digits",
        "line 4: rate '-0.01' is not a plain decimal (no sign, exponent or thousands separator)",
        "line 5: rate '1e-3' is not a plain decimal (no sign, exponent or thousands separator)",
        "line 6: prefix 1 effective_from (none) repeats line 2",
        "line 7: rate '1,234.5' is not a plain decimal (no sign, exponent or thousands separator)",
        "line 8: increment: '6/0': the next increment must be at least 1 second",
        "line 9: effective_from '2026-13-01' is not a date YYYY-MM-DD",
    ]
    assert caught.value.message.splitlines()[0].endswith("refused, 7 problems:")


def test_a_repeated_bad_value_is_reported_on_every_line(tmp_path: Path) -> None:
    error = refusal(tmp_path, "prefix,rate,increment\n44,0.1,6/0\n33,0.1,6/0\n")
    assert [problem[:7] for problem in error.errors] == ["line 2:", "line 3:"]


def test_duplicate_prefix_and_date_is_refused_but_other_dates_are_not(tmp_path: Path) -> None:
    text = HEADER + "44,UK,0.02,,,2026-01-01\n44,UK,0.03,,,2026-02-01\n44,UK,0.04,,,2026-01-01\n"
    assert refusal(tmp_path, text).errors == [
        "line 4: prefix 44 effective_from 2026-01-01 repeats line 2"
    ]


def test_message_shows_twenty_problems_and_counts_the_rest(tmp_path: Path) -> None:
    error = refusal(tmp_path, "prefix,rate\n" + "x,1\n" * 25)
    assert len(error.errors) == 25
    lines = error.message.splitlines()
    assert lines[0].endswith("refused, 25 problems:")
    assert len(lines) == 1 + 20 + 1 and lines[-1] == "  ... and 5 more"


# -- lookup -------------------------------------------------------------------------------


def test_longest_prefix_wins_even_when_it_costs_more() -> None:
    deck = load_deck(DATA / "voipbill.csv", timezone=TORONTO)
    row = deck.lookup("447700900123", JUNE_2026)
    assert row is not None and (row.prefix, row.rate) == ("447", Decimal("0.1100"))
    row = deck.lookup("442079460000", JUNE_2026)
    assert row is not None and row.prefix == "44"


def test_no_matching_prefix_gives_none() -> None:
    deck = load_deck(DATA / "voipbill.csv", timezone=TORONTO)
    assert deck.lookup("33123456789", JUNE_2026) is None
    assert deck.lookup("", JUNE_2026) is None


def test_dated_row_takes_over_at_local_midnight() -> None:
    deck = load_deck(DATA / "voipbill.csv", timezone=TORONTO)
    # 2026-11-01 00:00 in Toronto is still EDT (UTC-4): 04:00 UTC
    midnight = int(datetime(2026, 11, 1, 4, tzinfo=UTC).timestamp())
    before, at = deck.lookup("14165550123", midnight - 1), deck.lookup("14165550123", midnight)
    assert before is not None and before.rate == Decimal("0.0080")
    assert at is not None and at.rate == Decimal("0.0070")


def test_dated_row_not_yet_in_effect_falls_back_to_a_shorter_prefix(tmp_path: Path) -> None:
    deck = deck_from(tmp_path, HEADER + "1,NANP,0.01,,,\n1416,Toronto,0.005,,,2027-01-01\n")
    row = deck.lookup("14165550123", JUNE_2026)
    assert row is not None and row.prefix == "1"


def test_newest_dated_row_in_effect_wins_over_older_ones(tmp_path: Path) -> None:
    text = HEADER + "44,a,0.01,,,\n44,b,0.02,,,2026-03-01\n44,c,0.03,,,2026-01-01\n"
    row = deck_from(tmp_path, text).lookup("442079460000", JUNE_2026)
    assert row is not None and row.description == "b"


def test_effective_from_uses_the_configured_zone(tmp_path: Path) -> None:
    path = tmp_path / "deck.csv"
    path.write_text(HEADER + "44,old,0.01,,,\n44,new,0.02,,,2026-06-01\n", encoding="utf-8")
    utc_midnight = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp())
    in_utc = load_deck(path, timezone=ZoneInfo("UTC")).lookup("44", utc_midnight)
    in_toronto = load_deck(path, timezone=TORONTO).lookup("44", utc_midnight)
    assert in_utc is not None and in_utc.description == "new"
    assert in_toronto is not None and in_toronto.description == "old"  # 20:00 May 31 there


PREFIXES = st.text(alphabet="1234", min_size=1, max_size=4)
DAYS = st.one_of(st.none(), st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31)))


@settings(max_examples=100, deadline=None)
@given(
    entries=st.dictionaries(st.tuples(PREFIXES, DAYS), st.integers(0, 999), min_size=1),
    number=st.text(alphabet="1234", max_size=8),
    start=st.integers(
        int(datetime(2025, 12, 1).timestamp()), int(datetime(2027, 1, 1).timestamp())
    ),
)
def test_lookup_agrees_with_a_brute_force_search(
    tmp_path_factory: pytest.TempPathFactory,
    entries: dict[tuple[str, date | None], int],
    number: str,
    start: int,
) -> None:
    lines = [f"{prefix},d,0.{rate:03d},,,{day or ''}" for (prefix, day), rate in entries.items()]
    path = tmp_path_factory.mktemp("deck") / "deck.csv"
    path.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    zone = ZoneInfo("UTC")
    deck = load_deck(path, timezone=zone)

    def starts(row: DeckRow) -> float:
        day = row.effective_from
        return (
            float("-inf")
            if day is None
            else datetime(*day.timetuple()[:3], tzinfo=zone).timestamp()
        )

    in_effect = [r for r in deck.rows if number.startswith(r.prefix) and starts(r) <= start]
    expected = max(in_effect, key=lambda r: (len(r.prefix), starts(r)), default=None)
    assert deck.lookup(number, start) == expected
