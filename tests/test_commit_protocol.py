"""The commit protocol lives in the core (rules §9): `billing.commit_window` rates, writes the
file and records the run, all or nothing, and says what it did; `--strict` fails there, before
anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cdrfactory import write_export
from tests.ledgerhelpers import Billing, epoch
from voipbill import billing, config
from voipbill.ledger import open_ledger
from voipbill.periods import resolve_period


def commit(setup: Billing, out: Path, *, strict: bool = False) -> billing.CommitOutcome:
    settings = config.load(setup.config)
    period = resolve_period(settings.timezone, from_day=None, to_day=None, month="2026-10")
    assert period is not None
    cdrs = write_export(setup.directory / "cdrs.csv", setup.rows)
    selection = billing.Selection(tuple(settings.services.values()), commit=True)
    with open_ledger(settings, commit=True, lock_timeout=0) as ledger:
        assert ledger is not None
        return billing.commit_window(
            settings,
            selection,
            period,
            billing.CdrFile(cdrs),
            ledger,
            billing.Layout("csv", "calls"),
            out,
            strict=strict,
        )


def test_a_commit_says_its_run_and_a_second_one_the_run_it_repeats(tmp_path: Path) -> None:
    setup = Billing(tmp_path)
    setup.add("oct-a", epoch(10, 3), billsec=60)
    setup.add("oct-b", epoch(10, 4), billsec=60)
    first = commit(setup, tmp_path / "one.csv")
    assert (first.run_id, first.reproduced, first.calls) == (1, None, 2)
    assert (tmp_path / "one.csv").read_text().count("\n") == 3  # header and two calls
    second = commit(setup, tmp_path / "two.csv")
    assert second.run_id is None
    assert second.reproduced is not None and second.reproduced.id == 1
    assert (tmp_path / "two.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()


def test_strict_fails_in_the_core_before_anything_is_written(tmp_path: Path) -> None:
    setup = Billing(tmp_path)
    setup.add("oct-a", epoch(10, 3), billsec=60)
    setup.add("unrated", epoch(10, 4), billsec=60, destination_number="011999123456")
    with pytest.raises(billing.StrictFailure) as failure:
        commit(setup, tmp_path / "one.csv", strict=True)
    assert failure.value.result.unrated == 1
    assert not (tmp_path / "one.csv").exists()
    # a failed first commit leaves no ledger behind, or one without a run
    assert not setup.ledger_exists() or setup.query("SELECT count(*) FROM runs") == [(0,)]
