"""One HTTP layer for every remote system voipbill talks to (FusionPBX, WHMCS, Lago).

`client`: the session (User-Agent, TLS verification and CA bundle) and secret redaction;
`_errors`: the one classification of `requests` failures; `_retry`: an opt-in retry policy.
Each system's module adds only its own messages and hints.
"""

from voipbill.http._errors import Failure, Kind, Tls, causes, classify
from voipbill.http._retry import NO_RETRY, RetryPolicy
from voipbill.http.client import MASK, USER_AGENT, new_session, redact, scrub, tls_verify

__all__ = [
    "MASK",
    "NO_RETRY",
    "USER_AGENT",
    "Failure",
    "Kind",
    "RetryPolicy",
    "Tls",
    "causes",
    "classify",
    "new_session",
    "redact",
    "scrub",
    "tls_verify",
]
