"""Benchmark: a month of CDRs from the fake FusionPBX 5.0, requests per chunk and time vs curl.

    python tests/benchmarks/bench_fetch_50.py [--cdrs N] [--mode 5.0] [--proxy HOST]

Loads N CDRs (default 47,000) of acme.test over 30 days into tests/fakepbx.py's server (and a
few of pbx.test), then pulls the 30 daily chunks:
- "curl": one keyed POST a chunk with `Host: acme.test`, a new connection and no session each
  time (what a shell script does; on 5.0 right only when nothing rewrites Host);
- FusionPBXClient.records(): voipbill's login, exports and CSV reading.
It prints the client's requests (login page, exports) and per chunk, both times, and whether
every row read was acme.test's. With --proxy HOST the client goes through a proxy that sends
`Host: HOST`. To measure another voipbill (an older commit), put its source first on
VOIPBILL_SRC; the fake server is always this tree's.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
if os.environ.get("VOIPBILL_SRC"):
    sys.path.insert(0, os.environ["VOIPBILL_SRC"])

import requests  # noqa: E402

from tests.fakepbx import DOMAIN, EXPORT_PATH, FakeFusionPBX, FakeUser  # noqa: E402
from tests.hostproxy import behind_proxy  # noqa: E402
from voipbill.cdrs import CdrProblem  # noqa: E402
from voipbill.config import Server  # noqa: E402
from voipbill.fusionpbx import FusionPBXClient  # noqa: E402
from voipbill.periods import Period  # noqa: E402

ACME = "acme.test"
ACME_KEY = "Hx7kQ2mV9pL4wT8nB3cR6yF1gJ5dS0zEaU"
START = 1_790_000_000
DAYS = 30
ACME_UUID = "00000000-0000-4000-8000-"  # acme's calls; pbx.test's have random uuids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cdrs", type=int, default=47_000)
    parser.add_argument("--mode", default="5.0")
    parser.add_argument("--proxy", default=None, help="Host header a proxy in front sends")
    args = parser.parse_args()
    rng = random.Random(2026)
    fake = FakeFusionPBX(mode=args.mode, users=[FakeUser(ACME_KEY, ACME, "admin")], domain_tz="UTC")
    for index in range(args.cdrs):
        fake.add_cdr(
            domain_name=ACME,
            start_epoch=START + rng.randrange(DAYS * 86_400),
            billsec=rng.choice([0, rng.randint(1, 900)]),
            destination_number=f"1519{rng.randint(2_000_000, 9_999_999)}",
            xml_cdr_uuid=f"{ACME_UUID}{index:012d}",
        )
    for index in range(30):
        fake.add_cdr(domain_name=DOMAIN, start_epoch=START + index * 86_400 + 600)
    os.environ["BENCH_PBX_KEY"] = ACME_KEY
    with ExitStack() as stack:
        stack.enter_context(fake)
        url = fake.url
        if args.proxy:
            url = stack.enter_context(behind_proxy(fake, args.proxy)).url
        server = Server(name="bench", url=url, api_key_env="BENCH_PBX_KEY", chunk_hours=24)
        period = Period.__new__(Period)  # only the epochs are read
        object.__setattr__(period, "start_epoch", START)
        object.__setattr__(period, "end_epoch", START + DAYS * 86_400)
        with FusionPBXClient(server, ACME) as client:
            bounds = client.chunks(period)

        began = time.perf_counter()
        curl_rows = 0
        for start, stop in bounds:
            form = {"export_format": "csv", "domain_name": ACME, "key": ACME_KEY,
                    "start_epoch": str(start), "stop_epoch": str(stop)}  # fmt: skip
            body = requests.post(
                fake.url + EXPORT_PATH, data=form, headers={"Host": ACME}, timeout=300
            ).text
            curl_rows += max(body.strip("\n").count("\n"), 0)
        curl_seconds = time.perf_counter() - began

        fake.requests.clear()
        problems: list[CdrProblem] = []
        began = time.perf_counter()
        with FusionPBXClient(server, ACME) as client:
            records = list(client.records(period, problems))
        client_seconds = time.perf_counter() - began
        exports = sum(1 for r in fake.requests if r.path == EXPORT_PATH)
        logins = sum(1 for r in fake.requests if r.path == "/login.php")
        theirs = sum(1 for r in records if not r.xml_cdr_uuid.startswith(ACME_UUID))

    where = f" behind a proxy sending Host: {args.proxy}" if args.proxy else " direct"
    print(f"FusionPBX {args.mode}{where}, {args.cdrs:,} CDRs of {ACME}, {len(bounds)} daily chunks")
    print(f"  curl:     {len(bounds)} requests, {curl_rows:,} rows, {curl_seconds:.2f} s")
    print(
        f"  voipbill: {exports + logins} requests ({logins} login page, {exports} exports: "
        f"{(exports + logins) / len(bounds):.2f} a chunk), {len(records):,} rows, "
        f"{client_seconds:.2f} s = {client_seconds / curl_seconds:.2f} x curl; "
        f"rows of another tenant: {theirs}"
    )


if __name__ == "__main__":
    main()
