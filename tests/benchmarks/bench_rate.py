"""Benchmark: `voipbill rate` against the speed at which Python can copy the CSV.

    python tests/benchmarks/bench_rate.py [--cdrs N] [--prefixes P] [--services S]

Generates (once per size, with a fixed seed) into tests/benchmarks/data/ (gitignored):
- a FusionPBX 5.5 superadmin export (docs/fusionpbx.md §2: every value quoted, none escaped)
  of N CDRs for October 2026, newest first: about 60% outbound, 20% inbound, 15% local and 5%
  missed a-legs, plus 10% b-legs; numbers repeat as real traffic does (Zipf-like over ~50k
  distinct destinations);
- a deck of P prefixes (NANP NPA/NPA-NXX and international), a few with a dated second row;
- a config with S services on one package with markup, free minutes and inbound billing.

Then it times, in the same run:
- the floor: a bare csv.reader -> csv.writer pass over the file, one 20-column row per CDR;
- `voipbill rate --cdr-file … --format csv --detail calls -o /dev/null` as a child process;
and prints CDRs/s for each, the ratio voipbill/floor, voipbill's peak RSS and the deck load time.

Not collected by pytest (the file name does not start with test_).
"""

from __future__ import annotations

import argparse
import bisect
import csv
import itertools
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.fakepbx import COLUMNS_55  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
ZONE = ZoneInfo("America/Toronto")
SEED = 2026
DISTINCT_DESTINATIONS = 50_000

# docs/fusionpbx.md §2: the 5.5 superadmin column list, domain_name appended by `show=all`
COLUMNS = [*COLUMNS_55, "domain_name"]
AT = {name: index for index, name in enumerate(COLUMNS)}


# -- the rate deck -------------------------------------------------------------------------------


def make_deck(rng: random.Random, prefixes: int) -> tuple[str, list[str], list[str]]:
    """Deck text, the NANP NPA-NXX prefixes and the international prefixes it prices."""
    # NANP area codes; toll-free and premium codes get their own rows below
    npas = sorted(rng.sample([n for n in range(201, 990) if n % 111 and n not in (800, 900)], 400))
    nanp_share = int(prefixes * 0.6)
    seen: set[str] = set()
    nanp: list[str] = []
    for npa in npas:
        seen.add(f"1{npa}")
    while len(nanp) < nanp_share - len(npas):
        prefix = f"1{rng.choice(npas)}{rng.randint(200, 999)}"
        if prefix not in seen:
            seen.add(prefix)
            nanp.append(prefix)
    codes = ["44", "33", "49", "52", "61", "91", "86", "81", "34", "39", "7", "55", "27", "234"]
    codes += [str(code) for code in rng.sample(range(210, 999), 120)]
    international: list[str] = []
    for code in codes:
        seen.add(code)
    while len(seen) < prefixes:
        code = rng.choice(codes)
        prefix = code + str(rng.randint(1, 99_999))[: rng.randint(1, 5)]
        if prefix not in seen:
            seen.add(prefix)
            international.append(prefix)
    lines = ["prefix,description,rate,connect_fee,increment,effective_from"]
    for prefix in sorted(seen):
        national = prefix.startswith("1")
        rate = rng.uniform(0.004, 0.02) if national else rng.uniform(0.01, 0.6)
        fee = "0" if national or rng.random() < 0.7 else f"{rng.uniform(0.01, 0.1):.4f}"
        increment = "6/6" if national else rng.choice(["", "60/60", "30/6", "1/1"])
        lines.append(f"{prefix},Destination {prefix},{rate:.5f},{fee},{increment},")
        if rng.random() < 0.005:  # a price change in the middle of the month
            lines.append(
                f"{prefix},Destination {prefix},{rate * 1.1:.5f},{fee},{increment},2026-10-16"
            )
    lines.append("1800,Toll-free,0,0,,")
    lines.append("1888,Toll-free,0,0,,")
    return "\n".join(lines) + "\n", nanp, international


