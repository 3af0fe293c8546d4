"""Number normalisation and classes (rules §5).

A dialled or caller number, as FusionPBX wrote it, becomes E.164 digits without `+` and one
of the classes `national`, `mobile`, `premium`, `shared`, `international`, `tollfree`, `short`
or `local` (what phonenumbers says of it: voipbill.number_types). The rules run in the order of
rules §5; every step taken is recorded for `voipbill explain`.

phonenumbers is slow (tens of microseconds per call), and a month of CDRs repeats the same
few thousand numbers, so a Normaliser answers a text it has seen from its cache without any
phonenumbers call, and classifies each distinct normalised number once.
"""

from __future__ import annotations

import functools
import re

import phonenumbers

from voipbill import number_types
from voipbill.number_plan import NumberPlan
from voipbill.number_types import (
    INTERNATIONAL,
    LOCAL,
    MOBILE,
    NATIONAL,
    PREMIUM,
    SHARED,
    SHORT,
    TOLLFREE,
)

# Only ASCII digits are digits: str.isdigit() accepts '٢' and '²', which no PBX dials.
_DIGITS = re.compile(r"[0-9]+")
# rules §5.5: a 10-digit NANP number, NPA and NXX both starting 2-9.
_NANP_10 = re.compile(r"[2-9][0-9]{2}[2-9][0-9]{6}")
# rules §5.3: 2-7 digits are an extension. A single digit is treated the same (local): it has
# no country code to read, and calling it international would bill a mis-dial abroad.
_LONGEST_INTERNAL = 7
_SHORT_LENGTHS = number_types.SHORT_LENGTHS
# phonenumbers refuses more than 17 digits; such a text is classified by its prefix only.
_LONGEST_PARSEABLE = 17

__all__ = [
    "INTERNATIONAL",
    "LOCAL",
    "MOBILE",
    "NATIONAL",
    "PREMIUM",
    "SHARED",
    "SHORT",
    "TOLLFREE",
    "Normalised",
    "Normaliser",
    "NumberPlan",
    "country_code_of",
]


class Normalised:
    """A number as written in a CDR, normalised (rules §5). Immutable; compares by value.

    `region` (and the last of `steps` for an international number) are worked out only when
    read: they need a phonenumbers parse, and rating never reads them.
    """

    __slots__ = (
        "_classified",
        "_region",
        "_steps",
        "country_code",
        "number",
        "number_class",
        "original",
    )

    original: str  # as written in the CDR
    number: str  # E.164 digits without '+'; for class local or short: the trimmed/rewritten text
    number_class: str  # national, mobile, premium, shared, international, tollfree, short, local
    country_code: int | None  # the 1-3 digit code phonenumbers knows; None if none, local, short

    def __init__(
        self,
        original: str,
        number: str,
        number_class: str,
        country_code: int | None,
        region: str | None,
        steps: tuple[str, ...],
    ) -> None:
        self.original = original
        self.number = number
        self.number_class = number_class
        self.country_code = country_code
        self._region = region
        self._steps = steps
        self._classified: _Classified | None = None

    @classmethod
    def _of(
        cls, original: str, number: str, classified: _Classified, steps: tuple[str, ...]
    ) -> Normalised:
        """A normalised number whose region and class step come from `classified` when read."""
        made = cls(original, number, classified.number_class, classified.country_code, None, steps)
        made._classified = classified
        return made

    @property
    def region(self) -> str | None:
        """ISO region phonenumbers reads from the number; None if unknown or local."""
        classified = self._classified
        return self._region if classified is None else classified.region()

    @property
    def steps(self) -> tuple[str, ...]:
        """Human-readable steps, for `voipbill explain`."""
        classified = self._classified
        return self._steps if classified is None else (*self._steps, classified.step())

    def _key(self) -> tuple[object, ...]:
        return (
            self.original,
            self.number,
            self.number_class,
            self.country_code,
            self.region,
            self.steps,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Normalised):
            return NotImplemented
        return self is other or self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        fields = ("original", "number", "number_class", "country_code", "region", "steps")
        return f"Normalised({', '.join(f'{name}={getattr(self, name)!r}' for name in fields)})"


