"""Reading the TOML configuration (rules §2) into the frozen dataclasses of `config.model`.

Every problem is a ConfigError naming its key path, e.g.
`services -> mcon -> package: no package named 'payg'`.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from voipbill import decks, fields, patterns
from voipbill.config import secret_checks
from voipbill.config.invoicing import read_invoicing
from voipbill.config.model import (
    LOGO_TYPES,
    Config,
    CustomRate,
    DeckConfig,
    Package,
    Server,
    Service,
    SpecialRule,
    StatementSettings,
    default_config_path,
    default_ledger_path,
)
from voipbill.config.package_checks import package_warnings
from voipbill.config.postgresql import postgres_ledger
from voipbill.config.service_dates import service_dates
from voipbill.config.table import Table
from voipbill.config.watch import read_watch
from voipbill.errors import ConfigError
from voipbill.money import ISO_4217, ROUNDING_MODES


def load(path: Path | None = None, *, check_fields: bool = True) -> Config:
    """Read and check the whole configuration; raise ConfigError naming the key path.

    `check_fields=False` is for `validate-fields --service`, which lists every problem of a
    service's field strings itself: such a service loads with an empty domain, DIDs and
    extension list instead of failing the whole file.
    """
    path = path if path is not None else default_config_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"no configuration file at {path}",
            hint="write one with `voipbill init`, or pass --config PATH",
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        # utf-8-sig: a BOM at the start (Windows Notepad saves one) is not part of the TOML
        document = tomllib.loads(raw.decode("utf-8-sig"), parse_float=Decimal)
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    return _Loader(path, check_fields=check_fields).config(document)


_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_MAX_SECONDS = 99_999  # as a deck's seconds cells (rules §3)
_DIRECTIONS = ("outbound", "inbound", "both")
# the price fields each special rule mode needs; the others are refused
_SPECIAL_MODE_FIELDS = {
    "flat_per_call": ("flat",),
    "per_minute": ("per_minute",),
    "hybrid": ("flat", "per_minute"),
}
_SPECIAL_MODES = tuple(_SPECIAL_MODE_FIELDS)
# special calls never use free minutes; local and short calls are never priced by the deck
FREE_CATEGORIES = (
    "national",
    "mobile",
    "premium",
    "shared",
    "international",
    "tollfree",
    "inbound",
)


def billing_day(table: Table) -> int | None:
    """`billing_day` (rules §13): a day of the month, 1 to 31, as a TOML integer."""
    day: int | None = table.pop("billing_day", int)
    if day is not None and not 1 <= day <= 31:
        raise table.error(
            "billing_day", f"{day} is not a day of the month", hint="1 to 31, e.g. billing_day = 15"
        )
    return day


class _Loader:
    def __init__(self, path: Path, *, check_fields: bool = True) -> None:
        self.path = path
        self.base = path.parent
        self.check_fields = check_fields
        self.warnings: list[str] = []  # settings that load but most likely bill wrong

    def resolve(self, text: str) -> Path:
        candidate = Path(text).expanduser()
        return candidate if candidate.is_absolute() else self.base / candidate

    def config(self, document: dict[str, Any]) -> Config:
        top = Table(document, ())
        zone_name = top.require("timezone", str)
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise top.error(
                "timezone", f"unknown time zone {zone_name!r}", hint='e.g. "America/Toronto"'
            ) from None
        currency = top.require("currency", str)
        if currency not in ISO_4217:
            close = difflib.get_close_matches(currency.upper(), sorted(ISO_4217), n=1, cutoff=0.6)
            hint = f'did you mean "{close[0]}"?' if close else 'an ISO 4217 code, e.g. "CAD"'
            if currency.upper() in ISO_4217:
                hint = f'write it in capitals: "{currency.upper()}"'
            raise top.error("currency", f"{currency!r} is not an ISO 4217 currency code", hint=hint)
        servers = self.named_tables(top.table("servers"), self.server)
        decks = self.named_tables(top.table("decks"), self.deck)
        packages = self.named_tables(top.table("packages"), self.package)
        for package in packages.values():
            if package.deck is not None and package.deck not in decks:
                raise ConfigError(
                    f"packages -> {package.name} -> deck: no deck named {package.deck!r}"
                )
            if package.cost_deck is not None and package.cost_deck not in decks:
                known = ", ".join(decks) or "none"
                raise ConfigError(
                    f"packages -> {package.name} -> cost_deck: no deck named {package.cost_deck!r}",
                    hint=f"name a [decks.X] table holding the carrier's deck (decks: {known})",
                )
        services_table = top.table("services")
        services = {
            name: self.service(Table(data, ("services", name)), name, servers, packages)
            for name, data in self.checked_names(services_table)
        }
        self.check_overlaps(services)
        ledger = top.table("ledger")
        ledger_path_text = ledger.string("path")
        postgresql = postgres_ledger(ledger, self.resolve)
        if postgresql is not None and ledger_path_text:
            raise ledger.error("postgresql", "set either path or postgresql, not both")
        ledger.finish()
        invoicing = read_invoicing(top.table("invoicing"), self.resolve)
        statement = self.statement(top.table("statement"))
        watch = read_watch(top.table("watch"))
        top.finish()
        return Config(
            path=self.path,
            timezone=zone,
            currency=currency,
            servers=servers,
            decks=decks,
            packages=packages,
            services=services,
            ledger_path=self.resolve(ledger_path_text)
            if ledger_path_text
            else default_ledger_path(),
            invoicing=invoicing,
            statement=statement,
            ledger_postgresql=postgresql,
            warnings=tuple(self.warnings),
            watch=watch,
        )

    def statement(self, table: Table) -> StatementSettings:
        logo = table.string("logo")
        if logo is not None and Path(logo).suffix.lower() not in LOGO_TYPES:
            raise table.error(
                "logo", f"{logo!r} is not an image file", hint=f"one of {', '.join(LOGO_TYPES)}"
            )
        max_calls = table.pop("max_calls", int, 1000)
        if max_calls < 0:
            raise table.error("max_calls", "must be 0 or more")
        settings = StatementSettings(
            company=table.string("company", "") or "",
            address=table.string("address", "") or "",
            logo=self.resolve(logo) if logo else None,
            max_calls=max_calls,
        )
        table.finish()
        return settings

    def checked_names(self, table: Table) -> list[tuple[str, Any]]:
        items = list(table.data.items())
        for name, _ in items:
            if not _NAME.fullmatch(name):
                raise table.error(name, "names may use letters, digits, '_', '-' and '.'")
        table.data.clear()
        return items

    def named_tables(self, table: Table, build: Any) -> dict[str, Any]:
        return {
            name: build(Table(data, (*table.path, name)), name)
            for name, data in self.checked_names(table)
        }

    def server(self, table: Table, name: str) -> Server:
        url = table.require("url", str)
        secret_checks.check_url(table, url)
        if not re.match(r"https?://[^/\s]+", url):
            raise table.error(
                "url", f"{url!r} is not an http(s) URL", hint='e.g. "https://pbx.example.net"'
            )
        if "api_key" in table.data:
            raise table.error(
                "api_key",
                "secrets are not accepted in the config file",
                hint="use api_key_env or api_key_file",
            )
        key_env = table.string("api_key_env")
        if key_env is not None:
            secret_checks.check_variable_name(table, "api_key_env", key_env)
        key_file = table.string("api_key_file")
        if (key_env is None) == (key_file is None):
            raise table.error(
                "api_key_env",
                "set exactly one of api_key_env or api_key_file",
                hint="secrets are never written in the config itself",
            )
        ca_bundle = table.string("ca_bundle")
        timeout = table.pop("timeout_s", (int, Decimal), 30)
        # TOML's nan and inf arrive as Decimal: NaN cannot even be compared with 0
        if (isinstance(timeout, Decimal) and not timeout.is_finite()) or timeout <= 0:
            raise table.error("timeout_s", "must be a number of seconds more than 0")
        chunk_hours = table.pop("chunk_hours", int, 24)
        if not 1 <= chunk_hours <= 24 * 31:
            raise table.error("chunk_hours", "must be between 1 and 744")
        server = Server(
            name=name,
            url=url.rstrip("/"),
            domain=table.string("domain"),
            api_key_env=key_env,
            api_key_file=self.resolve(key_file) if key_file else None,
            verify_tls=table.pop("verify_tls", bool, True),
            ca_bundle=self.resolve(ca_bundle) if ca_bundle else None,
            timeout_s=float(timeout),
            chunk_hours=chunk_hours,
        )
        table.finish()
        return server

    def deck(self, table: Table, name: str) -> DeckConfig:
        path = table.require("path", str)
        columns_table = table.table("columns")
        columns: dict[str, tuple[str, ...]] = {}
        for key in list(columns_table.data):
            value = columns_table.pop(key, (str, list))
            names = (value,) if isinstance(value, str) else tuple(value)
            if not names or not all(isinstance(item, str) for item in names):
                raise columns_table.error(key, "give a header name or a list of header names")
            columns[key] = names
        layout = decks.DeckLayout(
            preset=table.string("preset", "voipbill") or "voipbill",
            columns=columns,
            header=table.pop("header", bool, True),
            prefix_prepend=table.string("prefix_prepend", "") or "",
            rate_unit=table.string("rate_unit", "minute") or "minute",
            date_format=table.string("date_format"),
        )
        problem = layout.problem()
        if problem is not None:
            key, message, hint = problem
            raise table.error(key, message, hint=hint)
        deck = DeckConfig(name=name, path=self.resolve(path), layout=layout)
        table.finish()
        return deck

    def package(self, table: Table, name: str) -> Package:
        country = table.require("country", str).upper()
        # fields and numbers ask phonenumbers about this region: it must know it
        if country not in phonenumbers.SUPPORTED_REGIONS:
            raise table.error(
                "country",
                f"{country!r} is not an ISO region code phonenumbers knows",
                hint='e.g. "CA"',
            )
        number_mode = table.string("number_mode", "e164")
        if number_mode not in ("e164", "local-prefix"):
            raise table.error("number_mode", f'{number_mode!r}: use "e164" or "local-prefix"')
        national_prefix = table.string("national_prefix")
        exit_code = table.string("exit_code")
        for key, value in (("national_prefix", national_prefix), ("exit_code", exit_code)):
            if value is not None and not re.fullmatch(r"\d{1,4}", value):
                raise table.error(key, f"{value!r} must be 1-4 digits")
        rounding = table.table("rounding")
        digits = rounding.pop("digits", int, 4)
        if not 0 <= digits <= 10:
            raise rounding.error("digits", "must be between 0 and 10")
        mode = rounding.string("mode", "half-up")
        if mode not in ROUNDING_MODES:
            raise rounding.error(
                "mode",
                f"unknown rounding mode {mode!r}",
                hint=f"one of {', '.join(ROUNDING_MODES)}",
            )
        rounding.finish()
        free_minutes = table.decimal("free_minutes", Decimal(0))
        assert free_minutes is not None
        if (free_minutes * 60) % 1:
            raise table.error("free_minutes", "must be a whole number of seconds")
        package = Package(
            name=name,
            country=country,
            deck=table.string("deck"),
            number_mode=number_mode or "e164",
            nanp_10_digit=table.pop("nanp_10_digit", bool),
            national_prefix=national_prefix,
            exit_code=exit_code,
            rewrite=self.rewrite_rules(table),
            markup_percent=table.decimal("markup_percent", Decimal(0)) or Decimal(0),
            increment=table.increment("increment"),
            rounding_digits=digits,
            rounding_mode=mode or "half-up",
            inbound_billing=table.pop("inbound_billing", bool, False),
            inbound_rate=table.decimal("inbound_rate"),
            inbound_increment=table.increment("inbound_increment"),
            free_minutes=free_minutes,
            free_categories=self.free_categories(table),
            no_charge_seconds=self.seconds(table, "no_charge_seconds"),
            included_seconds=self.seconds(table, "included_seconds"),
            minimum_cost=table.decimal("minimum_cost", Decimal(0)) or Decimal(0),
            exclude=self.patterns(table, "exclude"),
            no_charge=self.patterns(table, "no_charge"),
            custom_rates=self.custom_rates(table),
            special=self.special_rules(table),
            billing_day=billing_day(table),
            cost_deck=table.string("cost_deck"),
            inbound_cost=table.decimal("inbound_cost", Decimal(0)) or Decimal(0),
        )
        table.finish()
        self.warnings.extend(package_warnings(package))
        return package

    @staticmethod
    def seconds(table: Table, key: str) -> int:
        value: int = table.pop(key, int, 0)
        if not 0 <= value <= _MAX_SECONDS:
            raise table.error(key, f"must be a whole number of seconds, 0 to {_MAX_SECONDS}")
        return value

    def rewrite_rules(self, table: Table) -> tuple[tuple[str, str], ...]:
        rules = table.pop("rewrite", list, [])
        result = []
        for index, rule in enumerate(rules, 1):
            where = f"rewrite[{index}]"
            if not (
                isinstance(rule, list) and len(rule) == 2 and all(isinstance(p, str) for p in rule)
            ):
                raise table.error(where, "each rule is a [pattern, replacement] pair of strings")
            # The pattern is compiled alone: wrapped in a group, 'x)|(y' or a leading '(?i)'
            # would be judged wrongly.
            try:
                compiled = re.compile(rule[0])
            except (re.error, OverflowError, RecursionError) as exc:
                raise table.error(where, f"bad regular expression: {exc}") from None
            try:
                # re parses the replacement before searching, so this checks the \1 references
                compiled.sub(rule[1], "")
            except (re.error, IndexError) as exc:
                raise table.error(where, f"bad replacement {rule[1]!r}: {exc}") from None
            result.append((rule[0], rule[1]))
        return tuple(result)

    def patterns(self, table: Table, key: str) -> tuple[str, ...]:
        values = table.pop(key, list, [])
        for index, value in enumerate(values, 1):
            if not isinstance(value, str) or not re.fullmatch(r"\[[a-z]+\]|[0-9*#xX+]+", value):
                raise table.error(
                    f"{key}[{index}]",
                    f"{value!r} is not a pattern",
                    hint="digits, *, #, x (any digit), or a [word] such as [tollfree]",
                )
            if value.startswith("[") and value[1:-1] not in patterns.WORDS:
                raise table.error(
                    f"{key}[{index}]",
                    f"unknown word {value}",
                    hint=", ".join(f"[{w}]" for w in patterns.WORDS),
                )
        return tuple(values)

    def free_categories(self, table: Table) -> tuple[str, ...]:
        values = table.pop("free_categories", list, ["national"])
        for index, value in enumerate(values, 1):
            if value not in FREE_CATEGORIES:
                raise table.error(
                    f"free_categories[{index}]",
                    f"{value!r} is not a category free minutes can go to",
                    hint=f"any of {', '.join(FREE_CATEGORIES)}",
                )
        return tuple(dict.fromkeys(values))

    def custom_rates(self, table: Table) -> tuple[CustomRate, ...]:
        rates = []
        for index, data in enumerate(table.pop("custom_rates", list, []), 1):
            entry = Table(data, (*table.path, f"custom_rates[{index}]"))
            prefix = entry.require("prefix", str).lstrip("+")
            if not re.fullmatch(r"\d{1,15}", prefix):
                raise entry.error("prefix", f"{prefix!r} is not 1-15 digits")
            rate = entry.to_decimal("rate", entry.require("rate", (str, int, Decimal)))
            rates.append(
                CustomRate(
                    prefix=prefix,
                    rate=rate,
                    increment=entry.increment("increment"),
                    connect_fee=entry.decimal("connect_fee", Decimal(0)) or Decimal(0),
                )
            )
            entry.finish()
        return tuple(rates)

    def special_rules(self, table: Table) -> tuple[SpecialRule, ...]:
        rules = []
        for index, data in enumerate(table.pop("special", list, []), 1):
            entry = Table(data, (*table.path, f"special[{index}]"))
            pattern = entry.require("pattern", str)
            kind = entry.string("type", "prefix")
            compiled = None
            if kind == "prefix":
                if not re.fullmatch(r"\+?\d{1,15}", pattern):
                    raise entry.error("pattern", f"{pattern!r}: a prefix pattern is 1-15 digits")
            elif kind == "regex":
                try:
                    compiled = re.compile(pattern)
                except (re.error, OverflowError, RecursionError) as exc:
                    raise entry.error("pattern", f"bad regular expression: {exc}") from None
            else:
                raise entry.error("type", f'{kind!r}: use "prefix" or "regex"')
            direction = entry.string("direction", "both")
            if direction not in _DIRECTIONS:
                raise entry.error("direction", f"{direction!r}: one of {', '.join(_DIRECTIONS)}")
            mode = entry.require("mode", str)
            if mode not in _SPECIAL_MODES:
                raise entry.error("mode", f"{mode!r}: one of {', '.join(_SPECIAL_MODES)}")
            flat, per_minute = self.special_prices(entry, mode)
            rules.append(
                SpecialRule(
                    pattern=pattern,
                    type=kind or "prefix",
                    direction=direction or "both",
                    mode=mode,
                    flat=flat,
                    per_minute=per_minute,
                    priority=entry.pop("priority", int, 0),
                    compiled=compiled,
                )
            )
            entry.finish()
        return tuple(rules)

    def special_prices(self, entry: Table, mode: str) -> tuple[Decimal, Decimal]:
        """A special rule's `flat` and `per_minute`: the mode's are required, others refused.

        A rule missing its price would make every call it matches free, and a price the mode
        ignores would not be charged: both are mistakes the operator must see (even at 0).
        """
        prices = {}
        for key in ("flat", "per_minute"):
            value = entry.decimal(key)
            if key in _SPECIAL_MODE_FIELDS[mode]:
                if value is None:
                    raise entry.error(key, f"is required by mode {mode!r}")
            elif value is not None:
                users = [repr(m) for m, keys in _SPECIAL_MODE_FIELDS.items() if key in keys]
                raise entry.error(
                    key,
                    f"is not used by mode {mode!r}",
                    hint=f"remove it (even a 0), or use mode {' or '.join(users)}",
                )
            prices[key] = value or Decimal(0)
        return prices["flat"], prices["per_minute"]

    def service(
        self,
        table: Table,
        name: str,
        servers: Mapping[str, Server],
        packages: Mapping[str, Package],
    ) -> Service:
        server = table.string("server")
        if server is not None and server not in servers:
            raise table.error("server", f"no server named {server!r}")
        if server is None and len(servers) == 1:
            server = next(iter(servers))  # the only server is the service's (rules §2)
        elif server is None and servers:
            raise table.error(
                "server",
                f"required: the config has {len(servers)} servers ({', '.join(servers)})",
                hint=f'name one, e.g. server = "{next(iter(servers))}"',
            )
        package_name = table.require("package", str)
        if package_name not in packages:
            raise table.error("package", f"no package named {package_name!r}")
        tenant = table.require("tenant", str)
        extensions = table.require("extensions", str)
        whmcs_service_id = table.pop("whmcs_service_id", int)
        if whmcs_service_id is not None and whmcs_service_id < 1:
            raise table.error("whmcs_service_id", "must be a WHMCS service id (1 or more)")
        lago_subscription = table.string("lago_subscription")
        if lago_subscription is not None and not lago_subscription.strip():
            raise table.error("lago_subscription", "must not be empty")
        day = billing_day(table)
        active_from, active_until = service_dates(table)
        watch = read_watch(table.table("watch"))
        table.finish()
        result = fields.validate(tenant, extensions, country=packages[package_name].country)
        if result.problems and self.check_fields:
            problem = result.problems[0]
            more = f" (and {len(result.problems) - 1} more)" if len(result.problems) > 1 else ""
            raise table.error(
                problem.field,
                f"segment {problem.segment}: {problem.message}{more}",
                hint=f"`voipbill validate-fields --service {name}` lists every problem",
            )
        return Service(
            name=name,
            server=server,
            package=package_name,
            tenant=tenant,
            extensions=extensions,
            domain=result.tenant.domain if result.tenant else "",
            dids=result.tenant.dids if result.tenant else (),
            extension_list=result.extensions,
            whmcs_service_id=whmcs_service_id,
            lago_subscription=lago_subscription,
            billing_day=day,
            active_from=active_from,
            active_until=active_until,
            watch=watch,
        )

    def check_overlaps(self, services: Mapping[str, Service]) -> None:
        # Two services of one domain sharing an extension would bill its calls twice.
        owner: dict[tuple[str, str], str] = {}
        for service in services.values():
            for extension in service.extension_list:
                key = (service.domain, extension)
                if key in owner:
                    raise ConfigError(
                        f"services -> {service.name} -> extensions: extension {extension} of "
                        f"{service.domain} also belongs to service {owner[key]!r}",
                        hint="an extension can be billed to one service only",
                    )
                owner[key] = service.name
