"""Number audit (rules §10): the CDR numbers rating will misread, and how to fix them.

FusionPBX writes numbers the way the phone dialled them or the carrier sent them. Rating reads
each one under the package's number plan (rules §5); where that reading is not a valid E.164
number, the audit looks for the national number the caller most likely meant, by normalising
the same text again under a modified plan (10-digit NANP, a national trunk prefix, an
outside-line 9). A reading found that way gives both the FusionPBX dialplan fix and the package
setting that would rate today's CDRs correctly without one.

The calls audited are exactly the calls rating would take (rules §4.1–4.2): a `NumberTally` is a
ServiceRater whose `add` counts numbers instead of pricing calls, fed by the same RatingRun.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date
from zoneinfo import ZoneInfo

import phonenumbers

from voipbill import number_types
from voipbill.cdrs import CdrRecord
from voipbill.config import Package, Service
from voipbill.numbers import (
    LOCAL,
    MOBILE,
    NATIONAL,
    PREMIUM,
    SHARED,
    SHORT,
    TOLLFREE,
    Normalised,
    Normaliser,
    NumberPlan,
)
from voipbill.periods import Period
from voipbill.rating import ServiceRater
from voipbill.text import shown

VALID, NORMALISED, WRONG_COUNTRY, NOT_E164 = "valid", "normalised", "wrong_country", "not_e164"
EXTENSION, SHORT_NUMBER = "extension", "short"
# Problems first (the table and every format list them in this order).
VERDICT_ORDER = (WRONG_COUNTRY, NOT_E164, NORMALISED, VALID, SHORT_NUMBER, EXTENSION)
# numbers rating reads as meant: only the others are mis-billed (and make the exit code 1)
OK_VERDICTS = frozenset({VALID, NORMALISED, SHORT_NUMBER, EXTENSION})

INBOUND, OUTBOUND = "inbound", "outbound"
DESTINATION_NUMBER, CALLER_DESTINATION = "destination_number", "caller_destination"

NANP, LOCAL_PREFIX, OUTSIDE_LINE = "nanp_10_digit", "local-prefix", "outside-line"
# a national number written without its trunk prefix (GB 2079460000 for 020 7946 0000)
LOST_TRUNK_PREFIX = "lost-trunk-prefix"
# North American PBXs take an outside line with 9; the digits after it are the real number.
OUTSIDE_LINE_DIGIT = "9"
# 9 + at least an 8-digit national number; shorter texts are extensions anyway (rules §5.3).
_SHORTEST_AFTER_OUTSIDE_LINE = 8


@dataclass(frozen=True, slots=True)
class AuditedNumber:
    """One distinct number of the service's calls, as rules §10 lists it."""

    number: str  # as written in the CDR
    direction: str  # "outbound", "inbound" or "local", as rating reads the call (rules §4.4)
    field: str  # the CDR column rating takes it from (rules §4.3)
    calls: int
    verdict: str  # valid | normalised | wrong_country | not_e164 | extension | short
    country: str  # ISO region phonenumbers reads from rating's reading; "" when none
    fix: str  # FusionPBX dialplan action; "" when none is needed or none is known
    normalized: str  # what rating reads (rules §5), digits without '+'
    intended: str  # the likely meant number, E.164 digits without '+'; "" when unknown
    # NANP, LOCAL_PREFIX or OUTSIDE_LINE (or OUTSIDE_LINE+another): the reading that found
    # `intended`
    remedy: str = ""
    note: str = ""  # why a not_e164 number of a possible length is not valid

    @property
    def is_problem(self) -> bool:
        return self.verdict not in OK_VERDICTS


@dataclass(frozen=True)
class PackageHint:
    """A package change that would make the flagged numbers rate correctly as they are."""

    remedy: str
    settings: dict[str, object]  # the TOML keys to set in [packages.NAME]
    fixes: tuple[str, ...]  # flagged numbers it makes valid
    misses: tuple[str, ...]  # flagged numbers of its kind it does not fix
    breaks: tuple[str, ...]  # numbers that were fine and would read differently
    plan: NumberPlan = field(repr=False, compare=False)

    @property
    def suggested(self) -> bool:
        return bool(self.fixes) and not self.misses and not self.breaks

    @property
    def toml(self) -> list[str]:
        """One TOML line per key; JSON strings, booleans and arrays are valid TOML values."""
        return [f"{key} = {json.dumps(value)}" for key, value in self.settings.items()]


