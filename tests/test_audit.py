"""`voipbill audit-numbers` (rules §10): each number worked by hand, then the command line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.cdrfactory import cdr, write_export
from tests.clirunner import invoke
from voipbill.audit import (
    EXTENSION,
    NORMALISED,
    NOT_E164,
    VALID,
    WRONG_COUNTRY,
    AuditedNumber,
    Auditor,
    PackageHint,
)
from voipbill.config import Package
from voipbill.numbers import Normaliser, NumberPlan

OCT_15 = 1792069200  # 2026-10-15 09:00 EDT
NOV_15 = OCT_15 + 31 * 86400


def auditor(country: str = "CA", **settings: object) -> Auditor:
    package = Package(name="paygo", country=country, **settings)  # type: ignore[arg-type]
    return Auditor(Normaliser(NumberPlan.from_package(package)))


def outbound(judge: Auditor, text: str) -> AuditedNumber:
    return judge.judge("outbound", "destination_number", text, 1)


def hints(judge: Auditor, *texts: str) -> list[PackageHint]:
    return judge.hints([outbound(judge, text) for text in texts])


# -- NANP 10-digit numbers ----------------------------------------------------------------------


def test_ten_digit_nanp_number_read_without_1_is_burkina_faso_and_needs_a_1():
    # nanp_10_digit = false: §5 takes 2264763054 as carrying its code, +226 = BF; +1 226 476 3054
    # is a valid Canadian number (London, ON), so a national call was meant.
    number = outbound(auditor(nanp_10_digit=False), "2264763054")
    assert number.verdict == WRONG_COUNTRY
    assert number.country == "BF"
    assert number.normalized == "2264763054"
    assert number.intended == "12264763054"
    assert number.fix == "set_profile_var destination_number=1${destination_number}"


def test_ten_digit_nanp_number_is_normalised_when_the_package_adds_the_1():
    # read right by nanp_10_digit, but not E.164 as written: the fix lets the rule go
    number = outbound(auditor(), "2264763054")
    assert (number.verdict, number.country, number.normalized) == (NORMALISED, "CA", "12264763054")
    assert number.fix == "set_profile_var destination_number=1${destination_number}"


def test_e164_nanp_number_is_valid_with_no_fix():
    for text in ("12264763054", "+12264763054"):
        number = outbound(auditor(), text)
        assert (number.verdict, number.country, number.fix) == (VALID, "CA", "")


def test_nanp_hint_is_suggested_when_it_fixes_every_ten_digit_number():
    judge = auditor(nanp_10_digit=False)
    (hint,) = hints(judge, "2264763054", "4165550123", "15195550161", "011442079460000")
    assert hint.suggested
    assert hint.toml == ["nanp_10_digit = true"]
    assert hint.fixes == ("2264763054", "4165550123")
    assert hint.breaks == ()


def test_inbound_did_without_1_is_fixed_on_the_inbound_route():
    number = auditor(nanp_10_digit=False).judge("inbound", "caller_destination", "5192229000", 3)
    assert (number.verdict, number.country, number.calls) == (WRONG_COUNTRY, "PE", 3)
    assert number.fix == "set caller_destination=1${caller_destination}"


# -- UK national numbers ------------------------------------------------------------------------


def test_uk_national_number_under_gb_e164_package_is_not_e164_and_loses_its_0():
    # 0 is no country code, so §5 reads no country at all: not_e164 (not wrong_country).
    number = outbound(auditor("GB"), "02079460000")
    assert (number.verdict, number.country) == (NOT_E164, "")
    assert number.intended == "442079460000"
    assert number.fix == "set_profile_var destination_number=44${destination_number:1}"


def test_local_prefix_hint_is_suggested_for_uk_national_numbers():
    (hint,) = hints(auditor("GB"), "02079460000", "00442079460000", "442079460000")
    assert hint.suggested
    assert hint.toml == ['number_mode = "local-prefix"', 'national_prefix = "0"']
    assert hint.fixes == ("02079460000",)


def test_uk_national_number_is_normalised_under_gb_local_prefix_package():
    number = outbound(auditor("GB", number_mode="local-prefix"), "02079460000")
    assert (number.verdict, number.country, number.normalized) == (
        NORMALISED,
        "GB",
        "442079460000",
    )
    # drop the trunk 0, write 44 in front: 44 + 2079460000
    assert number.fix == "set_profile_var destination_number=44${destination_number:1}"


def test_uk_national_number_under_ca_package_has_no_country_and_no_known_fix():
    # CA exits with 011, not 0; 0207... is no NANP number, and 0, 02, 020 are no country codes.
    # Nothing says which country's trunk prefix the 0 was, so no fix is guessed.
    number = outbound(auditor("CA"), "02079460000")
    assert (number.verdict, number.country, number.intended, number.fix) == (NOT_E164, "", "", "")
    assert hints(auditor("CA"), "02079460000") == []


def test_uk_number_dialled_with_the_exit_code_is_normalised_and_the_fix_drops_011():
    number = outbound(auditor("CA"), "011442079460000")
    assert (number.verdict, number.country, number.normalized) == (
        NORMALISED,
        "GB",
        "442079460000",
    )
    assert number.fix == "set_profile_var destination_number=${destination_number:3}"


# -- extensions, feature codes, toll-free, outside line -----------------------------------------


@pytest.mark.parametrize("text", ["2211", "2112", "*97", "*98", "#21", ""])
def test_extensions_and_feature_codes_are_extensions_without_a_fix(text: str):
    # 2211 would be +221 (Senegal) if read as international; §5.3 keeps it local.
    number = outbound(auditor(nanp_10_digit=False), text)
    assert (number.verdict, number.fix, number.country) == (EXTENSION, "", "")


@pytest.mark.parametrize("text", ["18005551234", "18885550111", "+18005551234"])
def test_toll_free_numbers_are_valid(text: str):
    number = outbound(auditor(), text)
    assert (number.verdict, number.country) == (VALID, "US")


def test_outside_line_9_reads_as_myanmar_and_is_stripped():
    number = outbound(auditor(), "95195550161")
    assert (number.verdict, number.country, number.intended) == (WRONG_COUNTRY, "MM", "15195550161")
    # the fix writes E.164: drop the 9, write the 1
    assert number.fix == "set_profile_var destination_number=1${destination_number:1}"
    (hint,) = hints(auditor(), "95195550161")
    assert hint.suggested
    assert hint.toml == ['rewrite = [["^9(\\\\d{10})$", "\\\\1"]]']


def test_outside_line_9_then_1_is_flagged_although_it_is_a_valid_indian_number():
    # +91 519 555 0161 is valid in India; dialled without '+' or 011 on a Canadian PBX it is
    # 9 (outside line), 1, 519... The national reading wins.
    number = outbound(auditor(), "915195550161")
    assert (number.verdict, number.country, number.intended) == (WRONG_COUNTRY, "IN", "15195550161")
    # written with '+', the dialplan meant E.164: India it is
    assert outbound(auditor(), "+915195550161").verdict == VALID


def test_outside_line_hint_keeps_the_package_rules_and_covers_every_length():
    judge = auditor(rewrite=(("^8(\\d+)$", "\\1"),))
    (hint,) = hints(judge, "95195550161", "915195550161")
    assert hint.settings == {"rewrite": [["^8(\\d+)$", "\\1"], ["^9(\\d{10}|\\d{11})$", "\\1"]]}
    assert hint.suggested


def test_outside_line_hint_that_would_change_a_valid_number_is_not_suggested():
    # +94 11 234 5678 (Colombo) is valid; ^9(\d{10})$ would turn it into 1 411 234 5678.
    (hint,) = hints(auditor(), "95195550161", "94112345678")
    assert hint.breaks == ("94112345678",)
    assert not hint.suggested


def test_number_with_a_country_code_and_a_wrong_length_is_not_e164():
    number = outbound(auditor(), "011331234567890")  # +33 with 10 national digits; France has 9
    assert (number.verdict, number.country, number.fix) == (NOT_E164, "FR", "")


# -- normalised, lost trunk prefix, short numbers ------------------------------------------------


def test_outside_line_read_by_the_package_rewrite_is_normalised():
    judge = auditor(rewrite=(("^9(\\d{10})$", "\\1"),))
    number = outbound(judge, "95195550161")
    assert (number.verdict, number.normalized, number.country) == (NORMALISED, "15195550161", "CA")
    assert number.fix == "set_profile_var destination_number=1${destination_number:1}"
    assert not number.is_problem


def test_uk_number_that_lost_its_trunk_0_looks_egyptian_and_gets_the_44_back():
    # 2079460000 read as carrying its code is +20 79460000 (Egypt, not even valid there);
    # with its trunk 0 back it is 020 7946 0000, London: +44 20 7946 0000.
    number = outbound(auditor("GB"), "2079460000")
    assert (number.verdict, number.country, number.normalized) == (
        WRONG_COUNTRY,
        "EG",
        "2079460000",
    )
    assert number.intended == "442079460000"
    assert number.fix == "set_profile_var destination_number=44${destination_number}"


def test_uk_number_that_lost_its_trunk_0_is_read_as_gb_in_local_prefix_mode():
    # rules §5.5: in local-prefix mode, not valid as +20..., valid as a GB national number
    number = outbound(auditor("GB", number_mode="local-prefix"), "2079460000")
    assert (number.verdict, number.country, number.normalized) == (
        NORMALISED,
        "GB",
        "442079460000",
    )
    assert number.fix == "set_profile_var destination_number=44${destination_number}"
    assert not number.is_problem


def test_lost_trunk_reading_is_not_tried_under_nanp():
    # in NANP the trunk prefix 1 is the country code; 2264763054 gets its 1 from nanp_10_digit
    number = outbound(auditor(nanp_10_digit=False), "2264763054")
    assert number.remedy == "nanp_10_digit"


def test_uk_short_numbers_get_the_short_verdict_and_emergency_is_an_extension():
    judge = auditor("GB", number_mode="local-prefix")
    short = outbound(judge, "118118")
    assert (short.verdict, short.country, short.fix, short.is_problem) == ("short", "GB", "", False)
    assert outbound(judge, "999").verdict == EXTENSION
    # short numbers are outbound only
    inbound = judge.judge("inbound", "caller_destination", "118118", 1)
    assert inbound.verdict == EXTENSION


# -- Australia, local-prefix mode (rules §5.3, §5.5, §10) ----------------------------------------

AU = {"number_mode": "local-prefix"}


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("1300123456", "611300123456"),  # not valid as +1 300...: an AU shared-cost number
        ("1800123456", "611800123456"),  # freecall
        ("1900123456", "611900123456"),  # premium
        ("131008", "61131008"),  # 6-digit 13 number dialled out: national, not an extension
        ("0292345678", "61292345678"),  # the trunk 0 replaced
    ],
)
def test_au_numbers_read_by_the_package_rules_are_normalised(text: str, normalized: str):
    number = outbound(auditor("AU", **AU), text)
    assert (number.verdict, number.country, number.normalized) == (NORMALISED, "AU", normalized)
    assert number.fix == "set_profile_var destination_number=61${destination_number:1}" or (
        number.fix == "set_profile_var destination_number=61${destination_number}"
    )
    assert not number.is_problem


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        # 00 instead of the exit code 0011: the trunk 0 is replaced, giving +61 0 61 ...
        ("0061292345678", "61061292345678"),
        # +61 0 2 9234 5678: phonenumbers drops the second 0 and calls it valid, but these
        # digits are no E.164 number (and would match the deck's 61 row, not 612)
        ("00292345678", "610292345678"),
    ],
)
def test_a_number_normalised_to_an_invalid_number_is_never_normalised(text: str, normalized: str):
    number = outbound(auditor("AU", **AU), text)
    assert (number.verdict, number.normalized) == (NOT_E164, normalized)
    assert number.is_problem


def test_a_number_of_a_possible_length_that_is_not_valid_is_not_e164_with_a_note():
    # +1 555 000 0000: ten digits after the 1, as NANP numbers have, but 555 is no area code
    for text in ("15552345678", "5552345678"):
        number = outbound(auditor(), text)
        assert (number.verdict, number.normalized) == (NOT_E164, "15552345678")
        assert "ranges may lag" in number.note
        assert number.is_problem
    # a trunk 0 after the country code is no E.164 number
    for text in ("440207946000", "+4402079460000"):
        assert outbound(auditor("GB"), text).verdict == NOT_E164
    # a wrong length gets no such note
    assert outbound(auditor(), "011331234567890").note == ""


# -- the command line ---------------------------------------------------------------------------


def write_config(directory: Path, package: str, country: str = "CA") -> Path:
    (directory / "deck.csv").write_text("prefix,rate\n1,0.01\n", encoding="utf-8")
    path = directory / "voipbill.toml"
    path.write_text(
        f"""
