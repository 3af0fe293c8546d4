"""Settings pointing the invoicing clients at the fakes, with the secrets in the environment."""

from __future__ import annotations

import pytest

from tests import fakelago, fakewhmcs
from voipbill.config import LagoConfig, SecretSource, WhmcsConfig


def whmcs_settings(
    url: str, monkeypatch: pytest.MonkeyPatch, *, secret: str = fakewhmcs.SECRET, **options: str
) -> WhmcsConfig:
    monkeypatch.setenv("VB_TEST_WHMCS_ID", fakewhmcs.IDENTIFIER)
    monkeypatch.setenv("VB_TEST_WHMCS_SECRET", secret)
    return WhmcsConfig(
        url=url,
        identifier=SecretSource("invoicing -> whmcs -> identifier", "id", "VB_TEST_WHMCS_ID"),
        secret=SecretSource("invoicing -> whmcs -> secret", "secret", "VB_TEST_WHMCS_SECRET"),
        timeout_s=5.0,
        **options,  # type: ignore[arg-type]
    )


def lago_settings(
    url: str, monkeypatch: pytest.MonkeyPatch, *, key: str = fakelago.API_KEY
) -> LagoConfig:
    monkeypatch.setenv("VB_TEST_LAGO_KEY", key)
    return LagoConfig(
        url=url,
        api_key=SecretSource("invoicing -> lago -> api_key", "key", "VB_TEST_LAGO_KEY"),
        metric_code="voip_cost",
        timeout_s=5.0,
    )


def invoicing_toml(whmcs: str, lago: str | None = None, lago_extra: str = "") -> str:
    """The [invoicing] tables of a test config: the fakes' URLs, secrets from the environment."""
    text = (
        f'\n[invoicing.whmcs]\nurl = "{whmcs}"\nidentifier_env = "VOIPBILL_WHMCS_ID"\n'
        'secret_env = "VOIPBILL_WHMCS_SECRET"\n'
    )
    if lago:
        text += (
            f'\n[invoicing.lago]\nurl = "{lago}"\napi_key_env = "VOIPBILL_LAGO_KEY"\n'
            f'metric_code = "voip_cost"\n{lago_extra}'
        )
    return text
