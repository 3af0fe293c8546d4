"""`voipbill validate-fields`: check the tenant and extensions strings of a service (rules §1).

What was understood and every problem found are the command's data, so both go to stdout
(a table, or JSON with `"version": 1`); the one-line summary goes to stderr. Exit 0 when
every field is valid, 1 when any is not (rules §8).
"""

from __future__ import annotations

import csv
import io
import re
import shlex
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import phonenumbers
import typer
from typer.core import TyperCommand

from voipbill import fields
from voipbill.cli import output, validate_whmcs
from voipbill.cli.context import state
from voipbill.cli.fields_report import (
    Checked,
    print_problems,
    render_table,
    summarise,
    to_json,
)
from voipbill.cli.options import TableOrJson, TableOrJsonOption
from voipbill.errors import ExitCode, Reported, UsageError
from voipbill.files import sniff_delimiter

CSV_COLUMNS = ("service", "tenant", "extensions")


class Pbx(StrEnum):
    fusionpbx = "fusionpbx"
    vodia = "vodia"
    lesnet = "lesnet"


class FieldsCommand(TyperCommand):
    """validate-fields: a usage error caused by a field string that starts with `-` (read as
    an option: `-foo.example.com` is `-f oo.example.com`) says to put `--` before it."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        given = list(args)  # the parser consumes `args`
        try:
            return super().parse_args(ctx, args)
        except typer.TyperException as exc:  # click's usage errors, as typer vendors them
            field = _field_read_as_option(self, given)
            if field is not None:
                exc.message += (
                    f"\n{shlex.quote(field)} starts with '-', so it was read as an option; "
                    "to check it as a field, put -- before the fields: "
                    "voipbill validate-fields [OPTIONS] -- TENANT [EXTENSIONS]"
                )
            raise


def _field_read_as_option(command: TyperCommand, args: list[str]) -> str | None:
    names = {name for param in command.params for name in getattr(param, "opts", [])}
    for arg in args:
        if arg == "--":
            return None
        if not arg.startswith("-") or len(arg) < 2 or arg.split("=", 1)[0] in names:
            continue
        # an option is `-x` or `--word`; a domain, a `|` list or a number is a field string
        if any(char in arg for char in "|. ,") or arg[1].isdigit():
            return arg
    return None


def command(
    ctx: typer.Context,
    tenant: Annotated[
        str | None,
        typer.Argument(
            metavar="TENANT", help="The tenant field, e.g. 'mcon.example.net | 5192229000'."
        ),
    ] = None,
    extensions: Annotated[
        str | None,
        typer.Argument(metavar="EXTENSIONS", help="The extensions field, e.g. '2112 | 2113'."),
    ] = None,
    pbx: Annotated[Pbx, typer.Option("--pbx", help="Form of the tenant field.")] = Pbx.fusionpbx,
    country: Annotated[
        str | None,
        typer.Option(
            "--country", help="ISO region the DIDs belong to (default: CA, or the package's)."
        ),
    ] = None,
    service: Annotated[
        str | None,
        typer.Option("--service", "-s", help="Check (or default to) this service's fields."),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="CSV with columns service,tenant,extensions ('-' for stdin).",
            dir_okay=False,
        ),
    ] = None,
    output_format: TableOrJsonOption = TableOrJson.table,
    ext_digits: Annotated[
        str, typer.Option("--ext-digits", help="Allowed extension length, MIN-MAX.")
    ] = "2-7",
    whmcs: Annotated[
        bool,
        typer.Option(
            "--whmcs", help="Check every WHMCS service: domain = tenant, username = extensions."
        ),
    ] = False,
    product: Annotated[
        int | None,
        typer.Option("--product", metavar="PID", help="With --whmcs: only this product's."),
    ] = None,
    config_snippet: Annotated[
        bool,
        typer.Option(
            "--config-snippet", help="With --whmcs: print [services.X] TOML of the valid."
        ),
    ] = False,
) -> None:
    """Check the tenant and extensions strings an admin typed for a service."""
    digits = parse_ext_digits(ext_digits)
    if whmcs and (file is not None or tenant is not None or extensions is not None or service):
        raise UsageError("--whmcs reads the fields from WHMCS: give no TENANT, --service or --file")
    if not whmcs and (product is not None or config_snippet):
        raise UsageError("--product and --config-snippet go with --whmcs")
    if file is not None and (tenant is not None or extensions is not None or service):
        raise UsageError("give TENANT [EXTENSIONS], --service or --file, not several")
    if file is None and tenant is None and not service and not whmcs:
        raise UsageError(
            "nothing to check", hint="give TENANT [EXTENSIONS], --service NAME or --file PATH"
        )
    if service:
        # Field problems are this command's to list, not a reason to refuse the config.
        config = state(ctx).load_config(check_fields=False)
        configured = config.service(service)
        tenant = configured.tenant if tenant is None else tenant
        extensions = configured.extensions if extensions is None else extensions
        country = country or config.package_of(configured).country
    region = (country or "CA").upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise UsageError(
            f"--country {country!r} is not a region phonenumbers knows", hint="e.g. CA, US, GB"
        )
    fields.check_settings(pbx.value, region, digits)

    def check(tenant_text: str, extensions_text: str | None) -> fields.FieldsResult:
        return fields.validate(
            tenant_text, extensions_text, pbx=pbx.value, country=region, ext_digits=digits
        )

    if whmcs:

        def check_for(where: str) -> Callable[[str, str | None], fields.FieldsResult]:
            def check_in(tenant_text: str, extensions_text: str | None) -> fields.FieldsResult:
                return fields.validate(
                    tenant_text, extensions_text, pbx=pbx.value, country=where, ext_digits=digits
                )

            return check_in

        as_json = output_format is TableOrJson.json
        # each service's country comes from the config first; --country only when it cannot
        validate_whmcs.run(
            ctx,
            check_for,
            product=product,
            snippet=config_snippet,
            as_json=as_json,
            pbx=pbx.value,
            country=region if country else None,
        )
        return
    if file is not None:
        checked = [
            Checked(name, line, check(tenant_text, extensions_text))
            for line, name, tenant_text, extensions_text in read_rows(file)
        ]
    else:
        assert tenant is not None
        checked = [Checked(service, None, check(tenant, extensions))]
    if output_format is TableOrJson.json:
        output.write_json(to_json(checked, pbx.value, region), None)
    else:
        output.stdout().print(render_table(checked, pbx.value, region, bulk=file is not None))
        print_problems(checked)
        summarise(checked)
    if any(not item.result.ok for item in checked):
        raise Reported(ExitCode.INVALID_INPUT)


def parse_ext_digits(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d{1,2})\s*(?:-\s*(\d{1,2})\s*)?", text)
    low = int(match.group(1)) if match else 0
    high = int(match.group(2) or low) if match else 0
    if not 1 <= low <= high <= 15:
        raise UsageError(
            f"--ext-digits {text!r}: write MIN-MAX with 1 <= MIN <= MAX <= 15", hint="e.g. 2-7"
        )
    return low, high


def read_rows(path: Path) -> list[tuple[int, str, str, str]]:
    """(line, service, tenant, extensions) per CSV row; a bad file is a usage error (exit 2)."""
    where = "stdin" if str(path) == "-" else str(path)
    try:
        raw = sys.stdin.read() if str(path) == "-" else path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise UsageError(f"--file: cannot read {where}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"--file: {where} is not UTF-8 text") from None
    first_line = raw.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(raw, newline=""), delimiter=sniff_delimiter(first_line))
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        missing = [name for name in CSV_COLUMNS if name not in header]
        if missing:
            raise UsageError(
                f"--file: {where} has no {', '.join(missing)} column",
                hint=f"the first line must name the columns: {','.join(CSV_COLUMNS)}",
            )
        index = {name: header.index(name) for name in CSV_COLUMNS}
        rows = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # blank lines are layout, not services
            cells = {name: row[i] if i < len(row) else "" for name, i in index.items()}
            rows.append((reader.line_num, cells["service"], cells["tenant"], cells["extensions"]))
    except csv.Error as exc:
        raise UsageError(f"--file: {where} line {reader.line_num}: {exc}") from None
    if not rows:
        raise UsageError(f"--file: {where} has a header but no services")
    return rows
