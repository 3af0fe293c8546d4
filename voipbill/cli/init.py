"""`voipbill init`: write a starter configuration (rules §2) that loads as it is."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import tomli_w
import typer

from voipbill import config as config_module
from voipbill.cli import output
from voipbill.cli.context import state
from voipbill.errors import UsageError
from voipbill.files import atomic_writer

# tomli-w writes no comments, so the explanation is a header above the TOML it writes.
HEADER = """\
# voipbill configuration (see the README for every key).
# Replace the example values; keep secrets out of this file: export the API key in the
# variable named by api_key_env, or point api_key_file at a file with mode 0600.
# Money and rates are decimal strings ("0.012"), never floats.

"""

STARTER: dict[str, Any] = {
    "timezone": "America/Toronto",
    "currency": "CAD",
    "servers": {
        "main": {
            "url": "https://pbx.example.net",
            "api_key_env": "VOIPBILL_MAIN_KEY",
            "verify_tls": True,
            "timeout_s": 30,
            "chunk_hours": 24,
        },
    },
    "decks": {
        "carrier": {"path": "decks/carrier.csv", "preset": "voipbill"},
    },
    "packages": {
        "paygo": {
            "deck": "carrier",
            "country": "CA",
            "number_mode": "e164",
            "rewrite": [],
            "markup_percent": "20",
            "increment": "6/6",
            "rounding": {"digits": 4, "mode": "half-up"},
            "inbound_billing": False,
            "free_minutes": 0,
            "exclude": [],
            "no_charge": ["[tollfree]"],
        },
    },
    "services": {
        "example": {
            "server": "main",
            "package": "paygo",
            "tenant": "example.pbx.example.net | 5192229000",
            "extensions": "2001 | 2002",
        },
    },
}


def starter_text() -> str:
    return HEADER + tomli_w.dumps(STARTER)


def command(
    ctx: typer.Context,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing configuration file.")
    ] = False,
    path: Annotated[
        Path | None,
        typer.Option(
            "--path",
            help="Where to write (default: --config, $VOIPBILL_CONFIG, then the user config dir).",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Write a starter configuration file to edit."""
    target = path or state(ctx).config_path or config_module.default_config_path()
    if target.is_dir():
        raise UsageError(f"{target} is a directory", hint="name the file, e.g. voipbill.toml")
    if target.exists() and not force:
        raise UsageError(
            f"{target} already exists; not overwriting it",
            hint="pass --force to replace it, or --path to write elsewhere",
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {target.parent}: {exc.strerror}") from None
    # No secrets in it, but an operator adds server names and URLs: keep it private.
    with atomic_writer(target, mode=0o600) as stream:
        stream.write(starter_text())
    output.info(f"wrote {target}")
    config_flag = "" if target == config_module.default_config_path() else f" --config {target}"
    output.info(
        "next: edit it, export VOIPBILL_MAIN_KEY, then run "
        f"`voipbill validate-fields --service example{config_flag}`"
    )
