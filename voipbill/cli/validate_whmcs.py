"""`voipbill validate-fields --whmcs`: check the fields of every service in WHMCS.

ictVoIP keeps a service's tenant string in WHMCS's `domain` field and its extensions string
in `username`, so an admin can check every product field at once, without typing one, and
get the `[services.X]` tables of the valid ones with `--config-snippet`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import tomli_w
import typer
from rich.text import Text

from voipbill import fields
from voipbill.cli import fields_report, output
from voipbill.cli.context import state
from voipbill.config import Config
from voipbill.errors import ConfigError, ExitCode, Reported, UsageError
from voipbill.invoicing.whmcs import WhmcsClient, WhmcsService

Check = Callable[[str, str | None], fields.FieldsResult]


def run(
    ctx: typer.Context,
    check_for: Callable[[str], Check],
    *,
    product: int | None,
    snippet: bool,
    as_json: bool,
    pbx: str,
    country: str | None,
) -> None:
    """`check_for(region)` checks one service's fields with its DIDs in that region."""
    config = state(ctx).load_config(check_fields=False)
    settings = config.invoicing.whmcs
    if settings is None:
        raise ConfigError(
            f"{config.path} has no [invoicing.whmcs] table",
            hint="add url, identifier_env (or _file) and secret_env (or _file) under "
            "[invoicing.whmcs]; see the README, 'Putting usage on invoices'",
        )
    services = list(WhmcsClient(settings).services(product_id=product))
    if not services:
        which = f" of product {product}" if product is not None else ""
        output.info(f"WHMCS has no services{which}: nothing to check")
        return
    regions = service_regions(config, services, country)
    checks = {region: check_for(region) for region in set(regions.values())}
    checked = [
        (
            service,
            fields_report.Checked(
                label(service), None, checks[regions[service.id]](service.domain, service.username)
            ),
        )
        for service in services
    ]
    items = [item for _, item in checked]
    shown_country = ", ".join(sorted(set(regions.values())))
    if as_json:
        document = fields_report.to_json(items, pbx, shown_country)
        for (service, _), result in zip(checked, document["results"], strict=True):
            result["whmcs_service_id"] = service.id
            result["whmcs_client_id"] = service.client_id
            result["country"] = regions[service.id]
        output.write_json(document, None)
    elif snippet:
        known = {s.whmcs_service_id: name for name, s in config.services.items()}
        packages = list(config.packages)
        print_snippet(
            checked, known, packages[0] if len(packages) == 1 else None, set(config.services)
        )
    else:
        output.stdout().print(fields_report.render_table(items, pbx, shown_country, bulk=False))
        fields_report.print_problems(items)
        fields_report.summarise(items)
    if any(not item.result.ok for item in items):
        raise Reported(ExitCode.INVALID_INPUT)


def service_regions(
    config: Config, services: list[WhmcsService], country: str | None
) -> dict[int, str]:
    """The region each WHMCS service's DIDs are checked in (rules §1: the service's country).

    The package's country of the config service with that `whmcs_service_id`; else the
    packages' country when they all have one; else `--country`; else no guess: exit 2.
    """
    known = {
        service.whmcs_service_id: config.package_of(service).country.upper()
        for service in config.services.values()
        if service.whmcs_service_id is not None and service.package in config.packages
    }
    countries = sorted({package.country.upper() for package in config.packages.values()})
    fallback = countries[0] if len(countries) == 1 else country
    regions: dict[int, str] = {}
    unknown: list[int] = []
    for service in services:
        region = known.get(service.id, fallback)
        if region is None:
            unknown.append(service.id)
        else:
            regions[service.id] = region
    if unknown:
        have = (
            f"the packages are in {', '.join(countries)}"
            if countries
            else "the config has no package"
        )
        raise UsageError(
            f"cannot tell which country the DIDs of {len(unknown)} WHMCS service(s) belong to "
            f"(e.g. whmcs {unknown[0]}): they are in no [services.X] and {have}",
            hint="give the country with --country, e.g. --country AU",
        )
    return regions


def label(service: WhmcsService) -> str:
    return f"whmcs {service.id}"


def print_snippet(
    checked: list[tuple[WhmcsService, fields_report.Checked]],
    known: dict[int | None, str],
    package: str | None,
    configured: set[str],
) -> None:
    """The valid services as `[services.X]` TOML on stdout; the rest explained on stderr.

    A name the config already uses is never printed: appended, it would break the file.
    """
    tables: dict[str, dict[str, Any]] = {}
    for service, item in checked:
        if not item.result.ok:
            for problem in item.result.problems:
                output.stderr().print(Text(f"{item.service}: {problem}"), soft_wrap=True)
            continue
        if service.id in known:
            output.info(f"{item.service}: already in the config as [services.{known[service.id]}]")
            continue
        table: dict[str, Any] = {}
        if package is not None:
            table["package"] = package
        table.update(
            tenant=service.domain, extensions=service.username, whmcs_service_id=service.id
        )
        tables[service_name(service, item.result, {*tables, *configured})] = table
    if tables:
        with output.data_stream(None) as stream:
            stream.write(tomli_w.dumps({"services": tables}))
    valid = sum(1 for _, item in checked if item.result.ok)
    output.info(f"{len(checked)} services: {valid} valid, {len(checked) - valid} invalid")
    if tables and package is None:
        output.info('add `package = "..."` to each table: the config has several packages')


def service_name(service: WhmcsService, result: fields.FieldsResult, taken: set[str]) -> str:
    """A config name for the service: its tenant's first label (`mcon`), made unique."""
    domain = result.tenant.domain if result.tenant else ""
    first = re.sub(r"[^A-Za-z0-9_.-]", "-", domain.split(".", 1)[0]) or "whmcs"
    name = first if first not in taken else f"{first}-{service.id}"
    return name if name not in taken else f"whmcs-{service.id}"
