-- Check schedules: products and feeds are claimed by due time; per-host tallies of check results.
ALTER TABLE products ADD COLUMN next_check_ns INTEGER NOT NULL DEFAULT 0;
CREATE INDEX products_due ON products (next_check_ns);

CREATE TABLE feeds (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    -- Disabled feeds are never due (i64::MAX).
    next_check_ns INTEGER NOT NULL,
    body          TEXT NOT NULL
);
CREATE INDEX feeds_due ON feeds (next_check_ns);

CREATE TABLE host_health (
    host TEXT PRIMARY KEY,
    body TEXT NOT NULL
) WITHOUT ROWID;
