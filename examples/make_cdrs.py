"""Generate examples/cdrs.csv: a FusionPBX 5.5 CSV export of October 2026 for three tenants.

Two Canadian tenants, and a UK one whose phones dial UK numbers the national way (07..., 020...,
118118, 999): its package reads them in local-prefix mode. The UK calls are drawn from a random
generator of their own, so the Canadian calls are the same with or without them.

It is written the way FusionPBX writes it (docs/fusionpbx.md §2 and §6): a superadmin
`show=all` export, so b-legs are present and a `domain_name` column is appended; every value is
wrapped in quotes and never escaped (one caller name breaks the quoting); newest calls first;
missed calls, local calls, feature codes, a number no deck prices, and a few calls just outside
the month.

Run: python examples/make_cdrs.py > examples/cdrs.csv
"""

from __future__ import annotations

import random
import sys
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

COLUMNS = [
    "domain_uuid",
    "sip_call_id",
    "extension",
    "extension_name",
    "start_stamp",
    "end_stamp",
    "start_date_formatted",
    "start_time_formatted",
    "start_epoch",
    "duration",
    "billmsec",
    "missed_call",
    "record_path",
    "record_name",
    "xml_cdr_uuid",
    "bridge_uuid",
    "direction",
    "billsec",
    "caller_id_name",
    "caller_id_number",
    "caller_destination",
    "source_number",
    "destination_number",
    "leg",
    "read_codec",
    "write_codec",
    "cc_side",
    "answer_stamp",
    "status",
    "sip_hangup_disposition",
    "pdd_ms",
    "rtp_audio_in_mos",
    "wait",
    "domain_name",
]

ZONE = ZoneInfo("America/Toronto")
TENANTS: dict[str, dict[str, Any]] = {
    "mcon.wat5.ictvoip.ca": {
        "domain_uuid": "75a468d8-3a9e-4544-bc8b-7c03aa13e10c",
        "did": "5192229000",
        "extensions": {
            "2112": "Reception",
            "2113": "Sales",
            "2114": "Support",
            "2115": "Billing",
            "2216": "Warehouse",
        },
    },
    "acme.wat5.ictvoip.ca": {
        "domain_uuid": "0d4c1f7e-52a8-4d1b-9a51-2c8e1f0b7a33",
        "did": "4165550199",
        "extensions": {"301": "Front desk", "302": "Dr Smith", "303": "Lab"},
    },
}
OUTBOUND = [
    # (dialed as the phone sent it, weight)
    ("15195550143", 12),
    ("5195550188", 8),
    ("14165550123", 10),
    ("4165550177", 6),
    ("16135550100", 5),
    ("12125550123", 5),
    ("13105550150", 3),
    ("95195550161", 4),
    ("18005551234", 4),
    ("18885550111", 2),
    ("011442079460000", 3),
    ("011447700900123", 2),
    ("011331234567890", 1),
    ("011525512345678", 1),
    ("19005550123", 1),
    ("01188213456789", 1),
]
CALLERS = ["15195550143", "14165550123", "16475550110", "12895550180", "15485550100"]
UK_TENANTS: dict[str, dict[str, Any]] = {
    "london.wat5.ictvoip.ca": {
        "domain_uuid": "4b1e9c2d-7f3a-4e8b-b6d0-5a2c9e1f4d77",
        "did": "442079460001",  # the UK carrier sends the DID in E.164
        "extensions": {"201": "Reception", "202": "Accounts"},
        "outbound": [
            ("02079460000", 10),  # London, fixed line: national
            ("01612345678", 6),  # Manchester: national
            ("07400123456", 8),  # mobile
            ("09098790000", 1),  # premium rate
            ("07031234567", 1),  # 070 personal number: premium
            ("08451234567", 2),  # 0845: premium
            ("08001234567", 2),  # freephone: tollfree
            ("118118", 3),  # directory enquiries: short, priced by a special rule
            ("999", 1),  # emergency: local, never billed
            ("0015195550143", 2),  # Canada: international
        ],
        "callers": ["447400123456", "442079460000", "441612345678"],
    },
}
ALL_TENANTS = TENANTS | UK_TENANTS


def stamp(epoch: int) -> str:
    moment = datetime.fromtimestamp(epoch, ZONE)
    return moment.strftime("%Y-%m-%d %H:%M:%S") + moment.strftime("%z")[:3]


