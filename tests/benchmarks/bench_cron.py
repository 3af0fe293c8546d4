"""Benchmark: the cron path (commit, rerun, close, daily commits) beside the preview of the month.

    python tests/benchmarks/bench_cron.py [--cdrs N] [--prefixes P] [--services S] [--skip-daily]

Uses bench_rate.py's generated load (fixed seed; random uuid4 keys as real FusionPBX exports
have; a 100k-prefix deck with markup, free minutes, inbound billing; October 2026 plus an hour
either side), and measures, each in a fresh child process, in one batch:
- the copy floor (csv.reader -> csv.writer, 20 columns), in this process (its CPU x preview
  is the floor/preview ratio: the preview should stay within 2x of it);
- the preview: `rate --all --period 2026-10 --format csv --detail calls -o /dev/null`;
- the commit of the whole month (`--commit -o one.csv`) into a new SQLite ledger;
- the rerun (the same command again, `-o two.csv`; its bytes must equal the commit's);
- `close --period 2026-10 --from-ledger`, and `close` again with the CDRs, when the installed
  voipbill has a `close` command (else "n/a");
- the month as daily commits into another new ledger, each day's CDRs in a file of their own
  (as the server's export of that day gives them), then their close when there is one.
Each line gives wall seconds, CPU seconds (user + sys of voipbill alone: the compared figure on
a shared machine), peak RSS, and CPU as a multiple of the preview's. Not collected by pytest;
its data stays in tests/benchmarks/data/ (gitignored).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.bench_rate import ZONE, floor, generate  # noqa: E402

MONTH = "2026-10"
FIRST_DAY, LAST_DAY = date(2026, 10, 1), date(2026, 10, 31)

# each voipbill in a fresh wrapper, so ru_maxrss of its children is that one run's
_MEASURE = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(usage.ru_maxrss, usage.ru_utime + usage.ru_stime)
sys.exit(code)
"""


@dataclass
class Figure:
    wall: float
    cpu: float
    rss_mb: float


def voipbill(config: Path, *args: str) -> Figure:
    """One voipbill command in a child process."""
    command = [sys.executable, "-m", "voipbill", "--config", str(config), "-q", *args]
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed (exit {done.returncode}):\n{done.stderr}")
    peak_kb, cpu = done.stdout.strip().splitlines()[-1].split()
    return Figure(elapsed, float(cpu), float(peak_kb) / 1024)


def has_close(config: Path) -> bool:
    done = subprocess.run(
        [sys.executable, "-m", "voipbill", "--config", str(config), "close", "--help"],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def with_ledger(config: Path, ledger: Path, work: Path, name: str) -> Path:
    text = config.read_text(encoding="utf-8")
    if "[ledger]" in text:
        sys.exit(f"{config} has a [ledger] table already")
    # the generated config names its deck relatively: keep it next to the deck
    target = config.with_name(f"{config.stem}-cron-{name}-{work.name}.toml")
    target.write_text(text + f'\n[ledger]\npath = "{ledger}"\n', encoding="utf-8")
    return target


def split_by_day(export: Path, work: Path) -> list[tuple[date, Path]]:
    """One file per local day of the month, each with the export's header and its rows in the
    export's order (calls of the hours outside the month are left out, as a day's export
    would)."""
    with export.open(encoding="utf-8", newline="") as source:
        header = source.readline()
        column = [name.strip('"') for name in header.rstrip("\n").split(",")].index("start_epoch")
        bounds = []
        day = FIRST_DAY
        while day <= LAST_DAY:
            bounds.append((day, _midnight(day), _midnight(day + timedelta(days=1))))
            day += timedelta(days=1)
        files = {day: (work / f"day-{day.isoformat()}.csv") for day, _, _ in bounds}
        streams = {day: path.open("w", encoding="utf-8", newline="") for day, path in files.items()}
        try:
            for stream in streams.values():
                stream.write(header)
            for line in source:
                epoch = int(line[1:-2].split('","')[column])
                for day, start, end in bounds:
                    if start <= epoch < end:
                        streams[day].write(line)
                        break
        finally:
            for stream in streams.values():
                stream.close()
    return sorted(files.items())


def _midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=ZONE).timestamp())