timezone = "America/Toronto"
currency = "CAD"

[decks.main]
path = "deck.csv"

[packages.paygo]
deck = "main"
country = "{country}"
{package}

[services.mcon]
package = "paygo"
tenant = "mcon.wat5.ictvoip.ca | 5192229000"
extensions = "2112 | 2113"
""",
        encoding="utf-8",
    )
    return path


def audit_rows(tmp_path: Path, rows: list[dict[str, str]], package: str = "", *args: str):
    config = write_config(tmp_path, package)
    export = write_export(tmp_path / "cdrs.csv", rows)
    return invoke(
        "--config", str(config), "audit-numbers", "--service", "mcon", "--cdr-file", str(export),
        *args,
    )  # fmt: skip


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_clean_numbers_exit_0_and_csv_has_the_spec_columns_first(tmp_path: Path):
    rows = [
        cdr(destination_number="15195550161"),
        cdr(destination_number="15195550161"),
        cdr(destination_number="*97", direction="local"),
    ]
    result = audit_rows(tmp_path, rows, "", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    header = result.stdout.splitlines()[0]
    assert header.startswith("number,direction,calls,verdict,country,fix")
    assert csv_rows(result.stdout) == [
        {
            "number": "15195550161", "direction": "outbound", "calls": "2", "verdict": "valid",
            "country": "CA", "fix": "", "field": "destination_number",
            "normalized": "15195550161", "intended": "15195550161", "note": "",
        },
        {
            "number": "*97", "direction": "local", "calls": "1", "verdict": "extension",
            "country": "", "fix": "", "field": "destination_number", "normalized": "*97",
            "intended": "", "note": "",
        },
    ]  # fmt: skip


def test_misread_outbound_number_exits_1_and_is_listed_first(tmp_path: Path):
    rows = [cdr(destination_number="15195550161"), cdr(destination_number="2264763054")]
    result = audit_rows(tmp_path, rows, "nanp_10_digit = false", "--format", "csv")
    assert result.exit_code == 1
    first = csv_rows(result.stdout)[0]
    assert (first["number"], first["verdict"], first["country"]) == (
        "2264763054",
        "wrong_country",
        "BF",
    )


def test_misread_inbound_number_alone_does_not_fail(tmp_path: Path):
    # the DID is judged, but only outbound numbers decide the exit code (rules §10)
    rows = [
        cdr(direction="inbound", extension="2112", caller_destination="5192229000",
            destination_number="2112", caller_id_number="15195550143"),
    ]  # fmt: skip
    result = audit_rows(tmp_path, rows, "nanp_10_digit = false", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    (row,) = csv_rows(result.stdout)
    assert (row["direction"], row["field"], row["verdict"]) == (
        "inbound",
        "caller_destination",
        "wrong_country",
    )


def test_scope_is_the_rating_scope(tmp_path: Path):
    rows = [
        cdr(xml_cdr_uuid="same", destination_number="15195550161"),
        cdr(xml_cdr_uuid="same", destination_number="2264763054"),  # repeated uuid: first wins
        cdr(destination_number="2264763054", leg="b"),  # b-leg dropped
        cdr(destination_number="2264763054", extension="9999"),  # another tenant's extension
        cdr(destination_number="15195550161", start_epoch=NOV_15),
    ]
    result = audit_rows(tmp_path, rows, "nanp_10_digit = false", "--format", "csv")
    assert result.exit_code == 0, result.stdout
    assert [(r["number"], r["calls"]) for r in csv_rows(result.stdout)] == [("15195550161", "2")]
    # a period leaves out the November call
    result = audit_rows(tmp_path, rows, "nanp_10_digit = false", "--format", "csv",
                        "--period", "2026-10")  # fmt: skip
    assert [(r["number"], r["calls"]) for r in csv_rows(result.stdout)] == [("15195550161", "1")]


def test_json_has_version_1_numbers_and_checked_hints(tmp_path: Path):
    rows = [cdr(destination_number="95195550161"), cdr(destination_number="15195550143")]
    result = audit_rows(tmp_path, rows, "", "--format", "json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["version"] == 1
    assert document["period"] is None
    assert document["numbers"][0]["verdict"] == "wrong_country"
    assert document["numbers"][0]["intended"] == "15195550161"
    (hint,) = document["hints"]
    assert hint["settings"] == {"rewrite": [["^9(\\d{10})$", "\\1"]]}
    assert hint["suggested"] is True
    assert document["hints_fix_all"] is True
    assert document["outbound_problems"] == 1


def test_table_groups_problems_first_and_ends_with_the_verdict(tmp_path: Path):
    rows = [
        cdr(destination_number="15195550161"),
        cdr(destination_number="2113", direction="local"),
        cdr(destination_number="2264763054"),
    ]
    result = audit_rows(tmp_path, rows, "nanp_10_digit = false", "--format", "table")
    assert result.exit_code == 1
    out = result.stdout
    assert out.index("wrong_country") < out.index("valid ") < out.index("extension")
    assert "set_profile_var destination_number=1${destination_number}" in out
    assert "nanp_10_digit = true" in out
    assert out.strip().splitlines()[-1].startswith("FAIL: 1 outbound number(s) on 1 call(s)")


def test_table_says_ok_when_every_outbound_number_is_valid(tmp_path: Path):
    result = audit_rows(tmp_path, [cdr(destination_number="18005551234")], "", "--format", "table")
    assert result.exit_code == 0
    assert result.stdout.strip().splitlines()[-1] == (
        "OK: all 1 outbound number(s) are valid E.164, short numbers or extensions."
    )


def test_numbers_read_right_by_the_package_rules_exit_0_with_their_fix(tmp_path: Path):
    rows = [cdr(destination_number="5195550161"), cdr(destination_number="15195550143")]
    result = audit_rows(tmp_path, rows, "", "--format", "table")
    assert result.exit_code == 0, result.stdout
    out = result.stdout
    assert out.index("normalised") < out.index("valid ")
    assert "set_profile_var destination_number=1${destination_number}" in out
    assert (
        out.strip()
        .splitlines()[-1]
        .startswith(
            "OK: all 2 outbound number(s) are read right; 1 number(s) only through the package's"
        )
    )
    result = audit_rows(tmp_path, rows, "", "--format", "csv")
    (first, second) = csv_rows(result.stdout)
    assert (first["number"], first["verdict"], first["intended"]) == (
        "5195550161",
        "normalised",
        "15195550161",
    )
    assert (second["verdict"], second["fix"]) == ("valid", "")


def test_without_a_period_or_a_file_is_a_usage_error(tmp_path: Path):
    config = write_config(tmp_path, "")
    result = invoke("--config", str(config), "audit-numbers", "--service", "mcon")
    assert result.exit_code == 2
    assert "no billing period given" in result.stderr


def test_outside_line_9_with_nanp_off_strips_the_9_and_adds_a_1():
    judge = auditor(nanp_10_digit=False)
    number = outbound(judge, "95195550161")
    assert (number.verdict, number.intended) == (WRONG_COUNTRY, "15195550161")
    assert number.fix == "set_profile_var destination_number=1${destination_number:1}"
    (hint,) = hints(judge, "95195550161")
    assert hint.settings == {"nanp_10_digit": True, "rewrite": [["^9(\\d{10})$", "\\1"]]}
    assert hint.suggested
