"""The SQLite ledger's tables beside a run (sqlite_schema.RUN_EXTRAS): the bad CDR rows a
`--skip-bad-rows` commit left out, and the free seconds each committed run gave per service and
calendar month (rules §6, §9). They need no new schema version: every writable open adds them,
and a ledger from before them reads as having none."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from zoneinfo import ZoneInfo

from voipbill.free_minutes import given_by_month
from voipbill.ledger.records import RunSelection
from voipbill.ledger.sqlite_schema import READABLE_VERSIONS, RUN_EXTRAS
from voipbill.rating import RatedCall


def add_run_extras(connection: sqlite3.Connection) -> None:
    if connection.execute("PRAGMA user_version").fetchone()[0] in READABLE_VERSIONS:
        connection.executescript("BEGIN IMMEDIATE;" + RUN_EXTRAS + "COMMIT;")


def insert_run_extras(connection: sqlite3.Connection, run_id: int, selection: RunSelection) -> None:
    """In the commit's transaction. The free seconds: one row per service and month, and a
    marker row ('', '', 0) saying this run's are recorded (even when it gave none)."""
    connection.executemany(
        "INSERT INTO run_free_seconds (run_id, service, month, seconds) VALUES (?, ?, ?, ?)",
        [(run_id, "", "", 0)]
        + [(run_id, name, month, seconds) for name, month, seconds in selection.free_seconds],
    )
    if selection.skipped_rows:
        connection.execute(
            "INSERT INTO run_skipped_rows (run_id, count, lines) VALUES (?, ?, ?)",
            (run_id, len(selection.skipped_rows), json.dumps(selection.skipped_rows)),
        )


def skipped_rows(connection: sqlite3.Connection) -> dict[int, tuple[str, ...]]:
    try:
        rows = connection.execute("SELECT run_id, lines FROM run_skipped_rows").fetchall()
    except sqlite3.OperationalError:  # read-only, a ledger from before skipped rows were kept
        return {}
    return {int(run_id): tuple(json.loads(lines)) for run_id, lines in rows}


def free_seconds_given(
    connection: sqlite3.Connection,
    service: str,
    runs: Iterable[int],
    timezone: ZoneInfo,
    committed_calls: Callable[[int], list[RatedCall] | None],
) -> dict[str, int]:
    """Month -> free seconds that `runs` gave `service`; a run committed before they were
    recorded has its months derived from its committed calls in `timezone`."""
    recorded: dict[int, list[tuple[str, int]]] = {}
    try:
        rows = connection.execute(
            "SELECT run_id, service, month, seconds FROM run_free_seconds"
        ).fetchall()
    except sqlite3.OperationalError:  # read-only, a ledger from before they were kept
        rows = []
    for run_id, name, month, seconds in rows:
        entries = recorded.setdefault(int(run_id), [])
        if name == service:
            entries.append((str(month), int(seconds)))
    given: dict[str, int] = {}
    for run_id in sorted(runs):
        months = recorded.get(run_id)
        if months is None:
            calls = [call for call in committed_calls(run_id) or [] if call.service == service]
            pairs = ((call.start_epoch, call.free_seconds) for call in calls)
            months = list(given_by_month(pairs, timezone).items())
        for month, seconds in months:
            given[month] = given.get(month, 0) + seconds
    return given
