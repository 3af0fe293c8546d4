"""The config files a careful operator will hit: a directory, an unreadable file, a BOM,
negative values, a pasted key, a URL with a password. Each is exit 3 with a clear line, and a
secret is never echoed (not on stderr, not in --log-file)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.clirunner import invoke
from tests.test_config import FULL, write
from voipbill import config
from voipbill.errors import ConfigError

PASTED_KEY = "9f86d081884c7d659a2feaa0c55ad015"


def test_a_directory_given_as_the_config_is_exit_3(tmp_path: Path) -> None:
    result = invoke("validate-fields", "--service", "mcon", "--config", str(tmp_path))
    assert result.exit_code == 3, result.stderr
    assert f"cannot read {tmp_path}: Is a directory" in result.stderr
    assert "Usage:" not in result.stderr


def test_a_directory_in_voipbill_config_is_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOIPBILL_CONFIG", str(tmp_path))
    assert invoke("validate-fields", "--service", "mcon").exit_code == 3


def test_an_unreadable_config_is_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, FULL)
    # as a user without read permission sees it (the tests may run as root, who reads anything)
    real_read = Path.read_bytes

    def refuse(self: Path) -> bytes:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_read(self)

    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    monkeypatch.setattr(Path, "read_bytes", refuse)
    result = invoke("validate-fields", "--service", "mcon", "--config", str(path))
    assert result.exit_code == 3, result.stderr
    assert f"cannot read {path}: Permission denied" in result.stderr


def test_a_utf8_bom_at_the_start_of_the_config_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "voipbill.toml"
    path.write_bytes(b"\xef\xbb\xbf" + FULL.encode("utf-8"))
    assert config.load(path).currency == "CAD"


@pytest.mark.parametrize(
    ("written", "shown"), [('"-20"', "'-20'"), ("-20", "-20"), ('" -0.5"', "' -0.5'")]
)
def test_a_negative_value_is_called_negative(tmp_path: Path, written: str, shown: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config.load(write(tmp_path, FULL.replace('"20"', written)))
    assert caught.value.message == (
        f"packages -> paygo -> markup_percent: must not be negative (got {shown})"
    )


def test_a_pasted_key_in_api_key_env_is_refused_and_never_echoed(tmp_path: Path) -> None:
    path = write(tmp_path, FULL.replace('"VOIPBILL_WAT5_KEY"', f'"{PASTED_KEY}"'))
    log = tmp_path / "voipbill.log"
    result = invoke(
        "--log-file", str(log), "-vv", "test-connection", "--server", "wat5", "--config", str(path)
    )
    assert result.exit_code == 3
    assert "servers -> wat5 -> api_key_env: is not an environment variable name" in result.stderr
    assert PASTED_KEY not in result.stderr + result.stdout
    assert PASTED_KEY not in log.read_text()


@pytest.mark.parametrize(
    "pasted",
    [
        "3f2a9c1e-7b4d-4e8a-9c2f-1a2b3c4d5e6f",  # a UUID, as FusionPBX makes them
        "aB3dE5gH7jK9mN1pQ3",  # base62
        "c2VjcmV0LWtleQ==",  # base64
    ],
)
def test_keys_of_every_shape_are_not_variable_names(tmp_path: Path, pasted: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config.load(write(tmp_path, FULL.replace('"VOIPBILL_WAT5_KEY"', f'"{pasted}"')))
    assert pasted not in caught.value.message + (caught.value.hint or "")


@pytest.mark.parametrize("name", ["VOIPBILL_WAT5_KEY", "wat5_key", "KEY", "FUSIONPBX_API_KEY_2"])
def test_ordinary_variable_names_are_accepted(tmp_path: Path, name: str) -> None:
    loaded = config.load(write(tmp_path, FULL.replace('"VOIPBILL_WAT5_KEY"', f'"{name}"')))
    assert loaded.servers["wat5"].api_key_env == name


@pytest.mark.parametrize(
    "url", ["https://admin:s3cret@wat5.example.net", "https://admin@wat5.example.net/app"]
)
def test_a_url_with_a_user_or_password_is_refused_and_never_printed(
    tmp_path: Path, url: str
) -> None:
    path = write(tmp_path, FULL.replace('"https://wat5.example.net/"', f'"{url}"'))
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    assert caught.value.message.startswith("servers -> wat5 -> url: a URL with a user name")
    result = invoke("validate-fields", "--service", "mcon", "--config", str(path))
    assert result.exit_code == 3
    assert "s3cret" not in result.stderr and "admin" not in result.stderr


def test_an_at_sign_in_the_path_of_a_url_is_not_a_password(tmp_path: Path) -> None:
    text = FULL.replace('"https://wat5.example.net/"', '"https://wat5.example.net/pbx@2"')
    assert config.load(write(tmp_path, text)).servers["wat5"].url.endswith("/pbx@2")
