"""Numbers dialled without a trunk prefix in local-prefix mode (rules §5.3, §5.5, §5.6): AU, IE,
NZ and GB packages, read with phonenumbers' own metadata, each call priced by hand.

Every deck below is 60/60; every call lasts 120 s (2 billed minutes) unless it says otherwise.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.billinghelpers import rate_rows
from tests.cdrfactory import cdr, write_export
from tests.clirunner import invoke
from voipbill import config as config_module
from voipbill.errors import ConfigError
from voipbill.rating import RatedCall

OCT_15_NOON_UTC = 1792065600  # 2026-10-15 12:00 UTC: 15 October in every zone below

AU_DECK = """prefix,description,rate,connect_fee,increment
1,USA/Canada,0.0230,0,60/60
61,Australia,0.1000,0,60/60
614,AU mobile,0.2000,0,60/60
6113,AU 13,0.2500,0.2000,60/60
611300,AU 1300,0.1500,0,60/60
611800,AU freecall,0.0000,0,60/60
611900,AU 1900,2.4725,0,60/60
"""
IE_DECK = """prefix,description,rate,connect_fee,increment
1,USA/Canada,0.0100,0,60/60
353,Ireland,0.0500,0,60/60
3538,IE mobile,0.1200,0,60/60
3531800,IE freephone,0.0000,0,60/60
3531850,IE 1850,0.0800,0,60/60
3531890,IE 1890,0.0900,0,60/60
"""
NZ_DECK = """prefix,description,rate,connect_fee,increment
1,USA/Canada,0.0100,0,60/60
64,New Zealand,0.0400,0,60/60
642,NZ mobile,0.1500,0,60/60
64800,NZ 0800,0.0000,0,60/60
64900,NZ 0900,1.5000,0,60/60
212,Morocco,0.9000,0,60/60
"""
GB_DECK = """prefix,description,rate,connect_fee,increment
20,Egypt,0.3000,0,60/60
44,United Kingdom,0.0200,0,60/60
447,UK mobile,0.1000,0,60/60
"""
COUNTRIES = {
    "AU": ("Australia/Sydney", "AUD", AU_DECK, "+61292345670"),
    "IE": ("Europe/Dublin", "EUR", IE_DECK, "+35316123450"),
    "NZ": ("Pacific/Auckland", "NZD", NZ_DECK, "+6493456780"),
    "GB": ("Europe/London", "GBP", GB_DECK, "+442079460001"),
}


def write_country_config(
    tmp_path: Path, country: str, package: str = "", number_mode: str = "local-prefix"
) -> Path:
    zone, currency, deck, did = COUNTRIES[country]
    (tmp_path / "deck.csv").write_text(deck, encoding="utf-8")
    path = tmp_path / "voipbill.toml"
    path.write_text(
        f"""
timezone = "{zone}"
currency = "{currency}"

[decks.carrier]
path = "deck.csv"

[packages.pbx]
deck = "carrier"
country = "{country}"
number_mode = "{number_mode}"
increment = "60/60"
{package}