@functools.cache
def _known_country_codes() -> frozenset[str]:
    return frozenset(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def country_code_of(number: str) -> int | None:
    """The 1-3 digit country code the digits start with, if phonenumbers knows one.

    ITU country codes are prefix-free, so at most one of the three prefixes is known.
    """
    known = _known_country_codes()
    for length in (1, 2, 3):
        if number[:length] in known and len(number) > length:
            return int(number[:length])
    return None


class _Classified:
    """The class of one normalised number (rules §5.6); its region only when asked."""

    __slots__ = ("_region", "_resolved", "_step", "country_code", "number", "number_class", "own")

    def __init__(
        self,
        number: str,
        own: int,
        number_class: str,
        country_code: int | None,
        *,
        region: str | None = None,
        step: str | None = None,
        resolved: bool = False,
    ) -> None:
        self.number = number
        self.own = own
        self.number_class = number_class
        self.country_code = country_code
        self._region = region
        self._step = step
        self._resolved = resolved or country_code is None  # is `_region` the region?

    def region(self) -> str | None:
        if not self._resolved:
            self._resolve()
        return self._region

    def step(self) -> str:
        if self._step is None:
            self._resolve()
        assert self._step is not None
        return self._step

    def _resolve(self) -> None:
        assert self.country_code is not None
        self._region, _ = _region_of(self.number, self.country_code, self.own)
        self._resolved = True
        if self._step is None:  # international: the step names the region
            self._step = (
                f"class international (country code {self.country_code} "
                f"{self._region or 'non-geographic'}, package's is {self.own})"
            )


def _region_of(
    number: str, country_code: int, own: int
) -> tuple[str | None, phonenumbers.PhoneNumber | None]:
    """The ISO region phonenumbers reads from the number, and the parsed number if parsed."""
    regions = number_types.regions_of(country_code)
    parsed = None
    if (country_code == own or len(regions) > 1) and len(number) <= _LONGEST_PARSEABLE:
        try:
            parsed = phonenumbers.parse("+" + number)
        except phonenumbers.NumberParseException:
            parsed = None
    region = phonenumbers.region_code_for_number(parsed) if parsed is not None else None
    if region is None and regions:
        region = regions[0]  # the main region of the code, e.g. BF for an invalid +226...
    if region == phonenumbers.UNKNOWN_REGION or region == "001":
        region = None  # non-geographic codes (+800, +881...) have no ISO region
    return region, parsed


class Normaliser:
    """Normalises numbers for one package; remembers every text it has seen."""

    def __init__(self, plan: NumberPlan) -> None:
        self.plan = plan
        self._cache: dict[str, Normalised] = {}
        self._classes: dict[str, _Classified] = {}
        self._outbound: dict[str, Normalised] = {}  # outbound readings of local numbers

    def normalise(self, text: str, *, outbound: bool = False) -> Normalised:
        """rules §5 for one number as written in a CDR. Never raises.

        `outbound`: the number is a call's dialled number going out of the PBX, where a 2-7
        digit number may be a `short` number or a national number of the package's country
        (rules §5.3) rather than an extension.
        """
        cached = self._cache.get(text)
        if cached is None:
            cached = self._cache[text] = self._normalise(text)
        if outbound and cached.number_class == LOCAL and len(cached.number) in _SHORT_LENGTHS:
            reading = self._outbound.get(text)
            if reading is None:
                reading = self._outbound[text] = self._outbound_reading(cached)
            return reading
        return cached

    def _outbound_reading(self, local: Normalised) -> Normalised:
        """The outbound reading of a 2-7 digit local number (rules §5.3).

        `short` when phonenumbers' short-number data knows it; else, when it is a valid number
        of the package's country (Australia's 6-digit `13 10 08`), that number; else local.
        An emergency number stays local whatever else it could be read as.
        """
        digits = local.number
        if not _DIGITS.fullmatch(digits):
            return local
        country = self.plan.country
        is_short, why = number_types.short_number_reading(digits, country)
        if is_short:
            steps = (*local.steps[:-1], f"class short ({why})")
            return Normalised(local.original, digits, SHORT, None, country, steps)
        national = None if number_types.is_emergency(digits, country) else self._national(digits)
        if national is None:
            return Normalised(
                local.original, digits, LOCAL, None, None, (*local.steps, f"not short: {why}")
            )
        steps = (
            *local.steps[:-1],
            f"not short: {why}",
            f"a valid {country} number dialled out: country code "
            f"{self.plan.country_code} added -> {national!r}",
        )
        return Normalised._of(local.original, national, self._classified(national), steps)

    def _national(self, digits: str) -> str | None:
        """The package country's number phonenumbers reads from national digits, if valid.

        Country code + national significant number (`parse(digits, country)`); None when
        phonenumbers finds no valid number of the package's country code there.
        """
        plan = self.plan
        if len(digits) > _LONGEST_PARSEABLE:
            return None
        try:
            parsed = phonenumbers.parse(digits, plan.country)
        except phonenumbers.NumberParseException:
            return None
        if parsed.country_code != plan.country_code or not phonenumbers.is_valid_number(parsed):
            return None
        return f"{plan.country_code}{phonenumbers.national_significant_number(parsed)}"

    def _lost_trunk_reading(self, number: str) -> str | None:
        """rules §5.5, local-prefix mode: digits that are no valid number with the country
        code they start with but a valid national number of the package's country (1300...,
        1800... in Australia; a UK number whose trunk 0 was lost). None: read as written."""
        if number_types.is_valid_e164(number):
            return None
        national = self._national(number)
        return None if national == number else national

    def _classified(self, number: str) -> _Classified:
        classified = self._classes.get(number)
        if classified is None:
            classified = self._classes[number] = self._classify(number)
        return classified

    def _normalise(self, text: str) -> Normalised:
        plan = self.plan
        steps: list[str] = []
        # §5.1 trim, drop a leading '+'
        number = text.strip()
        if number.startswith("+"):
            number = number[1:]
        if number != text:
            steps.append(f"trimmed {text!r} -> {number!r}")
        # §5.2 the first rule whose pattern is found is applied once; later rules are skipped
        for pattern, replacement in plan.rewrite:
            if pattern.search(number):
                rewritten = pattern.sub(replacement, number, count=1)
                steps.append(
                    f"rewrite {pattern.pattern} -> {replacement}: {number!r} -> {rewritten!r}"
                )
                number = rewritten
                break
        # §5.3 extensions and feature codes are local and left as they are
        if len(number) <= _LONGEST_INTERNAL or not _DIGITS.fullmatch(number):
            if not number:
                why = "empty"
            elif not _DIGITS.fullmatch(number):
                why = "not only digits"
            else:
                why = f"only {len(number)} digit{'s' if len(number) > 1 else ''}"
            steps.append(f"class local ({why}: an extension or feature code)")
            return Normalised(text, number, LOCAL, None, None, tuple(steps))
        # §5.4 dialled with the exit code: already international
        if plan.exit_code and number.startswith(plan.exit_code):
            number = number[len(plan.exit_code) :]
            steps.append(f"exit code {plan.exit_code} removed -> {number!r}")
        elif plan.number_mode == "e164":
            # §5.5 e164 mode
            if plan.nanp_10_digit and _NANP_10.fullmatch(number):
                number = "1" + number
                steps.append(f"10-digit NANP: added 1 -> {number!r}")
            else:
                steps.append("taken as carrying its country code")
        elif plan.national_prefix and number.startswith(plan.national_prefix):
            # §5.5 local-prefix mode
            number = f"{plan.country_code}{number[len(plan.national_prefix) :]}"
            steps.append(
                f"national prefix {plan.national_prefix} replaced by country code "
                f"{plan.country_code} -> {number!r}"
            )
        else:
            national = self._lost_trunk_reading(number)
            if national is None:
                steps.append("taken as carrying its country code")
            else:
                steps.append(
                    f"not valid as +{number}, but a valid {plan.country} number read "
                    f"nationally: country code {plan.country_code} added -> {national!r}"
                )
                number = national
        return Normalised._of(text, number, self._classified(number), tuple(steps))

    def _classify(self, number: str) -> _Classified:
        """rules §5.6: international when the country code differs, else by phonenumbers' type."""
        own = self.plan.country_code
        country_code = country_code_of(number)
        if country_code is None:
            return _Classified(
                number, own, INTERNATIONAL, None, step="class international (no known country code)"
            )
        if country_code != own:
            return _Classified(number, own, INTERNATIONAL, country_code)  # region when asked
        national = f"class national (country code {own} = package's)"
        if not number_types.may_be_typed(number, country_code):
            return _Classified(number, own, NATIONAL, country_code, step=national)
        region, parsed = _region_of(number, country_code, own)
        number_class, step = NATIONAL, national
        if parsed is not None:
            number_type = phonenumbers.number_type(parsed)
            number_class = number_types.class_of_type(number_type)
            if number_class != NATIONAL:
                step = f"class {number_class} (phonenumbers: {number_types.type_name(number_type)})"
        return _Classified(
            number, own, number_class, country_code, region=region, step=step, resolved=True
        )
