"""Package settings that load but most likely bill wrong: warnings when the config loads (rules §2).

They are not errors, since the setting may be meant, but each would misprice calls silently, so
the CLI shows them as money warnings (never silenced by `-q`).
"""

from __future__ import annotations

import phonenumbers

from voipbill.config.model import Package


def package_warnings(package: Package) -> list[str]:
    where = f"packages -> {package.name}"
    found = []
    if package.inbound_billing and package.inbound_rate is None:
        found.append(
            f"{where}: inbound_billing = true but no inbound_rate: every answered inbound call "
            "that no special rule prices is unrated (left out of every amount); set inbound_rate "
            '(e.g. "0.0049" per minute) or inbound_billing = false'
        )
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(package.country.upper())
    trunk = package.national_prefix
    if metadata is None or trunk is None or package.number_mode != "local-prefix":
        return found
    own_trunk = metadata.national_prefix or ""
    exit_code = package.exit_code or (
        metadata.preferred_international_prefix or metadata.international_prefix or ""
    )
    if trunk != own_trunk and exit_code.startswith(trunk):
        found.append(
            f"{where} -> national_prefix: {trunk!r} is the start of the exit code "
            f"{exit_code!r}: numbers dialled with {trunk} but not the whole exit code are read "
            f"as national (rules §5.5), and ones with {package.country.upper()}'s trunk prefix "
            f"{own_trunk or '(none)'} are not; leave national_prefix out to use "
            f"{own_trunk or 'none'}"
        )
    return found