@dataclass
class Audit:
    service: str
    package: str
    country: str
    numbers: list[AuditedNumber]
    hints: list[PackageHint]
    # every flagged number valid under all suggested hints together (None: nothing to fix)
    hints_fix_all: bool | None = None

    @property
    def outbound_problems(self) -> list[AuditedNumber]:
        """rules §10: these make the exit code 1."""
        return [n for n in self.numbers if n.direction == OUTBOUND and n.is_problem]

    @property
    def problems(self) -> list[AuditedNumber]:
        return [n for n in self.numbers if n.is_problem]


class NumberTally(ServiceRater):
    """A rater that counts the number of each call in scope instead of pricing it.

    RatingRun decides the scope (b-legs, repeated uuids, period, service; rules §4.1–4.2) and hands
    each call here, so the audit sees exactly the calls `rate` would bill.
    """

    def __init__(
        self,
        service: Service,
        package: Package,
        normaliser: Normaliser,
        *,
        export_domain: str | None = None,
    ) -> None:
        # no deck: nothing is priced
        super().__init__(service, package, None, normaliser, export_domain=export_domain)
        self.tally: Counter[tuple[str, str, str]] = Counter()

    def add(self, record: CdrRecord, *, late: bool = False) -> None:
        del late
        # rules §4.3: the number rating uses; §4.4: direction local makes the call local
        if record.direction == INBOUND:
            source = CALLER_DESTINATION if record.caller_destination else DESTINATION_NUMBER
            direction = INBOUND
        else:
            source = DESTINATION_NUMBER
            direction = "local" if record.direction == "local" else OUTBOUND
        self.tally[(direction, source, getattr(record, source))] += 1


def whole_history(zone: ZoneInfo) -> Period:
    """A period holding every start_epoch: `--cdr-file` alone audits every row of the file."""
    return Period(date.min, date.max, -(2**63), 2**63, zone)


# -- judging one number ------------------------------------------------------------------------