def make_destinations(rng: random.Random, nanp: list[str], international: list[str]) -> list[str]:
    """~50k distinct numbers as phones dial them, most popular first."""
    numbers: list[str] = []
    seen: set[str] = set()
    while len(numbers) < DISTINCT_DESTINATIONS:
        roll = rng.random()
        if roll < 0.70:
            line = rng.choice(nanp)[1:] + f"{rng.randint(0, 9999):04d}"
            number = rng.choice([f"1{line}", line, f"9{line}", f"+1{line}"])
        elif roll < 0.75:
            number = f"1{rng.choice(['800', '888'])}{rng.randint(2000000, 9999999)}"
        elif roll < 0.99:
            prefix = rng.choice(international)
            number = "011" + prefix + str(rng.randint(10**6, 10**8))[: max(4, 12 - len(prefix))]
        else:
            number = f"011999{rng.randint(10**7, 10**8)}"  # no deck row: unrated
        if number not in seen:
            seen.add(number)
            numbers.append(number)
    return numbers


def zipf_chooser(rng: random.Random, items: list[str], exponent: float = 0.9):  # type: ignore[no-untyped-def]
    cumulative = list(
        itertools.accumulate(1 / (rank + 1) ** exponent for rank in range(len(items)))
    )
    total = cumulative[-1]

    def choose() -> str:
        return items[bisect.bisect_left(cumulative, rng.random() * total)]

    return choose


# -- the CDR export ------------------------------------------------------------------------------


class Tenant:
    def __init__(self, index: int, rng: random.Random) -> None:
        self.domain = f"t{index:03d}.pbx.example.net"
        self.domain_uuid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        self.did = f"1519{rng.randint(2000000, 9999999)}"
        base = 100 + index * 100 if index < 90 else 1000 + index * 100
        self.extensions = [str(base + n) for n in range(rng.randint(10, 40))]


def make_tenants(rng: random.Random, services: int) -> list[Tenant]:
    return [Tenant(index, rng) for index in range(services)]


class Stamps:
    """FusionPBX's local-time text fields, cached per hour (datetime per row is slow)."""

    def __init__(self) -> None:
        self.hours: dict[int, tuple[str, str, str]] = {}

    def __call__(self, epoch: int) -> tuple[str, str, str]:
        hour, seconds = divmod(epoch, 3600)
        cached = self.hours.get(hour)
        if cached is None:
            moment = datetime.fromtimestamp(hour * 3600, ZONE)
            cached = self.hours[hour] = (
                moment.strftime("%Y-%m-%d %H:"),
                moment.strftime("%z")[:3],
                moment.strftime("%d %b %Y"),
            )
        minute, second = divmod(seconds, 60)
        return f"{cached[0]}{minute:02d}:{second:02d}{cached[1]}", cached[2], f"{minute:02d}"


