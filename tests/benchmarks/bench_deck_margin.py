"""Benchmark: `voipbill deck margin` on a 20,000-row sell deck against a 20,000-row cost deck.

    python tests/benchmarks/bench_deck_margin.py [--rows N] [--lengths 30,60,300]

Writes (with a fixed seed) into a temporary directory: a sell deck and a carrier deck of N rows
each, whose prefixes overlap by half (as a carrier's deck and the deck sold from it do: the
carrier splits some prefixes finer), with their own increments and connect fees, and a config
with one package (markup, custom rates, a special prefix rule). Then it times:
- the decks' load alone (both, as `rate` reads them);
- the whole check (`voipbill.margin.golive.check_package`: load and one pass over the union);
- `voipbill deck margin` as a child process, the way an operator runs it;
and prints each figure and the number of prefixes listed. The target: under 2 s for the check.

Not collected by pytest (the file name does not start with test_).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from voipbill import config as config_module  # noqa: E402
from voipbill.decks import load_deck  # noqa: E402
from voipbill.margin.golive import check_package  # noqa: E402

SEED = 2026
HEADER = "prefix,description,rate,connect_fee,increment\n"


def prefixes(rng: random.Random, count: int) -> list[str]:
    found: set[str] = set()
    while len(found) < count:
        found.add(
            str(rng.randint(1, 9))
            + "".join(str(rng.randint(0, 9)) for _ in range(rng.randint(1, 7)))
        )
    return sorted(found)


def write_decks(directory: Path, rows: int) -> Path:
    rng = random.Random(SEED)
    shared = prefixes(rng, rows)
    carrier_only = [p + str(rng.randint(0, 9)) for p in rng.sample(shared, rows // 2)]
    sell_rows = shared
    carrier_rows = sorted(set(rng.sample(shared, rows - len(set(carrier_only))) + carrier_only))
    increments = ("", "6/6", "30/6", "60/60", "1/1")
    with (directory / "sell.csv").open("w") as sell:
        sell.write(HEADER)
        for prefix in sell_rows:
            sell.write(
                f"{prefix},sold,{rng.randint(50, 5000) / 10000:.4f},0,{rng.choice(increments)}\n"
            )
    with (directory / "carrier.csv").open("w") as carrier:
        carrier.write(HEADER)
        for prefix in carrier_rows:
            fee = rng.choice(("0", "0", "0", "0.0100"))
            rate = rng.randint(50, 5000) / 10000
            carrier.write(f"{prefix},carrier,{rate:.4f},{fee},{rng.choice(increments)}\n")
    config = directory / "voipbill.toml"
    config.write_text(
        """timezone = "America/Toronto"
currency = "CAD"

[decks.sell]
path = "sell.csv"

[decks.carrier]
path = "carrier.csv"

[packages.paygo]
deck = "sell"
cost_deck = "carrier"
country = "CA"
markup_percent = "20"
increment = "6/6"
minimum_cost = "0.0010"
custom_rates = [ { prefix = "1212", rate = "0.0090" }, { prefix = "4420", rate = "0.0300" } ]
special = [ { pattern = "1900", type = "prefix", mode = "flat_per_call", flat = "0.35" } ]
""",
        encoding="utf-8",
    )
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--lengths", default="30,60,300")
    args = parser.parse_args()
    lengths = tuple(int(part) for part in args.lengths.split(","))
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        config_path = write_decks(directory, args.rows)
        config = config_module.load(config_path)
        started = time.perf_counter()
        for deck in config.decks.values():
            load_deck(deck.path, layout=deck.layout, timezone=config.timezone)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        found = check_package(config, "paygo", lengths, date(2026, 11, 1))
        checked = time.perf_counter() - started
        started = time.perf_counter()
        child = subprocess.run(
            [sys.executable, "-m", "voipbill", "--config", str(config_path), "deck", "margin",
             "--package", "paygo", "--date", "2026-11-01", "-f", "csv", "-o", "/dev/null"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        command = time.perf_counter() - started
    print(f"decks: {args.rows} sell rows, {args.rows} carrier rows; lengths {args.lengths} s")
    print(f"load of both decks:            {loaded:6.2f} s")
    print(f"check (load + one pass):       {checked:6.2f} s  ({found.prefixes} prefixes)")
    print(f"voipbill deck margin (process): {command:6.2f} s  (exit {child.returncode})")
    print(
        f"listed: {found.below_cost} prefixes below cost, {found.unsold} unsold, "
        f"{found.no_carrier_row} with no carrier row"
    )
    print("target: the check under 2 s:", "met" if checked < 2 else "NOT met")


if __name__ == "__main__":
    main()
