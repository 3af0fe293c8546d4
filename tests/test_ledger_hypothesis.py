"""Round trips through the ledger store on both backends, in the manner of sqlite-utils'
tests/test_hypothesis.py: random commits and voids, checked against a plain model.

- calls committed, then read back, are equal (every field, money to the last digit);
- a void releases exactly its calls, and they can be committed again;
- nothing is committed twice: a commit holding a call the ledger has is refused whole.
"""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ledgerbackends import Backend
from tests.ledgerhelpers import rated_call
from tests.test_ledger_contract import open_store, selection
from voipbill.errors import VoipbillError
from voipbill.ledger import LedgerCall, commit_run
from voipbill.rating import RatedCall

uuids = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters=","),
    min_size=1,
    max_size=8,
)
costs = st.decimals(min_value=0, max_value=Decimal("9999.9999"), places=4)
call = st.tuples(uuids, costs)
commit_step = st.tuples(
    st.just("commit"),
    st.sampled_from(["2026-09", "2026-10", "2026-11"]),
    st.lists(call, min_size=1, max_size=6, unique_by=lambda pair: pair[0]),
)
void_step = st.tuples(st.just("void"), st.integers(min_value=1, max_value=6), st.just([]))
steps = st.lists(st.one_of(commit_step, void_step), min_size=1, max_size=8)


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
def test_commits_and_voids_round_trip(ledger_backend: Backend, steps: list) -> None:  # type: ignore[type-arg]
    if ledger_backend.pg is not None:
        ledger_backend.pg.reset()
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        store = open_store(ledger_backend, tmp / "ledger.sqlite")
        assert store is not None
        billed: dict[str, int] = {}  # the model: uuid -> the committed run that holds it
        runs: dict[int, list[RatedCall]] = {}
        voided: set[int] = set()
        seen: set[str] = set()
        with store:
            for kind, argument, pairs in steps:
                if kind == "void":
                    if argument not in runs or argument in voided:
                        continue
                    store.void(argument)
                    voided.add(argument)
                    billed = {u: r for u, r in billed.items() if r != argument}
                    continue
                calls = [rated_call(uuid, str(cost)) for uuid, cost in pairs]
                seen.update(uuid for uuid, _ in pairs)
                rows = [LedgerCall("wat5", c) for c in calls]
                text = "".join(f"{c.call_uuid}\n" for c in calls)
                out = tmp / "out.csv"
                if any(c.call_uuid in billed for c in calls):
                    with pytest.raises(VoipbillError):
                        commit_run(store, selection(argument), rows, "CAD", out, text)
                else:
                    run = commit_run(store, selection(argument), rows, "CAD", out, text)
                    assert run == len(runs) + 1
                    runs[run] = calls
                    billed.update((c.call_uuid, run) for c in calls)
                found = store.billed_many(["wat5"], sorted(seen))
                assert {uuid: run for (_, uuid), (run, _) in found.items()} == billed
            for run, calls in runs.items():
                assert store.committed_calls(run) == calls
                record = store.run(run)
                assert record.amount == sum((c.cost or Decimal(0) for c in calls), Decimal(0))
                assert record.status == ("voided" if run in voided else "committed")
