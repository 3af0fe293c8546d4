"""Benchmark: `rate --commit`, then the rerun, on the SQLite ledger and on PostgreSQL.

    python tests/benchmarks/bench_pg_ledger.py [--cdrs N] [--prefixes P] [--services S]

Uses bench_rate.py's generated export, deck and config (same seed, same sizes), and a
PostgreSQL it starts itself as the test suite does (initdb + pg_ctl on a Unix socket in a temp
directory, fsync off: so the PostgreSQL figures leave out the disk's flush, and SQLite's
`synchronous = FULL` keeps it; both are on the same disk). Prints the wall time, voipbill's own
CPU time (the PostgreSQL server's work is in the wall time only) and peak RSS of each path, and
the ratio PostgreSQL/SQLite of the commit. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.bench_rate import generate  # noqa: E402
from tests.pgserver import _start, find_bindir  # noqa: E402


def voipbill(config: Path, export: Path, out: Path, *, commit: bool) -> tuple[float, float, float]:
    """One `rate` in a child process: (seconds, its CPU seconds, its peak RSS in MB)."""
    command = [sys.executable, "-m", "voipbill", "--config", str(config), "-q", "rate", "--all"]
    command += ["--period", "2026-10", "--cdr-file", str(export), "--format", "csv"]
    command += ["--detail", "calls", "-o", str(out), *(["--commit"] if commit else [])]
    wrapper = [sys.executable, "-c", _MEASURE, *command]
    began = time.perf_counter()
    done = subprocess.run(
        wrapper,
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        sys.exit(f"voipbill failed (exit {done.returncode}):\n{done.stderr}")
    peak_kb, cpu = done.stdout.strip().splitlines()[-1].split()
    return elapsed, float(cpu), float(peak_kb) / 1024


# each voipbill in a fresh wrapper, so ru_maxrss of its children is that one run's
_MEASURE = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:]).returncode
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(usage.ru_maxrss, usage.ru_utime + usage.ru_stime)
sys.exit(code)
"""


def with_ledger(config: Path, ledger: str, name: str) -> Path:
    text = config.read_text()
    if "[ledger]" in text:
        sys.exit(f"{config} has a [ledger] table already")
    target = config.with_name(f"{config.stem}-{name}.toml")
    target.write_text(text + "\n[ledger]\n" + ledger)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cdrs", type=int, default=200_000)
    parser.add_argument("--prefixes", type=int, default=100_000)
    parser.add_argument("--services", type=int, default=20)
    args = parser.parse_args()
    export, _, config = generate(args.cdrs, args.prefixes, args.services)
    bindir = find_bindir()
    if bindir is None:
        sys.exit("no PostgreSQL binaries (initdb, pg_ctl): apt-get install postgresql")
    results: dict[str, dict[str, tuple[float, float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="voipbill-bench-") as scratch:
        work = Path(scratch)
        work.chmod(0o755)
        servers = _start(bindir)
        pg = next(servers)
        try:
            configs = {
                "sqlite": with_ledger(config, f'path = "{work / "ledger.sqlite"}"\n', "sqlite"),
                "postgresql": with_ledger(config, f'postgresql = "{pg.conninfo()}"\n', "pg"),
            }
            for name, path in configs.items():
                out = work / f"{name}.csv"
                results[name] = {
                    "preview": voipbill(path, export, work / "preview.csv", commit=False),
                    "commit": voipbill(path, export, out, commit=True),
                    "rerun": voipbill(path, export, out, commit=True),
                }
            size = pg.execute("SELECT pg_database_size(current_database())")[0][0]
            sqlite_size = (work / "ledger.sqlite").stat().st_size
            calls = pg.execute("SELECT count(*) FROM voipbill.calls")[0][0]
        finally:
            servers.close()
    print(f"CDRs: {args.cdrs:,}   committed calls: {calls:,}")
    for name, paths in results.items():
        for path, (seconds, cpu, rss) in paths.items():
            line = f"{seconds:7.2f} s (voipbill CPU {cpu:6.2f} s)   peak RSS {rss:5.0f} MB"
            print(f"{name:<10} {path:<8} {line}")
    ratio = results["postgresql"]["commit"][0] / results["sqlite"]["commit"][0]
    print(f"commit PostgreSQL/SQLite: {ratio:.2f} (target: at most 2)")
    print(
        f"ledger size: SQLite {sqlite_size / 1e6:.1f} MB, PostgreSQL database {size / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main()
