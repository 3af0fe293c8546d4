"""Shared pieces of the FusionPBX client tests: both fake versions, a Server, a config file."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakepbx import DOMAIN, SEED_CDRS, FakeFusionPBX
from voipbill.config import Server

KEY_ENV = "PBX_TEST_KEY"


@pytest.fixture(params=["5.5", "5.6"])
def pbx(request: pytest.FixtureRequest) -> Iterator[FakeFusionPBX]:
    """The fake FusionPBX in each version: 5.5 (bare key) and 5.6 (login token)."""
    fake = FakeFusionPBX(mode=request.param, cdrs=SEED_CDRS, domain_tz="UTC")
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


def make_server(url: str, **overrides: Any) -> Server:
    settings: dict[str, Any] = {"name": "wat5", "url": url, "api_key_env": KEY_ENV}
    settings.update(overrides)
    return Server(**settings)


class Sleeps(list[float]):
    """An injectable sleep that records the back-off instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


_held: list[socket.socket] = []


def closed_port() -> int:
    """A port on 127.0.0.1 that refuses connections: bound and never listening, and kept bound
    until the tests end, so no server of a test running alongside (pytest-xdist) can take it."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    _held.append(probe)
    port: int = probe.getsockname()[1]
    return port


def write_config(
    tmp_path: Path,
    url: str,
    *,
    extra_server: str = "",
    timezone: str = "UTC",
    tenant: str = DOMAIN,
    extensions: str = "1001 | 1002",
    more: str = "",
) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""timezone = "{timezone}"
currency = "CAD"

[servers.wat5]
url = "{url}"
api_key_env = "{KEY_ENV}"
timeout_s = 5
{extra_server}

[packages.paygo]
country = "CA"

[services.acme]
server = "wat5"
package = "paygo"
tenant = "{tenant} | 5192229000"
extensions = "{extensions}"
{more}""",
        encoding="utf-8",
    )
    return path
