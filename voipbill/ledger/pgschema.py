"""The PostgreSQL ledger's tables, and how a run claims its calls in them.

The tables are those of the SQLite ledger (voipbill.ledger.sqlite_schema) in a schema
`voipbill` of their own, with PostgreSQL's types: dates, numeric amounts, jsonb services.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from voipbill.ledger.errors import LedgerError
from voipbill.ledger.pgconnect import SCHEMA_NAME, WRITE_LOCK, LostCall, RaceLostError
from voipbill.ledger.records import LedgerCall

if TYPE_CHECKING:
    from voipbill.ledger.pgconnect import Connection

log = logging.getLogger("voipbill.ledger")

# 2 adds run_rows (every listed call of a committed run) and void_reasons, as in SQLite
SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS voipbill;
CREATE TABLE voipbill.ledger_version (version integer NOT NULL);
CREATE TABLE voipbill.runs (
    id bigint PRIMARY KEY,
    period text NOT NULL,
    first_day date NOT NULL,
    last_day date NOT NULL,
    services jsonb NOT NULL,
    late_days integer NOT NULL,
    format text NOT NULL,
    detail text NOT NULL,
    currency text NOT NULL,
    calls integer NOT NULL,
    late_calls integer NOT NULL,
    amount numeric NOT NULL,
    output_path text NOT NULL,
    output_sha256 text NOT NULL,
    output bytea NOT NULL,
    status text NOT NULL CHECK (status IN ('committed', 'voided')),
    created timestamptz NOT NULL,
    voided timestamptz
);
CREATE TABLE voipbill.run_services (
    run_id bigint NOT NULL REFERENCES voipbill.runs(id),
    position integer NOT NULL,
    service text NOT NULL,
    calls integer NOT NULL,
    late_calls integer NOT NULL,
    amount numeric NOT NULL,
    PRIMARY KEY (run_id, service)
);
CREATE TABLE voipbill.calls (
    server text NOT NULL,
    xml_cdr_uuid text NOT NULL,
    service text NOT NULL,
    period text NOT NULL,
    start_epoch bigint NOT NULL,
    status text NOT NULL,
    cost numeric,
    run_id bigint NOT NULL REFERENCES voipbill.runs(id),
    PRIMARY KEY (server, xml_cdr_uuid)
);
CREATE INDEX calls_by_run ON voipbill.calls(run_id);
CREATE TABLE voipbill.voided_calls (
    server text NOT NULL,
    xml_cdr_uuid text NOT NULL,
    service text NOT NULL,
    period text NOT NULL,
    start_epoch bigint NOT NULL,
    status text NOT NULL,
    cost numeric,
    run_id bigint NOT NULL REFERENCES voipbill.runs(id)
);
"""
# The calls of a committed run exactly as listed: zlib of a JSON list (records.call_row), as in
# the SQLite ledger; and why a run was voided. A version 1 ledger gets them added.
SCHEMA_2 = """
CREATE TABLE IF NOT EXISTS voipbill.run_rows (
    run_id bigint PRIMARY KEY REFERENCES voipbill.runs(id),
    rows bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS voipbill.void_reasons (
    run_id bigint PRIMARY KEY REFERENCES voipbill.runs(id),
    reason text NOT NULL
);
"""


def schema_state(connection: Connection) -> int | None:
    """The ledger's version; None when the database has no ledger yet (no schema, or an empty
    one). Raises LedgerError when the schema holds something else."""
    row = connection.execute(
        "SELECT count(*) FROM pg_tables WHERE schemaname = %s", (SCHEMA_NAME,)
    ).fetchone()
    if row is None or row[0] == 0:
        return None
    found = connection.execute("SELECT to_regclass('voipbill.ledger_version')").fetchone()
    if found is None or found[0] is None:
        raise LedgerError(
            "the PostgreSQL schema voipbill holds tables that are not a voipbill ledger",
            hint="point [ledger] postgresql at a database of its own",
        )
    version = connection.execute("SELECT max(version) FROM ledger_version").fetchone()
    return int(version[0]) if version is not None and version[0] is not None else 0


def create_schema(connection: Connection) -> int:
    """Create (or bring a version 1 ledger up to) the ledger's tables, unless another host just
    did; its version. A newer or foreign version is left alone for check_version to refuse."""
    connection.execute("BEGIN")
    try:
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
        version = schema_state(connection)
        if version is None or version == 1:
            if version is None:
                connection.execute(SCHEMA)
            connection.execute(SCHEMA_2)
            connection.execute("DELETE FROM voipbill.ledger_version")
            connection.execute("INSERT INTO voipbill.ledger_version VALUES (%s)", (SCHEMA_VERSION,))
            log.info("%s the ledger tables (schema voipbill)", "upgraded" if version else "created")
            version = SCHEMA_VERSION
        connection.execute("COMMIT")
    except BaseException:
        if not connection.broken:
            connection.execute("ROLLBACK")
        raise
    return version


def claim_calls(
    connection: Connection, run_id: int, label: str, calls: Sequence[LedgerCall]
) -> None:
    """Bill `calls` to the run: COPY into a temp table, then insert the calls no one has."""
    connection.execute(
        "CREATE TEMP TABLE staged_calls (server text, xml_cdr_uuid text, service text, "
        "start_epoch bigint, status text, cost numeric) ON COMMIT DROP"
    )
    with connection.cursor() as cursor:
        with cursor.copy(
            "COPY staged_calls (server, xml_cdr_uuid, service, start_epoch, status, cost) "
            "FROM STDIN"
        ) as copy:
            for server, c in calls:
                copy.write_row((server, c.call_uuid, c.service, c.start_epoch, c.status, c.cost))
        row = cursor.execute(
            "WITH claimed AS (INSERT INTO calls (server, xml_cdr_uuid, service, period, "
            "start_epoch, status, cost, run_id) SELECT server, xml_cdr_uuid, service, %s, "
            "start_epoch, status, cost, %s FROM staged_calls "
            "ON CONFLICT (server, xml_cdr_uuid) DO NOTHING RETURNING 1) "
            "SELECT count(*) FROM claimed",
            (label, run_id),
        ).fetchone()
    claimed = 0 if row is None else int(row[0])
    if claimed == len(calls):
        return
    lost = [
        LostCall(str(server), str(uuid), int(other), str(period))
        for server, uuid, other, period in connection.execute(
            "SELECT s.server, s.xml_cdr_uuid, c.run_id, c.period FROM staged_calls s "
            "JOIN calls c USING (server, xml_cdr_uuid) WHERE c.run_id <> %s "
            "ORDER BY s.server, s.xml_cdr_uuid",
            (run_id,),
        )
    ]
    if not lost:  # a call listed twice by this very run: a bug, as in SQLite
        raise LedgerError(f"run {run_id} lists {len(calls) - claimed} calls twice")
    log.warning("lost %d calls to run(s) committed meanwhile", len(lost))
    raise RaceLostError(lost)
