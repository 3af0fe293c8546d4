"""Benchmark: `voipbill watch --all` on a big ledger (rules §14: the figures are SQL aggregates).

    python tests/benchmarks/bench_watch.py [--calls 5000000] [--services 500]

Makes a new SQLite ledger in a temp dir (the schema by voipbill itself, then `--calls` committed
calls written in bulk by SQL: 120 days up to the watch day, spread over `--services` services,
1 in 20 international to one of 40 country codes, costs 0.0000 to 0.9999), a config with every
rule on for every service, and times `watch --all --date` in a child process twice: the first
run (which records its alerts) and the second (quiet). Not collected by pytest.
Measured 2026-12-08, shared 2-core VM, defaults: 1.92 s and 1.93 s (README, Performance).
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from voipbill.ledger.sqlite import SqliteLedger  # noqa: E402

ZONE = ZoneInfo("America/Toronto")
DAY = date(2026, 11, 7)
DAYS = 120


def build(path: Path, calls: int, services: int) -> None:
    with SqliteLedger.open(path, create=True) as ledger:
        assert ledger is not None
    connection = sqlite3.connect(path)
    connection.execute(
        "INSERT INTO runs VALUES (1, '2026-11', '2026-07-01', '2026-11-30', '[]', 0, 'csv', "
        "'calls', 'CAD', 0, 0, '0', '', '', x'', 'committed', '2026-11-07', NULL)"
    )
    end = int(datetime(DAY.year, DAY.month, DAY.day, tzinfo=ZONE).timestamp()) + 86400
    start = end - DAYS * 86400
    rng = random.Random(7)
    codes = [str(c) for c in (44, 33, 49, 234, 63, 91, 52, 55, 86, 81)] * 4

    def rows():  # type: ignore[no-untyped-def]
        for n in range(calls):
            intl = rng.random() < 0.05
            yield (
                "wat5", f"u{n:09d}", f"s{n % services:03d}", "2026-11", rng.randrange(start, end),
                "rated", f"0.{rng.randrange(10000):04d}", 1,
                "outbound", "international" if intl else "national",
                rng.choice(codes) if intl else "1",
            )  # fmt: skip

    connection.executemany(
        "INSERT INTO calls (server, xml_cdr_uuid, service, period, start_epoch, status, cost, "
        "run_id, direction, category, country_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows(),
    )
    connection.commit()
    connection.close()


def config(directory: Path, ledger: Path, services: int) -> Path:
    deck = "prefix,description,rate,connect_fee,increment,effective_from\n1,NANP,0.0100,0,6/6,\n"
    (directory / "deck.csv").write_text(deck, encoding="utf-8")
    text = f"""timezone = "America/Toronto"
currency = "CAD"

[decks.main]
path = "deck.csv"

[packages.paygo]
deck = "main"
country = "CA"

[ledger]
path = "{ledger}"

[watch]
spend_per_day = "100"
spend_per_period = "2000"
call_cost = "0.99"
spike_factor = "3"
spike_floor = "5"
new_country = true
burst = {{ calls = 20, minutes = 10 }}
"""
    for n in range(services):
        text += (
            f'\n[services.s{n:03d}]\npackage = "paygo"\n'
            f'tenant = "t{n}.example.net | 519222{n:04d}"\nextensions = "{1000 + n}"\n'
        )
    path = directory / "voipbill.toml"
    path.write_text(text, encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=5_000_000)
    parser.add_argument("--services", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        ledger = directory / "ledger.sqlite"
        began = time.perf_counter()
        build(ledger, args.calls, args.services)
        print(f"ledger of {args.calls} calls, {args.services} services built in "
              f"{time.perf_counter() - began:.1f} s")  # fmt: skip
        path = config(directory, ledger, args.services)
        for label in ("first run", "second run"):
            began = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "voipbill", "--config", str(path), "-q", "watch", "--all",
                 "--date", DAY.isoformat(), "--format", "json"],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            alerts = done.stderr.count("alert: ")
            print(f"watch --all, {label}: {time.perf_counter() - began:.2f} s wall, exit "
                  f"{done.returncode}, {alerts} alerts")  # fmt: skip
            if done.returncode not in (0, 1):
                print(done.stderr[-2000:])


if __name__ == "__main__":
    main()
