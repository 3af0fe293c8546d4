"""The figures the alert rules need, as SQL aggregates over the ledger's committed calls
(rules §14): sums, medians' inputs and country codes come from the database, never from loading
a service's calls into Python. The `calls_for_watch` index (service, start, cost, country
code) serves every query here, without reading the calls' rows.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from voipbill.ledger.base import LedgerBase
from voipbill.ledger.rows import money
from voipbill.periods import local_midnight_epoch

BASELINE_DAYS = 28  # the spike rule's median
COUNTRY_DAYS = 90  # the new-country rule's history
ATTEMPTS = "status <> 'local'"  # burst and new_country count every status but local
RISKY = "direction = 'outbound' AND category IN ('international', 'premium')"


def day_range(day: date, zone: ZoneInfo) -> tuple[int, int]:
    """[local midnight of `day`, the next local midnight) as epochs (a DST day included)."""
    return local_midnight_epoch(day, zone), local_midnight_epoch(day + timedelta(days=1), zone)


def cost_between(ledger: LedgerBase, service: str, start: int, end: int) -> Decimal:
    """The committed cost of `service`'s calls started in [start, end)."""
    row = ledger.execute(
        f"SELECT {ledger.money_sum('cost')} FROM calls "
        "WHERE service = ? AND start_epoch >= ? AND start_epoch < ? AND cost IS NOT NULL",
        (service, start, end),
    ).fetchone()
    return Decimal(0) if row is None or row[0] is None else money(row[0])


def daily_costs(ledger: LedgerBase, service: str, day: date, zone: ZoneInfo) -> list[Decimal]:
    """The service's committed cost on each of the `BASELINE_DAYS` days before `day` (a day
    without calls is 0), in one query: the calls joined to the days' epoch ranges."""
    days = [day - timedelta(days=n) for n in range(BASELINE_DAYS, 0, -1)]
    ranges = [(index, *day_range(each, zone)) for index, each in enumerate(days)]
    table = " UNION ALL ".join(
        "SELECT CAST(? AS INTEGER) AS i, CAST(? AS BIGINT) AS lo, CAST(? AS BIGINT) AS hi"
        for _ in ranges
    )
    args: list[object] = [value for entry in ranges for value in entry]
    rows = ledger.execute(
        f"SELECT d.i, {ledger.money_sum('c.cost')} FROM ({table}) d JOIN calls c "
        "ON c.service = ? AND c.start_epoch >= d.lo AND c.start_epoch < d.hi "
        "WHERE c.cost IS NOT NULL GROUP BY d.i",
        [*args, service],
    ).fetchall()
    costs = [Decimal(0)] * len(days)
    for index, total in rows:
        if total is not None:
            costs[int(index)] = money(total)
    return costs


def costly_calls(
    ledger: LedgerBase, service: str, start: int, end: int, limit: Decimal
) -> list[tuple[str, int, Decimal]]:
    """(uuid, start epoch, cost) of the service's calls started in [start, end) that cost more
    than `limit`: a float pre-filter in SQL (a little below the limit), the exact test here."""
    rows = ledger.execute(
        "SELECT xml_cdr_uuid, start_epoch, cost FROM calls WHERE service = ? "
        "AND start_epoch >= ? AND start_epoch < ? AND cost IS NOT NULL "
        "AND CAST(cost AS REAL) >= ? ORDER BY start_epoch, xml_cdr_uuid",
        (service, start, end, float(limit) * 0.999 - 1e-9),
    ).fetchall()
    found = [(str(uuid), int(epoch), money(cost)) for uuid, epoch, cost in rows]
    return [entry for entry in found if entry[2] > limit]


def new_countries(
    ledger: LedgerBase, service: str, start: int, end: int, history_start: int
) -> list[str]:
    """Country calling codes of the service's international calls started in [start, end)
    that none of its calls started in [history_start, start) went to."""
    rows = ledger.execute(
        "SELECT DISTINCT country_code FROM calls c WHERE c.service = ? AND c.start_epoch >= ? "
        f"AND c.start_epoch < ? AND c.{ATTEMPTS} AND c.category = 'international' "
        "AND c.country_code IS NOT NULL AND NOT EXISTS (SELECT 1 FROM calls h "
        "WHERE h.service = c.service AND h.start_epoch >= ? AND h.start_epoch < ? "
        "AND h.country_code = c.country_code)",
        (service, start, end, history_start, start),
    ).fetchall()
    return sorted(str(row[0]) for row in rows)


def risky_starts(ledger: LedgerBase, service: str, start: int, end: int) -> list[int]:
    """Start epochs of the service's outbound international or premium calls in [start, end),
    in order (one day's such calls: the burst rule's window slides over them)."""
    rows = ledger.execute(
        f"SELECT start_epoch FROM calls WHERE service = ? AND start_epoch >= ? "
        f"AND start_epoch < ? AND {ATTEMPTS} AND {RISKY} ORDER BY start_epoch",
        (service, start, end),
    ).fetchall()
    return [int(row[0]) for row in rows]
