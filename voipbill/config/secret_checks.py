"""Secrets in the wrong place of the config (rules §2): refused without ever being echoed.

A key pasted where the name of its environment variable belongs, or a password written into a
server URL, would otherwise be printed in an error, a `--log-file` or a cron mail.
"""

from __future__ import annotations

import re

from voipbill.config.table import Table

_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# 16 or more letters and digits, some lower case, no `_`: how API keys look (hex, base32, base62)
_KEY_LIKE = re.compile(r"(?=.*\d)(?=.*[a-z])[A-Za-z0-9]{16,}")


def check_url(
    table: Table,
    url: str,
    hint: str = "remove the user:password@ part; the API key goes in api_key_env or api_key_file",
) -> None:
    """A `user:password@` (or `user@`) before the host of a URL is refused: URLs are printed."""
    authority = url.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if "@" in authority:
        raise table.error(
            "url",
            "a URL with a user name or password is refused (the value is not shown)",
            hint=hint,
        )


def check_variable_name(
    table: Table, key: str, name: str, example: str = "VOIPBILL_WAT5_KEY"
) -> None:
    """A `*_env` key must be a plausible environment variable name, not the secret itself."""
    if _VARIABLE_NAME.fullmatch(name) and not _KEY_LIKE.fullmatch(name):
        return
    raise table.error(
        key,
        "is not an environment variable name; it looks like a pasted key (the value is not shown)",
        hint=f'name the variable that holds the secret, e.g. "{example}", and export the '
        "secret in it",
    )
