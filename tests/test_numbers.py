"""Number normalisation (rules §5): hand-worked cases and invariants."""

from __future__ import annotations

from unittest import mock

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voipbill.config import Package
from voipbill.errors import ConfigError
from voipbill.number_types import is_valid_e164
from voipbill.numbers import Normalised, Normaliser, NumberPlan


def normaliser(country: str = "CA", **settings_: object) -> Normaliser:
    package = Package(name="test", country=country, **settings_)  # type: ignore[arg-type]
    return Normaliser(NumberPlan.from_package(package))


CA = normaliser("CA")
UK_LOCAL = normaliser("GB", number_mode="local-prefix")


def test_ten_digit_nanp_number_gets_a_one_and_is_national() -> None:
    result = CA.normalise("5192229000")
    assert (result.number, result.number_class) == ("15192229000", "national")
    assert (result.country_code, result.region) == (1, "CA")
    assert result.original == "5192229000"


def test_plus_and_spaces_are_trimmed() -> None:
    result = CA.normalise("  +15192229000 ")
    assert (result.number, result.number_class) == ("15192229000", "national")
    assert result.steps[0] == "trimmed '  +15192229000 ' -> '15192229000'"


def test_exit_code_011_makes_the_number_international() -> None:
    result = CA.normalise("01144207946000")
    assert (result.number, result.number_class) == ("44207946000", "international")
    assert (result.country_code, result.region) == (44, "GB")


def test_exit_code_to_another_nanp_country_is_not_international() -> None:
    # rules §5.6: countries sharing a code are not international; their class comes from their
    # type, and 1876 555 0123 is a Jamaican mobile
    result = CA.normalise("01118765550123")
    assert (result.number, result.number_class, result.region) == ("18765550123", "mobile", "JM")


def test_us_number_from_a_canadian_package_is_national() -> None:
    result = CA.normalise("2125550123")
    assert (result.number, result.number_class, result.region) == ("12125550123", "national", "US")


def test_uk_local_prefix_mode_replaces_the_trunk_zero_by_44() -> None:
    result = UK_LOCAL.normalise("02079460000")
    assert (result.number, result.number_class) == ("442079460000", "national")
    assert result.region == "GB"


def test_uk_exit_code_00_is_read_before_the_trunk_zero() -> None:
    result = UK_LOCAL.normalise("0015192229000")
    assert (result.number, result.number_class, result.region) == (
        "15192229000",
        "international",
        "CA",
    )


def test_nine_for_an_outside_line_is_removed_by_a_rewrite_rule() -> None:
    plan = normaliser("CA", rewrite=(("^9(\\d{10})$", "\\1"),))
    result = plan.normalise("95192229000")
    assert (result.number, result.number_class) == ("15192229000", "national")
    assert "rewrite ^9(\\d{10})$ -> \\1: '95192229000' -> '5192229000'" in result.steps


def test_only_the_first_matching_rewrite_rule_applies_and_only_once() -> None:
    rules = (("5", "6"), ("^6", "7"), ("^9", ""))
    result = normaliser("CA", rewrite=rules).normalise("5192229005")
    # first rule replaces the first 5 only; the second rule is skipped although it now matches
    assert result.number == "16192229005"


def test_rewrite_to_a_feature_code_makes_it_local() -> None:
    result = normaliser("CA", rewrite=(("^0000", "*"),)).normalise("000012345678")
    assert (result.number, result.number_class) == ("*12345678", "local")


def test_feature_code_is_local_and_left_as_written() -> None:
    result = CA.normalise("*97")
    assert result == Normalised("*97", "*97", "local", None, None, result.steps)


@pytest.mark.parametrize("text", ["", "   ", "21", "2112", "1234567", "5", "+5", "#", "*9715"])
def test_extensions_empty_and_one_digit_numbers_are_local(text: str) -> None:
    result = CA.normalise(text)
    assert result.number_class == "local"
    assert result.country_code is None and result.region is None


def test_eight_digits_are_no_longer_an_extension() -> None:
    assert CA.normalise("12345678").number_class != "local"


