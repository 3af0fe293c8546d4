"""The alert webhook (rules §14): a POST of the alert's JSON, signed with HMAC-SHA256.

`X-Voipbill-Signature: sha256=<hex HMAC-SHA256 of the body>` with the key from
`webhook_secret_env`. A failure (no answer, a timeout, an answer that is not 2xx) is returned
as a sentence for a warning, never raised: the alert stays unsent and the next run sends it.
The URL in a sentence is `display_url`'s: never its query.
"""

from __future__ import annotations

import hashlib
import hmac

import requests

from voipbill.config.watch import display_url

TIMEOUT_S = 10


def signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def post(url: str, body: str, secret: str | None) -> str | None:
    """POST `body`; None when the webhook took it, else why not (for a warning)."""
    data = body.encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Voipbill-Signature"] = signature(data, secret)
    shown = display_url(url)
    try:
        answer = requests.post(
            url, data=data, headers=headers, timeout=TIMEOUT_S, allow_redirects=False
        )
    except requests.Timeout:
        return f"webhook {shown}: no answer in {TIMEOUT_S} s"
    except requests.RequestException as exc:
        return f"webhook {shown}: {type(exc).__name__}"
    if not 200 <= answer.status_code < 300:
        return f"webhook {shown}: answered HTTP {answer.status_code}"
    return None