def make_export(
    path: Path,
    rng: random.Random,
    cdrs: int,
    tenants: list[Tenant],
    choose_destination,
    choose_caller,
) -> None:  # type: ignore[no-untyped-def]
    start = int(datetime(2026, 10, 1, tzinfo=ZONE).timestamp()) - 3600
    stop = int(datetime(2026, 11, 1, tzinfo=ZONE).timestamp()) + 3600
    stamps = Stamps()
    rows: list[tuple[int, str, list[str]]] = []
    b_leg_share = 0.10 / (0.9 * 0.6)  # b-legs are 10% of all rows, all from outbound calls
    getrandbits, random_, randint, choice = rng.getrandbits, rng.random, rng.randint, rng.choice
    while len(rows) < cdrs:
        tenant = choice(tenants)
        epoch = randint(start, stop)
        extension = choice(tenant.extensions)
        roll = random_()
        kind = (
            "outbound"
            if roll < 0.6
            else "inbound"
            if roll < 0.8
            else "local"
            if roll < 0.95
            else "missed"
        )
        billsec = (
            randint(1, 59)
            if random_() < 0.4
            else randint(60, 600)
            if random_() < 0.9
            else randint(600, 3600)
        )
        call_uuid = str(uuid.UUID(int=getrandbits(128), version=4))
        row = [""] * len(COLUMNS)
        row[AT["domain_uuid"]] = tenant.domain_uuid
        row[AT["extension"]] = extension
        row[AT["extension_name"]] = f"Ext {extension}"
        row[AT["xml_cdr_uuid"]] = call_uuid
        row[AT["leg"]] = "a"
        row[AT["read_codec"]] = row[AT["write_codec"]] = "PCMU"
        row[AT["domain_name"]] = tenant.domain
        row[AT["wait"]] = str(randint(0, 20))
        status = "answered"
        if kind == "outbound":
            dialed = choose_destination()
            values = ("outbound", f"Ext {extension}", extension, dialed, extension, dialed)
        elif kind == "local":
            other = choice([*tenant.extensions[:5], "*97", "*98"])
            values = ("local", f"Ext {extension}", extension, other, extension, other)
        else:
            caller = choose_caller()
            values = ("inbound", "WIRELESS CALLER", caller, tenant.did, caller, extension)
            if kind == "missed":
                billsec, status = 0, choice(["missed", "no_answer", "cancelled", "busy"])
                if random_() < 0.5:  # a missed call to the DID rings no extension yet
                    row[AT["extension"]] = ""
        for name, value in zip(
            (
                "direction",
                "caller_id_name",
                "caller_id_number",
                "caller_destination",
                "source_number",
                "destination_number",
            ),
            values,
            strict=True,
        ):
            row[AT[name]] = value
        begin, day, _ = stamps(epoch)
        row[AT["start_stamp"]] = begin
        row[AT["end_stamp"]] = stamps(epoch + billsec + 5)[0]
        row[AT["start_date_formatted"]] = day
        row[AT["start_time_formatted"]] = begin[11:16]
        row[AT["start_epoch"]] = str(epoch)
        row[AT["billsec"]] = row[AT["duration"]] = str(billsec)
        row[AT["billmsec"]] = str(billsec * 1000 + 37)
        row[AT["status"]] = status
        row[AT["missed_call"]] = "1" if status == "missed" else ""
        row[AT["answer_stamp"]] = stamps(epoch + 5)[0] if billsec else "1969-12-31 19:00:00-05"
        row[AT["sip_hangup_disposition"]] = "send_bye" if billsec else "recv_cancel"
        rows.append((epoch, call_uuid, row))
        if kind == "outbound" and random_() < b_leg_share and len(rows) < cdrs:
            # log-b-leg enabled: the b-leg has its own uuid and no extension (docs/fusionpbx.md §6)
            b_uuid = str(uuid.UUID(int=getrandbits(128), version=4))
            row[AT["bridge_uuid"]] = b_uuid
            b_row = list(row)
            b_row[AT["xml_cdr_uuid"]] = b_uuid
            b_row[AT["leg"]] = "b"
            b_row[AT["extension"]] = b_row[AT["extension_name"]] = ""
            b_row[AT["caller_destination"]] = b_row[AT["bridge_uuid"]] = ""
            rows.append((epoch, b_uuid, b_row))
    rows.sort(key=lambda item: (item[0], item[1]), reverse=True)  # FusionPBX: newest first
    with path.open("w", encoding="utf-8", newline="") as stream:
        stream.write(",".join(f'"{c}"' for c in COLUMNS) + "\n")
        stream.writelines('"' + '","'.join(row) + '"\n' for _, _, row in rows)


def make_config(path: Path, deck: Path, tenants: list[Tenant]) -> None:
    services = "".join(
        f"""
[services.{tenant.domain.split(".")[0]}]
package = "business"
tenant = "{tenant.domain} | {tenant.did}"
extensions = "{" | ".join(tenant.extensions)}"
"""
        for tenant in tenants
    )
    path.write_text(
        f"""# generated by tests/benchmarks/bench_rate.py
timezone = "America/Toronto"
currency = "CAD"

[decks.carrier]
path = "{deck.name}"

[packages.business]
deck = "carrier"
country = "CA"
markup_percent = "15"
increment = "30/6"
free_minutes = 500
inbound_billing = true
inbound_rate = "0.0049"
inbound_increment = "6/6"
rewrite = [["^9(\\\\d{{10}})$", "\\\\1"]]
exclude = ["*xx"]
no_charge = ["[tollfree]"]
custom_rates = [ {{ prefix = "1212", rate = "0.0090", increment = "6/6" }} ]

[[packages.business.special]]
pattern = "1900"
type = "prefix"
direction = "outbound"
mode = "flat_per_call"
flat = "2.50"
{services}""",
        encoding="utf-8",
    )


