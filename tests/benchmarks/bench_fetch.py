"""Benchmark: pulling CDRs from the fake FusionPBX over loopback, client vs plain requests.

    python tests/benchmarks/bench_fetch.py [--cdrs N]

Loads N CDRs (default 200,000) into tests/fakepbx.py's server, then times, over the same
period and chunks:
- plain `requests`: the same export POSTs, keeping only the response bytes;
- FusionPBXClient.records(): login, export, decode and read every row into CdrRecords;
- read_cdrs alone over the downloaded bodies (the client's parsing, no network).
The fake server builds each export in Python, so both downloads include its time.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from tests.fakepbx import ADMIN_KEY, DOMAIN, EXPORT_PATH, FakeFusionPBX  # noqa: E402
from voipbill.cdrs import CdrProblem, read_cdrs  # noqa: E402
from voipbill.config import Server  # noqa: E402
from voipbill.fusionpbx import FusionPBXClient  # noqa: E402
from voipbill.periods import Period  # noqa: E402

START = 1_790_000_000
DAYS = 7


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cdrs", type=int, default=200_000)
    args = parser.parse_args()
    rng = random.Random(2026)
    fake = FakeFusionPBX(mode="5.5", domain_tz="UTC")
    for index in range(args.cdrs):
        fake.add_cdr(
            start_epoch=START + rng.randrange(DAYS * 86_400),
            billsec=rng.choice([0, rng.randint(1, 900)]),
            destination_number=f"1519{rng.randint(2_000_000, 9_999_999)}",
            xml_cdr_uuid=f"00000000-0000-4000-8000-{index:012d}",
        )
    os.environ["BENCH_PBX_KEY"] = ADMIN_KEY
    with fake:
        server = Server(name="bench", url=fake.url, api_key_env="BENCH_PBX_KEY", chunk_hours=24)
        period = Period.__new__(Period)  # only the epochs are read
        object.__setattr__(period, "start_epoch", START)
        object.__setattr__(period, "end_epoch", START + DAYS * 86_400)

        with FusionPBXClient(server, DOMAIN) as client:
            bounds = client.chunks(period)
        began = time.perf_counter()
        bodies: list[bytes] = []
        with requests.Session() as session:
            for start, stop in bounds:
                form = {
                    "export_format": "csv",
                    "domain_name": DOMAIN,
                    "key": ADMIN_KEY,
                    "start_epoch": str(start),
                    "stop_epoch": str(stop),
                }
                bodies.append(session.post(fake.url + EXPORT_PATH, data=form, timeout=300).content)
        plain_seconds = time.perf_counter() - began
        size = sum(len(body) for body in bodies)

        problems: list[CdrProblem] = []
        began = time.perf_counter()
        with FusionPBXClient(server, DOMAIN) as client:
            rows = sum(1 for _ in client.records(period, problems))
        client_seconds = time.perf_counter() - began

        began = time.perf_counter()
        parsed = 0
        for body in bodies:
            text = io.StringIO(body.decode("utf-8"), newline="\n")
            parsed += sum(1 for _ in read_cdrs(text, source="bench", problems=problems))
        parse_seconds = time.perf_counter() - began

    print(f"CDRs: {rows:,} in {len(bounds)} chunks, {size / 1e6:.0f} MB")
    for label, seconds, count in (
        ("plain requests (bytes only): ", plain_seconds, rows),
        ("FusionPBXClient.records():   ", client_seconds, rows),
        ("read_cdrs alone (no network):", parse_seconds, parsed),
    ):
        print(f"{label} {seconds:6.2f} s  {count / seconds:>9,.0f} CDRs/s")
    print(f"client / plain time:          {client_seconds / plain_seconds:.2f}")


if __name__ == "__main__":
    main()
