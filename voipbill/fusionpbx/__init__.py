"""FusionPBX over HTTP: the CSV export behind an API-key login (docs/fusionpbx.md)."""

from __future__ import annotations

from voipbill.fusionpbx.answers import Export, export_version, login_token, row_tenants
from voipbill.fusionpbx.chunks import chunk_bounds
from voipbill.fusionpbx.client import (
    EXPORT_PATH,
    LOGIN_PATH,
    PROBE_UUID,
    USER_AGENT,
    FusionPBXClient,
)

__all__ = [
    "EXPORT_PATH",
    "LOGIN_PATH",
    "PROBE_UUID",
    "USER_AGENT",
    "Export",
    "FusionPBXClient",
    "chunk_bounds",
    "export_version",
    "login_token",
    "row_tenants",
]