[services.office]
package = "pbx"
tenant = "office.example.net | {did}"
extensions = "201 | 202"
""",
        encoding="utf-8",
    )
    return path


def call_to(number: str, minute: int, billsec: int = 120, **fields: object) -> dict[str, str]:
    """An answered outbound call from extension 201, `minute` minutes after noon UTC."""
    fields.setdefault("direction", "outbound")
    return cdr(
        extension="201",
        caller_id_number="201",
        destination_number=number,
        start_epoch=OCT_15_NOON_UTC + 60 * minute,
        billsec=billsec,
        **fields,
    )


def rate(
    tmp_path: Path, country: str, numbers: list[str], package: str = "", **options: str
) -> dict[str, RatedCall]:
    config = write_country_config(tmp_path, country, package, **options)
    rows = [call_to(number, minute) for minute, number in enumerate(numbers)]
    return {call.dialed: call for call in rate_rows(config, rows)}


def check(calls: dict[str, RatedCall], expected: dict[str, tuple[object, ...]]) -> None:
    for dialed, (category, status, normalized, prefix, free, cost) in expected.items():
        call = calls[dialed]
        got = (call.category, call.status, call.normalized, call.matched_prefix)
        assert got == (category, status, normalized, prefix), dialed
        assert (call.free_seconds, call.cost) == (free, cost), dialed


# -- Australia ---------------------------------------------------------------------------------

AU_NUMBERS = [
    "1300123456",  # a 1300 number, dialled without a trunk 0 as Australians do
    "1800123456",  # freecall
    "1900123456",  # premium
    "131008",  # a 6-digit 13 number
    "0292345678",  # Sydney, with the trunk 0
    "0412345678",  # a mobile
    "14165550123",  # Toronto, valid with its own code 1: stays +1
    "0011442079460000",  # London, with the exit code 0011
]


def test_au_numbers_without_the_trunk_0_are_australian_and_priced_by_their_rows(
    tmp_path: Path,
) -> None:
    calls = rate(tmp_path, "AU", AU_NUMBERS, 'markup_percent = "10"')
    # markup 10 %: every deck rate and connect fee × 1.1; 2 minutes each
    check(
        calls,
        {
            # 0.15 × 1.1 × 2 = 0.33 (the US row would have given 0.0230 × 1.1 × 2 = 0.0506)
            "1300123456": ("shared", "rated", "611300123456", "611300", 0, Decimal("0.3300")),
            # 0 × 1.1 × 2
            "1800123456": ("tollfree", "rated", "611800123456", "611800", 0, Decimal("0.0000")),
            # 2.4725 × 1.1 × 2 = 5.4395
            "1900123456": ("premium", "rated", "611900123456", "611900", 0, Decimal("5.4395")),
            # connect 0.20 × 1.1 = 0.22, plus 0.25 × 1.1 × 2 = 0.55: 0.77 (not an extension)
            "131008": ("shared", "rated", "61131008", "6113", 0, Decimal("0.7700")),
            # 0.10 × 1.1 × 2
            "0292345678": ("national", "rated", "61292345678", "61", 0, Decimal("0.2200")),
            # 0.20 × 1.1 × 2
            "0412345678": ("mobile", "rated", "61412345678", "614", 0, Decimal("0.4400")),
            # 0.023 × 1.1 × 2 = 0.0506
            "14165550123": ("international", "rated", "14165550123", "1", 0, Decimal("0.0506")),
            # no 44 row in this deck
            "0011442079460000": ("international", "unrated", "442079460000", "", 0, None),
        },
    )


def test_shared_is_a_free_category_only_when_listed(tmp_path: Path) -> None:
    numbers = ["1300123456", "131008", "0292345678"]
    # default free_categories ["national"]: the 3 free minutes skip both shared calls, and the
    # national call takes its 120 s: cost 0
    calls = rate(tmp_path, "AU", numbers, "free_minutes = 3")
    assert [calls[n].free_seconds for n in numbers] == [0, 0, 120]
    assert calls["0292345678"].cost == Decimal("0.0000")
    assert calls["1300123456"].cost == Decimal("0.3000")  # 0.15 × 2
    # with shared listed, in call order: the 1300 call takes 120 s, the 13 call the last 60 s
    # (it pays its connect fee and its uncovered minute: 0.20 + 0.25 = 0.45), none is left
    calls = rate(tmp_path, "AU", numbers, 'free_minutes = 3\nfree_categories = ["shared"]')
    assert [calls[n].free_seconds for n in numbers] == [120, 60, 0]
    assert [calls[n].cost for n in numbers] == [
        Decimal("0.0000"),
        Decimal("0.4500"),
        Decimal("0.2000"),
    ]


def test_shared_pattern_word_matches_the_category(tmp_path: Path) -> None:
    calls = rate(tmp_path, "AU", ["1300123456", "0292345678"], 'no_charge = ["[shared]"]')
    assert (calls["1300123456"].status, calls["1300123456"].cost) == ("no_charge", Decimal("0"))
    assert calls["0292345678"].status == "rated"


def test_an_unknown_free_category_is_still_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="free_categories"):
        config_module.load(write_country_config(tmp_path, "AU", 'free_categories = ["sharedcost"]'))


def test_short_digits_that_are_no_valid_au_number_stay_extensions(tmp_path: Path) -> None:
    calls = rate(tmp_path, "AU", ["202", "1300", "000", "112"])
    for number in ("202", "1300", "000", "112"):
        assert (calls[number].category, calls[number].status) == ("local", "local"), number


def test_a_13_number_on_a_local_call_stays_local(tmp_path: Path) -> None:
    rows = [call_to("131008", 0, direction="local")]
    (call,) = rate_rows(write_country_config(tmp_path, "AU"), rows)
    assert (call.normalized, call.category, call.status) == ("131008", "local", "local")


def test_au_month_on_the_command_line_bills_the_13_and_1300_calls(tmp_path: Path) -> None:
    config = write_country_config(tmp_path, "AU")
    rows = [call_to(number, minute) for minute, number in enumerate(AU_NUMBERS[:6])]
    export = write_export(tmp_path / "cdrs.csv", rows)
    result = invoke(
        "--config", str(config), "rate", "--all", "--period", "2026-10", "--cdr-file",
        str(export), "--format", "csv", "--detail", "summary",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    amounts = {line.split(",")[4]: line.split(",")[9] for line in result.stdout.splitlines()[1:]}
    # shared: 1300 0.30 + 13: 0.20 + 0.50; tollfree 0; premium 4.945; national 0.20;
    # mobile 0.40; total 6.545
    assert amounts == {
        "mobile": "0.4000",
        "national": "0.2000",
        "premium": "4.9450",
        "shared": "1.0000",
        "tollfree": "0.0000",
        "total": "6.5450",
    }


# -- Ireland -----------------------------------------------------------------------------------


def test_ie_1800_1850_1890_numbers_are_irish_not_north_american(tmp_path: Path) -> None:
    numbers = ["1800123456", "1850123456", "1890123456", "016123456", "851234567"]
    calls = rate(tmp_path, "IE", numbers)
    check(
        calls,
        {
            "1800123456": ("tollfree", "rated", "3531800123456", "3531800", 0, Decimal("0.0000")),
            # 0.08 × 2, 0.09 × 2: phonenumbers calls 1850 and 1890 SHARED_COST
            "1850123456": ("shared", "rated", "3531850123456", "3531850", 0, Decimal("0.1600")),
            "1890123456": ("shared", "rated", "3531890123456", "3531890", 0, Decimal("0.1800")),
            # Dublin with its trunk 0: 0.05 × 2
            "016123456": ("national", "rated", "35316123456", "353", 0, Decimal("0.1000")),
            # a mobile that lost its trunk 0 (+85 1234567 is no valid number): 0.12 × 2
            "851234567": ("mobile", "rated", "353851234567", "3538", 0, Decimal("0.2400")),
        },
    )


# -- New Zealand -------------------------------------------------------------------------------


def test_nz_numbers_that_lost_their_trunk_0_are_new_zealand_ones(tmp_path: Path) -> None:
    numbers = [
        "800123456",
        "900123456",
        "93456789",
        "211234567",
        "0800123456",
        "212522123456",
        "2125223456",
    ]
    calls = rate(tmp_path, "NZ", numbers)
    check(
        calls,
        {
            # +800 123456 is no valid number: NZ 0800 freephone
            "800123456": ("tollfree", "rated", "64800123456", "64800", 0, Decimal("0.0000")),
            # +90 0123456 is no valid number: NZ 0900, 1.50 × 2
            "900123456": ("premium", "rated", "64900123456", "64900", 0, Decimal("3.0000")),
            # Auckland 09 345 6789 without its 0: 0.04 × 2
            "93456789": ("national", "rated", "6493456789", "64", 0, Decimal("0.0800")),
            # mobile 021 123 4567 without its 0: 0.15 × 2
            "211234567": ("mobile", "rated", "64211234567", "642", 0, Decimal("0.3000")),
            "0800123456": ("tollfree", "rated", "64800123456", "64800", 0, Decimal("0.0000")),
            # valid as dialled (+212 522 123456, Casablanca): it keeps its own country code,
            # 0.90 × 2
            "212522123456": (
                "international",
                "rated",
                "212522123456",
                "212",
                0,
                Decimal("1.8000"),
            ),
            # +212 5223456 is too short for Morocco; 021 252 23456 is a NZ mobile: 0.15 × 2
            "2125223456": ("mobile", "rated", "642125223456", "642", 0, Decimal("0.3000")),
        },
    )


# -- Great Britain -----------------------------------------------------------------------------


def test_gb_number_that_lost_its_trunk_0_is_gb_in_local_prefix_mode_only(tmp_path: Path) -> None:
    calls = rate(tmp_path, "GB", ["2079460000", "7400123456"])
    check(
        calls,
        {
            "2079460000": ("national", "rated", "442079460000", "44", 0, Decimal("0.0400")),
            "7400123456": ("mobile", "rated", "447400123456", "447", 0, Decimal("0.2000")),
        },
    )
    # in e164 mode the number is taken as carrying its code: +20, Egypt, 0.30 × 2
    (tmp_path / "e164").mkdir()
    calls = rate(tmp_path / "e164", "GB", ["2079460000"], number_mode="e164")
    check(
        calls,
        {"2079460000": ("international", "rated", "2079460000", "20", 0, Decimal("0.6000"))},
    )


def test_audit_flags_au_numbers_that_normalise_to_no_valid_number(tmp_path: Path) -> None:
    config = write_country_config(tmp_path, "AU")
    numbers = ["1300123456", "131008", "0292345678", "0061292345678", "00292345678"]
    rows = [call_to(number, minute) for minute, number in enumerate(numbers)]
    export = write_export(tmp_path / "cdrs.csv", rows)
    result = invoke(
        "--config", str(config), "audit-numbers", "--service", "office", "--cdr-file",
        str(export), "--format", "csv",
    )  # fmt: skip
    assert result.exit_code == 1, result.stderr
    lines = [line.split(",") for line in result.stdout.splitlines()[1:]]
    verdicts = {cells[0]: (cells[3], cells[4]) for cells in lines}
    assert verdicts == {
        "0061292345678": ("not_e164", "AU"),
        "00292345678": ("not_e164", "AU"),
        "1300123456": ("normalised", "AU"),
        "131008": ("normalised", "AU"),
        "0292345678": ("normalised", "AU"),
    }