def generate(cdrs: int, prefixes: int, services: int) -> tuple[Path, Path, Path]:
    DATA.mkdir(parents=True, exist_ok=True)
    tag = f"{cdrs}-{prefixes}-{services}"
    export, deck, config = (
        DATA / f"cdrs-{tag}.csv",
        DATA / f"deck-{tag}.csv",
        DATA / f"voipbill-{tag}.toml",
    )
    if export.exists() and deck.exists() and config.exists():
        return export, deck, config
    began = time.perf_counter()
    rng = random.Random(SEED)
    deck_text, nanp, international = make_deck(rng, prefixes)
    deck.write_text(deck_text, encoding="utf-8")
    destinations = make_destinations(rng, nanp, international)
    callers = [f"1{rng.choice(nanp)[1:]}{rng.randint(0, 9999):04d}" for _ in range(20_000)]
    tenants = make_tenants(rng, services)
    make_config(config, deck, tenants)
    partial = export.with_suffix(".partial")
    make_export(
        partial, rng, cdrs, tenants, zipf_chooser(rng, destinations), zipf_chooser(rng, callers)
    )
    partial.replace(export)
    print(
        f"generated {export.name} ({export.stat().st_size / 1e6:.0f} MB) and a {prefixes}-prefix "
        f"deck in {time.perf_counter() - began:.1f} s",
        file=sys.stderr,
    )
    return export, deck, config


# -- timing --------------------------------------------------------------------------------------


def floor(export: Path) -> tuple[float, int]:
    """The bare copy: csv.reader -> csv.writer, one 20-column row per CDR."""
    began = time.perf_counter()
    rows = 0
    with (
        export.open(encoding="utf-8", newline="") as source,
        Path(os.devnull).open("w", encoding="utf-8", newline="") as sink,
    ):
        reader = csv.reader(source)
        writer = csv.writer(sink, lineterminator="\n")
        writer.writerow(next(reader)[:20])
        for row in reader:
            writer.writerow(row[:20])
            rows += 1
    return time.perf_counter() - began, rows


def deck_load_time(deck: Path) -> float:
    sys.path.insert(0, str(ROOT))
    from voipbill.decks import load_deck  # the worktree's voipbill, after sys.path

    began = time.perf_counter()
    load_deck(deck, timezone=ZONE)
    return time.perf_counter() - began


def run_voipbill(export: Path, config: Path) -> tuple[float, int, str]:
    command = [
        sys.executable,
        "-m",
        "voipbill",
        "--config",
        str(config),
        "-q",
        "rate",
        "--all",
        "--period",
        "2026-10",
        "--cdr-file",
        str(export),
        "--format",
        "csv",
        "--detail",
        "calls",
        "-o",
        os.devnull,
    ]
    environment = dict(os.environ, PYTHONPATH=str(ROOT))
    began = time.perf_counter()
    done = subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        sys.exit(f"voipbill failed (exit {done.returncode}):\n{done.stderr}")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # kilobytes on Linux
    return elapsed, peak_kb, done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cdrs", type=int, default=1_000_000, help="CDR rows (default 1,000,000)")
    parser.add_argument(
        "--prefixes", type=int, default=100_000, help="deck prefixes (default 100,000)"
    )
    parser.add_argument("--services", type=int, default=20, help="services/tenants (default 20)")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate_only:
        generate(args.cdrs, args.prefixes, args.services)
        return
    # Generate in a child: a child's ru_maxrss counts the pages it shares with its parent before
    # exec, so a parent that held the generated rows would inflate voipbill's peak RSS.
    sizes = ["--cdrs", str(args.cdrs), "--prefixes", str(args.prefixes)]
    sizes += ["--services", str(args.services)]
    subprocess.run([sys.executable, __file__, *sizes, "--generate-only"], check=True)
    export, deck, config = generate(args.cdrs, args.prefixes, args.services)

    # voipbill first, while this process is still small; then the floor and the deck timing
    voipbill_seconds, peak_kb, _ = run_voipbill(export, config)
    floor_seconds, rows = floor(export)
    deck_seconds = deck_load_time(deck)

    floor_rate = rows / floor_seconds
    voipbill_rate = rows / voipbill_seconds
    print(f"CDRs: {rows:,}   deck: {args.prefixes:,} prefixes   services: {args.services}")
    print(f"floor (csv.reader -> csv.writer): {floor_seconds:6.2f} s  {floor_rate:>9,.0f} CDRs/s")
    line = f"{voipbill_seconds:6.2f} s  {voipbill_rate:>9,.0f} CDRs/s"
    print(f"voipbill rate (child process):    {line}")
    print(f"ratio voipbill/floor:             {voipbill_rate / floor_rate:.2f}")
    print(f"voipbill peak RSS:                {peak_kb / 1024:.0f} MB")
    print(f"deck load time:                   {deck_seconds:.2f} s")


if __name__ == "__main__":
    main()
