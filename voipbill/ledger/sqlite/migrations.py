"""The SQLite ledger's schema as numbered migrations (voipbill.ledger.migrations).

The version is the file's `PRAGMA user_version`. Versions 1 and 2 are the schemas voipbill wrote
before migrations were numbered; a version 2 file may already hold some tables of migration 3
(an older voipbill made them on the fly), hence its `IF NOT EXISTS`.
"""

from __future__ import annotations

from voipbill.ledger.migrations import Migration, check

# 1: the runs, their per-service totals, the billed calls and the calls of voided runs
_1 = """
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

# 2: every listed call of a committed run, exactly as listed (zlib of JSON, records.call_row)
_2 = """
CREATE TABLE IF NOT EXISTS run_rows (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id),
    rows BLOB NOT NULL
);
"""

# 3: void reasons, skipped CDR rows, free seconds given per service and month (a marker row
# ('', '', 0) says a run's are recorded), the invoicing journal, and the ledger's own id (8 hex
# digits, made once: invoice line tokens name it, rules §11)
_3 = """
CREATE TABLE IF NOT EXISTS void_reasons (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id),
    reason TEXT NOT NULL
);
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
CREATE TABLE IF NOT EXISTS invoice_lines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    system TEXT NOT NULL,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    service TEXT NOT NULL,
    item TEXT NOT NULL,
    account TEXT NOT NULL,
    amount TEXT NOT NULL,
    description TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'not_sent')),
    remote_id TEXT,
    updated TEXT NOT NULL,
    UNIQUE (system, run_id, service, item)
);
CREATE TABLE ledger_meta (
    ledger_id TEXT NOT NULL CHECK (length(ledger_id) = 8)
);
INSERT INTO ledger_meta (ledger_id) VALUES (lower(hex(randomblob(4))));
"""

# 4: what each committed call cost the operator (rules §15): its carrier cost (NULL: no cost-deck
# row) and the cost deck's matched prefix ('' for none); a call committed before has a NULL
# prefix: committed before carrier costs were recorded
_4 = """
ALTER TABLE calls ADD COLUMN carrier_cost TEXT;
ALTER TABLE calls ADD COLUMN carrier_prefix TEXT;
"""

# 5: alerts (rules §14): each committed call's direction, category and country calling code
# (NULL: committed before they were recorded), an index serving the per-service day sums, and the
# record of every alert printed (once only; `body`: its webhook JSON; `sent`: the webhook took it)
_5 = """
ALTER TABLE calls ADD COLUMN direction TEXT;
ALTER TABLE calls ADD COLUMN category TEXT;
ALTER TABLE calls ADD COLUMN country_code TEXT;
CREATE INDEX IF NOT EXISTS calls_by_service_start ON calls(service, start_epoch);
CREATE TABLE IF NOT EXISTS watch_alerts (
    service TEXT NOT NULL,
    rule TEXT NOT NULL,
    scope TEXT NOT NULL,
    item TEXT NOT NULL,
    level INTEGER NOT NULL,
    day TEXT NOT NULL,
    body TEXT NOT NULL,
    sent INTEGER NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY (service, rule, scope, item, level)
);
"""

# 6: the alerts' index covers the cost and the country code too (rules §14: the day sums and
# the new countries read the index alone, not each call's row)
_6 = """
DROP INDEX IF EXISTS calls_by_service_start;
CREATE INDEX calls_for_watch ON calls(service, start_epoch, cost, country_code);
"""

MIGRATIONS: list[Migration] = list(check([(1, _1), (2, _2), (3, _3), (4, _4), (5, _5), (6, _6)]))
