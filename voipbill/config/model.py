"""The configuration (rules §2) as frozen dataclasses, its secrets and its default paths.

`voipbill.config.loader` builds these from the TOML file; nothing here reads TOML.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import platformdirs

from voipbill.config.description import DEFAULT_DESCRIPTION
from voipbill.config.watch import WatchSettings
from voipbill.decks.layout import DeckLayout
from voipbill.errors import ConfigError, UsageError
from voipbill.increments import Increment
from voipbill.service_dates import ServiceDates

CONFIG_ENV = "VOIPBILL_CONFIG"

# `[statement] logo` file types, by suffix, with the media type the statement embeds them as
LOGO_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
}


class Secret:
    """A value that is never printed: its repr and str are masked."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__


@dataclass(frozen=True)
class Server:
    name: str
    url: str
    domain: str | None = None
    api_key_env: str | None = None
    api_key_file: Path | None = None
    verify_tls: bool = True
    ca_bundle: Path | None = None
    timeout_s: float = 30.0
    chunk_hours: int = 24

    def api_key(self) -> Secret:
        """Read the API key now, from the environment or the key file (rules §2)."""
        return read_secret(
            self.api_key_env,
            self.api_key_file,
            f"servers -> {self.name} -> api_key",
            "the FusionPBX user's API key",
        )


@dataclass(frozen=True)
class PostgresSettings:
    """`[ledger] postgresql`: a libpq connection string with no password in it; the password
    comes from `password_env`, `password_file`, or (neither set) libpq's own ~/.pgpass."""

    conninfo: str
    password_env: str | None = None
    password_file: Path | None = None

    def password(self) -> Secret | None:
        """Read the password now; None leaves it to libpq (~/.pgpass, PGPASSFILE)."""
        if self.password_env is not None:
            value = os.environ.get(self.password_env, "")
            if not value:
                raise ConfigError(
                    f"ledger -> password_env: ${self.password_env} is not set",
                    hint=f"export {self.password_env}=<the PostgreSQL role's password>",
                )
            return Secret(value)
        if self.password_file is not None:
            return Secret(read_secret_file(self.password_file, "ledger -> password_file"))
        return None


@dataclass(frozen=True)
class DeckConfig:
    name: str
    path: Path
    layout: DeckLayout = field(default_factory=DeckLayout)

    @property
    def preset(self) -> str:
        return self.layout.preset


@dataclass(frozen=True)
class CustomRate:
    prefix: str
    rate: Decimal
    increment: Increment | None = None
    connect_fee: Decimal = Decimal(0)


@dataclass(frozen=True)
class SpecialRule:
    pattern: str
    type: str  # "prefix" or "regex"
    direction: str  # "outbound", "inbound" or "both"
    mode: str  # "flat_per_call", "per_minute" or "hybrid"
    flat: Decimal = Decimal(0)
    per_minute: Decimal = Decimal(0)
    priority: int = 0
    compiled: re.Pattern[str] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Package:
    name: str
    country: str
    deck: str | None = None
    number_mode: str = "e164"
    nanp_10_digit: bool | None = None
    national_prefix: str | None = None
    exit_code: str | None = None
    rewrite: tuple[tuple[str, str], ...] = ()
    markup_percent: Decimal = Decimal(0)
    increment: Increment | None = None
    rounding_digits: int = 4
    rounding_mode: str = "half-up"
    inbound_billing: bool = False
    inbound_rate: Decimal | None = None
    inbound_increment: Increment | None = None
    free_minutes: Decimal = Decimal(0)
    free_categories: tuple[str, ...] = ("national",)
    no_charge_seconds: int = 0  # rules §6 per-call rules; a deck row's cell wins over these
    included_seconds: int = 0
    minimum_cost: Decimal = Decimal(0)
    exclude: tuple[str, ...] = ()
    no_charge: tuple[str, ...] = ()
    custom_rates: tuple[CustomRate, ...] = ()
    special: tuple[SpecialRule, ...] = ()
    billing_day: int | None = None  # rules §13: periods open on this day; None: calendar months
    # rules §15 margin: the carrier's deck (None: `deck`, at deck price) and what an inbound
    # minute costs the operator
    cost_deck: str | None = None
    inbound_cost: Decimal = Decimal(0)

    @property
    def carrier_deck(self) -> str | None:
        """The deck the carrier bills the operator by: `cost_deck`, else `deck`."""
        return self.cost_deck if self.cost_deck is not None else self.deck


@dataclass(frozen=True)
class Service:
    name: str
    package: str
    tenant: str
    extensions: str
    domain: str
    dids: tuple[str, ...]  # E.164 with a leading +
    extension_list: tuple[str, ...]
    server: str | None = None
    whmcs_service_id: int | None = None  # rules §11: the service's id in WHMCS
    lago_subscription: str | None = None  # rules §11: its external_subscription_id in Lago
    billing_day: int | None = None  # rules §13; None: the package's
    active_from: date | None = None  # rules §13: the first day the service is billed
    active_until: date | None = None  # rules §13: the last day
    watch: WatchSettings = field(
        default_factory=WatchSettings
    )  # rules §14: over the [watch] defaults, key by key

    @property
    def dates(self) -> ServiceDates:
        return ServiceDates(self.active_from, self.active_until)


