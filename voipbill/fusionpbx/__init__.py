"""FusionPBX over HTTP: the CSV export behind an API-key login (CONTRACT §1, §2, §5)."""

from __future__ import annotations

from voipbill.fusionpbx.chunks import chunk_bounds
from voipbill.fusionpbx.client import (
    EXPORT_PATH,
    LOGIN_PATH,
    PROBE_UUID,
    USER_AGENT,
    Export,
    FusionPBXClient,
    login_token,
)

__all__ = [
    "EXPORT_PATH",
    "LOGIN_PATH",
    "PROBE_UUID",
    "USER_AGENT",
    "Export",
    "FusionPBXClient",
    "chunk_bounds",
    "login_token",
]
