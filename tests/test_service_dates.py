"""Start and end of service (rules §13): calls outside `active_from`..`active_until` are not
the service's (counted, never billed), and a period the service is active for only part of has
its free minutes prorated by active days, rounded down to whole seconds. Hand-worked, in
Australia/Sydney (summer time from 2026-10-04)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.cdrfactory import cdr, write_config, write_export
from tests.clirunner import Result, invoke
from voipbill.service_dates import ServiceDates

SYDNEY = ZoneInfo("Australia/Sydney")
PACKAGE = 'free_minutes = 100\nincrement = "6/6"'  # 6000 free seconds a month; 0.0100/min


def at(month: int, day: int, hour: int = 12, minute: int = 0, second: int = 0) -> int:
    return int(datetime(2026, month, day, hour, minute, second, tzinfo=SYDNEY).timestamp())


def setup(tmp_path: Path, dates: str, rows: list[dict[str, str]]) -> tuple[Path, Path]:
    services = f"""
[services.harbour]
package = "paygo"
tenant = "harbour.pbx.example.com.au | 5192229000"
extensions = "2112 | 2113"
{dates}

[ledger]
path = "ledger.sqlite"
"""
    config = write_config(tmp_path, PACKAGE, services=services, timezone="Australia/Sydney")
    return config, write_export(tmp_path / "cdrs.csv", rows)


def rate(config: Path, cdrs: Path, *args: str) -> Result:
    return invoke("--config", str(config), "rate", "--cdr-file", str(cdrs), *args)


def calls_of(text: str) -> dict[str, dict[str, str]]:
    return {row["call_uuid"]: row for row in csv.DictReader(io.StringIO(text))}


def summary_total(text: str) -> dict[str, str]:
    rows = [row for row in csv.DictReader(io.StringIO(text)) if row["category"] == "total"]
    (total,) = rows
    return total


# -- the proration itself --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dates", "first", "last", "expected"),
    [
        # October has 31 days; 6000 s a month
        (ServiceDates(date(2026, 10, 15)), date(2026, 10, 1), date(2026, 10, 31), 3290),  # 17/31
        (ServiceDates(None, date(2026, 10, 20)), date(2026, 10, 1), date(2026, 10, 31), 3870),
        (ServiceDates(date(2026, 10, 15)), date(2026, 11, 1), date(2026, 11, 30), 6000),  # whole
        (ServiceDates(date(2026, 11, 1)), date(2026, 10, 1), date(2026, 10, 31), 0),  # none
        (ServiceDates(date(2026, 10, 31), date(2026, 10, 31)), date(2026, 10, 1),
         date(2026, 10, 31), 193),  # 6000 / 31 = 193.5 -> 193
        # February 2027 has 28 days: 14 of them, half the allowance exactly
        (ServiceDates(date(2027, 2, 15)), date(2027, 2, 1), date(2027, 2, 28), 3000),
        # a 15-day period (a billing-day transition, say): 7 of its days
        (ServiceDates(None, date(2026, 11, 21)), date(2026, 11, 15), date(2026, 11, 29), 2800),
    ],
)  # fmt: skip
def test_the_allowance_is_prorated_by_active_days_rounded_down(
    dates: ServiceDates, first: date, last: date, expected: int
) -> None:
    assert dates.allowance(6000, first, last) == expected


# -- calls outside the dates -----------------------------------------------------------------


def test_a_customer_joining_on_the_15th_is_billed_from_the_15th(tmp_path: Path) -> None:
    rows = [
        cdr(xml_cdr_uuid="before", start_epoch=at(10, 14, 23, 59, 59), billsec=60),
        cdr(xml_cdr_uuid="first", start_epoch=at(10, 15, 0, 0, 0), billsec=3000),
        cdr(xml_cdr_uuid="second", start_epoch=at(10, 20), billsec=600),
        cdr(xml_cdr_uuid="dst-day", start_epoch=at(10, 4, 9), billsec=60),
    ]
    config, cdrs = setup(tmp_path, 'active_from = "2026-10-15"', rows)
    result = rate(config, cdrs, "--period", "2026-10", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    calls = calls_of(result.stdout)
    assert set(calls) == {"first", "second"}
    # 6000 × 17 / 31 = 3290.3 -> 3290 free seconds: 3000 to the first call, 290 to the second
    assert calls["first"]["free_seconds"] == "3000" and calls["first"]["cost"] == "0.0000"
    assert calls["second"]["free_seconds"] == "290"
    # 600 - 290 = 310 s at 0.0100/min = 0.051666… -> 0.0517
    assert calls["second"]["cost"] == "0.0517"
    assert "2 calls outside their service's dates" in result.stderr


def test_active_until_ends_at_the_local_midnight_after_it(tmp_path: Path) -> None:
    rows = [
        cdr(xml_cdr_uuid="last", start_epoch=at(10, 20, 23, 59, 59), billsec=4200),
        cdr(xml_cdr_uuid="after", start_epoch=at(10, 21, 0, 0, 0), billsec=60),
    ]
    config, cdrs = setup(tmp_path, "active_until = 2026-10-20", rows)  # a TOML date
    result = rate(config, cdrs, "--period", "2026-10", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    (only,) = calls_of(result.stdout).values()
    # 6000 × 20 / 31 = 3870.97 -> 3870 free; 4200 - 3870 = 330 s -> 0.055
    assert (only["call_uuid"], only["free_seconds"], only["cost"]) == ("last", "3870", "0.0550")
    summary = rate(config, cdrs, "--period", "2026-10", "--format", "csv", "--detail", "summary")
    # 3870 / 60 = 64.5 free minutes; the call alone is the amount
    total = summary_total(summary.stdout)
    assert (total["free_minutes"], total["amount"]) == ("64.50", "0.0550")


def test_late_days_on_the_first_run_cannot_reach_before_active_from(tmp_path: Path) -> None:
    """The customer moved from another system on the 15th: the old system billed September
    and the first half of October; `--late-days` of the first commit must not bill them."""
    rows = [
        cdr(xml_cdr_uuid="sep-25", start_epoch=at(9, 25), billsec=60),
        cdr(xml_cdr_uuid="oct-10", start_epoch=at(10, 10), billsec=60),
        cdr(xml_cdr_uuid="oct-16", start_epoch=at(10, 16), billsec=60),
    ]
    config, cdrs = setup(tmp_path, 'active_from = "2026-10-15"', rows)
    out = tmp_path / "oct.csv"
    result = rate(
        config, cdrs, "--period", "2026-10", "--late-days", "20", "--commit", "-o", str(out)
    )
    assert result.exit_code == 0, result.stderr
    assert set(calls_of(out.read_text())) == {"oct-16"}
    assert "2 calls outside their service's dates" in result.stderr
    # a wider window later still never bills them (oct-16 is billed in 2026-10 already)
    again = rate(config, cdrs, "--from", "2026-09-01", "--to", "2026-10-31", "--format", "csv")
    assert calls_of(again.stdout) == {}
    assert "2 calls outside their service's dates" in again.stderr


def test_the_month_committed_in_two_runs_gives_the_same_free_seconds(tmp_path: Path) -> None:
    rows = [
        cdr(xml_cdr_uuid="a", start_epoch=at(10, 16), billsec=3000),
        cdr(xml_cdr_uuid="b", start_epoch=at(10, 25), billsec=600),
    ]
    config, cdrs = setup(tmp_path, 'active_from = "2026-10-15"', rows)
    first = rate(config, cdrs, "--from", "2026-10-01", "--to", "2026-10-20", "--commit",
                 "-o", str(tmp_path / "one.csv"))  # fmt: skip
    assert first.exit_code == 0, first.stderr
    second = rate(config, cdrs, "--from", "2026-10-21", "--to", "2026-10-31", "--commit",
                  "-o", str(tmp_path / "two.csv"))  # fmt: skip
    assert second.exit_code == 0, second.stderr
    (b,) = calls_of((tmp_path / "two.csv").read_text()).values()
    assert (b["free_seconds"], b["cost"]) == ("290", "0.0517")  # 3290 - 3000 left


def test_a_month_wholly_inside_the_dates_has_the_whole_allowance(tmp_path: Path) -> None:
    rows = [cdr(xml_cdr_uuid="nov", start_epoch=at(11, 3), billsec=6060)]
    config, cdrs = setup(tmp_path, 'active_from = "2026-10-15"', rows)
    result = rate(config, cdrs, "--period", "2026-11", "--format", "csv")
    (nov,) = calls_of(result.stdout).values()
    assert (nov["free_seconds"], nov["cost"]) == ("6000", "0.0100")


# -- the configuration -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dates", "says"),
    [
        ('active_from = "2026-10-15"\nactive_until = "2026-10-14"', "active_until"),
        ('active_from = "15/10/2026"', "active_from: '15/10/2026' is not a date YYYY-MM-DD"),
        ('active_from = "2026-02-30"', "not a day of the calendar"),
        ("active_until = 2026-10-15T00:00:00", "a date without a time of day"),
        ("active_from = 20261015", "active_from"),
    ],
)
def test_bad_service_dates_are_config_errors_naming_the_key(
    tmp_path: Path, dates: str, says: str
) -> None:
    config, cdrs = setup(tmp_path, dates, [cdr()])
    result = rate(config, cdrs, "--period", "2026-10")
    assert result.exit_code == 3, result.stderr
    assert "services -> harbour -> " in result.stderr and says in result.stderr


def test_explain_says_a_call_is_outside_the_service_dates(tmp_path: Path) -> None:
    rows = [cdr(xml_cdr_uuid="early", start_epoch=at(10, 14, 23, 59), billsec=60)]
    config, cdrs = setup(tmp_path, 'active_from = "2026-10-15"', rows)
    result = invoke("--config", str(config), "explain", "--service", "harbour", "--uuid", "early",
                    "--cdr-file", str(cdrs))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "outside the dates of service 'harbour' (active_from 2026-10-15)" in result.stdout
    assert "Not on the invoice" in result.stdout