def test_non_ascii_digits_are_not_digits() -> None:
    assert CA.normalise("٥١٩٢٢٢٩٠٠٠").number_class == "local"


def test_formatted_number_with_dashes_is_local_per_spec() -> None:
    # rules §5.3: anything but digits is local; FusionPBX writes bare digits
    assert CA.normalise("519-222-9000").number_class == "local"


def test_nanp_toll_free_is_tollfree() -> None:
    result = CA.normalise("18005551234")
    assert (result.number, result.number_class, result.country_code) == (
        "18005551234",
        "tollfree",
        1,
    )


def test_ten_digit_toll_free_gets_a_one_then_is_tollfree() -> None:
    assert CA.normalise("8885551234").number_class == "tollfree"


def test_uk_freephone_in_local_prefix_mode_is_tollfree() -> None:
    result = UK_LOCAL.normalise("08001234567")
    assert (result.number, result.number_class) == ("448001234567", "tollfree")


def test_without_nanp_conversion_2264763054_is_reported_as_burkina_faso() -> None:
    # rules §10's classic case: the number is not silently billed as national; it shows as
    # international to +226 (BF), which the number audit then flags.
    result = normaliser("CA", nanp_10_digit=False).normalise("2264763054")
    assert (result.number, result.number_class) == ("2264763054", "international")
    assert (result.country_code, result.region) == (226, "BF")


def test_with_nanp_conversion_2264763054_is_an_ontario_number() -> None:
    result = CA.normalise("2264763054")
    assert (result.number, result.number_class, result.region) == ("12264763054", "national", "CA")


def test_unknown_country_code_counts_as_international() -> None:
    result = CA.normalise("28123456789")  # +28x is unassigned
    assert (result.number_class, result.country_code, result.region) == (
        "international",
        None,
        None,
    )


def test_non_geographic_code_has_no_region() -> None:
    result = CA.normalise("01180012345678")
    assert (result.number_class, result.country_code, result.region) == ("international", 800, None)


def test_nanp_10_digit_defaults_to_off_outside_code_1() -> None:
    plan = NumberPlan.from_package(Package(name="p", country="GB"))
    assert (plan.country_code, plan.nanp_10_digit, plan.exit_code, plan.national_prefix) == (
        44,
        False,
        "00",
        "0",
    )


def test_plan_defaults_for_canada() -> None:
    plan = NumberPlan.from_package(Package(name="p", country="ca"))
    assert (plan.country, plan.country_code, plan.nanp_10_digit, plan.exit_code) == (
        "CA",
        1,
        True,
        "011",
    )


def test_australia_uses_phonenumbers_preferred_exit_code() -> None:
    assert NumberPlan.from_package(Package(name="p", country="AU")).exit_code == "0011"


def test_country_with_only_a_pattern_for_its_exit_code_must_set_one() -> None:
    with pytest.raises(ConfigError, match="exit_code"):
        NumberPlan.from_package(Package(name="p", country="BR"))
    assert NumberPlan.from_package(Package(name="p", country="BR", exit_code="0021")).exit_code


def test_explicit_settings_override_the_defaults() -> None:
    package = Package(
        name="p", country="CA", nanp_10_digit=False, exit_code="00", national_prefix="9"
    )
    plan = NumberPlan.from_package(package)
    assert (plan.nanp_10_digit, plan.exit_code, plan.national_prefix) == (False, "00", "9")


def test_rewrite_with_a_missing_group_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"rewrite\[1\]"):
        NumberPlan.from_package(Package(name="p", country="CA", rewrite=(("^9", "\\2"),)))


def test_unknown_region_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="XX"):
        NumberPlan.from_package(Package(name="p", country="XX"))


def test_steps_explain_each_rule_in_order() -> None:
    result = normaliser("CA", rewrite=(("^9(\\d{10})$", "\\1"),)).normalise("+95192229000")
    assert result.steps == (
        "trimmed '+95192229000' -> '95192229000'",
        "rewrite ^9(\\d{10})$ -> \\1: '95192229000' -> '5192229000'",
        "10-digit NANP: added 1 -> '15192229000'",
        "class national (country code 1 = package's)",
    )


