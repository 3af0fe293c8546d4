"""The ledger records what each committed call cost the operator (rules §15), on both stores;
`margin` of a committed period reads it from there and never prices it again."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.clirunner import Result, invoke
from tests.ledgerbackends import Backend
from tests.ledgerhelpers import Billing, epoch

# the carrier bills 1 at 0.0100/min by 60/60; the package sells it at 0.0100/min by 6/6
CARRIER = "prefix,description,rate,connect_fee,increment\n1,NANP carrier,0.0100,0,60/60\n"
DEARER = CARRIER.replace("0.0100", "0.0500")


def month(tmp_path: Path, backend: Backend) -> Billing:
    billing = Billing(tmp_path, backend=backend)
    billing.write_config('cost_deck = "carrier"')
    billing.config.write_text(
        billing.config.read_text() + '\n[decks.carrier]\npath = "carrier.csv"\n'
    )
    (tmp_path / "carrier.csv").write_text(CARRIER, encoding="utf-8")
    billing.add("n1", epoch(10, 5), billsec=61)  # 66 s: 0.0110; the carrier: 120 s, 0.0200
    billing.add("n2", epoch(10, 6), billsec=120)  # 0.0200; the carrier: 0.0200
    return billing


def margin(billing: Billing, *args: str) -> Result:
    result = invoke(
        "--config", str(billing.config), "margin", "--period", "2026-10", "-f", "csv",
        "--cdr-file", str(billing.directory / "cdrs.csv"), *args,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return result


def test_margin_of_a_committed_period_reads_the_recorded_carrier_costs(
    tmp_path: Path, ledger_backend: Backend
) -> None:
    billing = month(tmp_path, ledger_backend)
    committed = billing.commit("2026-10", "calls.csv")
    warning = "mcon: 1 call sold below carrier cost (margin -0.0090 CAD): see voipbill margin"
    assert warning in committed.stderr
    rows = billing.query(
        "SELECT xml_cdr_uuid, carrier_cost, carrier_prefix FROM calls ORDER BY xml_cdr_uuid"
    )
    assert [(uuid, str(cost), prefix) for uuid, cost, prefix in rows] == [
        ("n1", "0.0200", "1"),
        ("n2", "0.0200", "1"),
    ]
    # the carrier raises its price afterwards: the committed calls keep what they cost then
    (tmp_path / "carrier.csv").write_text(DEARER, encoding="utf-8")
    shown = margin(billing)
    assert shown.stdout.splitlines()[-1] == "mcon,total,2,0.0310,0.0400,-0.0090,-29.03,1,0,CAD"
    by_prefix = margin(billing, "--by", "prefix")
    assert by_prefix.stdout.splitlines()[1].startswith("mcon,1,2,0.0310,0.0400,")
    # a preview of the committed period warns from the recorded costs too, even with -q
    preview = billing.rate("--period", "2026-10")
    assert preview.exit_code == 0, preview.stderr
    assert warning in preview.stderr


def test_calls_committed_before_carrier_costs_were_recorded_have_none(tmp_path: Path) -> None:
    billing = month(tmp_path, Backend())
    billing.commit("2026-10", "calls.csv")
    # as a ledger of an older voipbill holds them: no carrier cost recorded
    with sqlite3.connect(billing.ledger) as connection:
        connection.execute("UPDATE calls SET carrier_cost = NULL, carrier_prefix = NULL")
    shown = margin(billing)
    assert shown.stdout.splitlines()[-1] == "mcon,total,2,0.0310,0.0000,0.0000,,0,2,CAD"
    assert (
        "2 calls with no carrier cost (2 committed before carrier costs were recorded)"
    ) in shown.stderr
    preview = billing.rate("--period", "2026-10")
    assert "below carrier cost" not in preview.stderr


def test_a_month_committed_by_days_keeps_each_days_carrier_costs(
    tmp_path: Path, ledger_backend: Backend
) -> None:
    billing = month(tmp_path, ledger_backend)
    day = billing.rate(
        "--from", "2026-10-05", "--to", "2026-10-05", "--commit", "-o", str(tmp_path / "d.csv")
    )  # fmt: skip
    assert day.exit_code == 0, day.stderr
    # n1 is committed (its carrier cost 0.0200 with it); then the carrier's price rises and
    # n2, not committed yet, costs 120 s × 0.0500 / 60 = 0.1000 now
    (tmp_path / "carrier.csv").write_text(DEARER, encoding="utf-8")
    shown = margin(billing)
    assert shown.stdout.splitlines()[-1] == "mcon,total,2,0.0310,0.1200,-0.0890,-287.10,2,0,CAD"
    # the month's preview lists both, and warns about both: n1 from the recorded cost
    preview = billing.rate("--period", "2026-10")
    assert preview.exit_code == 0, preview.stderr
    assert "mcon: 2 calls sold below carrier cost (margin -0.0890 CAD)" in preview.stderr
