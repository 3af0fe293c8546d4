"""A month committed day by day is one month (rules §6, §9): each call is recorded in its
billing period whatever window committed it, free minutes carry across the commits, and the
commit of the whole month then lists every call, with exactly the bytes one commit gives."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ledgerbackends import Backend
from tests.ledgerhelpers import Billing, epoch, uuids

# The test deck prices 1… at 0.0100 a minute, 6/6 increments, no markup; 2 free minutes:
#   oct-03  90 s: 90 free                     0.0000
#   oct-10  60 s: 30 free (120 - 90), 30 paid 0.0050
#   oct-20  60 s: none left                   0.0100
#   oct-31  30 s (23:30, the month's last day) 0.0050
EXPECTED = {
    "oct-03": ("90", "0.0000"),
    "oct-10": ("30", "0.0050"),
    "oct-20": ("0", "0.0100"),
    "oct-31": ("0", "0.0050"),
}
DAYS = ("2026-10-03", "2026-10-10", "2026-10-20", "2026-10-31")


def rows(text: bytes) -> dict[str, tuple[str, str]]:
    return {
        row["call_uuid"]: (row["free_seconds"], row["cost"])
        for row in csv.DictReader(io.StringIO(text.decode()))
    }


def october(directory: Path, backend: Backend) -> Billing:
    directory.mkdir()
    setup = Billing(directory, backend=backend)
    setup.write_config("free_minutes = 2")
    setup.add("oct-03", epoch(10, 3), billsec=90)
    setup.add("oct-10", epoch(10, 10), billsec=60)
    setup.add("oct-20", epoch(10, 20), billsec=60)
    setup.add("oct-31", epoch(10, 31, 23, 30), billsec=30)
    return setup


def by_days(setup: Billing) -> None:
    for day in DAYS:
        result = setup.rate(
            "--from", day, "--to", day, "--commit", "-o", str(setup.directory / f"{day}.csv")
        )
        assert result.exit_code == 0, result.stderr


def test_a_month_committed_day_by_day_is_the_month_committed_at_once(
    tmp_path: Path, ledger_backend: Backend
) -> None:
    once = october(tmp_path / "once", Backend())  # SQLite: the PostgreSQL ledger is the test's one
    once.commit("2026-10", "month.csv")
    assert rows(once.file("month.csv")) == EXPECTED

    daily = october(tmp_path / "daily", ledger_backend)
    by_days(daily)
    # each day's commit drew on what the days before left of October's allowance
    assert [rows(daily.file(f"{day}.csv")) for day in DAYS] == [
        {uuid: cost} for uuid, cost in EXPECTED.items()
    ]
    # every call is in October, whichever window committed it
    assert set(daily.billed().values()) == {("2026-10", "rated")}
    # a preview of the month shows the committed calls as committed
    preview = daily.rate("--period", "2026-10")
    assert preview.exit_code == 0, preview.stderr
    assert preview.stdout.encode() == once.file("month.csv")
    assert "4 calls committed, 0 not yet" in (preview.stderr)
    # the month's commit lists them all, with the very bytes of the one-shot commit, and is
    # then the month's run (a rerun reproduces it)
    month = daily.commit("2026-10", "month.csv")
    assert "committed run 5" in month.stderr
    assert daily.file("month.csv") == once.file("month.csv")
    again = daily.rate("--period", "2026-10")
    assert again.stdout.encode() == once.file("month.csv")
    assert "was committed by run" not in again.stderr and "warning" not in again.stderr
    # the calls stay claimed by the day runs that committed them: none is billed twice
    assert sorted(run for (run,) in daily.query("SELECT run_id FROM calls")) == [1, 2, 3, 4]


@pytest.mark.parametrize("free_minutes", [0, 2])
def test_a_call_that_arrives_after_the_days_is_billed_by_the_month_commit(
    tmp_path: Path, free_minutes: int
) -> None:
    setup = october(tmp_path / "late", Backend())
    setup.write_config(f"free_minutes = {free_minutes}")
    by_days(setup)
    setup.add("oct-05", epoch(10, 5), billsec=60)  # reached FusionPBX after its day's commit
    setup.commit("2026-10", "month.csv")
    listed = rows(setup.file("month.csv"))
    assert list(listed) == ["oct-03", "oct-05", "oct-10", "oct-20", "oct-31"]
    # the committed calls keep what they were committed with; oct-05 gets what is left:
    # with 2 free minutes, the days used them all (90 + 30), so it pays its 60 s
    assert listed["oct-05"] == ("0", "0.0100")
    assert setup.billed()["oct-05"] == ("2026-10", "rated")
    assert setup.query("SELECT run_id FROM calls WHERE xml_cdr_uuid = 'oct-05'") == [(5,)]


def test_a_window_call_of_a_month_committed_whole_is_late_in_the_next_month(
    tmp_path: Path, ledger_backend: Backend
) -> None:
    setup = october(tmp_path / "closed", ledger_backend)
    setup.commit("2026-10", "month.csv")  # October's run: the month is closed
    setup.add("oct-30", epoch(10, 30), billsec=60)  # reached FusionPBX after it
    setup.add("nov-01", epoch(11, 1), billsec=60)
    night = setup.rate(
        "--from", "2026-10-30", "--to", "2026-11-01", "--commit", "-o", str(tmp_path / "n.csv")
    )
    assert night.exit_code == 0, night.stderr
    # oct-30 is late, billed in November; October's run and file are unchanged
    assert setup.billed()["oct-30"] == ("2026-11", "late")
    assert setup.billed()["nov-01"] == ("2026-11", "rated")
    assert "1 late call from" in night.stderr
    rerun = setup.rate("--period", "2026-10")
    assert rerun.stdout.encode() == setup.file("month.csv")
    # November's run lists both, as committed
    setup.commit("2026-11", "nov.csv")
    statuses = {
        r["call_uuid"]: r["status"]
        for r in csv.DictReader(io.StringIO(setup.file("nov.csv").decode()))
    }
    assert statuses == {"oct-30": "late", "nov-01": "rated"}


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    calls=st.lists(
        st.tuples(
            st.integers(1, 31),  # day of October
            st.integers(0, 23),  # hour
            st.integers(1, 400),  # billsec
            st.booleans(),  # reached FusionPBX after its day's commit
        ),
        min_size=1,
        max_size=12,
    ),
    free_minutes=st.integers(0, 6),
)
def test_a_generated_month_by_days_gives_the_bytes_of_one_commit(
    tmp_path_factory: pytest.TempPathFactory,
    calls: list[tuple[int, int, int, bool]],
    free_minutes: int,
) -> None:
    root = tmp_path_factory.mktemp("generated")
    setups = []
    for name in ("once", "daily"):
        (root / name).mkdir()
        setup = Billing(root / name)
        setup.write_config(f"free_minutes = {free_minutes}")
        setups.append(setup)
    once, daily = setups
    late: list[tuple[str, int, int]] = []
    for index, (day, hour, billsec, arrives_late) in enumerate(calls):
        uuid, start = f"c{index:02d}", epoch(10, day, hour)
        once.add(uuid, start, billsec=billsec)
        if arrives_late:
            late.append((uuid, start, billsec))
        else:
            daily.add(uuid, start, billsec=billsec)
    once.commit("2026-10", "month.csv")
    for day in sorted({day for day, *_ in calls}):
        text = f"2026-10-{day:02d}"
        # --allow-empty: every CDR of the day may be one that reaches FusionPBX later
        result = daily.rate("--from", text, "--to", text, "--commit", "--allow-empty")
        assert result.exit_code == 0, result.stderr
    for uuid, start, billsec in late:
        daily.add(uuid, start, billsec=billsec)
    if not late:
        daily.commit("2026-10", "month.csv")
        assert daily.file("month.csv") == once.file("month.csv")
        return
    # the late ones are priced by the month's run with what the days left: the same bytes
    # only when they are also the last to draw free minutes; always the same calls and, with
    # no free minutes, the same costs
    daily.commit("2026-10", "month.csv")
    assert uuids(daily.file("month.csv")) == uuids(once.file("month.csv"))
    if free_minutes == 0:
        assert daily.file("month.csv") == once.file("month.csv")