def test_a_text_seen_before_costs_no_phonenumbers_call() -> None:
    numbers = normaliser("CA")
    first = numbers.normalise("4165550123")
    with (
        mock.patch.object(phonenumbers, "parse", side_effect=AssertionError("parsed again")),
        mock.patch.object(phonenumbers, "number_type", side_effect=AssertionError("typed again")),
    ):
        assert numbers.normalise("4165550123") is first
        # another spelling of the same number is classified from the per-number cache
        assert numbers.normalise("+14165550123").number_class == "national"


# -- invariants ---------------------------------------------------------------------------

PLANS = [
    normaliser("CA"),
    normaliser("GB", number_mode="local-prefix"),
    normaliser("US"),
    normaliser("DE"),
    normaliser("CA", nanp_10_digit=False),
    normaliser("FR", number_mode="local-prefix"),
]

digits_then_noise = st.one_of(
    st.text(alphabet="0123456789", max_size=20),
    st.text(alphabet="0123456789+* #\t", max_size=20),
    st.builds(
        lambda cc, rest: cc + rest,
        st.sampled_from(["1", "011", "00", "0", "44", "226", "800"]),
        st.text(alphabet="0123456789", min_size=5, max_size=12),
    ),
)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(), digits_then_noise), plan_index=st.integers(0, len(PLANS) - 1))
def test_no_input_raises_and_every_result_is_well_formed(text: str, plan_index: int) -> None:
    result = PLANS[plan_index].normalise(text)
    assert result.number_class in (
        "national",
        "mobile",
        "premium",
        "shared",
        "international",
        "tollfree",
        "local",
    )
    if result.number_class != "local":
        assert result.number.isascii() and result.number.isdigit()
    else:
        assert result.country_code is None and result.region is None
    # dialled out, a 2-7 digit local number may be short, or a valid number of the package's
    # country (rules §5.3); nothing else changes
    numbers = PLANS[plan_index]
    outbound = numbers.normalise(text, outbound=True)
    if outbound.number_class == "short":
        assert result.number_class == "local" and outbound.number == result.number
        assert 2 <= len(outbound.number) <= 7 and outbound.number.isdigit()
    elif outbound.number_class != result.number_class:
        assert result.number_class == "local" and 2 <= len(result.number) <= 7
        code = str(numbers.plan.country_code)
        # country code + the national number (a trunk prefix dialled before it is dropped)
        assert outbound.number.startswith(code)
        assert result.number.endswith(outbound.number[len(code) :])
        assert phonenumbers.is_valid_number(phonenumbers.parse("+" + outbound.number))
        assert outbound.region is not None
    else:
        assert (outbound.number, outbound.number_class) == (result.number, result.number_class)


@settings(max_examples=300, deadline=None)
@given(text=digits_then_noise, plan_index=st.integers(0, len(PLANS) - 1))
def test_normalising_a_normalised_number_changes_nothing(text: str, plan_index: int) -> None:
    numbers = PLANS[plan_index]
    exit_code = numbers.plan.exit_code
    result = numbers.normalise(text)
    if result.number_class == "local":
        return
    # Dialled with the exit code, the normalised number is always itself.
    assert numbers.normalise(exit_code + result.number).number == result.number
    # Without it, the digits are ambiguous when the exit code was what made them international
    # (0112125551234 from Canada is +212 555 1234, but 2125551234 is New York): see README.
    # In local-prefix mode, digits that are no valid number may be read again as a national
    # number (rules §5.5): only a valid result is sure to read back as itself.
    if numbers.plan.number_mode == "local-prefix" and not is_valid_e164(result.number):
        return
    if not text.strip().lstrip("+").startswith(exit_code):
        again = numbers.normalise(result.number)
        assert again.number == result.number
        assert again.number_class == result.number_class


# -- classes from phonenumbers' number type (rules §5.6) -----------------------------------------


