-- Rollup counters (admin stats, analytics): one row per (bucket, name).
CREATE TABLE counters (
    bucket TEXT NOT NULL,
    name   TEXT NOT NULL,
    value  INTEGER NOT NULL,
    PRIMARY KEY (bucket, name)
) WITHOUT ROWID;

-- The admin users list pages through accounts newest first.
CREATE INDEX users_by_signup ON users (created_at, id);

-- The admin audit search reads a day's events newest first.
CREATE INDEX audit_events_by_time ON audit_events (at, id);
