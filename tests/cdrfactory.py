"""Build FusionPBX-format CSV exports and configs for tests, as FusionPBX writes them."""

from __future__ import annotations

import itertools
from pathlib import Path

from tests.fakepbx import COLUMNS_55

# docs/fusionpbx.md §2: the 5.5 admin column list is the superadmin's without rtp_audio_in_mos
COLUMNS = [column for column in COLUMNS_55 if column != "rtp_audio_in_mos"]

_counter = itertools.count(1)


def cdr(**fields: object) -> dict[str, str]:
    """One CDR row: an answered outbound a-leg from extension 2112 unless told otherwise."""
    number = next(_counter)
    row = {
        "xml_cdr_uuid": f"00000000-0000-4000-8000-{number:012d}",
        "extension": "2112",
        "direction": "outbound",
        "leg": "a",
        "start_epoch": "1792069200",  # 2026-10-15 09:00 in Toronto
        "billsec": "60",
        "caller_id_number": "2112",
        "caller_destination": "",
        "destination_number": "15195550100",
        "status": "answered",
    }
    row.update({key: str(value) for key, value in fields.items()})
    if not row["caller_destination"] and row["direction"] == "outbound":
        row["caller_destination"] = row["destination_number"]
    row["duration"] = row["billsec"]
    return row


def export_text(rows: list[dict[str, str]], columns: list[str] = COLUMNS) -> str:
    """FusionPBX's CSV: every value in quotes, never escaped; `\\n\\n` when empty."""
    if not rows:
        return "\n\n"
    lines = [",".join(f'"{c}"' for c in columns)]
    lines += [",".join(f'"{row.get(c, "")}"' for c in columns) for row in rows]
    return "\n".join(lines) + "\n"


def write_export(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text(export_text(rows), encoding="utf-8")
    return path


DECK = """prefix,description,rate,connect_fee,increment,effective_from
1,Canada/US,0.0100,0,6/6,
1800,Toll-free,0,0,,
1212,New York,0.0080,0,,
44,United Kingdom,0.0500,0.0500,60/60,
1900,Premium,0.9000,0,,
"""


def write_config(
    directory: Path,
    package: str = "",
    *,
    deck: str = DECK,
    services: str | None = None,
    timezone: str = "America/Toronto",
) -> Path:
    """A config with one package `paygo` (extra TOML lines in `package`) and service `mcon`."""
    (directory / "deck.csv").write_text(deck, encoding="utf-8")
    if services is None:
        services = """
[services.mcon]
package = "paygo"
tenant = "mcon.wat5.ictvoip.ca | 5192229000"
extensions = "2112 | 2113 | 2114"
"""
    text = f"""
timezone = "{timezone}"
currency = "CAD"

[decks.main]
path = "deck.csv"

[packages.paygo]
deck = "main"
country = "CA"
{package}
{services}
"""
    path = directory / "voipbill.toml"
    path.write_text(text, encoding="utf-8")
    return path
