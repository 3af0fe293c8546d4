"""What phonenumbers says a number is: its class from its number type, and short numbers (rules §5).

voipbill.numbers decides which number a CDR text is; this module asks phonenumbers what kind of
number it is. Parsing is the slow part (tens of microseconds), and most numbers a PBX dials are
plain fixed lines, so a number is parsed only when one of the patterns that could give it
another class matches it.
"""

from __future__ import annotations

import functools
import re

import phonenumbers
from phonenumbers import PhoneNumberType, shortnumberinfo

NATIONAL = "national"
MOBILE = "mobile"
PREMIUM = "premium"
SHARED = "shared"
INTERNATIONAL = "international"
TOLLFREE = "tollfree"
SHORT = "short"
LOCAL = "local"

# phonenumbers' number types that give a class other than national (rules §5.6)
_CLASS_OF_TYPE = {
    PhoneNumberType.TOLL_FREE: TOLLFREE,
    PhoneNumberType.PREMIUM_RATE: PREMIUM,
    PhoneNumberType.SHARED_COST: SHARED,
    PhoneNumberType.PERSONAL_NUMBER: PREMIUM,
    PhoneNumberType.MOBILE: MOBILE,
}
_TYPE_NAMES = {
    value: name for name, value in vars(PhoneNumberType).items() if isinstance(value, int)
}
# phonenumbers refuses more than 17 digits
_LONGEST_PARSEABLE = 17
# shortest and longest short number (rules §5.3: 2-7 digits)
SHORT_LENGTHS = range(2, 8)


def class_of_type(number_type: int) -> str:
    """The class of a number of the package's country code, from its phonenumbers type."""
    return _CLASS_OF_TYPE.get(number_type, NATIONAL)


def type_name(number_type: int) -> str:
    return _TYPE_NAMES.get(number_type, str(number_type))


@functools.cache
def regions_of(country_code: int) -> tuple[str, ...]:
    return tuple(phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ()))


@functools.cache
def _typed_pattern(country_code: int) -> re.Pattern[str] | None:
    """Every national number pattern, among the code's regions, of a type that is not national.

    phonenumbers gives a number a type only when its national significant number matches that
    type's pattern in the metadata of its region (one of the code's). Parsing `+` and digits
    leaves that national number a suffix of the digits after the code: parse may only strip a
    national prefix, by the rules of the code's main region, unless that region rewrites it
    (`national_prefix_transform_rule`): then any number may be typed (`.*`) and phonenumbers
    decides. MOBILE is only given where a region's mobile and fixed-line patterns differ (in
    NANP they are the same: FIXED_LINE_OR_MOBILE, national). A number no suffix of which
    matches is national and needs no parse. None: no number of the code can be typed.
    """
    main = phonenumbers.region_code_for_country_code(country_code)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(main)
    if metadata is None or metadata.national_prefix_transform_rule:
        return re.compile(".*")
    patterns = set()
    for region in regions_of(country_code):
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if metadata is None:
            return re.compile(".*")
        descs = [
            metadata.toll_free,
            metadata.premium_rate,
            metadata.shared_cost,
            metadata.personal_number,
        ]
        if not metadata.same_mobile_and_fixed_line_pattern:
            descs.append(metadata.mobile)
        for desc in descs:
            if desc is not None and desc.national_number_pattern:
                patterns.add(desc.national_number_pattern)
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{pattern})" for pattern in sorted(patterns)))


def may_be_typed(number: str, country_code: int) -> bool:
    """Could phonenumbers give these digits (code first) a type other than national?"""
    pattern = _typed_pattern(country_code)
    if pattern is None:
        return False
    rest = number[len(str(country_code)) :]
    return any(pattern.fullmatch(rest, start) for start in range(len(rest)))


def is_valid_e164(digits: str) -> bool:
    """Are these digits (country code first, no `+`) a valid number, written as E.164 writes it?

    phonenumbers strips a trunk prefix after the country code before judging (`+61 0 2 9234
    5678` is valid to it), but such digits are no E.164 number and match no deck row of the
    number: they must read back as country code + national significant number.
    """
    if len(digits) > _LONGEST_PARSEABLE:
        return False
    try:
        parsed = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(parsed) and digits == (
        f"{parsed.country_code}{phonenumbers.national_significant_number(parsed)}"
    )


def is_emergency(digits: str, region: str) -> bool:
    return bool(shortnumberinfo.is_emergency_number(digits, region))


def short_number_reading(digits: str, region: str) -> tuple[bool, str]:
    """Is a 2-7 digit number a `short` number dialled in the region (rules §5.3), and why.

    Short means phonenumbers' short-number data knows it for the region, and it is neither an
    emergency number (those stay local and free) nor toll-free by its expected cost.
    """
    try:
        parsed = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return False, f"phonenumbers cannot read {digits} in {region}"
    if not shortnumberinfo.is_valid_short_number_for_region(parsed, region):
        return False, f"no short number {digits} in {region}"
    if shortnumberinfo.is_emergency_number(digits, region):
        return False, f"{digits} is an emergency number in {region}"
    cost = shortnumberinfo.expected_cost_for_region(parsed, region)
    if cost == shortnumberinfo.ShortNumberCost.TOLL_FREE:
        return False, f"{digits} is a toll-free short number in {region}"
    return True, f"{digits} is a short number in {region}, by phonenumbers' short-number data"