@dataclass(frozen=True)
class SecretSource:
    """Where one secret is read from: an environment variable or a 0600 file."""

    where: str  # the key path without _env/_file, e.g. `invoicing -> whmcs -> secret`
    what: str  # for the hint: what the secret is
    env: str | None = None
    file: Path | None = None

    def read(self) -> Secret:
        return read_secret(self.env, self.file, self.where, self.what)


@dataclass(frozen=True)
class WhmcsConfig:
    url: str  # the WHMCS base URL, without a trailing slash
    identifier: SecretSource
    secret: SecretSource
    access_key: SecretSource | None = None
    invoice_action: str = "nextinvoice"
    description: str = DEFAULT_DESCRIPTION
    timeout_s: float = 30.0


@dataclass(frozen=True)
class LagoConfig:
    url: str
    api_key: SecretSource
    metric_code: str
    timeout_s: float = 30.0
    batch_size: int = 100  # events a request (Lago's LAGO_EVENTS_BATCH_MAX_LENGTH)


@dataclass(frozen=True)
class InvoicingConfig:
    whmcs: WhmcsConfig | None = None
    lago: LagoConfig | None = None


@dataclass(frozen=True)
class StatementSettings:
    """`[statement]`: who sends the customer statements, and how long their call list gets."""

    company: str = ""
    address: str = ""  # may hold line breaks; printed as written
    logo: Path | None = None  # resolved against the config file's directory
    max_calls: int = 1000


@dataclass(frozen=True)
class Config:
    path: Path
    timezone: ZoneInfo
    currency: str
    servers: Mapping[str, Server]
    decks: Mapping[str, DeckConfig]
    packages: Mapping[str, Package]
    services: Mapping[str, Service]
    ledger_path: Path
    invoicing: InvoicingConfig = InvoicingConfig()
    statement: StatementSettings = field(default_factory=StatementSettings)
    ledger_postgresql: PostgresSettings | None = None  # when set, the ledger lives there
    # settings that load but most likely bill wrong (config.package_checks): money warnings
    warnings: tuple[str, ...] = ()
    watch: WatchSettings = field(
        default_factory=WatchSettings
    )  # rules §14: every service's alert defaults

    def watch_of(self, service: Service) -> WatchSettings:
        """The service's alert settings: its [services.X.watch] over [watch], key by key."""
        return service.watch.over(self.watch)

    @property
    def timezone_name(self) -> str:
        return self.timezone.key

    def service(self, name: str) -> Service:
        try:
            return self.services[name]
        except KeyError:
            known = ", ".join(self.services) or "none"
            # a name typed on the command line: a bad argument (rules §8 exit 2), not a bad config
            raise UsageError(
                f"no service named {name!r} in {self.path}", hint=f"configured services: {known}"
            ) from None

    def package_of(self, service: Service) -> Package:
        return self.packages[service.package]

    def billing_day_of(self, service: Service) -> int | None:
        """The day the service's billing periods open (rules §13): the service's
        `billing_day`, else its package's; None for calendar months."""
        if service.billing_day is not None:
            return service.billing_day
        return self.package_of(service).billing_day

    def server_of(self, service: Service) -> Server:
        if service.server is None:
            raise ConfigError(
                f"services -> {service.name} -> server: not set",
                hint="name a [servers.X] table, or rate from a file with --cdr-file",
            )
        return self.servers[service.server]

    def export_domain(self, service: Service) -> str:
        """The FusionPBX domain to export: the server's `domain`, else the tenant domain."""
        domain = self.servers[service.server].domain if service.server is not None else None
        return domain or service.domain


def default_config_path() -> Path:
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    return platformdirs.user_config_path("voipbill") / "config.toml"


def default_ledger_path() -> Path:
    return platformdirs.user_data_path("voipbill") / "ledger.sqlite"


def read_secret(env: str | None, path: Path | None, where: str, what: str) -> Secret:
    """A secret from the environment variable `env`, else the file `path` (rules §2).

    `where` is the key path without its `_env`/`_file` suffix, e.g. `servers -> wat5 -> api_key`.
    """
    if env is not None:
        value = os.environ.get(env, "").strip()
        if not value:
            raise ConfigError(f"{where}_env: ${env} is not set", hint=f"export {env}=<{what}>")
        return Secret(value)
    assert path is not None  # the loader requires one of the two
    return Secret(read_secret_file(path, f"{where}_file"))


def read_secret_file(path: Path, where: str) -> str:
    try:
        info = path.stat()
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read {path}: {exc.strerror}") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{where}: {path} is readable by group or others (mode {stat.S_IMODE(info.st_mode):o})",
            hint=f"chmod 600 {path}",
        )
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read {path}: {exc}") from None
    if not value:
        raise ConfigError(f"{where}: {path} is empty")
    return value
