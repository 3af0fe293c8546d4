"""The tables of the SQLite ledger, by schema version (PRAGMA user_version)."""

from __future__ import annotations

# 2 adds run_rows (every listed call of a committed run); a version 1 file is upgraded in place
SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)

SCHEMA_1 = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    period TEXT NOT NULL,
    first_day TEXT NOT NULL,
    last_day TEXT NOT NULL,
    services TEXT NOT NULL,
    late_days INTEGER NOT NULL,
    format TEXT NOT NULL,
    detail TEXT NOT NULL,
    currency TEXT NOT NULL,
    calls INTEGER NOT NULL,
    late_calls INTEGER NOT NULL,
    amount TEXT NOT NULL,
    output_path TEXT NOT NULL,
    output_sha256 TEXT NOT NULL,
    output BLOB NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('committed', 'voided')),
    created TEXT NOT NULL,
    voided TEXT
);
CREATE TABLE IF NOT EXISTS run_services (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    position INTEGER NOT NULL,
    service TEXT NOT NULL,
    calls INTEGER NOT NULL,
    late_calls INTEGER NOT NULL,
    amount TEXT NOT NULL,
    PRIMARY KEY (run_id, service)
);
CREATE TABLE IF NOT EXISTS calls (
    server TEXT NOT NULL,
    xml_cdr_uuid TEXT NOT NULL,
    service TEXT NOT NULL,
    period TEXT NOT NULL,
    start_epoch INTEGER NOT NULL,
    status TEXT NOT NULL,
    cost TEXT,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    PRIMARY KEY (server, xml_cdr_uuid)
);
CREATE INDEX IF NOT EXISTS calls_by_run ON calls(run_id);
CREATE TABLE IF NOT EXISTS voided_calls (
    server TEXT NOT NULL,
    xml_cdr_uuid TEXT NOT NULL,
    service TEXT NOT NULL,
    period TEXT NOT NULL,
    start_epoch INTEGER NOT NULL,
    status TEXT NOT NULL,
    cost TEXT,
    run_id INTEGER NOT NULL REFERENCES runs(id)
);
"""
# The calls of a committed run exactly as listed: zlib of a JSON list of rows (records.call_row).
SCHEMA_2 = """
CREATE TABLE IF NOT EXISTS run_rows (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id),
    rows BLOB NOT NULL
);
"""

# Why a run was voided (`ledger void --reason`); made by the first void that gives one, so a
# ledger from before reasons were kept needs no new version.
VOID_REASONS = """
CREATE TABLE IF NOT EXISTS void_reasons (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id),
    reason TEXT NOT NULL
)
"""

# Tables a run adds without a new schema version (CREATE IF NOT EXISTS on every writable open;
# a reader of a ledger from before them finds no rows): the bad CDR rows a commit with
# --skip-bad-rows left out, and the free seconds each committed run gave per service and month
# in the config timezone (rules §6, §9: each month has one allowance).
RUN_EXTRAS = """
CREATE TABLE IF NOT EXISTS run_skipped_rows (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id),
    count INTEGER NOT NULL,
    lines TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS run_free_seconds (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    service TEXT NOT NULL,
    month TEXT NOT NULL,
    seconds INTEGER NOT NULL,
    PRIMARY KEY (run_id, service, month)
);
"""
