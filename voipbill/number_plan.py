"""A package's number plan: its country, mode, prefixes and rewrite rules (rules §2, §5)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

from voipbill.config import Package
from voipbill.errors import ConfigError

_PLAIN_PREFIX = re.compile(r"[0-9]{1,4}")


@dataclass(frozen=True)
class NumberPlan:
    """A package's numbering settings with the defaults of rules §2 filled in."""

    country: str
    country_code: int
    number_mode: str  # "e164" or "local-prefix"
    nanp_10_digit: bool
    national_prefix: str  # "" when the country has none
    exit_code: str  # a literal digit string
    rewrite: tuple[tuple[re.Pattern[str], str], ...]

    @classmethod
    def from_package(cls, package: Package) -> NumberPlan:
        where = f"packages -> {package.name}"
        region = package.country.upper()
        country_code = phonenumbers.country_code_for_region(region)
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if not country_code or metadata is None:
            raise ConfigError(
                f"{where} -> country: phonenumbers does not know the region {region!r}",
                hint='use an ISO region code such as "CA", "US" or "GB"',
            )
        exit_code = package.exit_code
        if exit_code is None:
            exit_code = _plain_exit_code(metadata)
            if exit_code is None:
                # Some countries dial abroad through several carrier codes; phonenumbers gives
                # only a pattern, and guessing one would silently misread numbers (rules §5.4).
                raise ConfigError(
                    f"{where} -> exit_code: {region} has no single international prefix "
                    f"(phonenumbers: {metadata.international_prefix})",
                    hint='set exit_code, e.g. exit_code = "00"',
                )
        national_prefix = package.national_prefix
        if national_prefix is None:
            national_prefix = metadata.national_prefix or ""
        nanp = package.nanp_10_digit
        rewrite = []
        for index, (pattern, replacement) in enumerate(package.rewrite, 1):
            # compiled alone, as config.load does: wrapped in a group, a leading '(?i)' fails
            try:
                compiled = re.compile(pattern)
                compiled.sub(replacement, "")  # re parses the \1 references before searching
                rewrite.append((compiled, replacement))
            except (re.error, IndexError) as exc:
                raise ConfigError(
                    f"{where} -> rewrite[{index}]: bad regular expression: {exc}"
                ) from None
        return cls(
            country=region,
            country_code=country_code,
            number_mode=package.number_mode,
            nanp_10_digit=(country_code == 1) if nanp is None else nanp,
            national_prefix=national_prefix,
            exit_code=exit_code,
            rewrite=tuple(rewrite),
        )


def _plain_exit_code(metadata: phonenumbers.PhoneMetadata) -> str | None:
    for candidate in (metadata.preferred_international_prefix, metadata.international_prefix):
        if candidate and _PLAIN_PREFIX.fullmatch(candidate):
            return candidate
    return None