def rate_args(export: Path, out: Path, *extra: str) -> list[str]:
    return ["rate", "--all", "--cdr-file", str(export), "--format", "csv", "--detail", "calls",
            "-o", str(out), *extra]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cdrs", type=int, default=200_000, help="CDR rows (default 200,000)")
    parser.add_argument("--prefixes", type=int, default=100_000)
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--skip-daily", action="store_true", help="leave out the daily commits")
    args = parser.parse_args()
    # generate in a child, so that this process stays small (see bench_rate.py)
    sizes = ["--cdrs", str(args.cdrs), "--prefixes", str(args.prefixes)]
    sizes += ["--services", str(args.services), "--generate-only"]
    generator = ROOT / "tests" / "benchmarks" / "bench_rate.py"
    subprocess.run([sys.executable, str(generator), *sizes], check=True)
    export, _, config = generate(args.cdrs, args.prefixes, args.services)
    figures: dict[str, Figure | None] = {}
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="voipbill-cron-") as scratch:
        work = Path(scratch)
        month = with_ledger(config, work / "month.sqlite", work, "month")
        daily = with_ledger(config, work / "daily.sqlite", work, "daily")
        try:
            closing = has_close(month)
            figures["preview"] = voipbill(
                month, *rate_args(export, Path(os.devnull), "--period", MONTH)
            )
            figures["commit"] = voipbill(
                month, *rate_args(export, work / "one.csv", "--period", MONTH, "--commit")
            )
            figures["rerun"] = voipbill(
                month, *rate_args(export, work / "two.csv", "--period", MONTH, "--commit")
            )
            same = (work / "one.csv").read_bytes() == (work / "two.csv").read_bytes()
            notes.append(f"rerun's file {'==' if same else '!='} the commit's")
            close_args = ["close", "--all", "--period", MONTH, "--format", "csv"]
            if closing:
                figures["close --from-ledger"] = voipbill(
                    month, *close_args, "--from-ledger", "-o", str(work / "close1.csv")
                )
                figures["close with the CDRs"] = voipbill(
                    month, *close_args, "--cdr-file", str(export), "-o", str(work / "close2.csv")
                )
            else:
                figures["close --from-ledger"] = figures["close with the CDRs"] = None
            if not args.skip_daily:
                days = split_by_day(export, work)
                each: list[Figure] = []
                for day, path in days:
                    out = work / f"out-{day.isoformat()}.csv"
                    window = ["--from", day.isoformat(), "--to", day.isoformat(), "--commit"]
                    each.append(voipbill(daily, *rate_args(path, out, *window)))
                figures[f"{len(each)} daily commits, all"] = Figure(
                    sum(f.wall for f in each), sum(f.cpu for f in each), max(f.rss_mb for f in each)
                )
                figures["  first day's commit"] = each[0]
                figures["  last day's commit"] = each[-1]
                notes.append(f"last day / first day CPU: {each[-1].cpu / each[0].cpu:.2f}")
                if closing:
                    figures["close of the daily ledger"] = voipbill(
                        daily, *close_args, "--from-ledger", "-o", str(work / "close3.csv")
                    )
                    one_shot = (work / "close1.csv").read_bytes()
                    same = (work / "close3.csv").read_bytes() == one_shot
                    notes.append(f"daily close {'==' if same else '!='} the one-shot close")
            ledger_mb = (work / "month.sqlite").stat().st_size / 1e6
        finally:
            month.unlink()
            daily.unlink()
    cpu_before = time.process_time()
    floor_seconds, rows = floor(export)
    floor_cpu = time.process_time() - cpu_before
    preview = figures["preview"]
    assert preview is not None
    load = os.getloadavg()[0]
    print(f"CDRs: {rows:,}   deck: {args.prefixes:,} prefixes   services: {args.services}   "
          f"load average {load:.1f}")  # fmt: skip
    print(f"{'path':<28} {'wall s':>8} {'CPU s':>8} {'peak RSS':>9} {'CPU x preview':>14}")
    print(f"{'copy floor (in-process)':<28} {floor_seconds:8.2f} {floor_cpu:8.2f} {'':>9} "
          f"{floor_cpu / preview.cpu:13.2f}x")  # fmt: skip
    for name, figure in figures.items():
        if figure is None:
            print(f"{name:<28} {'n/a (no close command yet)':>42}")
            continue
        print(f"{name:<28} {figure.wall:8.2f} {figure.cpu:8.2f} {figure.rss_mb:6.0f} MB "
              f"{figure.cpu / preview.cpu:13.2f}x")  # fmt: skip
    print(f"month ledger: {ledger_mb:.1f} MB")
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
