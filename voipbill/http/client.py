"""The session every HTTP client of voipbill starts from: User-Agent, TLS, and no secret shown."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import requests

from voipbill import __version__
from voipbill.errors import ConfigError, VoipbillError

USER_AGENT = f"voipbill/{__version__}"
MASK = "********"


def new_session(*, verify: bool | str | None = True) -> requests.Session:
    """A session with voipbill's constant User-Agent (FusionPBX binds its session to it)."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    session.verify = verify
    return session


def tls_verify(verify_tls: bool, ca_bundle: Path | None, *, key: str) -> bool | str:
    """What `requests` wants as `verify`: off, a CA file, or the system's trust store.

    `key` names the setting in messages (e.g. `servers -> wat5 -> ca_bundle`).
    """
    if not verify_tls:
        return False
    if ca_bundle is not None:
        if not ca_bundle.is_file():
            raise ConfigError(f"{key}: no file at {ca_bundle}")
        return str(ca_bundle)
    return True


def redact(text: str, secrets: Iterable[str]) -> str:
    """Mask every secret wherever it appears (it never should: secrets travel in the body)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


def scrub(error: VoipbillError, secrets: Iterable[str]) -> VoipbillError:
    """The same error with every secret masked in its message and hint."""
    secrets = tuple(secrets)
    error.message = redact(error.message, secrets)
    error.args = (error.message,)
    if error.hint:
        error.hint = redact(error.hint, secrets)
    return error
