"""The one error hierarchy of voipbill, with the exit codes of rules §8.

The core raises these; the CLI's single error boundary turns each into one line on stderr
and the exit code it carries.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    INVALID_INPUT = 1  # validate-fields found a problem, or unrated calls under --strict
    USAGE = 2
    CONFIG = 3
    CONNECTION = 4  # connection, TLS, authentication or permission failure
    BAD_RESPONSE = 5  # the server answered with something that is not a CDR export
    LOCKED = 6  # another run holds the ledger lock
    INTERNAL = 70  # a bug in voipbill (EX_SOFTWARE); not in rules §8, which has no such case


class VoipbillError(Exception):
    """Base of every error voipbill reports to its user.

    `hint` says what to do about it; the CLI prints it after the message.
    """

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class InvalidInputError(VoipbillError):
    exit_code = ExitCode.INVALID_INPUT


class UsageError(VoipbillError):
    exit_code = ExitCode.USAGE


class ConfigError(VoipbillError):
    """Bad TOML, an unknown key, a bad value, a missing or insecure secret, a broken deck."""

    exit_code = ExitCode.CONFIG


class ConnectionFailure(VoipbillError):
    """The server could not be reached, or refused our credentials or permissions."""

    exit_code = ExitCode.CONNECTION


class BadResponseError(VoipbillError):
    """The server answered, but not with a CDR export (an HTML page, a PHP error)."""

    exit_code = ExitCode.BAD_RESPONSE


class LockedError(VoipbillError):
    exit_code = ExitCode.LOCKED


class Reported(VoipbillError):
    """The command has shown what needs a look already (its findings, a pending line): only
    the exit code is left to give. The error boundary prints nothing more for it."""

    def __init__(self, exit_code: ExitCode = ExitCode.INVALID_INPUT) -> None:
        super().__init__("")
        self.exit_code = exit_code