@pytest.mark.parametrize(
    ("dialed", "number", "number_class"),
    [
        ("07400123456", "447400123456", "mobile"),
        ("09098790000", "449098790000", "premium"),  # PREMIUM_RATE
        ("07031234567", "447031234567", "premium"),  # 070: PERSONAL_NUMBER
        ("08451234567", "448451234567", "premium"),  # 0845: phonenumbers calls it PREMIUM_RATE
        ("02079460000", "442079460000", "national"),  # FIXED_LINE
        ("01612345678", "441612345678", "national"),
        ("08001234567", "448001234567", "tollfree"),
        ("07911123456", "447911123456", "mobile"),  # a Guernsey mobile shares +44: not abroad
    ],
)
def test_uk_number_types_give_the_class(dialed: str, number: str, number_class: str) -> None:
    result = UK_LOCAL.normalise(dialed)
    assert (result.number, result.number_class, result.country_code) == (number, number_class, 44)


def test_premium_step_names_phonenumbers_type() -> None:
    assert UK_LOCAL.normalise("07031234567").steps[-1] == (
        "class premium (phonenumbers: PERSONAL_NUMBER)"
    )


def test_nanp_900_from_canada_is_premium_not_international() -> None:
    result = CA.normalise("9005551234")
    assert (result.number, result.number_class, result.region) == ("19005551234", "premium", "US")


def test_canadian_numbers_are_national_though_they_may_be_mobiles() -> None:
    # NANP metadata gives one pattern for fixed lines and mobiles: FIXED_LINE_OR_MOBILE
    assert CA.normalise("4165550123").number_class == "national"


def test_a_plain_fixed_line_costs_no_phonenumbers_parse() -> None:
    numbers = normaliser("GB", number_mode="local-prefix")
    with mock.patch.object(phonenumbers, "parse", side_effect=AssertionError("parsed")):
        assert numbers.normalise("02079460000").number_class == "national"


def test_a_mobile_of_another_country_code_is_international() -> None:
    result = CA.normalise("011447400123456")  # a UK mobile dialled from Canada
    assert (result.number, result.number_class, result.region) == (
        "447400123456",
        "international",
        "GB",
    )


# -- short numbers (rules §5.3) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "dialed", "number_class"),
    [
        ("GB", "118118", "short"),  # directory enquiries
        ("GB", "100", "short"),  # the operator
        ("GB", "999", "local"),  # emergency
        ("GB", "112", "local"),  # emergency
        ("GB", "105", "local"),  # toll-free by its expected cost
        ("GB", "2112", "local"),  # not in the short-number data: an extension
        ("CA", "411", "short"),
        ("CA", "911", "local"),
        ("CA", "*411", "local"),  # not digits: a feature code
    ],
)
def test_outbound_short_numbers(country: str, dialed: str, number_class: str) -> None:
    numbers = normaliser(country, number_mode="local-prefix" if country == "GB" else "e164")
    result = numbers.normalise(dialed, outbound=True)
    assert (result.number, result.number_class, result.country_code) == (
        dialed,
        number_class,
        None,
    )


def test_a_short_number_is_local_when_not_dialled_out() -> None:
    assert UK_LOCAL.normalise("118118").number_class == "local"
    assert UK_LOCAL.normalise("118118", outbound=True).number_class == "short"
    assert UK_LOCAL.normalise("118118").number_class == "local"  # the caches stay apart


def test_a_short_number_reads_the_package_country_and_says_why() -> None:
    result = UK_LOCAL.normalise("118118", outbound=True)
    assert result.region == "GB"
    assert result.steps == (
        "class short (118118 is a short number in GB, by phonenumbers' short-number data)",
    )
    emergency = UK_LOCAL.normalise("999", outbound=True)
    assert emergency.steps[-1] == "not short: 999 is an emergency number in GB"


def test_rewrite_comes_before_the_short_number_test() -> None:
    numbers = normaliser("GB", number_mode="local-prefix", rewrite=(("^9(\\d+)$", "\\1"),))
    assert numbers.normalise("9118118", outbound=True).number == "118118"
    assert numbers.normalise("9118118", outbound=True).number_class == "short"
