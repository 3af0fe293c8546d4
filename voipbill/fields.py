"""Product field strings (rules §1): the tenant and extensions strings an admin types.

`validate()` never raises on bad text: every problem becomes a FieldProblem naming the field,
the 1-based segment, the offending text and what to write instead. Only a bad *setting*
(unknown pbx form, unknown country, impossible extension length) raises UsageError.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import phonenumbers

from voipbill.errors import UsageError

PBX_FORMS = ("fusionpbx", "vodia", "lesnet")

_FORM_TEXT = {
    "fusionpbx": "<tenant domain> | <main DID>",
    "vodia": "<tenant> | DID | DID … | <ext>",
    "lesnet": "<peer id> | <DID>",
}

# rules §1: only ASCII digits count; `\d` would also accept '٢١١٢' (Arabic-Indic digits).
_ASCII_DIGITS = re.compile(r"[0-9]+")
_DID_TEXT = re.compile(r"\+?[0-9]+")
_PEER_ID = re.compile(r"[0-9A-F]{8,16}")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_LABEL_CHARS = re.compile(r"[A-Za-z0-9.-]*")
_IDNA_DOTS = re.compile("[.\u3002\uff0e\uff61]")  # the label separators of the idna codec
# Longer digit strings are never phone numbers; phonenumbers is not asked about them.
_MAX_DID_DIGITS = 17
_SHOWN_CHARS = 40


@dataclass(frozen=True)
class FieldProblem:
    field: str  # "tenant" or "extensions"
    segment: int  # 1-based position between the `|`
    text: str  # the offending segment, stripped ("" for an empty or missing one)
    message: str  # what is wrong and how to fix it

    def __str__(self) -> str:
        return f"{self.field}, segment {self.segment}: {self.message}"


@dataclass(frozen=True)
class Tenant:
    domain: str  # lower-case ASCII; an IDN in punycode; "" for lesnet
    dids: tuple[str, ...]  # E.164 with a leading '+'
    extension: str | None = None  # vodia: the extension that ends the tenant field
    peer_id: str | None = None  # lesnet


@dataclass(frozen=True)
class FieldsResult:
    """A field is understood whole or not at all: `tenant` is None when the tenant field has
    a problem, and `extensions` is empty when the extensions field has one (or was not given)."""

    tenant: Tenant | None
    extensions: tuple[str, ...]
    problems: tuple[FieldProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def validate(
    tenant: str,
    extensions: str | None,
    *,
    pbx: str = "fusionpbx",
    country: str = "CA",
    ext_digits: tuple[int, int] = (2, 7),
) -> FieldsResult:
    """Check both field strings (rules §1); `extensions=None` means the field was not given."""
    check_settings(pbx, country, ext_digits)
    checker = _Checker(country.upper(), ext_digits)
    parsed_tenant = checker.tenant(tenant, pbx)
    extension_list = checker.extensions(extensions) if extensions is not None else ()
    return FieldsResult(parsed_tenant, extension_list, tuple(checker.problems))


def check_settings(pbx: str, country: str, ext_digits: tuple[int, int]) -> None:
    if pbx not in PBX_FORMS:
        raise UsageError(f"unknown pbx form {pbx!r}", hint=f"one of {', '.join(PBX_FORMS)}")
    if country.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise UsageError(
            f"{country!r} is not a country phonenumbers knows", hint="an ISO region, e.g. CA"
        )
    low, high = ext_digits
    if not 1 <= low <= high <= 15:
        raise UsageError(
            f"extension length {low}-{high} is impossible", hint="write MIN-MAX, e.g. 2-7"
        )


def shown(text: str) -> str:
    """The offending text as it appears in a message: quoted, escaped, and cut if long."""
    if len(text) > _SHOWN_CHARS:
        return repr(text[:_SHOWN_CHARS]) + f"… ({len(text)} characters)"
    return repr(text)


def split_segments(text: str) -> list[str]:
    # rules §1: spaces around `|` are optional, so each segment is stripped.
    return [segment.strip() for segment in text.split("|")]


class _Checker:
    def __init__(self, country: str, ext_digits: tuple[int, int]) -> None:
        self.country = country
        self.ext_low, self.ext_high = ext_digits
        self.problems: list[FieldProblem] = []

    def problem(self, field: str, segment: int, text: str, message: str) -> None:
        self.problems.append(FieldProblem(field, segment, text, message))

    # -- the tenant field -------------------------------------------------------------

    def tenant(self, text: str, pbx: str) -> Tenant | None:
        before = len(self.problems)
        segments = split_segments(text)
        form = _FORM_TEXT[pbx]
        if segments == [""]:
            self.empty("tenant", 1, 1)
            return None
        if pbx == "lesnet":
            roles = ["peer id", "DID"]
            extra = len(segments) > 2
        elif pbx == "vodia":
            roles = ["domain", *["DID"] * max(1, len(segments) - 2), "extension"]
            extra = False
        else:
            # rules §4.2 reads the tenant field as the domain followed by its DIDs.
            roles = ["domain", *["DID"] * max(1, len(segments) - 1)]
            extra = False
        domain = ""
        peer_id: str | None = None
        extension: str | None = None
        dids: list[str] = []
        seen_dids: dict[str, int] = {}
        for index, role in enumerate(roles, 1):
            if index > len(segments):
                self.problem("tenant", index, "", f"missing the {_ROLE_NAMES[role]}: write {form}")
                continue
            segment = segments[index - 1]
            if not segment:
                self.empty("tenant", index, len(segments))
            elif role == "domain":
                domain = self.domain(index, segment) or ""
            elif role == "peer id":
                peer_id = self.peer_id(index, segment)
            elif role == "extension":
                extension = self.extension("tenant", index, segment, vodia=True)
            else:
                did = self.did(index, segment)
                if did is not None and did in seen_dids:
                    self.problem(
                        "tenant",
                        index,
                        segment,
                        f"{shown(segment)} repeats the DID {did} of segment {seen_dids[did]}: "
                        "remove one",
                    )
                elif did is not None:
                    seen_dids[did] = index
                    dids.append(did)
        if extra:
            for index in range(3, len(segments) + 1):
                self.problem(
                    "tenant",
                    index,
                    segments[index - 1],
                    f"unexpected segment {shown(segments[index - 1])}: the lesnet form is {form}",
                )
        if len(self.problems) > before:
            return None
        return Tenant(domain=domain, dids=tuple(dids), extension=extension, peer_id=peer_id)

    def empty(self, field: str, index: int, count: int) -> None:
        if count == 1:
            example = _FORM_TEXT["fusionpbx"] if field == "tenant" else "2112 | 2113"
            self.problem(field, index, "", f"the field is empty: write {example}")
        elif index == 1:
            self.problem(field, index, "", "empty segment before the first '|': remove that '|'")
        elif index == count:
            self.problem(field, index, "", "empty segment after the last '|': remove that '|'")
        else:
            self.problem(field, index, "", "empty segment between two '|': remove one '|'")

    def domain(self, index: int, text: str) -> str | None:
        reason = _domain_problem(text)
        ascii_name = text
        if reason is None and not text.isascii():
            # rules §1: an IDN is accepted and shown in punycode (stdlib IDNA 2003 codec).
            try:
                ascii_name = text.encode("idna").decode("ascii")
            except (UnicodeError, ValueError):
                reason = "it is not a valid international domain name"
            else:
                reason = _domain_problem(ascii_name)
        if reason is None:
            return ascii_name.lower()
        fix = "write e.g. mcon.wat5.example.net"
        if _DID_TEXT.fullmatch(text):
            fix = f"the tenant field starts with the domain: {_FORM_TEXT['fusionpbx']}"
        self.problem("tenant", index, text, f"{shown(text)} is not a domain name: {reason}; {fix}")
        return None

    def peer_id(self, index: int, text: str) -> str | None:
        if _PEER_ID.fullmatch(text):
            return text
        fix = "8-16 upper-case hex characters (0-9, A-F)"
        if _PEER_ID.fullmatch(text.upper()):
            fix += f": write {text.upper()}"
        self.problem("tenant", index, text, f"{shown(text)} is not a lesnet peer id: {fix}")
        return None

    def did(self, index: int, text: str) -> str | None:
        e164, message = _did(text, self.country)
        if message is not None:
            self.problem("tenant", index, text, f"{shown(text)} {message}")
        return e164

    # -- extensions --------------------------------------------------------------------

    def extensions(self, text: str) -> tuple[str, ...]:
        before = len(self.problems)
        segments = split_segments(text)
        seen: dict[str, int] = {}
        result: list[str] = []
        for index, segment in enumerate(segments, 1):
            if not segment:
                self.empty("extensions", index, len(segments))
                continue
            extension = self.extension("extensions", index, segment)
            if extension is None:
                continue
            if extension in seen:
                self.problem(
                    "extensions",
                    index,
                    segment,
                    f"{shown(segment)} repeats segment {seen[extension]}: remove one",
                )
            else:
                seen[extension] = index
                result.append(extension)
        return tuple(result) if len(self.problems) == before else ()

    def extension(self, field: str, index: int, text: str, *, vodia: bool = False) -> str | None:
        if _ASCII_DIGITS.fullmatch(text) and self.ext_low <= len(text) <= self.ext_high:
            return text
        message = f"{shown(text)} is not an extension ({self.ext_low}-{self.ext_high} digits)"
        if text.isdigit() and not text.isascii():
            message += "; use the ASCII digits 0-9"
        elif vodia:
            message += f"; the vodia form ends with the extension: {_FORM_TEXT['vodia']}"
        elif any(separator in text for separator in " ,;/"):
            message += "; separate extensions with '|'"
        self.problem(field, index, text, message)
        return None


_ROLE_NAMES = {
    "domain": "tenant domain",
    "DID": "main DID",
    "peer id": "peer id",
    "extension": "extension",
}


def _domain_problem(name: str) -> str | None:
    """Why `name` breaks rules §1's DNS rules, or None. Non-ASCII text passes (an IDN)."""
    if not name.isascii():
        # Checked again after the IDNA codec has made it ASCII; punycode hides a hyphen that
        # starts or ends a Unicode label ('-ü' becomes 'xn----eha'), so that is checked here.
        for label in _IDNA_DOTS.split(name):
            if label.startswith("-") or label.endswith("-"):
                return f"label {label!r} starts or ends with '-'"
        return None
    if not _LABEL_CHARS.fullmatch(name):
        bad_char = next(c for c in name if not (c.isalnum() or c in ".-"))
        return f"{bad_char!r} is not allowed (letters, digits, '-' and '.')"
    if len(name) > 253:
        return f"it is {len(name)} characters long (at most 253)"
    labels = name.split(".")
    if len(labels) < 2:
        return "it needs at least two labels separated by '.'"
    for label in labels:
        if not label:
            return "it has an empty label (a leading, trailing or doubled '.')"
        if len(label) > 63:
            return f"label {shown(label)} is longer than 63 characters"
        if not _LABEL.fullmatch(label):
            return f"label {label!r} starts or ends with '-'"
    return None


