"""The TOML configuration (rules §2), loaded into frozen dataclasses.

Every problem is a ConfigError naming its key path, e.g.
`services -> mcon -> package: no package named 'payg'`.

The dataclasses, secrets and default paths live in `config.model`, the TOML reader in
`config.loader` (on `config.table`); every public name is importable from here.
"""

from voipbill.config.loader import load
from voipbill.config.model import (
    CONFIG_ENV,
    Config,
    CustomRate,
    DeckConfig,
    InvoicingConfig,
    LagoConfig,
    Package,
    PostgresSettings,
    Secret,
    SecretSource,
    Server,
    Service,
    SpecialRule,
    StatementSettings,
    WhmcsConfig,
    default_config_path,
    default_ledger_path,
    read_secret_file,
)
from voipbill.config.watch import Burst, WatchSettings

__all__ = [
    "CONFIG_ENV",
    "Burst",
    "Config",
    "CustomRate",
    "DeckConfig",
    "InvoicingConfig",
    "LagoConfig",
    "Package",
    "PostgresSettings",
    "Secret",
    "SecretSource",
    "Server",
    "Service",
    "SpecialRule",
    "StatementSettings",
    "WatchSettings",
    "WhmcsConfig",
    "default_config_path",
    "default_ledger_path",
    "load",
    "read_secret_file",
]
