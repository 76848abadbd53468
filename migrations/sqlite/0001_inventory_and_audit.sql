-- Inventory and audit schema (SQLite). Keep in step with ../postgres/0001_inventory_and_audit.sql:
-- the store runs the same SQL on both, so column names and meanings must match.
-- Times are epoch milliseconds; JSON is text.

-- One row per device, keyed by the canonical MAC spelling AA-BB-CC-DD-EE-FF.
-- The five well-known labels have columns (NULL = absent); free labels are a JSON object.
CREATE TABLE devices (
    mac         TEXT PRIMARY KEY NOT NULL,
    role        TEXT,
    sensitivity TEXT,
    location    TEXT,
    environment TEXT,
    owner       TEXT,
    labels      TEXT NOT NULL DEFAULT '{}',
    created_ms  INTEGER NOT NULL,
    updated_ms  INTEGER NOT NULL
);

-- A one-row counter bumped in the same transaction as every inventory change, so a server can
-- poll it cheaply and notice changes made by another process (the CLI).
CREATE TABLE inventory_generation (
    id         INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT INTO inventory_generation (id, generation) VALUES (1, 0);

-- One row per decision (auth) or accounting event. record_id is unique per record and makes
-- replaying the local spool idempotent (INSERT ... ON CONFLICT (record_id) DO NOTHING).
CREATE TABLE audit (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id      TEXT NOT NULL UNIQUE,
    time_ms        INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    nas            TEXT NOT NULL,
    nas_addr       TEXT NOT NULL,
    mac            TEXT,
    user_name      TEXT,
    method         TEXT NOT NULL,
    rule           TEXT,
    policy_version TEXT NOT NULL,
    segment        TEXT,
    vlan           INTEGER,
    result         TEXT NOT NULL,
    reason         TEXT NOT NULL,
    detail         TEXT
);
CREATE INDEX audit_time ON audit (time_ms);
CREATE INDEX audit_mac_time ON audit (mac, time_ms);