def _parsed(digits: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return None


def _is_valid(digits: str) -> bool:
    return number_types.is_valid_e164(digits)


def _is_possible(digits: str) -> bool:
    parsed = _parsed(digits)
    return parsed is not None and phonenumbers.is_possible_number(parsed)


# the classes of a number of the package's own country code
_OWN_CLASSES = frozenset({NATIONAL, MOBILE, PREMIUM, SHARED, TOLLFREE})
# rules §10: of a possible length but not valid
RANGES_MAY_LAG = (
    "a possible length, but phonenumbers knows no such number (its ranges may lag behind new "
    "allocations; rating prices it as read)"
)


def _valid_national(reading: Normalised) -> bool:
    return reading.number_class in _OWN_CLASSES and _is_valid(reading.number)


def _after_plus(text: str) -> str:
    """The text the rewrite rules see (rules §5.1)."""
    stripped = text.strip()
    return stripped[1:] if stripped.startswith("+") else stripped


def _outside_line_rule(lengths: set[int]) -> tuple[str, str]:
    body = "|".join(f"\\d{{{length}}}" for length in sorted(lengths))
    return (f"^{OUTSIDE_LINE_DIGIT}({body})$", "\\1")


def _with_rules(plan: NumberPlan, rules: list[tuple[str, str]]) -> NumberPlan:
    # Appended: the first matching rule wins (rules §5.2), so the package's own rules keep theirs.
    added = tuple((re.compile(pattern), replacement) for pattern, replacement in rules)
    return replace(plan, rewrite=plan.rewrite + added)


class Auditor:
    """Judges numbers for one package's plan; remembers each modified plan's normaliser."""

    def __init__(self, normaliser: Normaliser) -> None:
        self.normaliser = normaliser
        self.plan = normaliser.plan
        plan = self.plan
        self.remedy_plans: dict[str, NumberPlan] = {}
        if plan.country_code == 1 and not plan.nanp_10_digit:
            self.remedy_plans[NANP] = replace(plan, nanp_10_digit=True)
        # Under NANP the trunk prefix 1 is the country code itself: nothing to replace.
        if (
            plan.number_mode == "e164"
            and plan.national_prefix
            and plan.national_prefix != str(plan.country_code)
        ):
            self.remedy_plans[LOCAL_PREFIX] = replace(plan, number_mode="local-prefix")
        self._normalisers: dict[NumberPlan, Normaliser] = {}

    def reading(self, plan: NumberPlan, text: str) -> Normalised:
        normaliser = self._normalisers.get(plan)
        if normaliser is None:
            normaliser = self._normalisers[plan] = Normaliser(plan)
        return normaliser.normalise(text)

    def remedies(self, text: str) -> list[tuple[str, NumberPlan]]:
        """Modified plans to try on a misread number, most likely first."""
        if text.strip().startswith("+"):
            return []  # written as E.164: a missing prefix is not the problem
        found = list(self.remedy_plans.items())
        digits = _after_plus(text)
        if (
            digits.startswith(OUTSIDE_LINE_DIGIT)
            and digits.isascii()
            and digits.isdigit()
            and len(digits) - 1 >= _SHORTEST_AFTER_OUTSIDE_LINE
        ):
            rule = _outside_line_rule({len(digits) - 1})
            found.append((OUTSIDE_LINE, _with_rules(self.plan, [rule])))
            # 9 then a number that itself needs a remedy (9 + 10 digits with nanp_10_digit off)
            found.extend(
                (f"{OUTSIDE_LINE}+{remedy}", _with_rules(plan, [rule]))
                for remedy, plan in self.remedy_plans.items()
            )
        plan = self.plan
        trunk = plan.national_prefix
        if (
            trunk
            and trunk != str(plan.country_code)  # under NANP the trunk 1 is the country code
            and digits.isascii()
            and digits.isdigit()
            and not digits.startswith((trunk, plan.exit_code or trunk))
        ):
            # the trunk prefix put back, then read as a national number
            rule = (f"^(\\d{{{len(digits)}}})$", f"{trunk}\\1")
            lost = _with_rules(replace(plan, number_mode="local-prefix"), [rule])
            found.append((LOST_TRUNK_PREFIX, lost))
        return found

    def judge(self, direction: str, source: str, text: str, calls: int) -> AuditedNumber:
        read = self.normaliser.normalise(text, outbound=direction == OUTBOUND)
        country = read.region or ""
        if read.number_class == SHORT:
            return AuditedNumber(
                text, direction, source, calls, SHORT_NUMBER, country, "", read.number, read.number
            )
        if read.number_class == LOCAL:
            return AuditedNumber(text, direction, source, calls, EXTENSION, "", "", read.number, "")
        valid = _is_valid(read.number)
        # Without a '+' or the exit code, a PBX in the package's country most likely dialled a
        # national number, so a national reading wins even over a valid foreign one (91 416...
        # is 9, 1, 416... far more often than India). A '+' says the dialplan meant E.164.
        foreign = read.country_code not in (None, self.plan.country_code)
        if not valid or (foreign and not text.strip().startswith("+")):
            for remedy, plan in self.remedies(text):
                meant = self.reading(plan, text)
                if _valid_national(meant):
                    return AuditedNumber(
                        text,
                        direction,
                        source,
                        calls,
                        # another country's code where a national call was meant (rules §10);
                        # no known code at all (0207..., a trunk prefix) is not E.164
                        WRONG_COUNTRY if foreign else NOT_E164,
                        country,
                        self.fix(text, meant.number, direction, source),
                        read.number,
                        meant.number,
                        remedy,
                    )
        # rules §10: `valid` and `normalised` need a valid number; one of a possible length is
        # not E.164 either, with a note that phonenumbers' ranges may lag.
        if not valid:
            possible = read.country_code is not None and _is_possible(read.number)
            note = RANGES_MAY_LAG if possible else ""
            return AuditedNumber(
                text, direction, source, calls, NOT_E164, country, "", read.number, "", note=note
            )
        if read.number == _after_plus(text):
            return AuditedNumber(
                text, direction, source, calls, VALID, country, "", read.number, read.number
            )
        # the package's rules read it right; the fix writes E.164 so that no rule is needed
        return AuditedNumber(
            text,
            direction,
            source,
            calls,
            NORMALISED,
            country,
            self.fix(text, read.number, direction, source),
            read.number,
            read.number,
        )

    @staticmethod
    def fix(text: str, e164: str, direction: str, source: str) -> str:
        """The FusionPBX dialplan action that makes the CDR carry the E.164 number.

        The number as written keeps its longest tail that ends the E.164 digits; the action
        drops what comes before that tail and writes what E.164 has before it:
        `5192229000` -> `1${destination_number}`, `02079460000` -> `44${destination_number:1}`,
        `011442079460000` -> `${destination_number:3}`.

        FusionPBX's CDR importer takes destination_number from the call's caller profile, not
        from the channel variable, so `set destination_number=...` would not change the CDR:
        `set_profile_var` does. caller_destination is a channel variable, so `set` works.
        `${var:N}` is FreeSWITCH's substring from offset N.
        """
        written = text.strip()
        offset = next(k for k in range(len(written) + 1) if e164.endswith(written[k:]))
        prefix = e164[: len(e164) - (len(written) - offset)]
        value = f"{prefix}${{{source}:{offset}}}" if offset else f"{prefix}${{{source}}}"
        if direction == INBOUND:
            return f"set {CALLER_DESTINATION}={value}"
        return f"set_profile_var {DESTINATION_NUMBER}={value}"

    # -- package hints ---------------------------------------------------------------------------

    def hints(self, numbers: list[AuditedNumber]) -> list[PackageHint]:
        flagged = [n for n in numbers if n.is_problem]
        hints = []
        for remedy in (NANP, LOCAL_PREFIX, OUTSIDE_LINE):
            # an outside-line hint also covers 9 + a number needing another remedy, and then
            # carries that remedy's setting too
            mine = [n for n in flagged if n.remedy.split("+")[0] == remedy]
            if not mine:
                continue
            plan, settings = self.hint_plan(remedy, mine)
            hints.append(self.check(remedy, plan, settings, mine, numbers))
        return hints

    def hint_plan(
        self, remedy: str, mine: list[AuditedNumber]
    ) -> tuple[NumberPlan, dict[str, object]]:
        plan = self.plan
        settings: dict[str, object] = {}
        parts = {part for n in mine for part in n.remedy.split("+")}
        if NANP in parts:
            plan = replace(plan, nanp_10_digit=True)
            settings["nanp_10_digit"] = True
        if LOCAL_PREFIX in parts:
            plan = replace(plan, number_mode="local-prefix")
            settings["number_mode"] = "local-prefix"
            settings["national_prefix"] = plan.national_prefix
        if remedy == OUTSIDE_LINE:
            rule = _outside_line_rule({len(_after_plus(n.number)) - 1 for n in mine})
            rules = [[pattern.pattern, replacement] for pattern, replacement in plan.rewrite]
            plan = _with_rules(plan, [rule])
            settings["rewrite"] = [*rules, list(rule)]
        return plan, settings

    def check(
        self,
        remedy: str,
        plan: NumberPlan,
        settings: dict[str, object],
        mine: list[AuditedNumber],
        numbers: list[AuditedNumber],
    ) -> PackageHint:
        """Re-normalise under the modified plan: it must fix its numbers and break none."""
        fixes = [n.number for n in mine if _valid_national(self.reading(plan, n.number))]
        misses = [n.number for n in mine if n.number not in fixes]
        breaks = []
        for number in numbers:
            if number.is_problem:
                continue
            before = self.normaliser.normalise(number.number)
            after = self.reading(plan, number.number)
            if (after.number, after.number_class) != (before.number, before.number_class):
                breaks.append(number.number)
        return PackageHint(
            remedy,
            settings,
            tuple(dict.fromkeys(fixes)),
            tuple(dict.fromkeys(misses)),
            tuple(dict.fromkeys(breaks)),
            plan,
        )

    def fixed_by_all(self, hints: list[PackageHint], numbers: list[AuditedNumber]) -> bool | None:
        """Would the suggested hints, applied together, leave no flagged number?"""
        flagged = [n for n in numbers if n.is_problem]
        chosen = [hint for hint in hints if hint.suggested]
        if not flagged or not chosen:
            return None
        plan = self.plan
        for hint in chosen:
            # each hint's plan differs from the package's in its own settings only
            if "nanp_10_digit" in hint.settings:
                plan = replace(plan, nanp_10_digit=True)
            if "number_mode" in hint.settings:
                plan = replace(plan, number_mode="local-prefix")
            if "rewrite" in hint.settings:
                plan = replace(plan, rewrite=hint.plan.rewrite)
        return all(_valid_national(self.reading(plan, n.number)) for n in flagged)


def audit(tally: NumberTally) -> Audit:
    """Judge every distinct number the tally counted; problems first (rules §10)."""
    auditor = Auditor(tally.normaliser)
    numbers = [
        auditor.judge(direction, source, text, calls)
        for (direction, source, text), calls in tally.tally.items()
    ]
    numbers.sort(
        key=lambda n: (VERDICT_ORDER.index(n.verdict), n.direction != OUTBOUND, -n.calls, n.number)
    )
    hints = auditor.hints(numbers)
    fixed_by_all = auditor.fixed_by_all(hints, numbers)
    # judged as written; shown as every output shows CDR text (rules §7)
    return Audit(
        service=tally.service.name,
        package=tally.package.name,
        country=auditor.plan.country,
        numbers=[
            replace(n, number=shown(n.number), normalized=shown(n.normalized)) for n in numbers
        ],
        hints=[
            replace(
                hint,
                fixes=tuple(map(shown, hint.fixes)),
                misses=tuple(map(shown, hint.misses)),
                breaks=tuple(map(shown, hint.breaks)),
            )
            for hint in hints
        ],
        hints_fix_all=fixed_by_all,
    )