def row(rng: random.Random, domain: str, epoch: int, kind: str) -> list[dict[str, str]]:
    tenant = ALL_TENANTS[domain]
    extension = rng.choice(sorted(tenant["extensions"]))
    name = tenant["extensions"][extension]
    answered = rng.random() > 0.12
    billsec = rng.choice([rng.randint(1, 59), rng.randint(60, 600), rng.randint(600, 2400)])
    call_uuid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    base = {
        "domain_uuid": tenant["domain_uuid"],
        "extension": extension,
        "extension_name": name,
        "xml_cdr_uuid": call_uuid,
        "leg": "a",
        "read_codec": "PCMU",
        "write_codec": "PCMU",
        "domain_name": domain,
        "wait": str(rng.randint(0, 20)),
    }
    if kind == "outbound":
        numbers = tenant.get("outbound", OUTBOUND)
        dialed = rng.choices([n for n, _ in numbers], [w for _, w in numbers])[0]
        base |= {
            "direction": "outbound",
            "caller_id_name": name,
            "caller_id_number": extension,
            "caller_destination": dialed,
            "source_number": extension,
            "destination_number": dialed,
        }
    elif kind == "inbound":
        caller = rng.choice(tenant.get("callers", CALLERS))
        base |= {
            "direction": "inbound",
            "caller_id_name": rng.choice(["WIRELESS CALLER", "Jane Doe"]),
            "caller_id_number": caller,
            "caller_destination": tenant["did"],
            "source_number": caller,
            "destination_number": extension,
        }
    else:
        other = rng.choice([*sorted(set(tenant["extensions"]) - {extension}), "*97", "*98"])
        base |= {
            "direction": "local",
            "caller_id_name": name,
            "caller_id_number": extension,
            "caller_destination": other,
            "source_number": extension,
            "destination_number": other,
        }
    if not answered:
        billsec = 0
    status = "answered" if billsec else rng.choice(["missed", "no_answer", "cancelled", "busy"])
    base |= {
        "billsec": str(billsec),
        "duration": str(billsec),
        "billmsec": str(billsec * 1000 + 37),
        "missed_call": "1" if status == "missed" else "",
        "status": status,
        "start_epoch": str(epoch),
        "start_stamp": stamp(epoch),
        "end_stamp": stamp(epoch + billsec + 5),
        "start_date_formatted": datetime.fromtimestamp(epoch, ZONE).strftime("%d %b %Y"),
        "start_time_formatted": datetime.fromtimestamp(epoch, ZONE).strftime("%I:%M %p").lower(),
        "answer_stamp": stamp(epoch + 5) if billsec else "1969-12-31 19:00:00-05",
        "sip_hangup_disposition": rng.choice(["send_bye", "recv_bye"])
        if billsec
        else "recv_cancel",
    }
    rows = [base]
    if kind == "outbound" and billsec and rng.random() < 0.3:
        # log-b-leg enabled: the b-leg carries the same billsec and its own uuid
        # (docs/fusionpbx.md §6, legs)
        b_uuid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        base["bridge_uuid"] = b_uuid
        rows.append(
            base
            | {
                "xml_cdr_uuid": b_uuid,
                "leg": "b",
                "extension": "",
                "extension_name": "",
                "caller_destination": "",
                "bridge_uuid": "",
            }
        )
    return rows


def generate(seed: int = 2026) -> str:
    rng = random.Random(seed)
    start = int(datetime(2026, 9, 30, 20, 0, tzinfo=ZONE).timestamp())
    stop = int(datetime(2026, 11, 1, 3, 0, tzinfo=ZONE).timestamp())
    rows: list[dict[str, str]] = []
    for _ in range(300):
        epoch = rng.randint(start, stop)
        domain = rng.choice(sorted(TENANTS))
        kind = rng.choices(["outbound", "inbound", "local"], [60, 25, 15])[0]
        rows.extend(row(rng, domain, epoch, kind))
    # a caller name with a quote and a comma breaks FusionPBX's CSV (docs/fusionpbx.md §6)
    quirky = row(
        rng,
        "mcon.wat5.ictvoip.ca",
        int(datetime(2026, 10, 20, 10, 5, tzinfo=ZONE).timestamp()),
        "inbound",
    )[0]
    quirky |= {
        "caller_id_name": 'ACME "Corp", Inc',
        "billsec": "75",
        "duration": "75",
        "status": "answered",
        "missed_call": "",
    }
    rows.append(quirky)
    uk_rng = random.Random(seed + 44)
    for _ in range(60):
        epoch = uk_rng.randint(start, stop)
        domain = uk_rng.choice(sorted(UK_TENANTS))
        kind = uk_rng.choices(["outbound", "inbound", "local"], [70, 20, 10])[0]
        rows.extend(row(uk_rng, domain, epoch, kind))
    rows.sort(
        key=lambda r: (int(r["start_epoch"]), r["xml_cdr_uuid"]), reverse=True
    )  # newest first
    lines = [",".join(f'"{c}"' for c in COLUMNS)]
    lines += [",".join(f'"{r.get(c, "")}"' for c in COLUMNS) for r in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(generate())
