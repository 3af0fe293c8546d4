"""`voipbill close ... -o DIR/` (rules §9): one file per closed service period, named
`<service>_<first day>..<last day>.csv`, each the bytes `--service NAME -o FILE` writes, each
recorded with its sha256 by its own close run, the same bytes when the close runs again."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest

from tests.cdrfactory import write_config, write_export
from tests.clirunner import Result, invoke
from tests.ledgerhelpers import SERVICES, Billing, epoch, uuids
from voipbill import periods

BETA = """
[services.beta]
package = "paygo"
tenant = "mcon.wat5.ictvoip.ca | 5192229000"
extensions = "2115"
"""
OCT = "2026-10-01..2026-10-31"


class TwoServices(Billing):
    def write_config(self, package: str = "") -> Path:
        ledger = self.backend.ledger_toml(self.ledger)
        self.config = write_config(self.directory, package, services=SERVICES + BETA + ledger)
        return self.config


def two(directory: Path) -> TwoServices:
    directory.mkdir(exist_ok=True)
    setup = TwoServices(directory)
    setup.add("m-oct-03", epoch(10, 3), billsec=60)
    setup.add("b-oct-05", epoch(10, 5), billsec=120, extension="2115", caller_id_number="2115")
    setup.add("m-oct-20", epoch(10, 20), billsec=30)
    setup.add("m-nov-01", epoch(11, 1), billsec=60)
    return setup


@pytest.fixture(autouse=True)
def today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(periods, "today", lambda zone: date(2026, 11, 3))


def close(setup: Billing, *args: str) -> Result:
    cdrs = write_export(setup.directory / "cdrs.csv", setup.rows)
    return invoke(
        "--config", str(setup.config), "close", "--period", "2026-10", "--cdr-file", str(cdrs),
        *args,
    )  # fmt: skip


def test_close_all_into_a_new_directory_writes_one_file_per_service(tmp_path: Path) -> None:
    setup = two(tmp_path / "dir")
    out = setup.directory / "out"
    closed = close(setup, "--all", "-o", str(out) + "/")
    assert closed.exit_code == 0, closed.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"beta_{OCT}.csv", f"mcon_{OCT}.csv"]
    assert uuids((out / f"mcon_{OCT}.csv").read_bytes()) == ["m-oct-03", "m-oct-20"]
    assert uuids((out / f"beta_{OCT}.csv").read_bytes()) == ["b-oct-05"]
    # each file is what `--service NAME -o FILE` writes on its own ledger
    for name in ("mcon", "beta"):
        alone = two(tmp_path / name)
        one = close(alone, "--service", name, "-o", str(alone.directory / "one.csv"))
        assert one.exit_code == 0, one.stderr
        assert (out / f"{name}_{OCT}.csv").read_bytes() == alone.file("one.csv")
    # one close run per file, recording that file's sha256
    recorded = dict(setup.query("SELECT output_path, output_sha256 FROM runs"))
    assert len(recorded) == 2
    for path, digest in recorded.items():
        assert hashlib.sha256(Path(str(path)).read_bytes()).hexdigest() == digest
    # again, into the directory (it exists now, no slash needed): the same bytes, no new run
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    for p in out.iterdir():
        p.unlink()
    again = close(setup, "--all", "-o", str(out))
    assert again.exit_code == 0, again.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert setup.query("SELECT count(*) FROM runs") == [(2,)]


def test_json_files_are_named_json(tmp_path: Path) -> None:
    setup = two(tmp_path)
    closed = close(setup, "--all", "--format", "json", "-o", str(setup.directory / "j") + "/")
    assert closed.exit_code == 0, closed.stderr
    names = sorted(p.name for p in (setup.directory / "j").iterdir())
    assert names == [f"beta_{OCT}.json", f"mcon_{OCT}.json"]


def test_a_file_of_the_directory_that_is_an_input_is_refused(tmp_path: Path) -> None:
    setup = two(tmp_path)
    (setup.directory / "out").mkdir()
    cdrs = write_export(setup.directory / "out" / f"mcon_{OCT}.csv", setup.rows)
    before = cdrs.read_bytes()
    closed = invoke(
        "--config", str(setup.config), "close", "--period", "2026-10", "--all",
        "--cdr-file", str(cdrs), "-o", str(setup.directory / "out"),
    )  # fmt: skip
    assert closed.exit_code == 2, closed.stderr
    assert "is the CDR file" in closed.stderr
    assert "an output never overwrites an input" in closed.stderr
    assert cdrs.read_bytes() == before
    assert not setup.ledger_exists()


def test_strict_closes_nothing_when_a_later_service_has_an_unrated_call(tmp_path: Path) -> None:
    setup = two(tmp_path)
    # beta comes after mcon: without a check of every service first, mcon would be closed
    setup.add(
        "b-unrated", epoch(10, 6), extension="2115", caller_id_number="2115",
        destination_number="88213456789",
    )  # fmt: skip
    out = setup.directory / "out"
    closed = close(setup, "--all", "--strict", "-o", str(out) + "/")
    assert closed.exit_code == 1, closed.stderr
    assert "nothing was committed" in closed.stderr
    assert not out.exists() or list(out.iterdir()) == []
    assert not setup.ledger_exists() or setup.query("SELECT count(*) FROM runs") == [(0,)]