def _did(text: str, country: str) -> tuple[str | None, str | None]:
    """(E.164, None) for a DID valid in `country`, else (None, what is wrong and the fix)."""
    if not _DID_TEXT.fullmatch(text):
        # ASCII only: phonenumbers would read '519222900O' as a vanity number ending in 6.
        return (
            None,
            f"is not a phone number: use digits 0-9 with an optional '+' ({_example(country)})",
        )
    if len(text.lstrip("+")) > _MAX_DID_DIGITS:
        return None, f"is too long for a phone number ({_example(country)})"
    return _checked_did(text, country)


@functools.lru_cache(maxsize=4096)
def _checked_did(text: str, country: str) -> tuple[str | None, str | None]:
    try:
        number = phonenumbers.parse(text, country)
    except phonenumbers.NumberParseException:
        return None, f"is not a phone number ({_example(country)})"
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if phonenumbers.is_valid_number_for_region(number, country):
        return e164, None
    if phonenumbers.is_valid_number(number):
        region = phonenumbers.region_code_for_number(number) or "foreign"
        return None, f"is a {region} number ({e164}), not a valid {country} DID"
    return None, f"is not a valid {country} phone number ({_example(country)})"


@functools.lru_cache(maxsize=64)
def _example(country: str) -> str:
    number = phonenumbers.example_number_for_type(
        country, phonenumbers.PhoneNumberType.FIXED_LINE
    ) or phonenumbers.example_number(country)
    if number is None:
        return "write it in E.164, with '+' and the country code"
    national = phonenumbers.national_significant_number(number)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if number.country_code == 1:
        return f"e.g. {national} or {e164}"
    return f"e.g. {e164}"
